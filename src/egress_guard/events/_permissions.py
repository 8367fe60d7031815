"""IpPermissions (boto3 shape, or CloudTrail's wrapped camelCase) to one RuleSpec per destination.

An IpPermissions item names one protocol/port set and any number of destinations; EC2
stores one rule per destination. Where an event names rules by properties instead of ids
(CloudTrail records from before mid-2021, manual requests), remediation matches live rules
against these specs, so each spec carries exactly one destination, written as EC2 writes it
(canonical CIDR), and the one-destination IpPermissions item it came from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from egress_guard.events._access import MAX_ITEMS, Node, kind, short
from egress_guard.ids import IdError, canonical_cidr
from egress_guard.rules import RuleSpec
from egress_guard.targets import EventError, check_account, check_group_id, check_prefix_list_id
from egress_guard.traffic import ALL, ICMP_LIKE, MAX_PORT, PORTED, protocol_number

# boto3 destination list -> the key of its entries' destination.
DESTINATIONS = {
    "IpRanges": "CidrIp",
    "Ipv6Ranges": "CidrIpv6",
    "PrefixListIds": "PrefixListId",
    "UserIdGroupPairs": "GroupId",
}


@dataclass(frozen=True, slots=True)
class Dialect:
    """How one source spells an IpPermissions item, so that messages name the event's paths."""

    names: Mapping[str, str]  # boto3 key -> this source's key
    wrapped: bool  # every list is {"items": [...]}, an empty one {}

    def key(self, boto3_key: str) -> str:
        return self.names.get(boto3_key, boto3_key)


BOTO3 = Dialect(names={}, wrapped=False)
CLOUDTRAIL = Dialect(
    names={
        "IpProtocol": "ipProtocol",
        "FromPort": "fromPort",
        "ToPort": "toPort",
        "IpRanges": "ipRanges",
        "Ipv6Ranges": "ipv6Ranges",
        "PrefixListIds": "prefixListIds",
        "UserIdGroupPairs": "groups",
        "CidrIp": "cidrIp",
        "CidrIpv6": "cidrIpv6",
        "PrefixListId": "prefixListId",
        "GroupId": "groupId",
        "GroupName": "groupName",
        "UserId": "userId",
        "Description": "description",
    },
    wrapped=True,
)


def specs_from_permissions(
    permissions: list[Node], dialect: Dialect = BOTO3
) -> tuple[RuleSpec, ...]:
    """One RuleSpec per destination of each IpPermissions item."""
    specs: list[RuleSpec] = []
    for permission in permissions:
        specs.extend(_flatten(permission, dialect))
        if len(specs) > MAX_ITEMS:
            raise EventError(f"{permission.path}: more than {MAX_ITEMS} destinations in all")
    return tuple(specs)


def _flatten(permission: Node, dialect: Dialect) -> list[RuleSpec]:
    protocol = _protocol(permission, dialect.key("IpProtocol"))
    from_port, to_port = _ports(permission, protocol, dialect)
    head: dict[str, Any] = {"IpProtocol": protocol}
    if from_port is not None:
        head.update(FromPort=from_port, ToPort=to_port)
    specs = [
        RuleSpec(protocol, from_port, to_port, destination, {**head, boto_list: [entry]})
        for boto_list in DESTINATIONS
        for destination, entry in _destinations(permission, boto_list, dialect)
    ]
    if not specs:
        names = ", ".join(dialect.key(k) for k in DESTINATIONS)
        raise EventError(f"{permission.path}: no destination ({names})")
    return specs


def _protocol(permission: Node, key: str) -> str:
    value = permission.raw(key)
    where = permission.where(key)
    if value is None:
        raise EventError(f"{where}: missing")
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise EventError(f"{where}: expected a string, got {kind(value)}")
    try:
        number = protocol_number(value)
    except ValueError:
        raise EventError(f"{where}: {short(value)} is not a protocol") from None
    # EC2 spells "all" as -1; keep names as given (EC2 echoes "tcp", not "6").
    return "-1" if number == ALL else str(value).strip().lower()


def _ports(permission: Node, protocol: str, dialect: Dialect) -> tuple[int | None, int | None]:
    """FromPort/ToPort where they mean something (tcp/udp ports, icmp type/code), else None."""
    number = protocol_number(protocol)
    from_port = _port(permission, dialect.key("FromPort"))
    to_port = _port(permission, dialect.key("ToPort"))
    if number not in PORTED | ICMP_LIKE:
        return None, None  # -1 and port-less protocols: EC2 ignores any ports given
    if (from_port is None) != (to_port is None):
        raise EventError(f"{permission.path}: FromPort and ToPort must be given together")
    if (
        number in PORTED
        and from_port is not None
        and to_port is not None
        and ALL not in (from_port, to_port)
        and from_port > to_port
    ):
        raise EventError(f"{permission.path}: FromPort {from_port} > ToPort {to_port}")
    return from_port, to_port


def _port(permission: Node, key: str) -> int | None:
    value = permission.raw(key)
    where = permission.where(key)
    if value is None:
        return None
    # Some log pipelines stringify ports; EC2 never does, but the value is the same.
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,5}", value):
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise EventError(f"{where}: expected an integer, got {kind(value)}")
    if not ALL <= value <= MAX_PORT:
        raise EventError(f"{where}: {value} is not a port (-1 to {MAX_PORT})")
    return value


def _destinations(
    permission: Node, boto_list: str, dialect: Dialect
) -> list[tuple[str, dict[str, Any]]]:
    """(canonical destination, boto3 entry) for each entry of one destination list."""
    id_key = DESTINATIONS[boto_list]
    out = []
    for entry in _entries(permission, dialect.key(boto_list), dialect):
        destination = _destination(entry, id_key, dialect)
        # The permission keeps the CIDR as written: it is echoed as UnknownIpPermissions.
        clean: dict[str, Any] = {id_key: entry.raw(dialect.key(id_key))}
        # An empty description is no description (EC2 echoes "" for rules that have none).
        has_description = entry.raw(dialect.key("Description")) != ""
        description = entry.opt_text(dialect.key("Description"), limit=255)
        if has_description and description:
            clean["Description"] = description
        if id_key == "GroupId":
            user = entry.opt_id_text(dialect.key("UserId"), check_account)
            if user:
                clean["UserId"] = user
        out.append((destination, clean))
    return out


def _entries(permission: Node, key: str, dialect: Dialect) -> list[Node]:
    if not dialect.wrapped:
        return permission.nodes(key)
    box = permission.opt_node(key)
    return [] if box is None else box.nodes("items")


def _destination(entry: Node, id_key: str, dialect: Dialect) -> str:
    key = dialect.key(id_key)
    where = entry.where(key)
    if id_key == "GroupId":
        if entry.has(dialect.key("GroupName")) and not entry.has(key):
            raise EventError(f"{where}: missing (a group name is not enough for egress rules)")
        return entry.id_text(key, check_group_id)
    value = entry.text(key, limit=64)
    if id_key == "PrefixListId":
        return check_prefix_list_id(value, where)
    return _cidr(value, where, version=6 if id_key == "CidrIpv6" else 4)


def _cidr(value: str, where: str, version: int) -> str:
    """The CIDR as EC2 stores it: host bits cleared, IPv6 compressed and lower-case."""
    try:
        return canonical_cidr(value, where, version)
    except IdError as exc:
        raise EventError(str(exc)) from None
