"""The table of a restore report (egress_guard.restore.Report.to_dict): a row per rule."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from egress_guard.tables.layout import format_table, one_line, raw, text, to_csv, where_of

RESTORE_HEADERS = ("GROUP", "RULE", "TRAFFIC", "STATUS", "DETAIL")
RESTORE_CSV_HEADERS = ("group_id", "rule_id", "traffic", "status", "detail")


def render_restore(report: Mapping[str, Any]) -> str:
    """A restore report (egress_guard.restore.Report.to_dict) as a table and a summary."""
    rows = _rows(report, text)
    parts = [format_table(RESTORE_HEADERS, rows)] if rows else ["nothing to restore"]
    parts.append(restore_summary(report))
    parts.extend(f"note: {one_line(str(n))}" for n in report.get("Notes") or ())
    return "\n".join(parts) + "\n"


def restore_csv(report: Mapping[str, Any]) -> str:
    """A restore report's rules as CSV."""
    rows = _rows(report, raw)
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
    return f"{tally} in {where_of(report)}{dry}"


def _rows(report: Mapping[str, Any], cell: Callable[[Any], str]) -> list[tuple[str, ...]]:
    """A row per rule: group, rule, traffic and status as `cell` writes them, the detail."""
    keys = ("GroupId", "SecurityGroupRuleId", "Traffic", "Status")
    return [
        (*(cell(item.get(key)) for key in keys), _restore_detail(item))
        for item in report.get("Rules") or ()
        if isinstance(item, Mapping)
    ]


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
