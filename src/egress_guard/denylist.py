"""The denylist document: validation and its value types (docs/denylist.md).

A denylist names sets of traffic (protocols x ports x destinations) that egress rules must
not allow. This module turns the document (as `denylist_text` reads it) into frozen `Entry`
values, one per destination, and refuses a document it cannot read exactly: every problem
is reported with the entry and the field that caused it, and nothing is judged under a
broken denylist.

Example (JSON, or the same in YAML):

    {"version": 1,
     "deny": [{"id": "smtp-out", "protocol": "tcp", "ports": "25", "cidr": ["0.0.0.0/0", "::/0"]}],
     "allow": [{"id": "https-anywhere", "protocol": "tcp", "ports": "443", "cidr": ["0.0.0.0/0"]}]}
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from egress_guard.denylist_text import DenylistError, YamlNumber, load_document
from egress_guard.targets import GROUP_ID
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

__all__ = [  # DenylistError: the one error family callers catch, wherever it is raised
    "Cidr",
    "Denylist",
    "DenylistError",
    "Entry",
    "Group",
    "Network",
    "PrefixList",
    "build_denylist",
    "parse_denylist",
]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Match = Literal["overlaps", "covers"]

PREFIX_LIST_ID = re.compile(r"^pl-[0-9a-f]{8}(?:[0-9a-f]{9})?$")
ENTRY_KEYS = frozenset(
    {"id", "description", "protocol", "ports", "icmp_type", "icmp_code", "cidr", "prefix_list",
     "group", "match"}
)  # fmt: skip
DOCUMENT_KEYS = frozenset({"version", "description", "deny", "allow"})
MAX_DESTINATIONS = 200_000


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


@dataclass(frozen=True, slots=True)
class Entry:
    """One denylist (or allow-list) entry for one destination.

    `traffic` is a union: usually one Traffic; two for `ports` without a protocol, which
    names those ports on tcp and on udp. `destination` None means every destination.
    `index` is the document position, so that the first matching entry can be named.
    """

    id: str
    index: int
    traffic: tuple[Traffic, ...]
    destination: Destination | None
    match: Match = "overlaps"


@dataclass(frozen=True, slots=True)
class Denylist:
    deny: tuple[Entry, ...]
    allow: tuple[Entry, ...]
    document: Mapping[str, Any]
    warnings: tuple[str, ...] = ()

    def to_json(self) -> str:
        """The normalised document: canonical CIDRs, protocol names, lists everywhere."""
        return json.dumps(self.document, indent=2)


def parse_denylist(text: str | bytes, source: str = "denylist") -> Denylist:
    """Read a JSON or YAML denylist document and validate it completely."""
    return build_denylist(load_document(text, source), source)


def build_denylist(doc: Any, source: str = "denylist") -> Denylist:
    checker = _Checker()
    denylist = checker.document(doc)
    if checker.problems:
        raise DenylistError(checker.problems, source)
    assert denylist is not None
    return denylist


class _Checker:
    """Validates a document, collecting every problem instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.warnings: list[str] = []
        self.seen_ids: dict[str, str] = {}
        self.destinations = 0

    def document(self, doc: Any) -> Denylist | None:
        if not isinstance(doc, dict):
            self.problems.append(f"document: expected an object, got {_kind(doc)}")
            return None
        self.repeated_keys("document", doc)
        for key in sorted(set(doc) - DOCUMENT_KEYS, key=str):
            self.problems.append(
                f"document: unknown key {key!r} (expected {_names(DOCUMENT_KEYS)})"
            )
        if doc.get("version") != 1 or isinstance(doc.get("version"), bool):
            self.problems.append(f"version: expected 1, got {doc.get('version')!r}")
        deny_items = self.entry_list(doc, "deny", required=True)
        allow_items = self.entry_list(doc, "allow", required=False)
        deny: list[Entry] = []
        allow: list[Entry] = []
        normal: dict[str, Any] = {"version": 1, "deny": [], "allow": []}
        for kind, items, out in (("deny", deny_items, deny), ("allow", allow_items, allow)):
            for position, item in enumerate(items):
                parsed = self.entry(kind, position, item)
                if parsed is not None:
                    entries, normalised = parsed
                    out.extend(entries)
                    normal[kind].append(normalised)
        if self.destinations > MAX_DESTINATIONS:
            self.problems.append(
                f"document: {self.destinations} destinations, over {MAX_DESTINATIONS}"
            )
        if "description" in doc:
            if isinstance(doc["description"], str):
                normal["description"] = doc["description"]
            else:
                self.problems.append(
                    f"description: expected a string, got {_kind(doc['description'])}"
                )
        return Denylist(tuple(deny), tuple(allow), normal, tuple(self.warnings))

    def entry_list(self, doc: dict[str, Any], key: str, required: bool) -> list[Any]:
        if key not in doc:
            if required:
                self.problems.append(f"{key}: missing (a list of entries)")
            return []
        value = doc[key]
        if not isinstance(value, list):
            self.problems.append(f"{key}: expected a list of entries, got {_kind(value)}")
            return []
        if required and not value:
            self.problems.append(f"{key}: empty; a denylist that denies nothing is a mistake")
        return value

    def entry(
        self, kind: str, position: int, item: Any
    ) -> tuple[list[Entry], dict[str, Any]] | None:
        where = f"{kind}[{position}]"
        if not isinstance(item, dict):
            self.problems.append(f"{where}: expected an object, got {_kind(item)}")
            return None
        entry_id = item.get("id")
        if isinstance(entry_id, str) and entry_id.strip():
            where = f'{where} (id "{entry_id}")'
        before = len(self.problems)
        self.repeated_keys(where, item)
        for key in sorted(set(item) - ENTRY_KEYS, key=str):
            self.problems.append(f"{where}: unknown field {key!r} (expected {_names(ENTRY_KEYS)})")
        self.check_id(where, entry_id)
        if "description" in item and not isinstance(item["description"], str):
            self.problems.append(
                f"{where}: description: expected a string, got {_kind(item['description'])}"
            )
        if kind == "allow" and "match" in item:
            self.problems.append(f"{where}: match: allow entries always mean covers; remove it")
        match = self.match(where, item.get("match", "overlaps"))
        traffic, normal = self.traffic(where, item)
        destinations, dest_field = self.destinations_of(where, item)
        if len(self.problems) > before or traffic is None or entry_id is None:
            return None
        if dest_field is not None:
            normal[dest_field] = [str(d) for d in destinations]
        if kind == "deny":
            normal["match"] = match
        if "description" in item:
            normal["description"] = item["description"]
        entries: list[Entry] = [
            Entry(str(entry_id), position, traffic, dest, match)
            for dest in (destinations or (None,))
        ]
        return entries, {"id": entry_id, **normal}

    def repeated_keys(self, where: str, item: dict[Any, Any]) -> None:
        """A key given twice is refused, not resolved: the last value winning would let a
        merge mistake ("ports": "25" then "ports": "0-65535") silently widen an entry."""
        for key in getattr(item, "repeated", ()):
            self.problems.append(f"{where}: {key}: key given more than once")

    def check_id(self, where: str, entry_id: Any) -> None:
        if not isinstance(entry_id, str) or not entry_id.strip():
            self.problems.append(f"{where}: id: missing or not a non-empty string")
        elif len(entry_id) > 128:
            self.problems.append(f"{where}: id: longer than 128 characters")
        elif entry_id in self.seen_ids:
            self.problems.append(f"{where}: id: duplicate of {self.seen_ids[entry_id]}")
        else:
            self.seen_ids[entry_id] = where

    def match(self, where: str, value: Any) -> Match:
        if value == "covers":
            return "covers"
        if value != "overlaps":
            self.problems.append(f"{where}: match: {value!r} is not 'overlaps' or 'covers'")
        return "overlaps"

    def traffic(
        self, where: str, item: dict[str, Any]
    ) -> tuple[tuple[Traffic, ...] | None, dict[str, Any]]:
        normal: dict[str, Any] = {}
        protocol = ALL
        if isinstance(item.get("protocol"), YamlNumber):
            self.problems.append(f"{where}: {item['protocol'].problem('protocol')}")
            return None, normal
        if "protocol" in item:
            try:
                protocol = protocol_number(item["protocol"])
            except ValueError as exc:
                self.problems.append(f"{where}: protocol: {exc}")
                return None, normal
            normal["protocol"] = protocol_name(protocol)
        ports = self.ports(where, item, protocol)
        icmp = self.icmp(where, item, protocol)
        if ports is None or icmp is None:
            return None, normal
        if ports != ():
            span = ports[0]
            normal["ports"] = str(span)
            if protocol == ALL:
                return (Traffic(TCP, ports=span), Traffic(UDP, ports=span)), normal
            return (Traffic(protocol, ports=span),), normal
        icmp_type, icmp_code = icmp
        for key, value in (("icmp_type", icmp_type), ("icmp_code", icmp_code)):
            if value is not None and value != ALL:
                normal[key] = value
        return (
            Traffic(protocol, icmp_type=icmp_span(icmp_type), icmp_code=icmp_span(icmp_code)),
        ), normal

    def ports(self, where: str, item: dict[str, Any], protocol: int) -> tuple[Span, ...] | None:
        """() when absent, (span,) when valid, None after reporting a problem."""
        if "ports" not in item:
            return ()
        if protocol not in PORTED and protocol != ALL:
            self.problems.append(
                f"{where}: ports: only tcp and udp have ports ({protocol_name(protocol)} does not)"
            )
            return None
        if "protocol" in item and protocol == ALL:
            self.problems.append(f"{where}: ports: protocol -1 means every port; remove ports")
            return None
        value = item["ports"]
        if isinstance(value, YamlNumber):
            self.problems.append(f"{where}: {value.problem('ports')}")
            return None
        text = (
            str(value).strip()
            if isinstance(value, (str, int)) and not isinstance(value, bool)
            else None
        )
        found = re.fullmatch(r"(\d{1,6})(?:\s*-\s*(\d{1,6}))?", text or "", re.ASCII)
        if found is None:
            self.problems.append(f'{where}: ports: {value!r} is not "N" or "N-M"')
            return None
        low, high = int(found[1]), int(found[2] or found[1])
        if high > MAX_PORT:
            self.problems.append(f"{where}: ports: {max(low, high)} is out of range 0-{MAX_PORT}")
            return None
        if low > high:
            self.problems.append(f"{where}: ports: {low} is greater than {high}")
            return None
        return (Span(low, high),)

    def icmp(
        self, where: str, item: dict[str, Any], protocol: int
    ) -> tuple[int | None, int | None] | None:
        values: list[int | None] = []
        for key in ("icmp_type", "icmp_code"):
            value = item.get(key)
            if value is None:
                values.append(None)
                continue
            if protocol not in ICMP_LIKE:
                self.problems.append(f"{where}: {key}: only for protocol icmp or icmpv6")
                return None
            if isinstance(value, YamlNumber):
                self.problems.append(f"{where}: {value.problem(key)}")
                return None
            if not isinstance(value, int) or isinstance(value, bool) or not -1 <= value <= 255:
                self.problems.append(f"{where}: {key}: {value!r} is not an integer -1..255")
                return None
            values.append(value)
        return values[0], values[1]

    def destinations_of(
        self, where: str, item: dict[str, Any]
    ) -> tuple[list[Destination], str | None]:
        present = [key for key in ("cidr", "prefix_list", "group") if key in item]
        if len(present) > 1:
            self.problems.append(
                f"{where}: {', '.join(present)}: at most one kind of destination per entry"
            )
            return [], None
        if not present:
            return [], None
        key = present[0]
        raw = item[key]
        values = [raw] if isinstance(raw, str) else raw
        if not isinstance(values, list) or not values:
            self.problems.append(
                f"{where}: {key}: expected a string or a non-empty list of strings"
            )
            return [], None
        self.destinations += len(values)
        # A dict keeps the first of each destination in order: linear, so that one entry
        # may carry a whole threat feed (a list scan made 40,000 CIDRs take minutes).
        parsed: dict[Destination, None] = {}
        for value in values:
            dest = self.destination(where, key, value)
            if dest is not None:
                parsed.setdefault(dest, None)
        return list(parsed), key

    def destination(self, where: str, key: str, value: Any) -> Destination | None:
        if not isinstance(value, str):
            self.problems.append(f"{where}: {key}: {value!r} is not a string")
            return None
        if key == "cidr":
            return self.cidr(where, value)
        pattern, what = (
            (PREFIX_LIST_ID, "prefix list id (pl-...)")
            if key == "prefix_list"
            else (GROUP_ID, "security group id (sg-...)")
        )
        if not pattern.match(value):
            self.problems.append(f"{where}: {key}: {value!r} is not a {what}")
            return None
        return PrefixList(value) if key == "prefix_list" else Group(value)

    def cidr(self, where: str, value: str) -> Cidr | None:
        try:
            network = ipaddress.ip_network(value.strip(), strict=False)
        except ValueError as exc:
            self.problems.append(f"{where}: cidr: {value!r} is not an IPv4 or IPv6 CIDR ({exc})")
            return None
        if "%" in value:
            # ipaddress accepts an IPv6 zone index (fe80::%eth0/64); EC2 does not.
            self.problems.append(f"{where}: cidr: {value!r} has a zone index (%...)")
            return None
        if "/" not in value:
            self.problems.append(f"{where}: cidr: {value!r} has no prefix length (write {network})")
            return None
        if str(network) != value.strip():
            # EC2 canonicalises the same way (10.0.0.18/16 is stored as 10.0.0.0/16).
            self.warnings.append(f"{where}: cidr: {value!r} canonicalised to {network}")
        return Cidr(network)


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _names(keys: frozenset[str]) -> str:
    return ", ".join(sorted(keys))
