"""CloudTrail events in, offending egress rules revoked (docs/invocation.md).

Each test builds a group in the emulator, sends the handler an event from events/, and
checks the live state afterwards, as a security engineer would.
"""

from __future__ import annotations

from typing import Any

import pytest
from support.egress import HTTPS, SMTP, SMTP_ONLY, described, prefix_list, use_denylist
from support.egress import egress_by_id as egress_rules
from support.logs import FunctionLog
from support.proxy import add_revoked_security_group_rules, fail
from support.samples import authorize_egress, pointed, sample

from egress_guard import handler
from egress_guard.denylist import DenylistError
from egress_guard.service import AccountRefused, RemediationFailed

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("fresh_container")]

WRITES = {"RevokeSecurityGroupEgress", "RevokeSecurityGroupIngress", "AuthorizeSecurityGroupEgress"}


def test_offending_rule_is_revoked_and_legitimate_rule_kept(
    make_group: Any, aws_cli: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_denylist(monkeypatch, SMTP_ONLY)
    group = make_group([SMTP, HTTPS], keep_default_egress=False)
    smtp_id, https_id = group.rule_ids

    result = handler.lambda_handler(
        authorize_egress(group.group_id, smtp_id, https_id), lambda_context
    )

    live = aws_cli(
        "ec2",
        "describe-security-group-rules",
        "--filters",
        f"Name=group-id,Values={group.group_id}",
    )
    assert {r["SecurityGroupRuleId"] for r in live["SecurityGroupRules"]} == {https_id}
    assert result["Return"] is True
    assert result["RevokedSecurityGroupRules"] == [described(group.group_id, smtp_id, SMTP)]
    assert [
        (f["SecurityGroupRuleId"], f["DenylistEntry"], f["Action"]) for f in result["Findings"]
    ] == [(smtp_id, "smtp-out", "revoked")]


def test_rule_created_with_the_aws_cli_is_revoked(
    make_group: Any, aws_cli: Any, ec2: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_denylist(monkeypatch, SMTP_ONLY)
    group = make_group([], keep_default_egress=False)
    permission = "IpProtocol=tcp,FromPort=25,ToPort=25,IpRanges=[{CidrIp=0.0.0.0/0,Description=x}]"
    created = aws_cli(
        "ec2", "authorize-security-group-egress", "--group-id", group.group_id,
        "--ip-permissions", permission,
    )  # fmt: skip
    rule_id = created["SecurityGroupRules"][0]["SecurityGroupRuleId"]

    result = handler.lambda_handler(authorize_egress(group.group_id, rule_id), lambda_context)

    assert egress_rules(ec2, group.group_id) == {}
    assert result["RevokedSecurityGroupRules"][0]["Description"] == "x"


def test_response_listing_revoked_rules_is_reported_without_a_read_back(
    make_group: Any, proxy: Any, ec2: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real EC2 answers with RevokedSecurityGroupRules: one read and one write then."""
    use_denylist(monkeypatch, SMTP_ONLY)
    proxy.on("RevokeSecurityGroupEgress", add_revoked_security_group_rules)
    group = make_group([SMTP], keep_default_egress=False)

    result = handler.lambda_handler(
        authorize_egress(group.group_id, *group.rule_ids), lambda_context
    )

    assert result["RevokedSecurityGroupRules"][0]["SecurityGroupRuleId"] == group.rule_ids[0]
    assert proxy.actions() == [
        "DescribeSecurityGroupRules",
        "DescribeSecurityGroups",
        "RevokeSecurityGroupEgress",
    ]


def test_emulator_response_without_revoked_rules_reports_the_rules_as_read_with_no_read_back(
    make_group: Any, proxy: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`Return: true` alone (moto, older API versions) confirms a revoke by rule ids."""
    use_denylist(monkeypatch, SMTP_ONLY)
    group = make_group([SMTP], keep_default_egress=False)

    result = handler.lambda_handler(
        authorize_egress(group.group_id, *group.rule_ids), lambda_context
    )

    assert proxy.actions()[-1] == "RevokeSecurityGroupEgress"
    assert [r["SecurityGroupRuleId"] for r in result["RevokedSecurityGroupRules"]] == list(
        group.rule_ids
    )


def test_allow_entry_spares_a_rule_inside_it(
    make_group: Any, ec2: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_denylist(
        monkeypatch,
        {
            "version": 1,
            "deny": [{"id": "internet", "cidr": "0.0.0.0/0"}],
            "allow": [{"id": "https", "protocol": "tcp", "ports": "443", "cidr": "0.0.0.0/0"}],
        },
    )
    group = make_group([HTTPS, SMTP], keep_default_egress=False)

    handler.lambda_handler(authorize_egress(group.group_id, *group.rule_ids), lambda_context)

    assert set(egress_rules(ec2, group.group_id)) == {group.rule_ids[0]}


@pytest.mark.parametrize(
    ("match", "expected_left"),
    [("overlaps", set()), ("covers", {"narrow"})],
    ids=["overlaps-takes-both", "covers-takes-only-the-wide-rule"],
)
def test_covers_takes_only_rules_allowing_all_the_entry_names(
    match: str,
    expected_left: set[str],
    make_group: Any,
    ec2: Any,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_denylist(
        monkeypatch,
        {
            "version": 1,
            "deny": [
                {
                    "id": "web",
                    "protocol": "tcp",
                    "ports": "80-443",
                    "cidr": "0.0.0.0/0",
                    "match": match,
                }
            ],
        },
    )
    group = make_group(
        [
            {"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535, "CidrIpv4": "0.0.0.0/0"},
            {"IpProtocol": "tcp", "Port": 443, "CidrIpv4": "198.51.100.0/24"},
        ],
        keep_default_egress=False,
    )
    names = dict(zip(group.rule_ids, ("wide", "narrow"), strict=True))

    handler.lambda_handler(authorize_egress(group.group_id, *group.rule_ids), lambda_context)

    assert {names[r] for r in egress_rules(ec2, group.group_id)} == expected_left


def test_ipv6_rule_is_judged_by_ipv6_entries_only(
    make_group: Any, ec2: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_denylist(
        monkeypatch,
        {
            "version": 1,
            "deny": [
                {"id": "v6-range", "cidr": "2001:db8::/32"},
                {"id": "v4-all", "protocol": "udp", "cidr": "0.0.0.0/0"},
            ],
        },
    )
    group = make_group(
        [
            {"IpProtocol": "tcp", "Port": 443, "CidrIpv6": "2001:db8:1::/48"},
            {"IpProtocol": "udp", "Port": 53, "CidrIpv6": "2001:db9::/32"},
        ],
        keep_default_egress=False,
    )

    result = handler.lambda_handler(
        authorize_egress(group.group_id, *group.rule_ids), lambda_context
    )

    assert set(egress_rules(ec2, group.group_id)) == {group.rule_ids[1]}
    assert result["RevokedSecurityGroupRules"][0]["CidrIpv6"] == "2001:db8:1::/48"


def test_protocol_number_in_the_rule_is_the_protocol_named_in_the_entry(
    make_group: Any, ec2: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_denylist(monkeypatch, SMTP_ONLY)
    group = make_group(
        [{"IpProtocol": "6", "Port": 25, "CidrIpv4": "0.0.0.0/0"}], keep_default_egress=False
    )

    handler.lambda_handler(authorize_egress(group.group_id, *group.rule_ids), lambda_context)

    assert egress_rules(ec2, group.group_id) == {}


def test_forged_event_claiming_a_legitimate_rule_revokes_nothing(
    make_group: Any, proxy: Any, ec2: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The event says tcp/25 to 0.0.0.0/0 was added; the live rule it names is https."""
    use_denylist(monkeypatch, SMTP_ONLY)
    group = make_group([HTTPS], keep_default_egress=False)

    result = handler.lambda_handler(
        authorize_egress(group.group_id, *group.rule_ids), lambda_context
    )

    assert set(egress_rules(ec2, group.group_id)) == set(group.rule_ids)
    assert result["Findings"] == []
    assert not WRITES & set(proxy.actions())


def test_forged_event_naming_a_rule_of_another_group_revokes_nothing(
    make_group: Any, ec2: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_denylist(monkeypatch, SMTP_ONLY)
    victim = make_group([SMTP], keep_default_egress=False)
    named = make_group([HTTPS], keep_default_egress=False)

    handler.lambda_handler(authorize_egress(named.group_id, *victim.rule_ids), lambda_context)

    assert set(egress_rules(ec2, victim.group_id)) == set(victim.rule_ids)


@pytest.mark.parametrize(
    ("sample_name", "named"),
    [
        ("cloudtrail-failed-call.json", "rule_ids"),
        ("cloudtrail-authorize-ingress.json", "ingress_rule_ids"),
    ],
    ids=["failed-call", "ingress-event"],
)
def test_event_that_added_no_egress_rule_writes_nothing(
    sample_name: str, named: str, make_group: Any, proxy: Any, lambda_context: Any
) -> None:
    """The group offends the packaged default (tcp/25, all traffic): the event is what
    spares it."""
    group = make_group([SMTP], ingress=[{"IpProtocol": "tcp", "Port": 22, "CidrIpv4": "0.0.0.0/0"}])
    event = pointed(sample_name, group.group_id, getattr(group, named))

    result = handler.lambda_handler(event, lambda_context)

    assert result["Findings"] == []
    assert proxy.actions() == []


def test_ingress_rule_named_in_an_egress_event_is_never_touched(
    make_group: Any, ec2: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_denylist(monkeypatch, {"version": 1, "deny": [{"id": "anything", "cidr": "0.0.0.0/0"}]})
    group = make_group(
        [],
        ingress=[{"IpProtocol": "tcp", "Port": 25, "CidrIpv4": "0.0.0.0/0"}],
        keep_default_egress=False,
    )

    handler.lambda_handler(
        authorize_egress(group.group_id, *group.ingress_rule_ids), lambda_context
    )

    rules = ec2.describe_security_group_rules(
        Filters=[{"Name": "group-id", "Values": [group.group_id]}]
    )
    assert [r["SecurityGroupRuleId"] for r in rules["SecurityGroupRules"]] == list(
        group.ingress_rule_ids
    )


def test_same_event_twice_gives_the_same_state_and_no_error(
    make_group: Any, ec2: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_denylist(monkeypatch, SMTP_ONLY)
    group = make_group([SMTP, HTTPS], keep_default_egress=False)
    event = authorize_egress(group.group_id, *group.rule_ids)

    first = handler.lambda_handler(event, lambda_context)
    second = handler.lambda_handler(event, lambda_context)

    assert len(first["RevokedSecurityGroupRules"]) == 1
    assert (second["Return"], second["RevokedSecurityGroupRules"], second["Findings"]) == (
        True,
        [],
        [],
    )
    assert set(egress_rules(ec2, group.group_id)) == {group.rule_ids[1]}


def test_exempt_group_is_reported_not_revoked(
    make_group: Any, ec2: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_denylist(monkeypatch, SMTP_ONLY)
    group = make_group([SMTP], keep_default_egress=False, tags={"egress-guard:exempt": "true"})

    result = handler.lambda_handler(
        authorize_egress(group.group_id, *group.rule_ids), lambda_context
    )

    assert set(egress_rules(ec2, group.group_id)) == set(group.rule_ids)
    assert [f["Action"] for f in result["Findings"]] == ["exempt"]


def test_exempt_rule_is_reported_and_its_neighbour_revoked(
    make_group: Any, ec2: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_denylist(monkeypatch, SMTP_ONLY)
    group = make_group(
        [
            {**SMTP, "Tags": {"egress-guard:exempt": "true"}},
            {**SMTP, "CidrIpv4": "198.51.100.0/24"},
        ],
        keep_default_egress=False,
    )

    result = handler.lambda_handler(
        authorize_egress(group.group_id, *group.rule_ids), lambda_context
    )

    assert set(egress_rules(ec2, group.group_id)) == {group.rule_ids[0]}
    assert sorted(f["Action"] for f in result["Findings"]) == ["exempt", "revoked"]


def test_custom_exempt_tag_key(
    make_group: Any, ec2: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_denylist(monkeypatch, SMTP_ONLY)
    monkeypatch.setenv("EXEMPT_TAG", "security:allow-egress")
    group = make_group([SMTP], keep_default_egress=False, tags={"security:allow-egress": "TRUE"})

    handler.lambda_handler(authorize_egress(group.group_id, *group.rule_ids), lambda_context)

    assert set(egress_rules(ec2, group.group_id)) == set(group.rule_ids)


def test_deleted_group_is_a_no_op(
    make_group: Any, ec2: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_denylist(monkeypatch, SMTP_ONLY)
    group = make_group([SMTP], keep_default_egress=False)
    ec2.delete_security_group(GroupId=group.group_id)

    result = handler.lambda_handler(
        authorize_egress(group.group_id, *group.rule_ids), lambda_context
    )

    assert (result["Return"], result["Findings"]) == (True, [])


def test_rule_gone_between_read_and_revoke_is_reported_gone(
    make_group: Any, proxy: Any, ec2: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_denylist(monkeypatch, SMTP_ONLY)
    group = make_group([SMTP], keep_default_egress=False)

    def someone_else_revokes_first(request: Any, forward: Any) -> Any:
        ec2.revoke_security_group_egress(
            GroupId=group.group_id, SecurityGroupRuleIds=list(group.rule_ids)
        )
        return forward(request)

    proxy.on("RevokeSecurityGroupEgress", someone_else_revokes_first)

    result = handler.lambda_handler(
        authorize_egress(group.group_id, *group.rule_ids), lambda_context
    )

    assert (result["Return"], [f["Action"] for f in result["Findings"]]) == (True, ["gone"])


def test_report_mode_revokes_nothing_and_proves_permission(
    make_group: Any, proxy: Any, ec2: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_denylist(monkeypatch, SMTP_ONLY)
    monkeypatch.setenv("MODE", "report")
    group = make_group([SMTP], keep_default_egress=False)

    result = handler.lambda_handler(
        authorize_egress(group.group_id, *group.rule_ids), lambda_context
    )

    assert set(egress_rules(ec2, group.group_id)) == set(group.rule_ids)
    assert (result["DryRun"], result["RevokedSecurityGroupRules"]) == (True, [])
    assert [f["Action"] for f in result["Findings"]] == ["would-revoke"]
    assert result["PermissionChecks"] == [
        {"GroupId": group.group_id, "RevokePermitted": True, "Detail": "DryRunOperation"}
    ]


def test_report_mode_says_when_the_revoke_would_be_refused(
    make_group: Any, proxy: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_denylist(monkeypatch, SMTP_ONLY)
    monkeypatch.setenv("MODE", "report")
    proxy.on("RevokeSecurityGroupEgress", fail("UnauthorizedOperation", "You are not authorized"))
    group = make_group([SMTP], keep_default_egress=False)

    result = handler.lambda_handler(
        authorize_egress(group.group_id, *group.rule_ids), lambda_context
    )

    assert result["PermissionChecks"][0]["RevokePermitted"] is False


def test_broken_denylist_stops_the_invocation_naming_entry_and_field(
    make_group: Any, proxy: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_denylist(
        monkeypatch, {"version": 1, "deny": [{"id": "smtp", "protocol": "tcp", "ports": "70000"}]}
    )
    group = make_group([SMTP], keep_default_egress=False)

    with pytest.raises(DenylistError, match=r'deny\[0\] \(id "smtp"\): ports'):
        handler.lambda_handler(authorize_egress(group.group_id, *group.rule_ids), lambda_context)
    assert not WRITES & set(proxy.actions())


def test_ec2_refusal_in_a_sweep_fails_the_invocation_after_every_group_was_tried(
    make_group: Any, proxy: Any, ec2: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_denylist(monkeypatch, SMTP_ONLY)
    refused = make_group([SMTP], keep_default_egress=False)
    allowed = make_group([SMTP], keep_default_egress=False)

    def refuse_one_group(request: Any, forward: Any) -> Any:
        if request.params.get("GroupId") == refused.group_id:
            return fail("UnauthorizedOperation", "not for this group")(request, forward)
        return forward(request)

    proxy.on("RevokeSecurityGroupEgress", refuse_one_group)

    with pytest.raises(RemediationFailed) as failure:
        handler.lambda_handler(sample("scheduled-event.json"), lambda_context)

    outcome = {f["GroupId"]: f["Action"] for f in failure.value.result.to_dict()["Findings"]}
    assert (outcome[refused.group_id], outcome[allowed.group_id]) == ("failed", "revoked")
    assert failure.value.result.to_dict()["Return"] is False
    assert egress_rules(ec2, allowed.group_id) == {}


def test_legacy_record_without_rule_ids_finds_the_rule_by_its_properties(
    make_group: Any, ec2: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_denylist(
        monkeypatch,
        {
            "version": 1,
            "deny": [{"id": "all", "protocol": "-1", "cidr": "0.0.0.0/0", "match": "covers"}],
        },
    )
    group = make_group([HTTPS], keep_default_egress=True)
    event = pointed("cloudtrail-authorize-egress-legacy-2020.json", group.group_id)

    result = handler.lambda_handler(event, lambda_context)

    assert set(egress_rules(ec2, group.group_id)) == set(group.rule_ids)
    assert [f["SecurityGroupRuleId"] for f in result["Findings"]] == [group.default_rule_id]


def test_create_security_group_revokes_the_default_egress_rule(
    make_group: Any, ec2: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DENYLIST", raising=False)  # the packaged default
    group = make_group([], keep_default_egress=True)
    event = pointed("cloudtrail-create-security-group.json", group.group_id)

    result = handler.lambda_handler(event, lambda_context)

    assert egress_rules(ec2, group.group_id) == {}
    assert result["Findings"][0]["DenylistEntry"] == "all-traffic-to-internet"


def test_modified_rule_is_judged_in_its_new_state(
    make_group: Any, ec2: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_denylist(monkeypatch, SMTP_ONLY)
    group = make_group([HTTPS], keep_default_egress=False)
    ec2.modify_security_group_rules(
        GroupId=group.group_id,
        SecurityGroupRules=[
            {
                "SecurityGroupRuleId": group.rule_ids[0],
                "SecurityGroupRule": {
                    "IpProtocol": "tcp",
                    "FromPort": 25,
                    "ToPort": 25,
                    "CidrIpv4": "0.0.0.0/0",
                },
            }
        ],
    )
    event = pointed("cloudtrail-modify-security-group-rules.json", group.group_id, group.rule_ids)

    handler.lambda_handler(event, lambda_context)

    assert egress_rules(ec2, group.group_id) == {}


def test_event_for_another_account_without_member_role_is_refused(
    make_group: Any, proxy: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    group = make_group([SMTP], keep_default_egress=False)
    event = authorize_egress(group.group_id, *group.rule_ids)
    event["account"] = event["detail"]["recipientAccountId"] = "210987654321"

    with pytest.raises(AccountRefused, match="210987654321"):
        handler.lambda_handler(event, lambda_context)
    assert proxy.actions() == []


def test_prefix_list_rule_is_judged_through_its_cidrs(
    make_group: Any, ec2: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_denylist(
        monkeypatch, {"version": 1, "deny": [{"id": "bad-range", "cidr": "203.0.113.0/24"}]}
    )
    partners = prefix_list(ec2, "198.51.100.0/24", "203.0.113.128/25")
    group = make_group(
        [{"IpProtocol": "tcp", "Port": 443, "PrefixListId": partners}], keep_default_egress=False
    )

    result = handler.lambda_handler(
        authorize_egress(group.group_id, *group.rule_ids), lambda_context
    )

    assert [(f["DenylistEntry"], f["Action"]) for f in result["Findings"]] == [
        ("bad-range", "revoked")
    ]


def test_every_decision_is_one_log_line_with_the_event_and_request_ids(
    make_group: Any,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
    function_log: FunctionLog,
) -> None:
    use_denylist(monkeypatch, SMTP_ONLY)
    group = make_group([SMTP], keep_default_egress=False)

    handler.lambda_handler(
        authorize_egress(group.group_id, *group.rule_ids, event_id="evt-42"), lambda_context
    )

    [decision] = function_log.messages("revoked")
    assert (decision["correlation_id"], decision["function_request_id"], decision["rule_id"]) == (
        "evt-42",
        lambda_context.aws_request_id,
        group.rule_ids[0],
    )
