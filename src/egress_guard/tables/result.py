"""The table of one result (docs/result.md): a row per finding, a summary line, errors, notes.

    2 revoked, 1 exempt, 0 failed in 123456789012/us-east-1 (enforce)

Read through result_document, as every reader of a result; finding cells are shared with
the plan and places tables.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from egress_guard.result_document import FindingRecord, ResultDocument, read
from egress_guard.tables.layout import format_table, one_line, raw, tally, text, to_csv, where

# A group's name and VPC id, by group id (the command line reads them; "-" where unknown).
Groups = Mapping[str, tuple[str, str]]

RESULT_HEADERS = ("GROUP", "NAME", "VPC", "RULE", "TRAFFIC", "DENYLIST ENTRY", "ACTION")
RESULT_CSV_HEADERS = (
    "group_id", "group_name", "vpc_id", "rule_id", "traffic", "denylist_entry", "action",
    "error",
)  # fmt: skip
EXPIRING_HEADERS = ("EXEMPT UNTIL", "GROUP", "RULE", "TRAFFIC", "DENYLIST ENTRY")


def render_result(result: Mapping[str, Any], groups: Groups | None = None) -> str:
    """The result of one invocation or scan: findings table, summary, errors, notes.

    `groups`: name and VPC id by group id, for the NAME and VPC columns ("-" if missing).
    """
    document = read(result)
    rows = [
        (text(f.group_id), *group_cells(groups, f), *finding_cells(f))
        for f in in_order(document.findings)
    ]
    if rows:
        parts = [format_table(RESULT_HEADERS, rows)]
    elif document.errors:
        # Not "no offending egress rules": what could not be read may hold some.
        parts = ["no offending egress rules found, but the run was incomplete (errors below)"]
    else:
        parts = ["no offending egress rules"]
    parts.append(summary_of(document))
    parts.extend(_expiring_lines(document))
    parts.extend(_permission_lines(document))
    parts.extend(f"error: {one_line(e)}" for e in document.errors)
    parts.extend(f"note: {one_line(n)}" for n in document.notes)
    return "\n".join(parts) + "\n"


def result_csv(result: Mapping[str, Any], groups: Groups | None = None) -> str:
    """The findings as CSV: the table's rows, the error apart, empty cells where unknown."""
    findings = in_order(read(result).findings)
    rows = [(*csv_cells(f, groups), raw(f.error)) for f in findings]
    return to_csv(RESULT_CSV_HEADERS, rows)


def result_summary(result: Mapping[str, Any]) -> str:
    """`2 revoked, 1 exempt, 0 failed in 123456789012/us-east-1 (enforce)`."""
    return summary_of(read(result))


def summary_of(document: ResultDocument) -> str:
    counts = Counter(str(f.action) for f in document.findings)
    shown = tally(counts, ["would-revoke" if document.dry_run else "revoked", "exempt", "failed"])
    counted = ", ".join(f"{counts.get(action, 0)} {action}" for action in shown)
    mode = text(document.mode, "?")
    if document.dry_run and mode != "report":
        mode += ", dry run"
    judged = document.rules_judged
    rules = f"; {judged} rule{'s' * (judged != 1)} judged" if judged is not None else ""
    return f"{counted} in {where(document.account, document.region)} ({mode}){rules}"


def in_order(findings: Iterable[FindingRecord]) -> list[FindingRecord]:
    """By group, then rule."""
    return sorted(findings, key=lambda f: (text(f.group_id), text(f.rule_id)))


def group_cells(groups: Groups | None, finding: FindingRecord) -> tuple[str, str]:
    name, vpc = (groups or {}).get(text(finding.group_id), ("", ""))
    return text(name), text(vpc)


def finding_cells(finding: FindingRecord) -> tuple[str, str, str, str]:
    """RULE, TRAFFIC, DENYLIST ENTRY and ACTION (with when an exemption ends, and the error)."""
    action = text(finding.action)
    if finding.exempt_until:
        action += f" until {text(finding.exempt_until)}"
    if finding.error:
        action = f"{action}: {finding.error}"
    return text(finding.rule_id), text(finding.traffic), text(finding.entry_id), action


def csv_cells(item: FindingRecord, groups: Groups | None) -> tuple[str, ...]:
    """A finding's (or a planned change's) CSV cells: group, its name and VPC, rule,
    traffic, entry, action."""
    group_id = raw(item.group_id)
    return (
        group_id,
        *((groups or {}).get(group_id, ("", ""))),
        raw(item.rule_id),
        raw(item.traffic),
        raw(item.entry_id),
        raw(item.action),
    )


def _expiring_lines(document: ResultDocument) -> list[str]:
    """`scan --expiring-within`: the exemptions that end soon, soonest first."""
    if "ExpiringExemptions" not in document.extra:
        return []
    found = document.extra.get("ExpiringExemptions")
    items = [i for i in found or () if isinstance(i, Mapping)]
    if not items:
        return ["expiring exemptions: none"]
    rows = [
        (
            text(i.get("ExemptUntil")),
            text(i.get("GroupId")),
            text(i.get("SecurityGroupRuleId")),
            text(i.get("Traffic")),
            text(i.get("DenylistEntry")),
        )
        for i in items
    ]
    return [f"expiring exemptions ({len(items)}):", format_table(EXPIRING_HEADERS, rows)]


def _permission_lines(document: ResultDocument) -> list[str]:
    """A dry run's permission checks that EC2 refused (the ones an operator must fix)."""
    return [
        f"not permitted: revoke in {text(c.group_id)}: {one_line(text(c.detail))}"
        for c in document.permission_checks
        if not c.permitted
    ]
