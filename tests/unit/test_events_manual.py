"""docs/event-sources.md, manual requests: a `revoke-security-group-egress` skeleton."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
from support.event_samples import GROUP, RULE, assert_rejected, sample

from egress_guard.events import parse_event
from egress_guard.targets import GroupTarget

# What `aws ec2 revoke-security-group-egress --generate-cli-skeleton input` prints (CLI v1.46).
SKELETON: dict[str, Any] = {
    "SecurityGroupRuleIds": [""],
    "DryRun": True,
    "GroupId": "",
    "SourceSecurityGroupName": "",
    "SourceSecurityGroupOwnerId": "",
    "IpProtocol": "",
    "FromPort": 0,
    "ToPort": 0,
    "CidrIp": "",
    "IpPermissions": [
        {
            "IpProtocol": "",
            "FromPort": 0,
            "ToPort": 0,
            "UserIdGroupPairs": [
                {
                    "Description": "",
                    "UserId": "",
                    "GroupName": "",
                    "GroupId": "",
                    "VpcId": "",
                    "VpcPeeringConnectionId": "",
                    "PeeringStatus": "",
                }
            ],
            "IpRanges": [{"Description": "", "CidrIp": ""}],
            "Ipv6Ranges": [{"Description": "", "CidrIpv6": ""}],
            "PrefixListIds": [{"Description": "", "PrefixListId": ""}],
        }
    ],
}


def skeleton(**fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(SKELETON))
    out.update(fields)
    return out


def test_request_by_rule_ids_targets_the_group_narrowed_to_them() -> None:
    targets = parse_event(sample("manual-revoke.json"))
    assert targets.groups == (GroupTarget(GROUP, rule_ids=(RULE,), must_exist=True),)


def test_request_names_no_account_or_region_so_the_function_uses_its_own() -> None:
    targets = parse_event(sample("manual-revoke.json"))
    assert (targets.account, targets.region, targets.source) == (None, None, "manual")


def test_request_by_ip_permissions_names_one_rule_per_destination() -> None:
    targets = parse_event(sample("manual-revoke-ip-permissions.json"))
    specs = targets.groups[0].specs
    assert [(s.ip_protocol, s.from_port, s.to_port, s.destination) for s in specs] == [
        ("tcp", 25, 25, "0.0.0.0/0"),
        ("tcp", 25, 25, "::/0"),
    ]


def test_ip_permissions_spec_keeps_its_one_destination_permission() -> None:
    targets = parse_event(sample("manual-revoke-ip-permissions.json"))
    assert targets.groups[0].specs[1].permission == {
        "IpProtocol": "tcp",
        "FromPort": 25,
        "ToPort": 25,
        "Ipv6Ranges": [{"CidrIpv6": "::/0"}],
    }


def test_prefix_lists_and_group_pairs_are_destinations_too() -> None:
    request = {
        "GroupId": GROUP,
        "IpPermissions": [
            {
                "IpProtocol": "-1",
                "PrefixListIds": [{"PrefixListId": "pl-0123456789abcdef0"}],
                "UserIdGroupPairs": [{"GroupId": "sg-0123456789abcdef0", "UserId": "123456789012"}],
            }
        ],
    }
    specs = parse_event(request).groups[0].specs
    assert [s.destination for s in specs] == ["pl-0123456789abcdef0", "sg-0123456789abcdef0"]


def test_dry_run_is_carried() -> None:
    assert parse_event({"GroupId": GROUP, "DryRun": True}).dry_run


def test_group_alone_judges_all_its_egress_rules() -> None:
    assert parse_event({"GroupId": GROUP}).groups == (GroupTarget(GROUP, must_exist=True),)


def test_empty_lists_mean_not_given() -> None:
    request = {"GroupId": GROUP, "SecurityGroupRuleIds": [], "IpPermissions": []}
    assert parse_event(request).groups == (GroupTarget(GROUP, must_exist=True),)


def test_untouched_skeleton_with_a_group_judges_the_whole_group() -> None:
    targets = parse_event(skeleton(GroupId=GROUP))
    assert (targets.groups, targets.dry_run) == ((GroupTarget(GROUP, must_exist=True),), True)


def test_skeleton_with_rule_ids_filled_in_ignores_the_permission_placeholders() -> None:
    targets = parse_event(skeleton(GroupId=GROUP, SecurityGroupRuleIds=[RULE], DryRun=False))
    assert targets.groups == (GroupTarget(GROUP, rule_ids=(RULE,), must_exist=True),)


def test_skeleton_with_one_range_filled_in_keeps_only_that_destination() -> None:
    request = skeleton(GroupId=GROUP)
    permission = request["IpPermissions"][0]
    permission.update(IpProtocol="tcp", FromPort=25, ToPort=25)
    permission["IpRanges"][0]["CidrIp"] = "0.0.0.0/0"
    specs = parse_event(request).groups[0].specs
    assert [s.destination for s in specs] == ["0.0.0.0/0"]


def test_the_real_cli_skeleton_is_accepted_once_a_group_is_filled_in() -> None:
    try:
        out = subprocess.run(
            ["aws", "ec2", "revoke-security-group-egress", "--generate-cli-skeleton", "input"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        pytest.skip("the aws CLI is not available")
    request = {**json.loads(out), "GroupId": GROUP}
    assert parse_event(request).groups == (GroupTarget(GROUP, must_exist=True),)


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ({"GroupId": GROUP, "Force": True}, "request: unknown keys ['Force']"),
        (
            {"GroupId": GROUP, "IpPermissions": [{"IpProtocol": "tcp", "Port": 25}]},
            "IpPermissions[0]: unknown keys ['Port']",
        ),
        (
            {
                "GroupId": GROUP,
                "IpPermissions": [{"IpProtocol": "-1", "IpRanges": [{"Cidr": "0.0.0.0/0"}]}],
            },
            "IpPermissions[0].IpRanges[0]: unknown keys ['Cidr']",
        ),
        ({"DryRun": True}, "GroupId: missing"),
        ({"GroupId": ""}, "GroupId: empty"),
        ({"GroupId": "sg-../../x"}, "GroupId: 'sg-../../x' is not a security group id"),
        ({"GroupId": ["sg-0f1e2d3c4b5a69780"]}, "GroupId: expected a string, got array"),
        (
            {"GroupId": GROUP, "SecurityGroupRuleIds": ["sgr-1; rm"]},
            "SecurityGroupRuleIds[0]: 'sgr-1; rm' is not a security group rule id",
        ),
        (
            {"GroupId": GROUP, "SecurityGroupRuleIds": "sgr-0aa11bb22cc33dd44"},
            "SecurityGroupRuleIds: expected an array, got string",
        ),
        (
            {"GroupId": GROUP, "SecurityGroupRuleIds": [RULE] * 1001},
            "SecurityGroupRuleIds: more than 1000 items",
        ),
        ({"GroupId": GROUP, "DryRun": "yes"}, "DryRun: expected true or false, got string"),
        ({"GroupId": GROUP, "CidrIp": "0.0.0.0/0"}, "CidrIp: not supported for egress rules"),
        (
            {
                "GroupId": GROUP,
                "SecurityGroupRuleIds": [RULE],
                "IpPermissions": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
            },
            "give SecurityGroupRuleIds or IpPermissions, not both",
        ),
        (
            {"GroupId": GROUP, "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 25}]},
            "IpPermissions[0]: FromPort and ToPort must be given together",
        ),
        (
            {
                "GroupId": GROUP,
                "IpPermissions": [
                    {
                        "IpProtocol": "tcp",
                        "FromPort": 25,
                        "ToPort": 70000,
                        "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
                    }
                ],
            },
            "IpPermissions[0].ToPort: 70000 is not a port",
        ),
        (
            {
                "GroupId": GROUP,
                "IpPermissions": [{"IpProtocol": "-1", "Ipv6Ranges": [{"CidrIpv6": "0.0.0.0/0"}]}],
            },
            "IpPermissions[0].Ipv6Ranges[0].CidrIpv6: '0.0.0.0/0' is not an IPv6 CIDR",
        ),
        (
            {
                "GroupId": GROUP,
                "IpPermissions": [{"IpProtocol": "-1", "PrefixListIds": [{"PrefixListId": "x"}]}],
            },
            "IpPermissions[0].PrefixListIds[0].PrefixListId: 'x' is not a prefix list id",
        ),
        (
            {
                "GroupId": GROUP,
                "IpPermissions": [{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupName": "web"}]}],
            },
            "UserIdGroupPairs[0].GroupId: missing (a group name is not enough",
        ),
        (
            {
                "GroupId": GROUP,
                "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 1, "ToPort": 2}],
            },
            "IpPermissions[0]: no destination",
        ),
        (
            {"GroupId": GROUP, "IpPermissions": [{"FromPort": 1, "ToPort": 2}]},
            "IpPermissions[0].IpProtocol: missing",
        ),
    ],
)
def test_malformed_request_is_rejected_naming_the_field(
    request_: dict[str, Any], message: str
) -> None:
    assert_rejected(request_, message)
