"""Plain-text tables for the command line's `--output table` and `--output csv` (pure:
dicts in, text out).

A person should see at a glance what was done: one row per offending (or exempt) rule,
sorted by group, with the group's name and VPC where known, then a summary line such as

    2 revoked, 1 exempt, 0 failed in 123456789012/us-east-1 (enforce)

followed by the errors and notes of the run, if any. The input is the result dict that the
handler returns (docs/result.md), the restore report of `egress_guard.restore`, or a
normalised denylist document, so the tables show exactly what the JSON output would. CSV
has the same rows (errors in a column of their own) under a header row, and no summary.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

# A group's name and VPC id, by group id (the command line reads them; "-" where unknown).
Groups = Mapping[str, tuple[str, str]]

RESULT_HEADERS = ("GROUP", "NAME", "VPC", "RULE", "TRAFFIC", "DENYLIST ENTRY", "ACTION")
RESULT_CSV_HEADERS = (
    "group_id", "group_name", "vpc_id", "rule_id", "traffic", "denylist_entry", "action",
    "error",
)  # fmt: skip
RESTORE_CSV_HEADERS = ("group_id", "rule_id", "traffic", "status", "detail")
DENYLIST_CSV_HEADERS = ("list", "id", "protocol", "ports", "destination", "match")
RESTORE_HEADERS = ("GROUP", "RULE", "TRAFFIC", "STATUS", "DETAIL")
DENYLIST_HEADERS = ("LIST", "ID", "PROTOCOL", "PORTS", "DESTINATION", "MATCH")
GAP = "  "


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell, two spaces apart; no trailing blanks."""
    table = [[_one_line(cell) for cell in row] for row in (headers, *rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(headers))]
    lines = [
        GAP.join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in table
    ]
    return "\n".join(lines)


def to_csv(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """RFC 4180 CSV (quoted where needed), one header row, "\\n" line ends."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue()


def _findings(result: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = [f for f in result.get("Findings") or () if isinstance(f, Mapping)]
    return sorted(found, key=_finding_order)


def _group(groups: Groups | None, finding: Mapping[str, Any]) -> tuple[str, str]:
    name, vpc = (groups or {}).get(_text(finding.get("GroupId")), ("", ""))
    return _text(name), _text(vpc)


def render_result(result: Mapping[str, Any], groups: Groups | None = None) -> str:
    """The result of one invocation or scan: findings table, summary, errors, notes.

    `groups`: name and VPC id by group id, for the NAME and VPC columns ("-" if missing).
    """
    rows = [
        (
            _text(f.get("GroupId")),
            *_group(groups, f),
            _text(f.get("SecurityGroupRuleId")),
            _text(f.get("Traffic")),
            _text(f.get("DenylistEntry")),
            _action(f),
        )
        for f in _findings(result)
    ]
    if rows:
        parts = [format_table(RESULT_HEADERS, rows)]
    elif result.get("Errors"):
        # Not "no offending egress rules": what could not be read may hold some.
        parts = ["no offending egress rules found, but the run was incomplete (errors below)"]
    else:
        parts = ["no offending egress rules"]
    parts.append(result_summary(result))
    parts.extend(_expiring_lines(result))
    parts.extend(_permission_lines(result))
    parts.extend(f"error: {_one_line(str(e))}" for e in result.get("Errors") or ())
    parts.extend(f"note: {_one_line(str(n))}" for n in result.get("Notes") or ())
    return "\n".join(parts) + "\n"


def result_csv(result: Mapping[str, Any], groups: Groups | None = None) -> str:
    """The findings as CSV: the table's rows, the error apart, empty cells where unknown."""
    rows = [(*_csv_cells(f, groups), _raw(f.get("Error"))) for f in _findings(result)]
    return to_csv(RESULT_CSV_HEADERS, rows)


def _csv_cells(item: Mapping[str, Any], groups: Groups | None) -> tuple[str, ...]:
    """A finding's (or a planned change's) CSV cells: group, its name and VPC, rule,
    traffic, entry, action."""
    group_id = _raw(item.get("GroupId"))
    return (
        group_id,
        *((groups or {}).get(group_id, ("", ""))),
        _raw(item.get("SecurityGroupRuleId")),
        _raw(item.get("Traffic")),
        _raw(item.get("DenylistEntry")),
        _raw(item.get("Action")),
    )


def result_summary(result: Mapping[str, Any]) -> str:
    """`2 revoked, 1 exempt, 0 failed in 123456789012/us-east-1 (enforce)`."""
    counts: dict[str, int] = {}
    for finding in result.get("Findings") or ():
        if isinstance(finding, Mapping):
            action = str(finding.get("Action"))
            counts[action] = counts.get(action, 0) + 1
    dry_run = bool(result.get("DryRun"))
    shown = ["would-revoke" if dry_run else "revoked", "exempt", "failed"]
    shown += sorted(a for a in counts if a not in shown)
    tally = ", ".join(f"{counts.get(action, 0)} {action}" for action in shown)
    mode = _text(result.get("Mode"), "?")
    if dry_run and mode != "report":
        mode += ", dry run"
    judged = result.get("RulesJudged")
    rules = f"; {judged} rule{'s' * (judged != 1)} judged" if isinstance(judged, int) else ""
    return f"{tally} in {_where(result)} ({mode}){rules}"


def render_restore(report: Mapping[str, Any]) -> str:
    """A restore report (egress_guard.restore.Report.to_dict) as a table and a summary."""
    items = [i for i in report.get("Rules") or () if isinstance(i, Mapping)]
    rows = [
        (
            _text(item.get("GroupId")),
            _text(item.get("SecurityGroupRuleId")),
            _text(item.get("Traffic")),
            _text(item.get("Status")),
            _restore_detail(item),
        )
        for item in items
    ]
    parts = [format_table(RESTORE_HEADERS, rows)] if rows else ["nothing to restore"]
    parts.append(restore_summary(report))
    parts.extend(f"note: {_one_line(str(n))}" for n in report.get("Notes") or ())
    return "\n".join(parts) + "\n"


def restore_csv(report: Mapping[str, Any]) -> str:
    """A restore report's rules as CSV."""
    rows = [
        (
            _raw(item.get("GroupId")),
            _raw(item.get("SecurityGroupRuleId")),
            _raw(item.get("Traffic")),
            _raw(item.get("Status")),
            _restore_detail(item),
        )
        for item in report.get("Rules") or ()
        if isinstance(item, Mapping)
    ]
    return to_csv(RESTORE_CSV_HEADERS, rows)


def restore_summary(report: Mapping[str, Any]) -> str:
    """`2 restored, 1 already present, 0 failed in 123456789012/us-east-1`."""
    counts: dict[str, int] = {}
    for item in report.get("Rules") or ():
        if isinstance(item, Mapping):
            status = str(item.get("Status"))
            counts[status] = counts.get(status, 0) + 1
    first = "would-restore" if report.get("DryRun") else "restored"
    shown = [first, "already-present", "failed"]
    shown += sorted(s for s in counts if s not in shown)
    tally = ", ".join(f"{counts.get(s, 0)} {s.replace('-', ' ')}" for s in shown)
    dry = " (dry run)" if report.get("DryRun") else ""
    return f"{tally} in {_where(report)}{dry}"


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
                    _text(entry.get("id")),
                    _protocol(entry),
                    _ports(entry),
                    destination,
                    _text(entry.get("match"), "covers" if kind == "allow" else "overlaps"),
                )
            )
    return rows


def _protocol(entry: Mapping[str, Any]) -> str:
    value = entry.get("protocol")
    if value is None:
        # Ports without a protocol mean those ports over tcp and over udp (SPEC 3).
        return "tcp+udp" if "ports" in entry else "any"
    return "all" if str(value) == "-1" else _text(value)


def _ports(entry: Mapping[str, Any]) -> str:
    if "ports" in entry:
        return str(entry["ports"])
    if "icmp_type" in entry or "icmp_code" in entry:
        kind = entry.get("icmp_type", "all")
        code = entry.get("icmp_code", "all")
        return f"type {kind} code {code}"
    return "any"


def _finding_order(finding: Mapping[str, Any]) -> tuple[str, str]:
    return (_text(finding.get("GroupId")), _text(finding.get("SecurityGroupRuleId")))


def _action(finding: Mapping[str, Any]) -> str:
    action = _text(finding.get("Action"))
    error = finding.get("Error")
    if finding.get("ExemptUntil"):
        action += f" until {_text(finding.get('ExemptUntil'))}"
    return f"{action}: {error}" if error else action


def _restore_detail(item: Mapping[str, Any]) -> str:
    if item.get("Error"):
        return str(item["Error"])
    for key, label in (
        ("NewSecurityGroupRuleId", "new rule"),
        ("ExistingSecurityGroupRuleId", "as"),
    ):
        if item.get(key):
            return f"{label} {item[key]}"
    return ""


EXPIRING_HEADERS = ("EXEMPT UNTIL", "GROUP", "RULE", "TRAFFIC", "DENYLIST ENTRY")


def _expiring_lines(result: Mapping[str, Any]) -> list[str]:
    """`scan --expiring-within`: the exemptions that end soon, soonest first."""
    if "ExpiringExemptions" not in result:
        return []
    items = [i for i in result.get("ExpiringExemptions") or () if isinstance(i, Mapping)]
    if not items:
        return ["expiring exemptions: none"]
    rows = [
        (
            _text(i.get("ExemptUntil")),
            _text(i.get("GroupId")),
            _text(i.get("SecurityGroupRuleId")),
            _text(i.get("Traffic")),
            _text(i.get("DenylistEntry")),
        )
        for i in items
    ]
    return [f"expiring exemptions ({len(items)}):", format_table(EXPIRING_HEADERS, rows)]


def _permission_lines(result: Mapping[str, Any]) -> list[str]:
    """A dry run's permission checks that EC2 refused (the ones an operator must fix)."""
    lines = []
    for check in result.get("PermissionChecks") or ():
        if isinstance(check, Mapping) and check.get("RevokePermitted") is False:
            lines.append(
                f"not permitted: revoke in {_text(check.get('GroupId'))}: "
                f"{_one_line(_text(check.get('Detail')))}"
            )
    return lines


def _where(doc: Mapping[str, Any]) -> str:
    account = _text(doc.get("Account"), "this account")
    region = _text(doc.get("Region"), "default region")
    return f"{account}/{region}"


def _raw(value: Any) -> str:
    """A CSV cell: the value as text, empty when there is none."""
    return "" if value is None else str(value)


def _text(value: Any, default: str = "-") -> str:
    if value is None or value == "":
        return default
    return _one_line(str(value))


def _one_line(text: str) -> str:
    return " ".join(text.split()) if ("\n" in text or "\t" in text or "\r" in text) else text


# --- plan --------------------------------------------------------------------------------

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
    many = len({(_text(p.get("Account")), _text(p.get("Region"))) for p in places}) > 1
    headers = (("ACCOUNT", "REGION") if many else ()) + PLAN_HEADERS
    rows = [
        (
            *((_text(c.get("Account")), _text(c.get("Region"))) if many else ()),
            _text(c.get("GroupId")),
            *_group(groups, c),
            _text(c.get("SecurityGroupRuleId")),
            _text(c.get("Traffic")),
            _text(c.get("DenylistEntry")),
            _text(c.get("Action")),
        )
        for c in changes
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
                reason = _one_line(_text(held.get("Reason"))).removesuffix(": none revoked (held)")
                parts.append(f"limit: under NEW, {_where(place)} would be held: {reason}{already}")
    for place in places:
        parts.extend(f"note: {_one_line(str(n))}" for n in place.get("Notes") or ())
    return "\n".join(parts) + "\n"


def plan_summary(place: Mapping[str, Any]) -> str:
    """`2 newly revoked, 1 newly spared in 123456789012/us-east-1; 40 rules judged, 3 due
    under NEW (2 under CURRENT); 1 exempt rule left out`."""
    judged = place.get("RulesJudged")
    exempt = place.get("ExemptLeftOut") or 0
    line = (
        f"{place.get('NewlyRevoked', 0)} newly revoked, {place.get('NewlySpared', 0)} newly "
        f"spared in {_where(place)}; {judged} rule{'s' * (judged != 1)} judged, "
        f"{place.get('DueUnderNew')} due under NEW ({place.get('DueUnderCurrent')} under CURRENT)"
    )
    if exempt:
        line += f"; {exempt} exempt rule{'s' * (exempt != 1)} left out"
    return line


def plan_csv(plan: Mapping[str, Any], groups: Groups | None = None) -> str:
    """The plan's changes as CSV, each with its place."""
    rows = [
        (_raw(c.get("Account")), _raw(c.get("Region")), *_csv_cells(c, groups))
        for c in _changes(plan)
    ]
    return to_csv(PLAN_CSV_HEADERS, rows)


def _changes(plan: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = [c for c in plan.get("Changes") or () if isinstance(c, Mapping)]
    return sorted(
        found,
        key=lambda c: (_text(c.get("Account")), _text(c.get("Region")), *_finding_order(c)),
    )


# --- a merged result of many places (egress_guard.places) ---------------------------------------

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
        (
            _text(place.get("Account")),
            _text(place.get("Region")),
            _text(f.get("GroupId")),
            _text(f.get("SecurityGroupRuleId")),
            _text(f.get("Traffic")),
            _text(f.get("DenylistEntry")),
            _action(f),
        )
        for place in places
        for f in _findings(place)
    ]
    if findings:
        parts.append("")
        parts.append(format_table(PLACE_FINDING_HEADERS, findings))
    parts.append(places_summary(merged))
    parts.extend(f"error: {_one_line(str(e))}" for e in merged.get("Errors") or ())
    for place in places:
        where = f"{_text(place.get('Account'))}/{_text(place.get('Region'))}"
        parts.extend(f"note: {where}: {_one_line(str(n))}" for n in place.get("Notes") or ())
    return "\n".join(parts) + "\n"


def places_csv(merged: Mapping[str, Any]) -> str:
    """The findings of every place as CSV, and a row for each place that could not be
    scanned (action `not-scanned`, the reason in `error`)."""
    rows: list[tuple[str, ...]] = []
    for place in _places(merged):
        account, region = _raw(place.get("Account")), _raw(place.get("Region"))
        if place.get("Error"):
            rows.append((account, region, "", "", "", "", "not-scanned", _raw(place["Error"])))
        for f in _findings(place):
            rows.append(
                (
                    account,
                    region,
                    _raw(f.get("GroupId")),
                    _raw(f.get("SecurityGroupRuleId")),
                    _raw(f.get("Traffic")),
                    _raw(f.get("DenylistEntry")),
                    _raw(f.get("Action")),
                    _raw(f.get("Error")),
                )
            )
    return to_csv(PLACES_CSV_HEADERS, rows)


def places_summary(merged: Mapping[str, Any]) -> str:
    """`6 places: 5 ok, 1 failed (1 not reachable); 2 revoked, 1 exempt, 0 failed; 360 rules
    judged (enforce)`."""
    totals = merged.get("Totals")
    totals = totals if isinstance(totals, Mapping) else {}
    dry_run = bool(merged.get("DryRun"))
    acted = ("would-revoke", "RulesWouldRevoke") if dry_run else ("revoked", "RulesRevoked")
    mode = _text(merged.get("Mode"), "?")
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


def _places(merged: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [p for p in merged.get("Places") or () if isinstance(p, Mapping)]


def _place_row(place: Mapping[str, Any], acted: str) -> tuple[str, ...]:
    counts: dict[str, int] = {}
    for finding in _findings(place):
        action = str(finding.get("Action"))
        counts[action] = counts.get(action, 0) + 1
    if place.get("Error"):
        status, detail = "not reachable", _text(place.get("Error"))
    elif place.get("Return") is True:
        status, detail = "ok", ""
    else:
        errors = place.get("Errors") or ()
        status = "failed"
        detail = _one_line(str(errors[0])) if errors else ""
        if len(errors) > 1:
            detail += f" (and {len(errors) - 1} more)"
    judged = place.get("RulesJudged")
    return (
        _text(place.get("Account")),
        _text(place.get("Region")),
        status,
        str(judged) if isinstance(judged, int) else "-",
        str(counts.get(acted, 0)),
        str(counts.get("exempt", 0)),
        str(counts.get("failed", 0)),
        detail,
    )
