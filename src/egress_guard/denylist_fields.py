"""The fields of a denylist entry, as one table: each field's name and how it is read.

A denylist entry (docs/denylist.md) is read field by field, in table order, into a `Fields`
record: each reader gets the field's value (`ABSENT` when the entry does not give it) and
what the fields before it made of theirs, and returns the typed value with its normalised
JSON form, or raises `Refused` naming the problem. Adding a field means adding its reader
and a row to `FIELDS` (and a case to its test); the entry's allowed keys follow the table.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from egress_guard.denylist_text import YamlNumber
from egress_guard.ids import GroupId, IdError, Network, PrefixListId, parse_cidr
from egress_guard.traffic import (
    ALL,
    ICMP_LIKE,
    MAX_PORT,
    PORTED,
    TCP,
    UDP,
    Span,
    Traffic,
    icmp_span,
    protocol_name,
    protocol_number,
)

Match = Literal["overlaps", "covers"]
ABSENT: Any = object()  # a field the entry does not give
MAX_ID = 128


@dataclass(frozen=True, slots=True)
class Cidr:
    network: Network

    def __str__(self) -> str:
        return str(self.network)


@dataclass(frozen=True, slots=True)
class PrefixList:
    prefix_list_id: str

    def __str__(self) -> str:
        return self.prefix_list_id


@dataclass(frozen=True, slots=True)
class Group:
    group_id: str

    def __str__(self) -> str:
        return self.group_id


Destination = Cidr | PrefixList | Group


class Refused(ValueError):
    """One field's problem; the message starts with the field name ("ports: ...")."""


@dataclass(slots=True)
class Fields:
    """One entry as read so far: typed values, the normalised entry and its notes."""

    kind: str  # "deny" or "allow"
    item: Mapping[str, Any]
    values: dict[str, Any] = field(default_factory=dict)  # field -> typed value
    normal: dict[str, Any] = field(default_factory=dict)  # field -> normalised JSON
    failed: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)  # "cidr: ... canonicalised to ..."
    named: int = 0  # destinations as written, duplicates included (the document's limit)

    @property
    def protocol(self) -> int:
        return int(self.values.get("protocol", ALL))

    def traffic(self) -> tuple[Traffic, ...]:
        """The entry's traffic: `ports` without a protocol names them on tcp and on udp."""
        span = self.values.get("ports")
        if span is not None:
            protocols = (TCP, UDP) if self.protocol == ALL else (self.protocol,)
            return tuple(Traffic(number, ports=span) for number in protocols)
        return (
            Traffic(
                self.protocol,
                icmp_type=icmp_span(self.values.get("icmp_type")),
                icmp_code=icmp_span(self.values.get("icmp_code")),
            ),
        )

    def destinations(self) -> tuple[Destination | None, ...]:
        """One per destination the entry names; (None,) for every destination."""
        for name in DESTINATIONS:
            if name in self.values:
                return tuple(self.values[name])
        return (None,)


# A reader: (the entry so far, the field's value or ABSENT) -> (typed value, normalised
# JSON); None for a field that is absent and adds nothing.
Reader = Callable[[Fields, Any], tuple[Any, Any] | None]


def _id(entry: Fields, value: Any) -> tuple[Any, Any] | None:
    if not isinstance(value, str) or not value.strip():
        raise Refused("id: missing or not a non-empty string")
    if len(value) > MAX_ID:
        raise Refused(f"id: longer than {MAX_ID} characters")
    return value, value  # uniqueness is the document's to check: it spans entries


def _protocol(entry: Fields, value: Any) -> tuple[Any, Any] | None:
    if value is ABSENT:
        return None
    if isinstance(value, YamlNumber):
        raise Refused(value.problem("protocol"))
    try:
        number = protocol_number(value)
    except ValueError as exc:
        raise Refused(f"protocol: {exc}") from None
    return number, protocol_name(number)


def _ports(entry: Fields, value: Any) -> tuple[Any, Any] | None:
    if value is ABSENT:
        return None
    protocol = entry.protocol
    if protocol not in PORTED and protocol != ALL:
        raise Refused(f"ports: only tcp and udp have ports ({protocol_name(protocol)} does not)")
    if "protocol" in entry.item and protocol == ALL:
        raise Refused("ports: protocol -1 means every port; remove ports")
    if isinstance(value, YamlNumber):
        raise Refused(value.problem("ports"))
    text = (
        str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    )
    found = re.fullmatch(r"(\d{1,6})(?:\s*-\s*(\d{1,6}))?", text, re.ASCII)
    if found is None:
        raise Refused(f'ports: {value!r} is not "N" or "N-M"')
    low, high = int(found[1]), int(found[2] or found[1])
    if high > MAX_PORT:
        raise Refused(f"ports: {max(low, high)} is out of range 0-{MAX_PORT}")
    if low > high:
        raise Refused(f"ports: {low} is greater than {high}")
    return Span(low, high), str(Span(low, high))


def _icmp(name: str) -> Reader:
    def read(entry: Fields, value: Any) -> tuple[Any, Any] | None:
        if value is ABSENT or value is None:
            return None
        if entry.protocol not in ICMP_LIKE:
            raise Refused(f"{name}: only for protocol icmp or icmpv6")
        if isinstance(value, YamlNumber):
            raise Refused(value.problem(name))
        if not isinstance(value, int) or isinstance(value, bool) or not -1 <= value <= 255:
            raise Refused(f"{name}: {value!r} is not an integer -1..255")
        return value, (None if value == ALL else value)

    return read


def _cidr(entry: Fields, value: str) -> Cidr:
    try:
        network = parse_cidr(value.strip(), "cidr")
    except IdError as exc:
        raise Refused(f"cidr: {value!r} {exc.problem}") from None
    if str(network) != value.strip():
        # EC2 canonicalises the same way (10.0.0.18/16 is stored as 10.0.0.0/16).
        entry.warnings.append(f"cidr: {value!r} canonicalised to {network}")
    return Cidr(network)


def _prefix_list(entry: Fields, value: str) -> PrefixList:
    return PrefixList(PrefixListId(value, "prefix_list"))


def _group(entry: Fields, value: str) -> Group:
    return Group(GroupId(value, "group"))


# Destination field -> the reader of one of its values. An entry names at most one kind.
DESTINATIONS: dict[str, Callable[[Fields, str], Destination]] = {
    "cidr": _cidr,
    "prefix_list": _prefix_list,
    "group": _group,
}


def _destination(name: str) -> Reader:
    one = DESTINATIONS[name]

    def read(entry: Fields, value: Any) -> tuple[Any, Any] | None:
        if value is ABSENT:
            return None
        present = [key for key in DESTINATIONS if key in entry.item]
        if len(present) > 1:
            if name != present[0]:
                return None  # said once, by the first of them
            raise Refused(f"{', '.join(present)}: at most one kind of destination per entry")
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not values:
            raise Refused(f"{name}: expected a string or a non-empty list of strings")
        entry.named = len(values)
        # A dict keeps the first of each destination in order: linear, so that one entry
        # may carry a whole threat feed (a list scan made 40,000 CIDRs take minutes).
        parsed: dict[Destination, None] = {}
        problems: list[str] = []
        for text in values:
            try:
                if not isinstance(text, str):
                    raise Refused(f"{name}: {text!r} is not a string")
                parsed.setdefault(one(entry, text), None)
            except (Refused, IdError) as exc:
                problems.append(str(exc))
        if problems:
            raise Refused(*problems)
        return list(parsed), [str(d) for d in parsed]

    return read


def _match(entry: Fields, value: Any) -> tuple[Any, Any] | None:
    if entry.kind == "allow":
        if value is not ABSENT:
            raise Refused("match: allow entries always mean covers; remove it")
        return "overlaps", None  # not read: the judge's allow test is always covers
    if value is ABSENT or value == "overlaps":
        return "overlaps", "overlaps"
    if value == "covers":
        return "covers", "covers"
    raise Refused(f"match: {value!r} is not 'overlaps' or 'covers'")


def _description(entry: Fields, value: Any) -> tuple[Any, Any] | None:
    if value is ABSENT:
        return None
    if not isinstance(value, str):
        raise Refused(f"description: expected a string, got {kind_name(value)}")
    return value, value


# The fields of an entry, in the order they are read and written back (to_json).
FIELDS: dict[str, Reader] = {
    "id": _id,
    "protocol": _protocol,
    "ports": _ports,
    "icmp_type": _icmp("icmp_type"),
    "icmp_code": _icmp("icmp_code"),
    **{name: _destination(name) for name in DESTINATIONS},
    "match": _match,
    "description": _description,
}
# A field read only when the fields it needs were read cleanly.
NEEDS = {"ports": "protocol", "icmp_type": "protocol", "icmp_code": "protocol"}


def read_fields(kind: str, item: Mapping[str, Any]) -> tuple[Fields, list[str]]:
    """The entry's fields in table order, and every problem found (each "field: ...")."""
    entry = Fields(kind, item)
    problems: list[str] = []
    for name, reader in FIELDS.items():
        if NEEDS.get(name) in entry.failed:
            continue
        try:
            read = reader(entry, item.get(name, ABSENT))
        except Refused as exc:
            problems.extend(str(arg) for arg in exc.args)
            entry.failed.add(name)
            continue
        if read is not None:
            entry.values[name], normal = read
            if normal is not None:
                entry.normal[name] = normal
    return entry, problems


def kind_name(value: Any) -> str:
    """A value's type for messages ("null" for None)."""
    return "null" if value is None else type(value).__name__
