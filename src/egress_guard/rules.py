"""Security-group rules as value types, read from and written back to EC2's shapes.

`Rule` is one flat EC2 security-group rule (the `SecurityGroupRule` of
DescribeSecurityGroupRules): one protocol/port set and one destination. It converts to the
`RevokedSecurityGroupRule` shape of the result and to the `IpPermissions` item that
AuthorizeSecurityGroupEgress takes to put it back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from egress_guard.traffic import Traffic, rule_traffic

Tags = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class GroupInfo:
    """A security group's name and VPC, for the command line's tables."""

    name: str
    vpc_id: str | None


@dataclass(frozen=True, slots=True)
class Rule:
    """One security-group rule as EC2 describes it (live state, never an event's claim)."""

    rule_id: str
    group_id: str
    is_egress: bool
    ip_protocol: str
    from_port: int | None = None
    to_port: int | None = None
    cidr_ipv4: str | None = None
    cidr_ipv6: str | None = None
    prefix_list_id: str | None = None
    referenced_group_id: str | None = None
    referenced_user_id: str | None = None
    description: str | None = None
    tags: Tags = ()
    group_owner_id: str | None = None
    traffic: Traffic = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "traffic", rule_traffic(self.ip_protocol, self.from_port, self.to_port)
        )

    @classmethod
    def from_ec2(cls, item: Mapping[str, Any]) -> Rule:
        """From one `SecurityGroupRules` item of DescribeSecurityGroupRules."""
        ref = item.get("ReferencedGroupInfo") or {}
        return cls(
            **_shared_fields(item, egress=bool(item.get("IsEgress"))),
            referenced_group_id=ref.get("GroupId"),
            referenced_user_id=ref.get("UserId"),
            tags=tuple((t["Key"], t.get("Value", "")) for t in item.get("Tags") or ()),
            group_owner_id=item.get("GroupOwnerId"),
        )

    @property
    def destination(self) -> str:
        """The rule's one destination, as written in EC2 (CIDR, prefix list or group id)."""
        return (
            self.cidr_ipv4
            or self.cidr_ipv6
            or self.prefix_list_id
            or self.referenced_group_id
            or "?"
        )

    @property
    def foreign_referenced_owner(self) -> str | None:
        """The account owning the referenced group, where it is not the rule's own (a
        peered VPC's or Transit Gateway's group), or where the rule's own is not known."""
        owner = self.referenced_user_id
        if self.referenced_group_id is None or not owner or owner == self.group_owner_id:
            return None
        return owner

    def tag(self, key: str) -> str | None:
        return dict(self.tags).get(key)

    def describe(self) -> str:
        """A short human description: `tcp/25 -> 0.0.0.0/0`."""
        return f"{self.traffic} -> {self.destination}"

    def to_revoked(self) -> dict[str, Any]:
        """The EC2 `RevokedSecurityGroupRule` shape, absent values left out."""
        values = ((key, getattr(self, name)) for key, name in REVOKED_KEYS.items())
        return {key: value for key, value in values if value is not None}

    def to_ip_permission(self) -> dict[str, Any]:
        """The `IpPermissions` item that re-creates this rule with AuthorizeSecurityGroupEgress."""
        perm: dict[str, Any] = {"IpProtocol": self.ip_protocol}
        if self.from_port is not None and self.ip_protocol != "-1":
            perm["FromPort"] = self.from_port
            perm["ToPort"] = self.to_port
        desc = {"Description": self.description} if self.description else {}
        if self.cidr_ipv4:
            perm["IpRanges"] = [{"CidrIp": self.cidr_ipv4, **desc}]
        elif self.cidr_ipv6:
            perm["Ipv6Ranges"] = [{"CidrIpv6": self.cidr_ipv6, **desc}]
        elif self.prefix_list_id:
            perm["PrefixListIds"] = [{"PrefixListId": self.prefix_list_id, **desc}]
        elif self.referenced_group_id:
            pair = {"GroupId": self.referenced_group_id, **desc}
            if self.referenced_user_id:
                pair["UserId"] = self.referenced_user_id
            perm["UserIdGroupPairs"] = [pair]
        return perm

    @classmethod
    def from_revoked(
        cls, item: Mapping[str, Any], tags: Tags = (), referenced_owner: str | None = None
    ) -> Rule:
        """From a `RevokedSecurityGroupRule` item of a result (for `restore`);
        `referenced_owner`: the referenced group's account, from the rule's finding."""
        return cls(
            **_shared_fields(item, egress=bool(item.get("IsEgress", True))),
            referenced_group_id=item.get("ReferencedGroupId"),
            referenced_user_id=referenced_owner if item.get("ReferencedGroupId") else None,
            tags=tags,
        )


# RevokedSecurityGroupRule key -> Rule field, in the order EC2 writes them.
REVOKED_KEYS = {
    "SecurityGroupRuleId": "rule_id", "GroupId": "group_id", "IsEgress": "is_egress",
    "IpProtocol": "ip_protocol", "FromPort": "from_port", "ToPort": "to_port",
    "CidrIpv4": "cidr_ipv4", "CidrIpv6": "cidr_ipv6", "PrefixListId": "prefix_list_id",
    "ReferencedGroupId": "referenced_group_id", "Description": "description",
}  # fmt: skip


def _port(value: Any) -> int | None:
    return None if value is None else int(value)


def _shared_fields(item: Mapping[str, Any], *, egress: bool) -> dict[str, Any]:
    """The fields a DescribeSecurityGroupRules item and a RevokedSecurityGroupRule item
    spell alike (they differ in the referenced group and the tags)."""
    return {
        "rule_id": item["SecurityGroupRuleId"],
        "group_id": item["GroupId"],
        "is_egress": egress,
        "ip_protocol": str(item.get("IpProtocol", "-1")),
        "from_port": _port(item.get("FromPort")),
        "to_port": _port(item.get("ToPort")),
        "cidr_ipv4": item.get("CidrIpv4"),
        "cidr_ipv6": item.get("CidrIpv6"),
        "prefix_list_id": item.get("PrefixListId"),
        "description": item.get("Description") or None,
    }


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A rule named by its properties instead of its id: an event's claim of what was added.

    Used where an event carries no rule ids (CloudTrail records from before mid-2021, manual
    requests by IpPermissions); live rules are matched to it by `matches`. `permission` is the
    one-destination IpPermissions item it came from, for UnknownIpPermissions.
    """

    ip_protocol: str
    from_port: int | None
    to_port: int | None
    destination: str
    permission: Mapping[str, Any] = field(compare=False, hash=False)

    def matches(self, rule: Rule) -> bool:
        # -1 rules carry no ports; EC2 may echo them as None or -1.
        if rule.traffic != rule_traffic(self.ip_protocol, self.from_port, self.to_port):
            return False
        return rule.destination.lower() == self.destination.lower()
