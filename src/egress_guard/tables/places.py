"""The table of a merged result of many places (egress_guard.places): a row per place, then
the findings of every place, the totals, errors and notes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from egress_guard.result_document import ResultDocument, read
from egress_guard.tables.layout import format_table, one_line, raw, text, to_csv
from egress_guard.tables.result import finding_cells, in_order

PLACES_HEADERS = ("ACCOUNT", "REGION", "STATUS", "RULES", "{acted}", "EXEMPT", "FAILED", "DETAIL")
PLACE_FINDING_HEADERS = (
    "ACCOUNT",
    "REGION",
    "GROUP",
    "RULE",
    "TRAFFIC",
    "DENYLIST ENTRY",
    "ACTION",
)
PLACES_CSV_HEADERS = (
    "account", "region", "group_id", "rule_id", "traffic", "denylist_entry", "action", "error",
)  # fmt: skip


def render_places(merged: Mapping[str, Any]) -> str:
    """A merged result of many places: one row per place (its status and counts, or why it
    could not be scanned), the findings of every place, the totals, errors and notes."""
    dry_run = bool(merged.get("DryRun"))
    acted = "would-revoke" if dry_run else "revoked"
    headers = tuple(h.format(acted=acted.upper()) for h in PLACES_HEADERS)
    places = _places(merged)
    rows = [_place_row(place, acted) for place in places]
    parts = [format_table(headers, rows) if rows else "no places"]
    findings = [
        (text(place.account), text(place.region), text(f.group_id), *finding_cells(f))
        for place in places
        for f in in_order(place.findings)
    ]
    if findings:
        parts.append("")
        parts.append(format_table(PLACE_FINDING_HEADERS, findings))
    parts.append(places_summary(merged))
    parts.extend(f"error: {one_line(str(e))}" for e in merged.get("Errors") or ())
    for place in places:
        where = f"{text(place.account)}/{text(place.region)}"
        parts.extend(f"note: {where}: {one_line(n)}" for n in place.notes)
    return "\n".join(parts) + "\n"


def places_csv(merged: Mapping[str, Any]) -> str:
    """The findings of every place as CSV, and a row for each place that could not be
    scanned (action `not-scanned`, the reason in `error`)."""
    rows: list[tuple[str, ...]] = []
    for place in _places(merged):
        account, region = raw(place.account), raw(place.region)
        if place.extra.get("Error"):
            rows.append((account, region, "", "", "", "", "not-scanned", raw(place.extra["Error"])))
        for f in in_order(place.findings):
            cells = (f.group_id, f.rule_id, f.traffic, f.entry_id, f.action, f.error)
            rows.append((account, region, *(raw(cell) for cell in cells)))
    return to_csv(PLACES_CSV_HEADERS, rows)


def places_summary(merged: Mapping[str, Any]) -> str:
    """`6 places: 5 ok, 1 failed (1 not reachable); 2 revoked, 1 exempt, 0 failed; 360 rules
    judged (enforce)`."""
    totals = merged.get("Totals")
    totals = totals if isinstance(totals, Mapping) else {}
    dry_run = bool(merged.get("DryRun"))
    acted = ("would-revoke", "RulesWouldRevoke") if dry_run else ("revoked", "RulesRevoked")
    mode = text(merged.get("Mode"), "?")
    if dry_run and mode != "report":
        mode += ", dry run"
    places = totals.get("Places", 0)
    return (
        f"{places} place{'s' * (places != 1)}: {totals.get('PlacesOk', 0)} ok, "
        f"{totals.get('PlacesFailed', 0)} failed ({totals.get('PlacesUnreachable', 0)} not "
        f"reachable); {totals.get(acted[1], 0)} {acted[0]}, {totals.get('RulesExempt', 0)} "
        f"exempt, {totals.get('RulesFailed', 0)} failed; {totals.get('RulesJudged', 0)} rules "
        f"judged ({mode})"
    )


def _places(merged: Mapping[str, Any]) -> list[ResultDocument]:
    """Each place's result (one that could not be scanned: its `Error`, in `extra`)."""
    return [read(p) for p in merged.get("Places") or () if isinstance(p, Mapping)]


def _place_row(place: ResultDocument, acted: str) -> tuple[str, ...]:
    counts = Counter(str(f.action) for f in place.findings)
    if place.extra.get("Error"):
        status, detail = "not reachable", text(place.extra.get("Error"))
    elif place.ok:
        status, detail = "ok", ""
    else:
        errors = place.errors
        status = "failed"
        detail = one_line(errors[0]) if errors else ""
        if len(errors) > 1:
            detail += f" (and {len(errors) - 1} more)"
    judged = place.rules_judged
    return (
        text(place.account),
        text(place.region),
        status,
        str(judged) if judged is not None else "-",
        str(counts.get(acted, 0)),
        str(counts.get("exempt", 0)),
        str(counts.get("failed", 0)),
        detail,
    )
