"""Plain-text tables for the command line's `--output table` (pure: dicts in, text out).

A person should see at a glance what was done: one row per offending (or exempt) rule,
sorted by group, then a summary line such as

    2 revoked, 1 exempt, 0 failed in 123456789012/us-east-1 (enforce)

followed by the errors and notes of the run, if any. The input is the result dict that the
handler returns (docs/result.md), the restore report of `egress_guard.restore`, or a
normalised denylist document, so the tables show exactly what the JSON output would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

RESULT_HEADERS = ("GROUP", "RULE", "TRAFFIC", "DENYLIST ENTRY", "ACTION")
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


def render_result(result: Mapping[str, Any]) -> str:
    """The result of one invocation or scan: findings table, summary, errors, notes."""
    findings = [f for f in result.get("Findings") or () if isinstance(f, Mapping)]
    rows = [
        (
            _text(f.get("GroupId")),
            _text(f.get("SecurityGroupRuleId")),
            _text(f.get("Traffic")),
            _text(f.get("DenylistEntry")),
            _action(f),
        )
        for f in sorted(findings, key=_finding_order)
    ]
    parts = [format_table(RESULT_HEADERS, rows)] if rows else ["no offending egress rules"]
    parts.append(result_summary(result))
    parts.extend(_permission_lines(result))
    parts.extend(f"error: {_one_line(str(e))}" for e in result.get("Errors") or ())
    parts.extend(f"note: {_one_line(str(n))}" for n in result.get("Notes") or ())
    return "\n".join(parts) + "\n"


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
    rows = []
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
                    _protocol(entry.get("protocol")),
                    _ports(entry),
                    destination,
                    _text(entry.get("match"), "covers" if kind == "allow" else "overlaps"),
                )
            )
    deny = len(document.get("deny") or ())
    allow = len(document.get("allow") or ())
    summary = f"{deny} deny entr{'y' if deny == 1 else 'ies'}, {allow} allow entr" + (
        "y" if allow == 1 else "ies"
    )
    return format_table(DENYLIST_HEADERS, rows) + "\n" + summary + "\n"


def _protocol(value: Any) -> str:
    if value is None:
        return "any"
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


def _text(value: Any, default: str = "-") -> str:
    if value is None or value == "":
        return default
    return _one_line(str(value))


def _one_line(text: str) -> str:
    return " ".join(text.split()) if ("\n" in text or "\t" in text or "\r" in text) else text
