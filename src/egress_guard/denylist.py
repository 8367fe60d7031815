"""The denylist document, checked whole into `Entry` and `Denylist` values (docs/denylist.md).

A denylist names sets of traffic (protocols x ports x destinations) that egress rules must
not allow. This module turns the document (as `denylist_text` reads it) into frozen `Entry`
values, one per destination (each entry's fields are read by `denylist_fields`), and
refuses a document it cannot read exactly: every problem is reported with the entry and
the field that caused it, and nothing is judged under a broken denylist.

Example (JSON, or the same in YAML):

    {"version": 1,
     "deny": [{"id": "smtp-out", "protocol": "tcp", "ports": "25", "cidr": ["0.0.0.0/0", "::/0"]}],
     "allow": [{"id": "https-anywhere", "protocol": "tcp", "ports": "443", "cidr": ["0.0.0.0/0"]}]}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from egress_guard.denylist_fields import (
    FIELDS,
    Cidr,
    Destination,
    Group,
    Match,
    PrefixList,
    kind_name,
    read_fields,
)
from egress_guard.denylist_text import DenylistError, load_document
from egress_guard.ids import Network
from egress_guard.traffic import Traffic

__all__ = [  # DenylistError: the one error family callers catch, wherever it is raised
    "Cidr",
    "Denylist",
    "DenylistError",
    "Destination",
    "Entry",
    "Group",
    "Network",
    "PrefixList",
    "build_denylist",
    "parse_denylist",
]

ENTRY_KEYS = frozenset(FIELDS)
DOCUMENT_KEYS = frozenset({"version", "description", "deny", "allow"})
MAX_DESTINATIONS = 200_000


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
    """Validates a document, collecting every problem instead of stopping at the first.

    Each entry's fields are read by `denylist_fields`; what spans entries (unique ids, the
    destination limit) and the document's own keys are checked here.
    """

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.warnings: list[str] = []
        self.seen_ids: dict[str, str] = {}
        self.destinations = 0

    def document(self, doc: Any) -> Denylist | None:
        if not isinstance(doc, dict):
            self.problems.append(f"document: expected an object, got {kind_name(doc)}")
            return None
        self.repeated_keys("document", doc)
        for key in sorted(set(doc) - DOCUMENT_KEYS, key=str):
            self.problems.append(
                f"document: unknown key {key!r} (expected {_names(DOCUMENT_KEYS)})"
            )
        if doc.get("version") != 1 or isinstance(doc.get("version"), bool):
            self.problems.append(f"version: expected 1, got {doc.get('version')!r}")
        normal: dict[str, Any] = {"version": 1, "deny": [], "allow": []}
        entries: dict[str, list[Entry]] = {"deny": [], "allow": []}
        for kind in ("deny", "allow"):
            for position, item in enumerate(self.entry_list(doc, kind, required=kind == "deny")):
                parsed = self.entry(kind, position, item)
                if parsed is not None:
                    entries[kind].extend(parsed[0])
                    normal[kind].append(parsed[1])
        if self.destinations > MAX_DESTINATIONS:
            self.problems.append(
                f"document: {self.destinations} destinations, over {MAX_DESTINATIONS}"
            )
        if "description" in doc:
            if isinstance(doc["description"], str):
                normal["description"] = doc["description"]
            else:
                self.problems.append(
                    f"description: expected a string, got {kind_name(doc['description'])}"
                )
        deny, allow = (tuple(entries[kind]) for kind in ("deny", "allow"))
        return Denylist(deny, allow, normal, tuple(self.warnings))

    def entry_list(self, doc: dict[str, Any], key: str, required: bool) -> list[Any]:
        if key not in doc:
            if required:
                self.problems.append(f"{key}: missing (a list of entries)")
            return []
        value = doc[key]
        if not isinstance(value, list):
            self.problems.append(f"{key}: expected a list of entries, got {kind_name(value)}")
            return []
        if required and not value:
            self.problems.append(f"{key}: empty; a denylist that denies nothing is a mistake")
        return value

    def entry(
        self, kind: str, position: int, item: Any
    ) -> tuple[list[Entry], dict[str, Any]] | None:
        where = f"{kind}[{position}]"
        if not isinstance(item, dict):
            self.problems.append(f"{where}: expected an object, got {kind_name(item)}")
            return None
        entry_id = item.get("id")
        if isinstance(entry_id, str) and entry_id.strip():
            where = f'{where} (id "{entry_id}")'
        before = len(self.problems)
        self.repeated_keys(where, item)
        for key in sorted(set(item) - ENTRY_KEYS, key=str):
            self.problems.append(f"{where}: unknown field {key!r} (expected {_names(ENTRY_KEYS)})")
        fields, problems = read_fields(kind, item)
        self.problems.extend(f"{where}: {problem}" for problem in problems)
        self.warnings.extend(f"{where}: {warning}" for warning in fields.warnings)
        self.destinations += fields.named
        if "id" not in fields.failed:
            self.unique_id(where, fields.values["id"])
        if len(self.problems) > before:
            return None
        entry_id, match, traffic = fields.values["id"], fields.values["match"], fields.traffic()
        entries = [Entry(entry_id, position, traffic, d, match) for d in fields.destinations()]
        return entries, fields.normal

    def repeated_keys(self, where: str, item: dict[Any, Any]) -> None:
        """A key given twice is refused, not resolved: the last value winning would let a
        merge mistake ("ports": "25" then "ports": "0-65535") silently widen an entry."""
        for key in getattr(item, "repeated", ()):
            self.problems.append(f"{where}: {key}: key given more than once")

    def unique_id(self, where: str, entry_id: str) -> None:
        if entry_id in self.seen_ids:
            self.problems.append(f"{where}: id: duplicate of {self.seen_ids[entry_id]}")
        else:
            self.seen_ids[entry_id] = where


def _names(keys: frozenset[str]) -> str:
    return ", ".join(sorted(keys))
