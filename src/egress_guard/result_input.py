"""A result someone hands in (to `restore`): which object holds it, and each revoked rule
in it checked, naming the item and field that cannot be used.

The result document itself is read and written by result_document.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from egress_guard.ids import GroupId, RuleId
from egress_guard.rules import Rule

DESTINATION_KEYS = ("CidrIpv4", "CidrIpv6", "PrefixListId", "ReferencedGroupId")


class DocumentError(ValueError):
    """The document is not a result that can be read; the message says what is wrong."""


def result_of(document: Any) -> Mapping[str, Any]:
    """The result in a document: a handler result, an SNS notice body, EC2's own
    RevokeSecurityGroupEgress response, or the handler's "result" log line."""
    if not isinstance(document, Mapping):
        raise DocumentError(f"expected a JSON object, got {kind(document)}")
    found: Mapping[str, Any] = document
    inner = found.get("result")  # the handler's log line {"message": "result", ...}
    if "RevokedSecurityGroupRules" not in found and isinstance(inner, Mapping):
        found = inner
    if "RevokedSecurityGroupRules" not in found:
        raise DocumentError(
            "not an egress-guard result: it has no RevokedSecurityGroupRules "
            f"(keys: {', '.join(sorted(map(str, found))[:10]) or 'none'})"
        )
    return found


def revoked_rule(where: str, item: Any) -> Rule:
    """An item in EC2's RevokedSecurityGroupRule shape (a revoked rule, a finding's `Rule`)
    as a rule; DocumentError naming `where` and the field that cannot be used."""
    if not isinstance(item, Mapping):
        raise DocumentError(f"{where}: expected an object, got {kind(item)}")
    for key, pattern, what in (
        ("SecurityGroupRuleId", RuleId.PATTERN, "a security group rule id (sgr-...)"),
        ("GroupId", GroupId.PATTERN, "a security group id (sg-...)"),
    ):
        value = item.get(key)
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise DocumentError(f"{where}: {key}: {value!r} is not {what}")
    if item.get("IsEgress") is False:
        raise DocumentError(f"{where}: IsEgress is false; restore puts back egress rules only")
    if not isinstance(item.get("IpProtocol"), str | int) or isinstance(item["IpProtocol"], bool):
        raise DocumentError(f"{where}: IpProtocol: missing or not a protocol")
    for key in ("FromPort", "ToPort"):
        value = item.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise DocumentError(f"{where}: {key}: {value!r} is not an integer")
    present = [key for key in DESTINATION_KEYS if item.get(key) is not None]
    if len(present) != 1:
        raise DocumentError(
            f"{where}: expected exactly one of {', '.join(DESTINATION_KEYS)}, "
            f"got {', '.join(present) or 'none'}"
        )
    if not isinstance(item[present[0]], str):
        raise DocumentError(f"{where}: {present[0]}: {item[present[0]]!r} is not a string")
    description = item.get("Description")
    if description is not None and not isinstance(description, str):
        raise DocumentError(f"{where}: Description: {description!r} is not a string")
    try:
        return Rule.from_revoked(item)
    except ValueError as exc:
        raise DocumentError(f"{where}: {exc}") from None


def kind(value: Any) -> str:
    """A JSON value's kind, for messages."""
    return "null" if value is None else type(value).__name__
