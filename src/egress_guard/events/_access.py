"""Typed, bounded access to untrusted JSON, with errors that name the path that was wrong.

Every event reaching egress-guard is hostile until proven otherwise: any value may be null,
of the wrong type, huge, or deeply nested. Parsers read it only through `Node`, so a wrong
shape always surfaces as an `EventError` naming the path ("detail.requestParameters.groupId:
missing"), never as a KeyError or TypeError. Only the paths a parser asks for are walked, so
deep nesting elsewhere costs nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from egress_guard.targets import EventError

# No real event comes close: Security Hub sends at most 100 findings, an Authorize call at
# most a few hundred rules. Past this the event is forged or broken, and walking it would
# only make the function slow.
MAX_ITEMS = 1000
# Long enough for any AWS id, ARN, token or timestamp; stops megabyte strings reaching logs.
MAX_TEXT = 4096
# A Config resultToken is a few kilobytes of base64.
MAX_TOKEN = 65536

ARN = re.compile(
    r"^arn:aws(?:-[a-z]+)*:(?P<service>[a-z0-9-]+):(?P<region>[a-z0-9-]*)"
    r":(?P<account>\d*):(?P<resource>.+)$"
)


def kind(value: Any) -> str:
    """The JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__


def short(value: Any, limit: int = 80) -> str:
    """A repr for messages, cut so that a hostile value cannot flood the log."""
    if isinstance(value, str | int | float | bool) or value is None:
        text = repr(value)
    else:
        text = f"<{kind(value)}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def key_list(data: Mapping[Any, Any], limit: int = 12) -> str:
    """The first keys of an object, for "got keys [...]" messages."""
    keys = [short(k, 40) for k in list(data)[:limit]]
    more = ", ..." if len(data) > limit else ""
    return "[" + ", ".join(keys) + more + "]"


def check_timestamp(value: str, where: str) -> str:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise EventError(f"{where}: {short(value)} is not an ISO 8601 timestamp") from None
    return value


class Node:
    """A JSON object and its path in the event; every read is type-checked."""

    __slots__ = ("data", "path")

    def __init__(self, data: Mapping[Any, Any], path: str = "") -> None:
        self.data = data
        self.path = path

    @classmethod
    def of(cls, value: Any, path: str) -> Node:
        if not isinstance(value, Mapping):
            raise EventError(f"{path or 'event'}: expected an object, got {kind(value)}")
        return cls(value, path)

    def where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def raw(self, key: str) -> Any:
        """The value at key; absent and null are the same (AWS writes both for "none")."""
        return self.data.get(key)

    def has(self, key: str) -> bool:
        return self.raw(key) is not None

    def node(self, key: str) -> Node:
        value = self.raw(key)
        if value is None:
            raise EventError(f"{self.where(key)}: missing")
        return Node.of(value, self.where(key))

    def opt_node(self, key: str) -> Node | None:
        return None if self.raw(key) is None else self.node(key)

    def text(self, key: str, *, limit: int = MAX_TEXT) -> str:
        value = self.opt_text(key, limit=limit)
        if value is None:
            raise EventError(f"{self.where(key)}: missing")
        return value

    def opt_text(self, key: str, *, limit: int = MAX_TEXT) -> str | None:
        """A non-empty string, or None when absent or null."""
        value = self.raw(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise EventError(f"{self.where(key)}: expected a string, got {kind(value)}")
        if not value:
            raise EventError(f"{self.where(key)}: empty")
        if len(value) > limit:
            raise EventError(f"{self.where(key)}: longer than {limit} characters")
        return value

    def flag(self, key: str) -> bool:
        """A boolean, false when absent."""
        value = self.raw(key)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise EventError(f"{self.where(key)}: expected true or false, got {kind(value)}")
        return value

    def array(self, key: str) -> list[Any]:
        """A bounded list, empty when absent."""
        value = self.raw(key)
        if value is None:
            return []
        if not isinstance(value, list | tuple):
            raise EventError(f"{self.where(key)}: expected an array, got {kind(value)}")
        if len(value) > MAX_ITEMS:
            raise EventError(f"{self.where(key)}: more than {MAX_ITEMS} items")
        return list(value)

    def nodes(self, key: str) -> list[Node]:
        """A bounded list of objects, each with its indexed path."""
        where = self.where(key)
        return [Node.of(item, f"{where}[{i}]") for i, item in enumerate(self.array(key))]

    def id_text(self, key: str, check: Callable[[Any, str], str]) -> str:
        """A required AWS id, checked by a targets.check_* helper.

        Only a bounded string reaches the helper, whose message quotes the value.
        """
        return check(self.text(key, limit=256), self.where(key))

    def opt_id_text(self, key: str, check: Callable[[Any, str], str]) -> str | None:
        value = self.opt_text(key, limit=256)
        return None if value is None else check(value, self.where(key))


def parse_arn(value: str, where: str) -> re.Match[str]:
    match = ARN.match(value)
    if match is None:
        raise EventError(f"{where}: {short(value)} is not an ARN")
    return match
