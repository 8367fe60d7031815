"""Changes that add egress without any security-group event (docs/event-sources.md; issue 8 items
5 and 6): a new VPC, whose `default` group gets the all-traffic egress rule, and a managed
prefix list whose new entries widen every egress rule that sends traffic to it.

moto 5.2.5 answers GetManagedPrefixListAssociations with an HTTP 500 page (MOTO_NOTES.md).
Real EC2 answers it: `answer_prefix_list_associations` below does so from moto's own rules,
one association per page so that the pagination is exercised too. Without the hook the
tests see what an endpoint lacking the call does; with `fail("UnauthorizedOperation")` what
a role without the permission sees.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from support.egress import SMTP_V6_ONLY, use_denylist
from support.emulator import ACCOUNT_ID, create_vpc
from support.proxy import answer_prefix_list_associations, fail
from support.samples import sample

from egress_guard import handler
from egress_guard.service import RemediationFailed

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("fresh_container")]

SAMPLE_VPC = "vpc-0a1b2c3d4e5f67890"
SAMPLE_LIST = "pl-0123456789abcdef0"
OTHER_ACCOUNT = "210987654321"
WRITES = {"RevokeSecurityGroupEgress", "RevokeSecurityGroupIngress", "AuthorizeSecurityGroupEgress"}

ALL_TRAFFIC_OUT = {
    "version": 1,
    "deny": [
        {
            "id": "all-traffic-to-internet",
            "protocol": "-1",
            "cidr": ["0.0.0.0/0", "::/0"],
            "match": "covers",
        }
    ],
}
# "covers": only mail to anywhere is offending, so a rule to a list of partner relays
# becomes offending only when the list takes 0.0.0.0/0.
SMTP_TO_ANYWHERE = {
    "version": 1,
    "deny": [
        {
            "id": "smtp-out",
            "protocol": "tcp",
            "ports": "25",
            "cidr": ["0.0.0.0/0", "::/0"],
            "match": "covers",
        }
    ],
}


def egress_ids(ec2: Any, group_id: str) -> set[str]:
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group_id]}])
    return {r["SecurityGroupRuleId"] for r in rules["SecurityGroupRules"] if r["IsEgress"]}


# --------------------------------------------------------------------------- CreateVpc


def create_vpc_event(vpc_id: str) -> dict[str, Any]:
    text = json.dumps(sample("cloudtrail-create-vpc.json")).replace(SAMPLE_VPC, vpc_id)
    event: dict[str, Any] = json.loads(text)
    return event


def default_group(ec2: Any, vpc_id: str) -> tuple[str, set[str]]:
    [group] = ec2.describe_security_groups(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc_id]},
            {"Name": "group-name", "Values": ["default"]},
        ]
    )["SecurityGroups"]
    return group["GroupId"], egress_ids(ec2, group["GroupId"])


def test_new_vpcs_default_group_loses_its_all_traffic_egress_rule(
    ec2: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_denylist(monkeypatch, ALL_TRAFFIC_OUT)
    vpc_id = create_vpc(ec2, "10.20.0.0/16")
    group_id, (rule_id,) = default_group(ec2, vpc_id)

    result = handler.lambda_handler(create_vpc_event(vpc_id), lambda_context)

    assert egress_ids(ec2, group_id) == set()
    assert result["Return"] is True
    assert [(r["GroupId"], r["SecurityGroupRuleId"], r["IpProtocol"], r["CidrIpv4"])
            for r in result["RevokedSecurityGroupRules"]] == [
        (group_id, rule_id, "-1", "0.0.0.0/0")
    ]  # fmt: skip
    assert [(f["DenylistEntry"], f["Action"]) for f in result["Findings"]] == [
        ("all-traffic-to-internet", "revoked")
    ]


def test_new_vpcs_default_group_is_spared_by_a_denylist_that_allows_its_rule(
    ec2: Any, proxy: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_denylist(monkeypatch, SMTP_V6_ONLY)
    vpc_id = create_vpc(ec2)
    group_id, rules = default_group(ec2, vpc_id)

    result = handler.lambda_handler(create_vpc_event(vpc_id), lambda_context)

    assert egress_ids(ec2, group_id) == rules
    assert (result["Return"], result["Findings"]) == (True, [])
    assert not WRITES & set(proxy.actions())


def test_only_the_new_vpcs_default_group_is_judged(
    ec2: Any, make_group: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_denylist(monkeypatch, ALL_TRAFFIC_OUT)
    vpc_id = create_vpc(ec2)
    neighbour = make_group(vpc_id=vpc_id)  # keeps its own all-traffic rule
    other_vpc_id = create_vpc(ec2, "10.30.0.0/16")
    other_default, other_rules = default_group(ec2, other_vpc_id)

    result = handler.lambda_handler(create_vpc_event(vpc_id), lambda_context)

    assert {f["GroupId"] for f in result["Findings"]} == {default_group(ec2, vpc_id)[0]}
    assert egress_ids(ec2, neighbour.group_id) == {neighbour.default_rule_id}
    assert egress_ids(ec2, other_default) == other_rules


def test_vpc_gone_since_is_a_logged_no_op(
    proxy: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_denylist(monkeypatch, ALL_TRAFFIC_OUT)

    result = handler.lambda_handler(create_vpc_event("vpc-0123456789abcdef0"), lambda_context)

    assert (result["Return"], result["Findings"]) == (True, [])
    assert (
        "no action: vpc-0123456789abcdef0 or its default group no longer exists"
        in (result["Notes"])
    )
    assert proxy.actions() == ["DescribeSecurityGroups"]


def test_failed_create_vpc_makes_no_aws_call(
    ec2: Any, proxy: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_denylist(monkeypatch, ALL_TRAFFIC_OUT)
    vpc_id = create_vpc(ec2)
    event = create_vpc_event(vpc_id)
    event["detail"]["errorCode"] = "Client.VpcLimitExceeded"
    event["detail"]["responseElements"] = None

    result = handler.lambda_handler(event, lambda_context)

    assert result["Findings"] == []
    assert proxy.actions() == []
    assert len(default_group(ec2, vpc_id)[1]) == 1


def test_create_vpc_in_report_mode_revokes_nothing(
    ec2: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_denylist(monkeypatch, ALL_TRAFFIC_OUT)
    monkeypatch.setenv("MODE", "report")
    vpc_id = create_vpc(ec2)
    group_id, rules = default_group(ec2, vpc_id)

    result = handler.lambda_handler(create_vpc_event(vpc_id), lambda_context)

    assert [f["Action"] for f in result["Findings"]] == ["would-revoke"]
    assert egress_ids(ec2, group_id) == rules


# ------------------------------------------------------------------ ModifyManagedPrefixList


def prefix_list(ec2: Any, *cidrs: str) -> tuple[str, int]:
    created = ec2.create_managed_prefix_list(
        PrefixListName=f"list-{len(cidrs)}-{cidrs[0].replace('/', '_')}",
        MaxEntries=10,
        AddressFamily="IPv4",
        Entries=[{"Cidr": cidr} for cidr in cidrs],
    )["PrefixList"]
    return created["PrefixListId"], created["Version"]


def add_entry(ec2: Any, list_and_version: tuple[str, int], cidr: str) -> None:
    list_id, version = list_and_version
    ec2.modify_managed_prefix_list(
        PrefixListId=list_id, CurrentVersion=version, AddEntries=[{"Cidr": cidr}]
    )


def modify_list_event(prefix_list_id: str) -> dict[str, Any]:
    text = json.dumps(sample("cloudtrail-modify-managed-prefix-list.json"))
    event: dict[str, Any] = json.loads(text.replace(SAMPLE_LIST, prefix_list_id))
    return event


Estate = dict[str, Any]


@pytest.fixture
def estate(ec2: Any, make_group: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> Estate:
    """Two lists, both now holding 0.0.0.0/0; the event is about `changed` only.

    `group`: tcp/25 to the changed list (offending now), tcp/443 to it (allowed), and
    tcp/25 straight to 0.0.0.0/0 (offending, but no rule to the list: not this event's).
    `other`: tcp/25 to the other list (offending too, but another list's business).
    """
    use_denylist(monkeypatch, SMTP_TO_ANYWHERE)
    changed = prefix_list(ec2, "198.51.100.0/24")
    unchanged = prefix_list(ec2, "192.0.2.0/24")
    group = make_group(
        [
            {"IpProtocol": "tcp", "Port": 25, "PrefixListId": changed[0]},
            {"IpProtocol": "tcp", "Port": 443, "PrefixListId": changed[0]},
            {"IpProtocol": "tcp", "Port": 25, "CidrIpv4": "0.0.0.0/0"},
        ],
        keep_default_egress=False,
    )
    other = make_group(
        [{"IpProtocol": "tcp", "Port": 25, "PrefixListId": unchanged[0]}],
        keep_default_egress=False,
    )
    add_entry(ec2, changed, "0.0.0.0/0")
    add_entry(ec2, unchanged, "0.0.0.0/0")
    return {"list": changed[0], "group": group, "other": other}


def assert_only_the_rule_to_the_changed_list_was_revoked(
    ec2: Any, estate: Estate, result: dict[str, Any]
) -> None:
    group, other = estate["group"], estate["other"]
    smtp_to_list, https_to_list, smtp_direct = group.rule_ids
    assert egress_ids(ec2, group.group_id) == {https_to_list, smtp_direct}
    assert egress_ids(ec2, other.group_id) == set(other.rule_ids)
    assert result["Return"] is True
    assert [(r["SecurityGroupRuleId"], r["PrefixListId"]) for r in
            result["RevokedSecurityGroupRules"]] == [(smtp_to_list, estate["list"])]  # fmt: skip
    assert [(f["SecurityGroupRuleId"], f["DenylistEntry"], f["Action"]) for f in
            result["Findings"]] == [(smtp_to_list, "smtp-out", "revoked")]  # fmt: skip


def test_rule_to_a_list_that_now_holds_0_0_0_0_is_revoked_with_ec2s_associations(
    ec2: Any, proxy: Any, estate: Estate, lambda_context: Any
) -> None:
    """Real EC2: the associations name the groups; only their rules to the list are judged."""
    proxy.on("GetManagedPrefixListAssociations", answer_prefix_list_associations())

    result = handler.lambda_handler(modify_list_event(estate["list"]), lambda_context)

    assert_only_the_rule_to_the_changed_list_was_revoked(ec2, estate, result)
    actions = proxy.actions()
    assert actions[0] == "GetManagedPrefixListAssociations"
    assert actions.count("RevokeSecurityGroupEgress") == 1
    # The group was read by its id, not the whole region.
    rule_reads = [c for c in proxy.calls if c.action == "DescribeSecurityGroupRules"]
    assert all("Filter.1.Name" in c.request.params for c in rule_reads)


def test_associations_are_read_page_by_page_and_route_tables_are_ignored(
    ec2: Any, proxy: Any, estate: Estate, make_group: Any, lambda_context: Any
) -> None:
    second = make_group(
        [{"IpProtocol": "tcp", "Port": 25, "PrefixListId": estate["list"]}],
        keep_default_egress=False,
    )
    proxy.on(
        "GetManagedPrefixListAssociations",
        answer_prefix_list_associations(extra=(("rtb-0123456789abcdef0", ACCOUNT_ID),)),
    )

    result = handler.lambda_handler(modify_list_event(estate["list"]), lambda_context)

    assert egress_ids(ec2, second.group_id) == set()
    assert {r["GroupId"] for r in result["RevokedSecurityGroupRules"]} == {
        estate["group"].group_id,
        second.group_id,
    }
    assert proxy.actions().count("GetManagedPrefixListAssociations") == 3  # one per page
    assert result["Return"] is True


def test_another_accounts_group_referencing_a_shared_list_is_noted_not_judged(
    ec2: Any, proxy: Any, estate: Estate, lambda_context: Any
) -> None:
    foreign = "sg-0123456789abcdef0"
    proxy.on(
        "GetManagedPrefixListAssociations",
        answer_prefix_list_associations(extra=((foreign, OTHER_ACCOUNT),)),
    )

    result = handler.lambda_handler(modify_list_event(estate["list"]), lambda_context)

    assert_only_the_rule_to_the_changed_list_was_revoked(ec2, estate, result)
    assert any(foreign in note and OTHER_ACCOUNT in note for note in result["Notes"])


@pytest.mark.parametrize(
    ("code", "status"),
    [("UnauthorizedOperation", 403), ("InvalidAction", 400)],
    ids=["without-permission", "endpoint-without-the-call"],
)
def test_without_associations_every_rule_is_listed_instead(
    code: str, status: int, ec2: Any, proxy: Any, estate: Estate, lambda_context: Any
) -> None:
    """No permission for the call, or an endpoint that does not offer it (EC2's
    InvalidAction): the rules to the list are found by listing every rule."""
    proxy.on("GetManagedPrefixListAssociations", fail(code, status=status))

    result = handler.lambda_handler(modify_list_event(estate["list"]), lambda_context)

    assert_only_the_rule_to_the_changed_list_was_revoked(ec2, estate, result)
    rule_reads = [c for c in proxy.calls if c.action == "DescribeSecurityGroupRules"]
    assert any("Filter.1.Name" not in c.request.params for c in rule_reads)  # the listing


def test_throttled_associations_fail_the_invocation_and_revoke_nothing(
    ec2: Any, proxy: Any, estate: Estate, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    proxy.on("GetManagedPrefixListAssociations", fail("RequestLimitExceeded", status=503))

    with pytest.raises(RemediationFailed, match="RequestLimitExceeded") as raised:
        handler.lambda_handler(modify_list_event(estate["list"]), lambda_context)

    assert raised.value.result.revoked == []
    assert egress_ids(ec2, estate["group"].group_id) == set(estate["group"].rule_ids)
    assert "RevokeSecurityGroupEgress" not in proxy.actions()


def test_list_whose_new_entries_are_allowed_changes_nothing(
    ec2: Any, proxy: Any, make_group: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_denylist(monkeypatch, SMTP_TO_ANYWHERE)
    changed = prefix_list(ec2, "198.51.100.0/24")
    group = make_group(
        [{"IpProtocol": "tcp", "Port": 25, "PrefixListId": changed[0]}], keep_default_egress=False
    )
    add_entry(ec2, changed, "10.0.0.0/8")
    proxy.on("GetManagedPrefixListAssociations", answer_prefix_list_associations())

    result = handler.lambda_handler(modify_list_event(changed[0]), lambda_context)

    assert (result["Return"], result["Findings"]) == (True, [])
    assert egress_ids(ec2, group.group_id) == set(group.rule_ids)
    assert not WRITES & set(proxy.actions())


def test_the_same_list_event_twice_gives_the_same_state_and_no_error(
    ec2: Any, proxy: Any, estate: Estate, lambda_context: Any
) -> None:
    proxy.on("GetManagedPrefixListAssociations", answer_prefix_list_associations())
    event = modify_list_event(estate["list"])

    handler.lambda_handler(event, lambda_context)
    again = handler.lambda_handler(event, lambda_context)

    assert (again["Return"], again["Findings"]) == (True, [])
    assert egress_ids(ec2, estate["group"].group_id) == set(estate["group"].rule_ids[1:])


def test_failed_list_change_makes_no_aws_call(
    proxy: Any, estate: Estate, lambda_context: Any
) -> None:
    event = modify_list_event(estate["list"])
    event["detail"]["errorCode"] = "Client.PrefixListVersionMismatch"
    event["detail"]["responseElements"] = None

    result = handler.lambda_handler(event, lambda_context)

    assert result["Findings"] == []
    assert proxy.actions() == []


def test_list_deleted_since_is_a_no_op_without_listing_the_region(
    proxy: Any, estate: Estate, lambda_context: Any
) -> None:
    """A list still referenced cannot be deleted: a list that is gone has no rules to judge."""
    proxy.on("GetManagedPrefixListAssociations", fail("InvalidPrefixListID.NotFound"))

    result = handler.lambda_handler(modify_list_event(estate["list"]), lambda_context)

    assert (result["Return"], result["Findings"]) == (True, [])
    assert proxy.actions() == ["GetManagedPrefixListAssociations"]
