"""The sample events of events/ and the published reference events of tests/reference_events/
(origins and licences in its SOURCES.md), for the event tests, and what a refused event says."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from egress_guard.events import parse_event
from egress_guard.targets import EventError

ROOT = Path(__file__).parents[2]
EVENTS = ROOT / "events"
REFERENCE = ROOT / "tests" / "reference_events"
GROUP = "sg-0f1e2d3c4b5a69780"  # the group every sample names
RULE = "sgr-0aa11bb22cc33dd44"  # the rule the samples name, where they name one
DELETE = object()


def sample(name: str) -> Any:
    return json.loads((EVENTS / name).read_text())


def reference(name: str) -> Any:
    return json.loads((REFERENCE / name).read_text())


def promised(targets: object, expected: dict[str, Any]) -> dict[str, Any]:
    """The fields of `targets` that `expected` names, to compare with it whole."""
    return {field: getattr(targets, field) for field in expected}


def changed(event: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """A copy of event with the value at path replaced (or deleted with DELETE)."""
    out = copy.deepcopy(event)
    node = out
    for key in path[:-1]:
        node = node[key]
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return out


def assert_rejected(event: Any, message: str) -> None:
    """Parsing `event` raises an EventError whose text holds `message` (a field's path and
    what is wrong with it)."""
    with pytest.raises(EventError, match=re.escape(message)):
        parse_event(event)


@dataclass(frozen=True)
class Refused:
    """A sample with the value at `path` changed (or deleted with DELETE), and what its
    refusal says: one row of a source's table of malformed events."""

    name: str
    path: tuple[Any, ...]
    value: Any
    message: str

    def check(self) -> None:
        assert_rejected(changed(sample(self.name), self.path, self.value), self.message)

    def __str__(self) -> str:
        where = ".".join(str(key) for key in self.path)
        what = "deleted" if self.value is DELETE else f"= {self.value!r}"[:60]
        return f"{Path(self.name).stem}: {where} {what}"
