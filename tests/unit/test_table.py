"""The command line's tables: pure rendering of results, restore reports and denylists."""

from __future__ import annotations

from typing import Any

from egress_guard.tables.denylist import denylist_csv, render_denylist
from egress_guard.tables.layout import format_table
from egress_guard.tables.restore import render_restore, restore_csv
from egress_guard.tables.result import render_result, result_csv, result_summary


def finding(group: str, rule: str, entry: str, action: str, **extra: Any) -> dict[str, Any]:
    return {
        "GroupId": group,
        "SecurityGroupRuleId": rule,
        "DenylistEntry": entry,
        "Action": action,
        "Traffic": "tcp/25 -> 0.0.0.0/0",
        **extra,
    }


def result(findings: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "Return": True,
        "DryRun": False,
        "RevokedSecurityGroupRules": [],
        "UnknownIpPermissions": [],
        "Findings": findings,
        "EventId": None,
        "Source": "cli:scan",
        "Account": "123456789012",
        "Region": "us-east-1",
        "Mode": "enforce",
        "RulesJudged": 7,
        **extra,
    }


def test_format_table_pads_columns_and_strips_trailing_blanks() -> None:
    text = format_table(("A", "LONGER"), [("xxxx", "y"), ("z", "")])
    assert text.splitlines() == ["A     LONGER", "xxxx  y", "z"]


def test_format_table_keeps_each_row_on_one_line() -> None:
    text = format_table(("A", "B"), [("two\nlines", "tab\there")])
    assert text.splitlines()[1] == "two lines  tab here"


def test_result_table_has_a_row_per_finding_sorted_by_group_and_rule() -> None:
    text = render_result(
        result(
            [
                finding("sg-2", "sgr-b", "smtp-out", "revoked"),
                finding("sg-1", "sgr-c", "smtp-out", "exempt"),
                finding("sg-2", "sgr-a", "all-traffic", "revoked"),
            ]
        ),
        {"sg-2": ("web", "vpc-2")},
    )
    lines = text.splitlines()
    assert lines[0].split() == [
        "GROUP", "NAME", "VPC", "RULE", "TRAFFIC", "DENYLIST", "ENTRY", "ACTION"
    ]  # fmt: skip
    assert [line.split()[:4] for line in lines[1:4]] == [
        ["sg-1", "-", "-", "sgr-c"],  # name and VPC unknown
        ["sg-2", "web", "vpc-2", "sgr-a"],
        ["sg-2", "web", "vpc-2", "sgr-b"],
    ]
    assert lines[1].split()[-1] == "exempt"
    assert "tcp/25 -> 0.0.0.0/0" in lines[1]
    # Every column starts at the same position on every line.
    starts = {line.index("sgr-") for line in lines[1:4]}
    assert len(starts) == 1
    assert lines[0].index("RULE") == starts.pop()
    summary = "2 revoked, 1 exempt, 0 failed in 123456789012/us-east-1 (enforce); 7 rules judged"
    assert lines[4] == summary
    assert text.endswith("\n")


def test_summary_of_a_dry_run_counts_would_revoke() -> None:
    summary = result_summary(
        result([finding("sg-1", "sgr-1", "x", "would-revoke")], DryRun=True, Mode="report")
    )
    assert summary == (
        "1 would-revoke, 0 exempt, 0 failed in 123456789012/us-east-1 (report); 7 rules judged"
    )


def test_summary_of_a_forced_dry_run_in_enforce_mode_says_so() -> None:
    summary = result_summary(result([], DryRun=True, RulesJudged=1))
    assert summary.endswith("(enforce, dry run); 1 rule judged")


def test_summary_lists_other_actions_and_unknown_account() -> None:
    summary = result_summary(
        result([finding("sg-1", "sgr-1", "x", "gone")], Account=None, Region=None)
    )
    assert summary.startswith("0 revoked, 0 exempt, 0 failed, 1 gone in this account/default")


def test_failed_rows_show_the_error_and_errors_and_notes_follow() -> None:
    text = render_result(
        result(
            [finding("sg-1", "sgr-1", "x", "failed", Error="UnauthorizedOperation: no")],
            Return=False,
            Errors=["sweep incomplete: could not read rules"],
            Notes=["no action: something"],
        )
    )
    lines = text.splitlines()
    assert lines[1].endswith("failed: UnauthorizedOperation: no")
    assert "1 failed" in lines[2]
    assert lines[3] == "error: sweep incomplete: could not read rules"
    assert lines[4] == "note: no action: something"


def test_no_findings_says_so_instead_of_an_empty_table() -> None:
    text = render_result(result([]))
    assert text.splitlines()[0] == "no offending egress rules"
    assert "0 revoked" in text


def test_no_findings_of_an_incomplete_run_never_claims_the_estate_clean() -> None:
    text = render_result(result([], Return=False, Errors=["sweep incomplete: no access"]))
    lines = text.splitlines()
    assert lines[0] == (
        "no offending egress rules found, but the run was incomplete (errors below)"
    )
    assert lines[-1] == "error: sweep incomplete: no access"


def test_result_csv_quotes_and_keeps_the_error_apart() -> None:
    text = result_csv(
        result(
            [
                finding("sg-2", "sgr-b", "smtp-out", "failed", Error="Throttling: slow, down"),
                finding("sg-1", "sgr-a", "smtp-out", "revoked"),
            ]
        ),
        {"sg-1": ("web, public", "vpc-1")},
    )
    assert text.splitlines() == [
        "group_id,group_name,vpc_id,rule_id,traffic,denylist_entry,action,error",
        'sg-1,"web, public",vpc-1,sgr-a,tcp/25 -> 0.0.0.0/0,smtp-out,revoked,',
        'sg-2,,,sgr-b,tcp/25 -> 0.0.0.0/0,smtp-out,failed,"Throttling: slow, down"',
    ]


def test_empty_result_csv_is_the_header_only() -> None:
    assert result_csv(result([])) == (
        "group_id,group_name,vpc_id,rule_id,traffic,denylist_entry,action,error\n"
    )


def test_refused_permission_checks_are_shown() -> None:
    text = render_result(
        result(
            [finding("sg-1", "sgr-1", "x", "would-revoke")],
            DryRun=True,
            PermissionChecks=[
                {"GroupId": "sg-1", "RevokePermitted": False, "Detail": "UnauthorizedOperation"},
                {"GroupId": "sg-2", "RevokePermitted": True, "Detail": "DryRunOperation"},
            ],
        )
    )
    assert "not permitted: revoke in sg-1: UnauthorizedOperation" in text
    assert "sg-2" not in text


# A rule of a restore report, put back as sgr-9.
RESTORED = {
    "GroupId": "sg-1",
    "SecurityGroupRuleId": "sgr-1",
    "Traffic": "all -> 0.0.0.0/0",
    "Status": "restored",
    "NewSecurityGroupRuleId": "sgr-9",
}


def test_restore_table_and_summary() -> None:
    report = {
        "DryRun": False,
        "Account": "123456789012",
        "Region": "eu-west-1",
        "Rules": [
            RESTORED,
            {
                "GroupId": "sg-1",
                "SecurityGroupRuleId": "sgr-2",
                "Traffic": "tcp/25 -> ::/0",
                "Status": "already-present",
                "ExistingSecurityGroupRuleId": "sgr-8",
            },
            {
                "GroupId": "sg-2",
                "SecurityGroupRuleId": "sgr-3",
                "Traffic": "tcp/25 -> ::/0",
                "Status": "failed",
                "Error": "InvalidGroup.NotFound: gone",
            },
        ],
        "Notes": ["a note"],
    }
    lines = render_restore(report).splitlines()
    assert lines[0].split() == ["GROUP", "RULE", "TRAFFIC", "STATUS", "DETAIL"]
    assert lines[1].endswith("restored         new rule sgr-9")
    assert lines[2].endswith("already-present  as sgr-8")
    assert lines[3].endswith("failed           InvalidGroup.NotFound: gone")
    assert lines[4] == "1 restored, 1 already present, 1 failed in 123456789012/eu-west-1"
    assert lines[5] == "note: a note"


def test_restore_dry_run_summary_and_nothing_to_do() -> None:
    text = render_restore({"DryRun": True, "Account": None, "Region": "us-east-1", "Rules": []})
    assert text.splitlines() == [
        "nothing to restore",
        "0 would restore, 0 already present, 0 failed in this account/us-east-1 (dry run)",
    ]


def test_denylist_table() -> None:
    document = {
        "version": 1,
        "deny": [
            {"id": "all", "protocol": "-1", "cidr": ["0.0.0.0/0", "::/0"], "match": "covers"},
            {"id": "smtp", "protocol": "tcp", "ports": "25", "match": "overlaps"},
            {"id": "ping", "protocol": "icmp", "icmp_type": 8, "match": "overlaps"},
        ],
        "allow": [{"id": "pl", "prefix_list": ["pl-0123456789abcdef0"]}],
    }
    lines = render_denylist(document).splitlines()
    assert lines[0].split() == ["LIST", "ID", "PROTOCOL", "PORTS", "DESTINATION", "MATCH"]
    assert lines[1].split() == ["deny", "all", "all", "any", "0.0.0.0/0,", "::/0", "covers"]
    assert lines[2].split() == ["deny", "smtp", "tcp", "25", "any", "overlaps"]
    assert "type 8 code all" in lines[3]
    assert lines[4].split() == ["allow", "pl", "any", "any", "pl-0123456789abcdef0", "covers"]
    assert lines[5] == "3 deny entries, 1 allow entry"


def test_denylist_entry_with_ports_and_no_protocol_is_tcp_and_udp() -> None:
    document = {"version": 1, "deny": [{"id": "dns", "ports": "53", "cidr": ["0.0.0.0/0"]}]}
    assert render_denylist(document).splitlines()[1].split() == [
        "deny", "dns", "tcp+udp", "53", "0.0.0.0/0", "overlaps"
    ]  # fmt: skip
    assert denylist_csv(document).splitlines() == [
        "list,id,protocol,ports,destination,match",
        "deny,dns,tcp+udp,53,0.0.0.0/0,overlaps",
    ]


def test_restore_csv() -> None:
    report = {"Rules": [RESTORED]}
    assert restore_csv(report).splitlines() == [
        "group_id,rule_id,traffic,status,detail",
        "sg-1,sgr-1,all -> 0.0.0.0/0,restored,new rule sgr-9",
    ]
