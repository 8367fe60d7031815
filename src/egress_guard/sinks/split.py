"""Splitting a result too large for one message or log line into parts (pure).

Nothing is dropped for its size (docs/invariants.md). A result too large for one SNS
message or one CloudWatch Logs event is split into numbered parts ("part k of n"), each a
result document of its own: the same context keys, a share of the lists, and every revoked
rule in the same part as its finding, so each part can be restored from by itself. Sizes
are counted in UTF-8 bytes of the exact text sent. One item is never split; the largest
is bounded by EC2 itself (a rule's description is at most 255 characters, a rule has at
most 50 tags of 128 + 256 characters), far below both budgets; only a free-text string
(an error, a note) could be longer, and it is shortened to fit.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from egress_guard.notice import result_json

# Lists every result document has, in every part too (possibly empty): restore and
# other readers look for them.
ALWAYS_LISTED = ("RevokedSecurityGroupRules", "UnknownIpPermissions", "Findings")

Dumps = Callable[[Any], str]


def notice_text(document: Any) -> str:
    """A notice's result part: indented for people reading it in a mail."""
    return result_json(document)


def log_text(document: Any) -> str:
    """How Powertools Logger writes a value (compact, non-ASCII as is)."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False, default=str)


def utf8_size(text: str) -> int:
    return len(text.encode("utf-8"))


def split_result(document: Mapping[str, Any], budget: int, dumps: Dumps) -> list[dict[str, Any]]:
    """`document` alone when `dumps` of it fits in `budget` bytes; otherwise parts that
    each fit, with "Part" (1-based) and "Parts", that together hold every list item."""
    if utf8_size(dumps(document)) <= budget:
        return [dict(document)]
    lists = [key for key, value in document.items() if isinstance(value, list)]
    header = {key: value for key, value in document.items() if key not in lists}
    # Measured with every list present and the widest part numbers: an upper bound.
    frame = {**header, **{key: [] for key in lists}, "Part": 10**6, "Parts": 10**6}
    room = budget - utf8_size(dumps(frame))
    chunks: list[list[tuple[str, Any]]] = []
    chunk: list[tuple[str, Any]] = []
    used = 0
    for unit in _units(document, lists, room, dumps):
        cost = _unit_cost(unit, dumps)
        if chunk and used + cost > room:
            chunks.append(chunk)
            chunk, used = [], 0
        chunk.extend(unit)
        used += cost
    if chunk:
        chunks.append(chunk)
    return [
        _part(document, lists, chunk, number, len(chunks))
        for number, chunk in enumerate(chunks, start=1)
    ]


def _units(
    document: Mapping[str, Any], lists: Sequence[str], room: int, dumps: Dumps
) -> Iterator[list[tuple[str, Any]]]:
    """What must stay together: a finding with the revoked rule it names; any other list
    item on its own. Findings first, in order, then what no finding claimed."""
    revoked = document.get("RevokedSecurityGroupRules")
    by_rule: dict[str, list[Any]] = {}
    for item in revoked if isinstance(revoked, list) else []:
        if isinstance(item, Mapping):
            by_rule.setdefault(str(item.get("SecurityGroupRuleId")), []).append(item)
    claimed: set[int] = set()
    for finding in document.get("Findings") or []:
        unit: list[tuple[str, Any]] = [("Findings", finding)]
        if isinstance(finding, Mapping) and finding.get("Action") == "revoked":
            for rule in by_rule.get(str(finding.get("SecurityGroupRuleId")), []):
                if id(rule) not in claimed:
                    claimed.add(id(rule))
                    unit.append(("RevokedSecurityGroupRules", rule))
        yield unit
    for key in lists:
        if key == "Findings":
            continue
        for item in document[key]:
            if key == "RevokedSecurityGroupRules" and id(item) in claimed:
                continue
            too_long = isinstance(item, str) and _cost(key, item, dumps) > room
            yield [(key, shorten(item, max(room // 16, 64)) if too_long else item)]


def _unit_cost(unit: Sequence[tuple[str, Any]], dumps: Dumps) -> int:
    """Bytes a unit adds to a part: its items measured together, as a notice's text renders
    a revoked finding with its rule; for JSON the sum of the items' `_cost`."""
    keys = dict.fromkeys(key for key, _ in unit)
    full = {key: [item for owner, item in unit if owner == key] for key in keys}
    empty: dict[str, list[Any]] = {key: [] for key in keys}
    return utf8_size(dumps(full)) - utf8_size(dumps(empty)) + len(unit)


def _cost(key: str, item: Any, dumps: Dumps) -> int:
    """Bytes one more item adds to a part's list `key` (the comma included): exact for
    json's compact and indented forms, whose nesting depth is the same here."""
    return utf8_size(dumps({key: [item]})) - utf8_size(dumps({key: []})) + 1


def _part(
    document: Mapping[str, Any],
    lists: Sequence[str],
    chunk: Sequence[tuple[str, Any]],
    number: int,
    total: int,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in document.items():
        if key not in lists:
            out[key] = value
            continue
        items = [item for owner, item in chunk if owner == key]
        if items or key in ALWAYS_LISTED:
            out[key] = items
    out["Part"] = number
    out["Parts"] = total
    return out


def shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters, shortened)"
