"""Reading the files the commands are given: events, results, denylists ("-": stdin).

Each problem is a BadInput naming the file (exit status 2).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from egress_guard.cli.environment import BadInput


def read_bytes(path: str, what: str) -> bytes:
    """The file's bytes ("-": stdin); BadInput naming the file when it cannot be read."""
    try:
        if path == "-":
            return sys.stdin.buffer.read()
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise BadInput(f"cannot read {what} file {path}: {exc.strerror or exc}") from None


def read_result(path: str) -> Any:
    """A result file: JSON, or an SNS notice saved as it came (the JSON after its marker)."""
    from egress_guard.notice import result_in_notice

    raw = read_bytes(path, "result")
    try:
        found = result_in_notice(raw.decode("utf-8", errors="replace"))
    except ValueError as exc:
        raise BadInput(f"result file {path}: {exc}") from None
    return found if found is not None else json_of(raw, path, "result")


def read_json(path: str, what: str) -> Any:
    return json_of(read_bytes(path, what), path, what)


def json_of(raw: bytes, path: str, what: str) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise BadInput(f"{what} file {path} is not UTF-8 text: {exc.reason}") from None
    except json.JSONDecodeError as exc:
        raise BadInput(f"{what} file {path} is not JSON: {exc}") from None
    except RecursionError:
        raise BadInput(f"{what} file {path} is nested too deeply") from None
