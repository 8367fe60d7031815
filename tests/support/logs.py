"""The function's log lines caught as CloudWatch gets them, for a test to read.

The catcher hangs on the package's logger with that logger's own (Powertools JSON)
formatter, so a line reads as it does in CloudWatch; nothing on stderr is parsed. The
``function_log`` fixture (a plugin, tests/conftest.py) holds one for the test.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from egress_guard import telemetry


class FunctionLog:
    """The lines written since the catcher was hung (or since `clear`)."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    def text(self) -> str:
        return self.stream.getvalue()

    def records(self) -> list[dict[str, Any]]:
        """Each line, parsed (every line is one JSON object)."""
        return [json.loads(line) for line in self.text().splitlines() if line.strip()]

    def messages(self, message: str) -> list[dict[str, Any]]:
        """The records whose message is `message`."""
        return [record for record in self.records() if record.get("message") == message]

    def clear(self) -> None:
        self.stream.seek(0)
        self.stream.truncate()


@pytest.fixture
def function_log() -> Iterator[FunctionLog]:
    caught = FunctionLog()
    logger = telemetry.package_logger()
    catcher = logging.StreamHandler(caught.stream)
    catcher.setFormatter(logger.registered_formatter)
    base = logging.getLogger(logger.service)
    base.addHandler(catcher)
    try:
        yield caught
    finally:
        base.removeHandler(catcher)
