"""Egress rules and denylists the integration tests build groups from, and a group's rules
read back from EC2.

Rule specs are `support.emulator.create_group`'s (``IpProtocol``, ``Port``, ``CidrIpv4``
...); denylists are documents as DENYLIST holds them (docs/denylist.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from support.emulator import Group

SMTP = {"IpProtocol": "tcp", "Port": 25, "CidrIpv4": "0.0.0.0/0", "Description": "mail relay"}
SMTP_V6 = {"IpProtocol": "tcp", "Port": 25, "CidrIpv6": "::/0", "Description": "mail v6"}
HTTPS = {"IpProtocol": "tcp", "Port": 443, "CidrIpv4": "0.0.0.0/0"}

SMTP_ONLY = {
    "version": 1,
    "deny": [{"id": "smtp-out", "protocol": "tcp", "ports": "25", "cidr": ["0.0.0.0/0", "::/0"]}],
}
# Over IPv6 only: the all-traffic IPv4 egress rule of every new group (and of every default
# group) allows tcp/25 to 0.0.0.0/0, so under an IPv4 entry it would be offending too.
SMTP_V6_ONLY = {
    "version": 1,
    "deny": [{"id": "smtp-out-v6", "protocol": "tcp", "ports": "25", "cidr": ["::/0"]}],
}
# Blast-radius limits off: a sweep acts on groups while it still reads (and all may go).
NO_LIMITS = {"MAX_REVOCATIONS": "0", "MAX_REVOCATIONS_PERCENT": "0"}

MakeGroup = Callable[..., Group]


def egress_rules(ec2: Any, group_id: str) -> list[dict[str, Any]]:
    """The group's egress rules as DescribeSecurityGroupRules gives them."""
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group_id]}])[
        "SecurityGroupRules"
    ]
    return [r for r in rules if r["IsEgress"]]


def egress_by_id(ec2: Any, group_id: str) -> dict[str, dict[str, Any]]:
    """The group's egress rules by rule id."""
    return {r["SecurityGroupRuleId"]: r for r in egress_rules(ec2, group_id)}


def egress_ids(ec2: Any, group_id: str) -> set[str]:
    """The ids of the group's egress rules."""
    return set(egress_by_id(ec2, group_id))


def described(group_id: str, rule_id: str, spec: dict[str, Any]) -> dict[str, Any]:
    """An egress rule as EC2 describes (and reports revoked) the rule `spec` made: a
    one-port `create_group` spec (``Port``) to a CIDR or prefix list, untagged."""
    record: dict[str, Any] = {
        "SecurityGroupRuleId": rule_id,
        "GroupId": group_id,
        "IsEgress": True,
        "IpProtocol": spec["IpProtocol"],
        "FromPort": spec["Port"],
        "ToPort": spec["Port"],
    }
    for key in ("CidrIpv4", "CidrIpv6", "PrefixListId", "Description"):
        if key in spec:
            record[key] = spec[key]
    return record


def prefix_list(ec2: Any, *cidrs: str, name: str = "") -> str:
    """A new IPv4 managed prefix list holding `cidrs` (room for 10); its id."""
    created = ec2.create_managed_prefix_list(
        PrefixListName=name or "list-" + "-".join(c.replace("/", "_") for c in cidrs),
        MaxEntries=10,
        AddressFamily="IPv4",
        Entries=[{"Cidr": cidr} for cidr in cidrs],
    )
    return str(created["PrefixList"]["PrefixListId"])


def without_id(rule: dict[str, Any]) -> tuple[Any, ...]:
    """A rule's properties, description and tags: what restore must give back."""
    ref = rule.get("ReferencedGroupInfo") or {}
    tags = sorted((t["Key"], t["Value"]) for t in rule.get("Tags") or ())
    return (
        rule["GroupId"],
        rule["IpProtocol"],
        rule.get("FromPort"),
        rule.get("ToPort"),
        rule.get("CidrIpv4"),
        rule.get("CidrIpv6"),
        rule.get("PrefixListId"),
        ref.get("GroupId"),
        rule.get("Description"),
        tuple(tags),
    )


def use_denylist(monkeypatch: pytest.MonkeyPatch, document: dict[str, Any]) -> None:
    """DENYLIST set to `document` for this test."""
    monkeypatch.setenv("DENYLIST", json.dumps(document))
