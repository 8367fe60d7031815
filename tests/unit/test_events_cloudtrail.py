"""docs/event-sources.md, CloudTrail calls: via EventBridge and as raw CloudTrail records."""

from __future__ import annotations

import re
from typing import Any

import pytest
from support.event_samples import (
    DELETE,
    GROUP,
    RULE,
    Refused,
    assert_rejected,
    changed,
    reference,
    sample,
)

from egress_guard.events import parse_event
from egress_guard.targets import EventError, GroupTarget


def wrapped(record: dict[str, Any]) -> dict[str, Any]:
    """A raw CloudTrail record as EventBridge delivers it: unchanged in `detail`."""
    return {
        "version": "0",
        "id": "11111111-2222-4333-8444-555555555555",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.ec2",
        "account": record["recipientAccountId"],
        "time": record["eventTime"],
        "region": record["awsRegion"],
        "resources": [],
        "detail": record,
    }


# --- AuthorizeSecurityGroupEgress --------------------------------------------------------


def test_authorize_egress_ignores_ingress_items_of_the_rule_set() -> None:
    event = sample("cloudtrail-authorize-egress.json")
    items = event["detail"]["responseElements"]["securityGroupRuleSet"]["items"]
    items.append({**items[0], "securityGroupRuleId": "sgr-0ffffffffffffffff", "isEgress": False})
    assert parse_event(event).groups[0].rule_ids == (RULE,)


def test_legacy_record_without_rule_ids_names_rules_by_their_properties() -> None:
    targets = parse_event(sample("cloudtrail-authorize-egress-legacy-2020.json"))
    specs = targets.groups[0].specs
    assert [(s.ip_protocol, s.from_port, s.to_port, s.destination) for s in specs] == [
        ("-1", None, None, "0.0.0.0/0"),
        ("-1", None, None, "::/0"),
    ]


def test_legacy_spec_carries_the_boto3_permission_with_one_destination() -> None:
    targets = parse_event(sample("cloudtrail-authorize-egress-legacy-2020.json"))
    assert targets.groups[0].specs[1].permission == {
        "IpProtocol": "-1",
        "Ipv6Ranges": [{"CidrIpv6": "::/0", "Description": "all outbound"}],
    }


def test_legacy_ports_and_canonical_cidr_reach_the_spec() -> None:
    event = sample("cloudtrail-authorize-egress-legacy-2020.json")
    event["requestParameters"]["ipPermissions"]["items"] = [
        {
            "ipProtocol": "tcp",
            "fromPort": 8000,
            "toPort": 9000,
            "ipRanges": {"items": [{"cidrIp": "10.0.0.18/16"}]},
            "prefixListIds": {"items": [{"prefixListId": "pl-0123456789abcdef0"}]},
            "groups": {"items": [{"groupId": "sg-0123456789abcdef0", "userId": "123456789012"}]},
        }
    ]
    specs = parse_event(event).groups[0].specs
    assert [(s.from_port, s.to_port, s.destination) for s in specs] == [
        (8000, 9000, "10.0.0.0/16"),
        (8000, 9000, "pl-0123456789abcdef0"),
        (8000, 9000, "sg-0123456789abcdef0"),
    ]


def test_egress_call_with_neither_rule_ids_nor_permissions_judges_the_whole_group() -> None:
    event = changed(
        sample("cloudtrail-authorize-egress-legacy-2020.json"),
        ("requestParameters", "ipPermissions"),
        DELETE,
    )
    assert parse_event(event).groups == (GroupTarget(GROUP),)


def test_the_same_record_raw_or_via_eventbridge_gives_the_same_groups() -> None:
    record = sample("cloudtrail-authorize-egress.json")["detail"]
    assert parse_event(record).groups == parse_event(wrapped(record)).groups


# --- ModifySecurityGroupRules, CreateSecurityGroup ------------------------------------------


def test_modify_targets_the_group_narrowed_to_the_modified_rule() -> None:
    targets = parse_event(sample("cloudtrail-modify-security-group-rules.json"))
    assert targets.groups == (GroupTarget(GROUP, rule_ids=(RULE,)),)


def test_modify_accepts_several_rules_as_a_list() -> None:
    event = sample("cloudtrail-modify-security-group-rules.json")
    request = event["detail"]["requestParameters"]["ModifySecurityGroupRulesRequest"]
    one = request["SecurityGroupRule"]
    request["SecurityGroupRule"] = [one, {**one, "SecurityGroupRuleId": "sgr-0bb22cc33dd44ee55"}]
    assert parse_event(event).groups[0].rule_ids == (RULE, "sgr-0bb22cc33dd44ee55")


def test_modify_without_rules_judges_the_whole_group() -> None:
    event = changed(
        sample("cloudtrail-modify-security-group-rules.json"),
        ("detail", "requestParameters", "ModifySecurityGroupRulesRequest", "SecurityGroupRule"),
        DELETE,
    )
    assert parse_event(event).groups == (GroupTarget(GROUP),)


def test_create_targets_the_whole_new_group() -> None:
    targets = parse_event(sample("cloudtrail-create-security-group.json"))
    assert targets.groups == (GroupTarget(GROUP),)


# --- no-ops ---------------------------------------------------------------------------------


def test_failed_call_is_a_noop_naming_the_error() -> None:
    targets = parse_event(sample("cloudtrail-failed-call.json"))
    assert (targets.is_noop, targets.reason) == (True, "failed call: Client.UnauthorizedOperation")


def test_ingress_change_is_a_noop() -> None:
    targets = parse_event(sample("cloudtrail-authorize-ingress.json"))
    assert (targets.is_noop, targets.reason) == (
        True,
        "ingress change (AuthorizeSecurityGroupIngress)",
    )


def test_our_own_revocations_are_noops() -> None:
    event = changed(
        sample("cloudtrail-authorize-egress.json"),
        ("detail", "eventName"),
        "RevokeSecurityGroupEgress",
    )
    assert parse_event(event).is_noop


def test_other_ec2_calls_are_noops() -> None:
    event = changed(
        sample("cloudtrail-authorize-egress.json"), ("detail", "eventName"), "DescribeInstances"
    )
    assert parse_event(event).reason == "DescribeInstances adds no egress rule"


def test_noop_keeps_account_and_region() -> None:
    targets = parse_event(sample("cloudtrail-failed-call.json"))
    assert (targets.account, targets.region) == ("123456789012", "us-east-1")


# --- reference events wrapped or corrected (as published: test_events_references.py) -------


def test_reference_panther_2020_egress_names_the_rule_by_properties() -> None:
    event = reference("cloudtrail-record-authorize-egress-terraform-2020.panther-analysis.json")
    group = parse_event(event).groups[0]
    assert (group.group_id, [s.destination for s in group.specs]) == (
        "sg-03eee825d6bb78f54",
        ["0.0.0.0/0"],
    )


def test_reference_elastic_egress_names_the_group_and_rule_id() -> None:
    event = reference("cloudtrail-record-authorize-egress.elastic-integrations.json")
    event["recipientAccountId"] = "123456789012"
    assert parse_event(event).groups == (
        GroupTarget("sg-038ccc3a1f7b05f42", rule_ids=("sgr-02bdc373eac599585",)),
    )


def test_reference_elastic_ingress_is_a_noop() -> None:
    event = reference("cloudtrail-record-authorize-ingress.elastic-integrations.json")
    event["recipientAccountId"] = "123456789012"
    assert parse_event(event).reason == "ingress change (AuthorizeSecurityGroupIngress)"


def test_reference_elastic_egress_via_eventbridge_names_the_same_rule() -> None:
    record = reference("cloudtrail-record-authorize-egress.elastic-integrations.json")
    record["recipientAccountId"] = "123456789012"
    assert parse_event(wrapped(record)).groups[0].rule_ids == ("sgr-02bdc373eac599585",)


# --- malformed events -----------------------------------------------------------------------

EGRESS = "cloudtrail-authorize-egress.json"
LEGACY = "cloudtrail-authorize-egress-legacy-2020.json"
RULE_ITEM = ("detail", "responseElements", "securityGroupRuleSet", "items", 0)
LEGACY_ITEM = ("requestParameters", "ipPermissions", "items", 0)


CHANGED = [
    Refused(
        EGRESS,
        ("detail", "requestParameters", "groupId"),
        DELETE,
        "detail.requestParameters.groupId: missing",
    ),
    Refused(
        EGRESS,
        ("detail", "requestParameters", "groupId"),
        "sg-../../x",
        "detail.requestParameters.groupId: 'sg-../../x' is not a security group id",
    ),
    Refused(
        EGRESS,
        ("detail", "requestParameters"),
        ["sg-0f1e2d3c4b5a69780"],
        "detail.requestParameters: expected an object, got array",
    ),
    Refused(
        EGRESS,
        (*RULE_ITEM, "securityGroupRuleId"),
        "sgr-;rm",
        "securityGroupRuleSet.items[0].securityGroupRuleId: 'sgr-;rm' is not a security group "
        "rule id",
    ),
    Refused(
        EGRESS,
        (*RULE_ITEM, "groupId"),
        "sg-0123456789abcdef0",
        "items[0].groupId: 'sg-0123456789abcdef0' is not the requested group",
    ),
    Refused(EGRESS, ("detail", "eventSource"), "iam.amazonaws.com", "detail.eventSource: 'iam"),
    Refused(EGRESS, ("detail", "eventName"), "Authorize\nEgress", "is not an API name"),
    Refused(EGRESS, ("detail", "errorCode"), 42, "detail.errorCode: expected a string, got number"),
    Refused(EGRESS, ("account",), "12345", "account: '12345' is not a 12-digit AWS account id"),
    Refused(EGRESS, ("region",), "moon-1", "region: 'moon-1' is not an AWS region name"),
    Refused(EGRESS, ("detail",), None, "detail: missing"),
    Refused(
        "cloudtrail-create-security-group.json",
        ("detail", "responseElements"),
        None,
        "detail.responseElements: missing",
    ),
    Refused(
        "cloudtrail-modify-security-group-rules.json",
        ("detail", "requestParameters", "ModifySecurityGroupRulesRequest", "GroupId"),
        DELETE,
        "ModifySecurityGroupRulesRequest.GroupId: missing",
    ),
    Refused(
        LEGACY,
        (*LEGACY_ITEM, "ipRanges", "items", 0, "cidrIp"),
        "0.0.0.0/33",
        "ipPermissions.items[0].ipRanges.items[0].cidrIp: '0.0.0.0/33' is not an IPv4 CIDR",
    ),
    Refused(
        LEGACY,
        (*LEGACY_ITEM, "ipProtocol"),
        "smtp",
        "requestParameters.ipPermissions.items[0].ipProtocol: 'smtp' is not a protocol",
    ),
    Refused(LEGACY, (*LEGACY_ITEM, "ipRanges"), [], "ipRanges: expected an object, got array"),
    Refused(LEGACY, ("recipientAccountId",), 123456789012, "expected a string, got number"),
]


@pytest.mark.parametrize("refused", CHANGED, ids=str)
def test_malformed_cloudtrail_event_is_rejected_naming_the_field(refused: Refused) -> None:
    refused.check()


def test_legacy_permission_without_any_destination_is_rejected() -> None:
    event = sample(LEGACY)
    item = event["requestParameters"]["ipPermissions"]["items"][0]
    item["ipRanges"] = item["ipv6Ranges"] = {}
    with pytest.raises(EventError, match="no destination"):
        parse_event(event)


def test_tcp_permission_with_reversed_ports_is_rejected() -> None:
    event = sample(LEGACY)
    item = event["requestParameters"]["ipPermissions"]["items"][0]
    item.update(ipProtocol="tcp", fromPort=90, toPort=80)
    with pytest.raises(EventError, match="FromPort 90 > ToPort 80"):
        parse_event(event)


def test_more_than_a_thousand_rule_ids_are_rejected() -> None:
    event = sample(EGRESS)
    rule_set = event["detail"]["responseElements"]["securityGroupRuleSet"]
    rule_set["items"] = rule_set["items"] * 1001
    with pytest.raises(EventError, match="more than 1000 items"):
        parse_event(event)


# --- CreateVpc ---------------------------------------------------------------------------------

VPC = "vpc-0a1b2c3d4e5f67890"
PREFIX_LIST = "pl-0123456789abcdef0"


def test_failed_create_vpc_is_a_noop() -> None:
    event = sample("cloudtrail-create-vpc.json")
    event["detail"]["errorCode"] = "Client.VpcLimitExceeded"
    event["detail"]["responseElements"] = None
    targets = parse_event(event)
    assert (targets.is_noop, targets.new_vpc, targets.reason) == (
        True,
        None,
        "failed call: Client.VpcLimitExceeded",
    )


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("responseElements",), DELETE, "detail.responseElements: missing"),
        (("responseElements", "vpc"), DELETE, "detail.responseElements.vpc: missing"),
        (
            ("responseElements", "vpc", "vpcId"),
            DELETE,
            "detail.responseElements.vpc.vpcId: missing",
        ),
        (("responseElements", "vpc", "vpcId"), "vpc-../../x", "detail.responseElements.vpc.vpcId"),
        (("responseElements", "vpc", "vpcId"), VPC + "\n", "is not a VPC id"),
        (("responseElements", "vpc", "vpcId"), "sg-0a1b2c3d4e5f67890", "is not a VPC id"),
        (("responseElements", "vpc", "vpcId"), ["vpc-0a1b2c3d"], "expected a string, got array"),
    ],
)
def test_create_vpc_with_a_bad_vpc_id_is_refused_naming_the_path(
    path: tuple[str, ...], value: Any, message: str
) -> None:
    event = changed(sample("cloudtrail-create-vpc.json"), ("detail", *path), value)
    assert_rejected(event, message)


# --- ModifyManagedPrefixList -----------------------------------------------------------------


def record_naming_the_list(place: str) -> dict[str, Any]:
    """The sample's record with the list id in one place only."""
    record: dict[str, Any] = sample("cloudtrail-modify-managed-prefix-list.json")["detail"]
    wrapped_request = record["requestParameters"]["ModifyManagedPrefixListRequest"]
    del wrapped_request["PrefixListId"]
    record["responseElements"] = {"requestId": "5d6e7f80-9102-4a3b-8c4d-5e6f708192a3"}
    if place == "wrapped request":
        wrapped_request["PrefixListId"] = PREFIX_LIST
    elif place == "request PrefixListId":
        record["requestParameters"] = {"PrefixListId": PREFIX_LIST, "CurrentVersion": 3}
    elif place == "request prefixListId":
        record["requestParameters"] = {"prefixListId": PREFIX_LIST, "currentVersion": 3}
    elif place == "wrapped response":
        record["responseElements"] = {
            "ModifyManagedPrefixListResponse": {"prefixList": {"prefixListId": PREFIX_LIST}}
        }
    elif place == "response":
        record["responseElements"] = {"prefixList": {"prefixListId": PREFIX_LIST}}
    return record


def test_modify_prefix_list_names_the_list() -> None:
    targets = parse_event(sample("cloudtrail-modify-managed-prefix-list.json"))
    assert (targets.prefix_list, targets.groups, targets.is_noop) == (PREFIX_LIST, (), False)
    assert targets.source == "cloudtrail:ModifyManagedPrefixList"


@pytest.mark.parametrize(
    "place",
    [
        "wrapped request",
        "request PrefixListId",
        "request prefixListId",
        "wrapped response",
        "response",
    ],
)
def test_modify_prefix_list_takes_the_id_from_any_place_a_record_holds_it(place: str) -> None:
    assert parse_event(wrapped(record_naming_the_list(place))).prefix_list == PREFIX_LIST


def test_modify_prefix_list_naming_no_list_is_refused() -> None:
    record = record_naming_the_list("nowhere")
    with pytest.raises(
        EventError,
        match=re.escape(
            "detail.requestParameters.ModifyManagedPrefixListRequest.PrefixListId: missing"
        ),
    ):
        parse_event(wrapped(record))


def test_modify_prefix_list_naming_two_lists_is_refused() -> None:
    event = sample("cloudtrail-modify-managed-prefix-list.json")
    response = event["detail"]["responseElements"]["ModifyManagedPrefixListResponse"]
    response["prefixList"]["prefixListId"] = "pl-0fedcba9876543210"
    with pytest.raises(EventError, match="different prefix lists"):
        parse_event(event)


@pytest.mark.parametrize(
    "value",
    [
        "pl-0123456789abcdef0\n",
        "pl-../../x",
        "PL-0123456789ABCDEF0",
        "pl-0123456",  # too short
        "pl-0123456789abcdef01",  # too long
        "pl-" + "\uff10" * 8,  # fullwidth digits
        "sg-0123456789abcdef0",
    ],
)
def test_modify_prefix_list_with_a_malformed_id_is_refused_naming_the_path(value: str) -> None:
    event = changed(
        sample("cloudtrail-modify-managed-prefix-list.json"),
        ("detail", "requestParameters", "ModifyManagedPrefixListRequest", "PrefixListId"),
        value,
    )
    with pytest.raises(
        EventError,
        match=re.escape("detail.requestParameters.ModifyManagedPrefixListRequest.PrefixListId: "),
    ):
        parse_event(event)


def test_modify_prefix_list_with_a_wrong_typed_wrapper_is_refused_naming_the_path() -> None:
    event = changed(
        sample("cloudtrail-modify-managed-prefix-list.json"),
        ("detail", "requestParameters", "ModifyManagedPrefixListRequest"),
        "pl-0123456789abcdef0",
    )
    with pytest.raises(
        EventError,
        match=re.escape(
            "detail.requestParameters.ModifyManagedPrefixListRequest: expected an "
            "object, got string"
        ),
    ):
        parse_event(event)


def test_failed_modify_prefix_list_is_a_noop() -> None:
    event = sample("cloudtrail-modify-managed-prefix-list.json")
    event["detail"]["errorCode"] = "Client.PrefixListVersionMismatch"
    event["detail"]["responseElements"] = None
    targets = parse_event(event)
    assert (targets.is_noop, targets.prefix_list) == (True, None)
