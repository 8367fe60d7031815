"""A manual request: the input of `aws ec2 revoke-security-group-egress --generate-cli-skeleton`.

    {"GroupId": "sg-...", "SecurityGroupRuleIds": ["sgr-..."], "IpPermissions": [...],
     "DryRun": true}

The group, narrowed to the rules named by id or by IpPermissions (one or the other, as EC2
requires), else all of its egress rules. Only the denylist decides what is revoked: a request
naming allowed rules revokes nothing. A group that does not exist is an error naming it (the
operator named it, as EC2's InvalidGroup.NotFound); rule ids that match none of the group's
rules are named in the result's Notes.

An operator fills in a generated skeleton, so its untouched placeholders ("", 0, false, and
lists or objects of nothing but those) mean "not given". The legacy top-level fields
(CidrIp, IpProtocol, FromPort, ToPort, SourceSecurityGroupName/OwnerId) are placeholders
only: EC2 does not support them for egress. Any other key is an error, so a typo cannot
silently widen a request to the whole group. The request names no account or region: the
function acts in its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from egress_guard.events._access import Node, short
from egress_guard.events._permissions import specs_from_permissions
from egress_guard.targets import EventError, GroupTarget, Targets, check_group_id, check_rule_id

USED = ("GroupId", "SecurityGroupRuleIds", "IpPermissions", "DryRun")
LEGACY = (
    "SourceSecurityGroupName",
    "SourceSecurityGroupOwnerId",
    "IpProtocol",
    "FromPort",
    "ToPort",
    "CidrIp",
)
KEYS = (*USED, *LEGACY)
PERMISSION_KEYS = (
    "IpProtocol",
    "FromPort",
    "ToPort",
    "IpRanges",
    "Ipv6Ranges",
    "PrefixListIds",
    "UserIdGroupPairs",
)
DESTINATION_KEYS = {
    "IpRanges": ("CidrIp", "Description"),
    "Ipv6Ranges": ("CidrIpv6", "Description"),
    "PrefixListIds": ("PrefixListId", "Description"),
    "UserIdGroupPairs": (
        "GroupId",
        "UserId",
        "Description",
        "GroupName",
        "VpcId",
        "VpcPeeringConnectionId",
        "PeeringStatus",
    ),
}
# The skeleton nests three levels (IpPermissions[].IpRanges[].CidrIp); deeper is not a
# placeholder, which also bounds the recursion on hostile input.
MAX_PLACEHOLDER_DEPTH = 4


def parse_manual(request: Node) -> Targets:
    """The group (and rules) a revoke-security-group-egress request names."""
    _check_keys(request, KEYS)
    for key in LEGACY:
        if not _placeholder(request.raw(key)):
            raise EventError(
                f"{request.where(key)}: not supported for egress rules; use IpPermissions"
            )
    group_id = request.id_text("GroupId", check_group_id)
    rule_ids = _rule_ids(request)
    permissions = _permissions(request)
    if rule_ids and permissions:
        raise EventError("give SecurityGroupRuleIds or IpPermissions, not both")
    return Targets(
        source="manual",
        groups=(
            GroupTarget(
                group_id,
                rule_ids=rule_ids,
                specs=specs_from_permissions(permissions),
                must_exist=True,
            ),
        ),
        dry_run=not _placeholder(request.raw("DryRun")) and request.flag("DryRun"),
    )


def _rule_ids(request: Node) -> tuple[str, ...]:
    ids = []
    for index, value in enumerate(request.array("SecurityGroupRuleIds")):
        if _placeholder(value):
            continue
        if not isinstance(value, str) or len(value) > 256:
            raise EventError(f"SecurityGroupRuleIds[{index}]: {short(value)} is not a rule id")
        ids.append(check_rule_id(value, f"SecurityGroupRuleIds[{index}]"))
    return tuple(dict.fromkeys(ids))


def _permissions(request: Node) -> list[Node]:
    """The filled-in IpPermissions items, their placeholder entries dropped, keys checked."""
    out = []
    for permission in request.nodes("IpPermissions"):
        _check_keys(permission, PERMISSION_KEYS)
        if _placeholder(permission.data):
            continue
        clean = _without_blanks(permission.data, drop=DESTINATION_KEYS)
        for key, allowed in DESTINATION_KEYS.items():
            entries = permission.nodes(key)
            for entry in entries:
                _check_keys(entry, allowed)
            entries = [e for e in entries if not _placeholder(e.data)]
            if entries:
                clean[key] = [_without_blanks(e.data) for e in entries]
        out.append(Node(clean, permission.path))
    return out


def _without_blanks(
    data: Mapping[Any, Any], drop: Mapping[str, Any] | None = None
) -> dict[Any, Any]:
    """The fields an operator filled in: the skeleton's "" leftovers (and `drop`) left out.

    Numbers stay: in a filled-in permission, FromPort 0 is port 0, not a placeholder.
    """
    drop = drop or {}
    return {k: v for k, v in data.items() if k not in drop and v not in ("", None)}


def _check_keys(node: Node, allowed: tuple[str, ...]) -> None:
    unknown = [k for k in node.data if k not in allowed]
    if unknown:
        names = ", ".join(short(k, 40) for k in unknown[:10])
        raise EventError(
            f"{node.path or 'request'}: unknown keys [{names}]; expected {', '.join(allowed)}"
        )


def _placeholder(value: Any, depth: int = 0) -> bool:
    """True for a skeleton's untouched value: "", 0, false, null, or containers of those."""
    if value is None or value == "" or (isinstance(value, int) and value == 0):
        return True
    if depth >= MAX_PLACEHOLDER_DEPTH:
        return False
    if isinstance(value, list | tuple):
        return all(_placeholder(v, depth + 1) for v in value)
    if isinstance(value, Mapping):
        return all(_placeholder(v, depth + 1) for v in value.values())
    return False
