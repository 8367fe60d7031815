"""The table of a normalised denylist document (Denylist.document): a row per entry."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from egress_guard.tables.layout import format_table, text, to_csv

DENYLIST_HEADERS = ("LIST", "ID", "PROTOCOL", "PORTS", "DESTINATION", "MATCH")
DENYLIST_CSV_HEADERS = ("list", "id", "protocol", "ports", "destination", "match")


def render_denylist(document: Mapping[str, Any]) -> str:
    """A normalised denylist document (Denylist.document) as one row per entry."""
    rows = _denylist_rows(document)
    deny = len(document.get("deny") or ())
    allow = len(document.get("allow") or ())
    summary = f"{deny} deny entr{'y' if deny == 1 else 'ies'}, {allow} allow entr" + (
        "y" if allow == 1 else "ies"
    )
    return format_table(DENYLIST_HEADERS, rows) + "\n" + summary + "\n"


def denylist_csv(document: Mapping[str, Any]) -> str:
    """A normalised denylist document as CSV, one row per entry."""
    return to_csv(DENYLIST_CSV_HEADERS, _denylist_rows(document))


def _denylist_rows(document: Mapping[str, Any]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for kind in ("deny", "allow"):
        for entry in document.get(kind) or ():
            if not isinstance(entry, Mapping):
                continue
            destination = "any"
            for key in ("cidr", "prefix_list", "group"):
                if key in entry:
                    destination = ", ".join(str(d) for d in entry[key])
            rows.append(
                (
                    kind,
                    text(entry.get("id")),
                    _protocol(entry),
                    _ports(entry),
                    destination,
                    text(entry.get("match"), "covers" if kind == "allow" else "overlaps"),
                )
            )
    return rows


def _protocol(entry: Mapping[str, Any]) -> str:
    value = entry.get("protocol")
    if value is None:
        # Ports without a protocol mean those ports over tcp and over udp (SPEC 3).
        return "tcp+udp" if "ports" in entry else "any"
    return "all" if str(value) == "-1" else text(value)


def _ports(entry: Mapping[str, Any]) -> str:
    if "ports" in entry:
        return str(entry["ports"])
    if "icmp_type" in entry or "icmp_code" in entry:
        kind = entry.get("icmp_type", "all")
        code = entry.get("icmp_code", "all")
        return f"type {kind} code {code}"
    return "any"
