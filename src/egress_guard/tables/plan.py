"""The table of a plan (egress_guard.plan_run.plan_document): a row per change, a line per place."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from egress_guard.result_document import read_finding
from egress_guard.tables.layout import format_table, one_line, raw, text, to_csv, where_of
from egress_guard.tables.result import Groups, csv_cells, group_cells

PLAN_HEADERS = ("GROUP", "NAME", "VPC", "RULE", "TRAFFIC", "DENYLIST ENTRY", "CHANGE")
PLAN_CSV_HEADERS = (
    "account", "region", "group_id", "group_name", "vpc_id", "rule_id", "traffic",
    "denylist_entry", "change",
)  # fmt: skip


def render_plan(plan: Mapping[str, Any], groups: Groups | None = None) -> str:
    """A plan (egress_guard.plan_run.plan_document): one row per change, then one summary
    line per place, the limits NEW would trip, and notes. With more than one place, the
    rows also name their account and region."""
    changes = _changes(plan)
    places = [p for p in plan.get("Places") or () if isinstance(p, Mapping)]
    many = len({(text(p.get("Account")), text(p.get("Region"))) for p in places}) > 1
    headers = (("ACCOUNT", "REGION") if many else ()) + PLAN_HEADERS
    rows = [
        (
            *((text(c.get("Account")), text(c.get("Region"))) if many else ()),
            text(f.group_id),
            *group_cells(groups, f),
            text(f.rule_id),
            text(f.traffic),
            text(f.entry_id),
            text(f.action),
        )
        for c in changes
        for f in [read_finding(c)]
    ]
    parts = (
        [format_table(headers, rows)]
        if rows
        else ["no difference: NEW and CURRENT revoke the same rules"]
    )
    parts.extend(plan_summary(place) for place in places)
    for place in places:
        for held in place.get("HeldLimits") or ():
            if isinstance(held, Mapping):
                already = " (CURRENT trips it already)" if held.get("TrippedByCurrent") else ""
                reason = one_line(text(held.get("Reason"))).removesuffix(": none revoked (held)")
                parts.append(
                    f"limit: under NEW, {where_of(place)} would be held: {reason}{already}"
                )
    for place in places:
        parts.extend(f"note: {one_line(str(n))}" for n in place.get("Notes") or ())
    return "\n".join(parts) + "\n"


def plan_summary(place: Mapping[str, Any]) -> str:
    """`2 newly revoked, 1 newly spared in 123456789012/us-east-1; 40 rules judged, 3 due
    under NEW (2 under CURRENT); 1 exempt rule left out`."""
    judged = place.get("RulesJudged")
    exempt = place.get("ExemptLeftOut") or 0
    line = (
        f"{place.get('NewlyRevoked', 0)} newly revoked, {place.get('NewlySpared', 0)} newly "
        f"spared in {where_of(place)}; {judged} rule{'s' * (judged != 1)} judged, "
        f"{place.get('DueUnderNew')} due under NEW ({place.get('DueUnderCurrent')} under CURRENT)"
    )
    if exempt:
        line += f"; {exempt} exempt rule{'s' * (exempt != 1)} left out"
    return line


def plan_csv(plan: Mapping[str, Any], groups: Groups | None = None) -> str:
    """The plan's changes as CSV, each with its place."""
    rows = [
        (raw(c.get("Account")), raw(c.get("Region")), *csv_cells(read_finding(c), groups))
        for c in _changes(plan)
    ]
    return to_csv(PLAN_CSV_HEADERS, rows)


def _changes(plan: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = [c for c in plan.get("Changes") or () if isinstance(c, Mapping)]
    return sorted(
        found,
        key=lambda c: tuple(
            text(c.get(key)) for key in ("Account", "Region", "GroupId", "SecurityGroupRuleId")
        ),
    )
