"""Rules as EC2 describes them, as the result reports them and as a restore re-creates them."""

from __future__ import annotations

from typing import Any

import pytest
from support.cases import named

from egress_guard.rules import Rule, RuleSpec
from egress_guard.traffic import ALL, TCP, Span, Traffic

GROUP = "sg-0123456789abcdef0"
OTHER_GROUP = "sg-0fedcba9876543210"
PREFIX_LIST = "pl-0123456789abcdef0"


def ec2_item(**fields: Any) -> dict[str, Any]:
    """A `SecurityGroupRules` item of DescribeSecurityGroupRules."""
    item: dict[str, Any] = {
        "SecurityGroupRuleId": "sgr-0123456789abcdef0",
        "GroupId": GROUP,
        "GroupOwnerId": "123456789012",
        "IsEgress": True,
        "IpProtocol": "tcp",
        "FromPort": 443,
        "ToPort": 443,
        "Tags": [],
    }
    item.update(fields)
    return item


# One item per destination kind, as EC2 returns them.
DESTINATIONS = {
    "ipv4": {"CidrIpv4": "0.0.0.0/0"},
    "ipv6": {"CidrIpv6": "::/0"},
    "prefix list": {"PrefixListId": PREFIX_LIST},
    "group": {"ReferencedGroupInfo": {"GroupId": OTHER_GROUP, "UserId": "210987654321"}},
}


def test_from_ec2_reads_every_field() -> None:
    rule = Rule.from_ec2(
        ec2_item(
            CidrIpv4="203.0.113.0/24",
            Description="to the partner",
            Tags=[{"Key": "team", "Value": "web"}, {"Key": "egress-guard:exempt"}],
        )
    )
    assert rule == Rule(
        rule_id="sgr-0123456789abcdef0",
        group_id=GROUP,
        is_egress=True,
        ip_protocol="tcp",
        from_port=443,
        to_port=443,
        cidr_ipv4="203.0.113.0/24",
        description="to the partner",
        tags=(("team", "web"), ("egress-guard:exempt", "")),
        group_owner_id="123456789012",
    )
    assert rule.traffic == Traffic(TCP, ports=Span(443, 443))
    assert rule.tag("team") == "web"
    assert rule.tag("missing") is None


def test_from_ec2_reads_a_referenced_group_and_its_owner() -> None:
    rule = Rule.from_ec2(ec2_item(**DESTINATIONS["group"]))
    assert rule.referenced_group_id == OTHER_GROUP
    assert rule.referenced_user_id == "210987654321"
    assert rule.destination == OTHER_GROUP


def test_from_ec2_reads_an_all_traffic_rule_with_minus_one_ports() -> None:
    rule = Rule.from_ec2(ec2_item(IpProtocol="-1", FromPort=-1, ToPort=-1, CidrIpv4="0.0.0.0/0"))
    assert rule.traffic == Traffic(ALL)


def test_from_ec2_treats_an_empty_description_as_none() -> None:
    assert Rule.from_ec2(ec2_item(CidrIpv4="0.0.0.0/0", Description="")).description is None


def test_an_ingress_item_reads_as_not_egress() -> None:
    assert not Rule.from_ec2(ec2_item(IsEgress=False, CidrIpv4="0.0.0.0/0")).is_egress


@pytest.mark.parametrize(
    ("fields", "destination"),
    [
        (DESTINATIONS["ipv4"], "0.0.0.0/0"),
        (DESTINATIONS["ipv6"], "::/0"),
        (DESTINATIONS["prefix list"], PREFIX_LIST),
        (DESTINATIONS["group"], OTHER_GROUP),
    ],
    ids=list(DESTINATIONS),
)
def test_a_rule_has_one_destination_as_ec2_writes_it(
    fields: dict[str, Any], destination: str
) -> None:
    rule = Rule.from_ec2(ec2_item(**fields))
    assert rule.destination == destination
    assert rule.describe() == f"tcp/443 -> {destination}"


def test_to_revoked_leaves_absent_values_out() -> None:
    rule = Rule.from_ec2(ec2_item(CidrIpv4="0.0.0.0/0"))
    assert rule.to_revoked() == {
        "SecurityGroupRuleId": "sgr-0123456789abcdef0",
        "GroupId": GROUP,
        "IsEgress": True,
        "IpProtocol": "tcp",
        "FromPort": 443,
        "ToPort": 443,
        "CidrIpv4": "0.0.0.0/0",
    }


def test_to_revoked_of_a_group_reference_names_the_group() -> None:
    revoked = Rule.from_ec2(ec2_item(Description="db", **DESTINATIONS["group"])).to_revoked()
    assert revoked["ReferencedGroupId"] == OTHER_GROUP
    assert revoked["Description"] == "db"
    assert not {"CidrIpv4", "CidrIpv6", "PrefixListId"} & set(revoked)


@pytest.mark.parametrize("fields", list(DESTINATIONS.values()), ids=list(DESTINATIONS))
def test_to_revoked_round_trips_through_from_revoked(fields: dict[str, Any]) -> None:
    rule = Rule.from_ec2(ec2_item(Description="keep me", **fields))
    back = Rule.from_revoked(rule.to_revoked(), tags=rule.tags)
    # The revoked shape has no owner ids; everything else survives.
    assert back == Rule(**{**_fields(rule), "referenced_user_id": None, "group_owner_id": None})


def _fields(rule: Rule) -> dict[str, Any]:
    return {name: getattr(rule, name) for name in Rule.__dataclass_fields__ if name != "traffic"}


def flatten(group_id: str, permission: dict[str, Any]) -> list[dict[str, Any]]:
    """What EC2 stores for an IpPermissions item: one SecurityGroupRules item per destination."""
    base = {"GroupId": group_id, "IsEgress": True, "IpProtocol": permission["IpProtocol"]}
    if "FromPort" in permission:
        base |= {"FromPort": permission["FromPort"], "ToPort": permission["ToPort"]}
    else:
        base |= {"FromPort": -1, "ToPort": -1}
    items = []
    kinds = [
        ("IpRanges", "CidrIp", "CidrIpv4"),
        ("Ipv6Ranges", "CidrIpv6", "CidrIpv6"),
        ("PrefixListIds", "PrefixListId", "PrefixListId"),
    ]
    for key, inner, out in kinds:
        for entry in permission.get(key, ()):
            items.append({**base, out: entry[inner], "Description": entry.get("Description")})
    for pair in permission.get("UserIdGroupPairs", ()):
        ref = {"GroupId": pair["GroupId"], "UserId": pair.get("UserId")}
        items.append({**base, "ReferencedGroupInfo": ref, "Description": pair.get("Description")})
    return [{"SecurityGroupRuleId": f"sgr-{n:017x}", **item} for n, item in enumerate(items)]


@pytest.mark.parametrize("fields", list(DESTINATIONS.values()), ids=list(DESTINATIONS))
@pytest.mark.parametrize(
    ("protocol", "from_port", "to_port"),
    [("tcp", 443, 443), ("udp", 53, 53), ("-1", -1, -1), ("icmp", 8, 0), ("50", -1, -1)],
)
def test_to_ip_permission_re_creates_the_same_rule(
    fields: dict[str, Any], protocol: str, from_port: int, to_port: int
) -> None:
    rule = Rule.from_ec2(
        ec2_item(IpProtocol=protocol, FromPort=from_port, ToPort=to_port, Description="d", **fields)
    )
    (item,) = flatten(rule.group_id, rule.to_ip_permission())
    again = Rule.from_ec2(item)
    assert again.traffic == rule.traffic
    assert (again.ip_protocol, again.destination, again.description) == (
        rule.ip_protocol,
        rule.destination,
        rule.description,
    )
    assert again.referenced_user_id == rule.referenced_user_id


def test_to_ip_permission_of_an_all_traffic_rule_has_no_ports() -> None:
    rule = Rule.from_ec2(ec2_item(IpProtocol="-1", FromPort=-1, ToPort=-1, CidrIpv4="0.0.0.0/0"))
    assert rule.to_ip_permission() == {
        "IpProtocol": "-1",
        "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
    }


def test_to_ip_permission_of_a_group_reference_keeps_the_owner() -> None:
    rule = Rule.from_ec2(ec2_item(**DESTINATIONS["group"]))
    assert rule.to_ip_permission() == {
        "IpProtocol": "tcp",
        "FromPort": 443,
        "ToPort": 443,
        "UserIdGroupPairs": [{"GroupId": OTHER_GROUP, "UserId": "210987654321"}],
    }


# --- RuleSpec: an event's claim, matched to live rules ----------------------------------


def spec(protocol: str, low: int | None, high: int | None, destination: str) -> RuleSpec:
    return RuleSpec(protocol, low, high, destination, permission={})


LIVE_HTTPS = Rule.from_ec2(ec2_item(CidrIpv4="0.0.0.0/0"))
LIVE_ALL = Rule.from_ec2(ec2_item(IpProtocol="-1", FromPort=-1, ToPort=-1, CidrIpv6="::/0"))
LIVE_GROUP = Rule.from_ec2(ec2_item(**DESTINATIONS["group"]))

SPECS = [
    ("same protocol, ports and cidr", spec("tcp", 443, 443, "0.0.0.0/0"), LIVE_HTTPS, True),
    ("protocol number for name", spec("6", 443, 443, "0.0.0.0/0"), LIVE_HTTPS, True),
    ("other port", spec("tcp", 80, 80, "0.0.0.0/0"), LIVE_HTTPS, False),
    ("port range containing it", spec("tcp", 0, 65535, "0.0.0.0/0"), LIVE_HTTPS, False),
    ("other protocol", spec("udp", 443, 443, "0.0.0.0/0"), LIVE_HTTPS, False),
    ("other cidr", spec("tcp", 443, 443, "10.0.0.0/8"), LIVE_HTTPS, False),
    ("-1 without ports", spec("-1", None, None, "::/0"), LIVE_ALL, True),
    ("-1 as all", spec("all", -1, -1, "::/0"), LIVE_ALL, True),
    ("ipv6 in capitals", spec("-1", None, None, "::/0".upper()), LIVE_ALL, True),
    ("group id", spec("tcp", 443, 443, OTHER_GROUP), LIVE_GROUP, True),
    ("group id in capitals", spec("tcp", 443, 443, OTHER_GROUP.upper()), LIVE_GROUP, True),
    ("other group", spec("tcp", 443, 443, GROUP), LIVE_GROUP, False),
]


@pytest.mark.parametrize(("claim", "live", "expected"), named(SPECS))
def test_rule_spec_matches_a_live_rule_with_the_same_traffic_and_destination(
    claim: RuleSpec, live: Rule, expected: bool
) -> None:
    assert claim.matches(live) is expected


def test_a_referenced_group_of_another_account_keeps_its_owner() -> None:
    rule = Rule.from_ec2(ec2_item(**DESTINATIONS["group"]))
    assert rule.foreign_referenced_owner == "210987654321"


def test_a_referenced_group_of_the_rules_own_account_names_no_other_owner() -> None:
    rule = Rule.from_ec2(
        ec2_item(ReferencedGroupInfo={"GroupId": OTHER_GROUP, "UserId": "123456789012"})
    )
    assert rule.foreign_referenced_owner is None


def test_from_revoked_with_the_owner_restores_the_reference_to_the_other_account() -> None:
    rule = Rule.from_ec2(ec2_item(**DESTINATIONS["group"]))
    back = Rule.from_revoked(rule.to_revoked(), referenced_owner="210987654321")
    assert back.to_ip_permission()["UserIdGroupPairs"] == [
        {"GroupId": OTHER_GROUP, "UserId": "210987654321"}
    ]


def test_from_revoked_ignores_an_owner_for_a_rule_without_a_referenced_group() -> None:
    rule = Rule.from_ec2(ec2_item(CidrIpv4="0.0.0.0/0"))
    back = Rule.from_revoked(rule.to_revoked(), referenced_owner="210987654321")
    assert back.referenced_user_id is None
