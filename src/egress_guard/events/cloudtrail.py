"""EC2 API calls recorded by CloudTrail: EventBridge "AWS API Call via CloudTrail" or raw records.

On EventBridge the CloudTrail record sits unchanged in `detail`; a raw record (from a trail
or CloudTrail Lake) is the same object at the top level. Only calls that can add egress
traffic lead anywhere:

- AuthorizeSecurityGroupEgress: the group, narrowed to the rules EC2 says it created
  (`responseElements.securityGroupRuleSet`, since mid-2021), or for older records to rules
  matching the requested `ipPermissions`.
- ModifySecurityGroupRules: the group and the modified rule ids. The request does not say
  whether a rule is egress; remediation reads that from the live rule.
- CreateSecurityGroup: the whole new group, for its implicit all-traffic egress rule (EC2
  emits no Authorize event for it).
- CreateVpc: the new VPC (`responseElements.vpc.vpcId`), whose `default` group gets the
  same implicit rule; remediation finds the group.
- ModifyManagedPrefixList: the list, whose new entries may make every egress rule that
  references it offending without any security-group event; remediation finds the rules.
  Newer EC2 calls are recorded with the request wrapped (`ModifyManagedPrefixListRequest`),
  older ones flat: the id is taken from whichever place holds it.

A call with `errorCode` changed nothing. Every other call, ingress changes and revocations
(including egress-guard's own) included, is a no-op.
"""

from __future__ import annotations

import re
from dataclasses import replace

from egress_guard.events._access import Node, short
from egress_guard.events._envelope import Envelope, Route
from egress_guard.events._permissions import CLOUDTRAIL, specs_from_permissions
from egress_guard.events.actor import actor_of
from egress_guard.targets import (
    EventError,
    GroupTarget,
    Targets,
    check_account,
    check_group_id,
    check_prefix_list_id,
    check_region,
    check_rule_id,
    check_vpc_id,
)

API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,127}$")
EC2 = "ec2.amazonaws.com"
# Where a ModifyManagedPrefixList record may hold the list id (PrefixListId or prefixListId).
PREFIX_LIST_PLACES = (
    ("requestParameters", "ModifyManagedPrefixListRequest"),
    ("requestParameters",),
    ("responseElements", "ModifyManagedPrefixListResponse", "prefixList"),
    ("responseElements", "prefixList"),
)


def parse_cloudtrail(record: Node, envelope: Envelope | None = None) -> Targets:
    """Targets of one EC2 CloudTrail record; `envelope` when it came through EventBridge."""
    source = record.text("eventSource", limit=256)
    if source != EC2:
        raise EventError(f"{record.where('eventSource')}: {short(source)}, expected {EC2!r}")
    name = record.text("eventName", limit=256)
    if not API_NAME.match(name):
        raise EventError(f"{record.where('eventName')}: {short(name)} is not an API name")
    base = _where(record, envelope, source=f"cloudtrail:{name}")
    error = record.opt_text("errorCode", limit=256)
    if error is not None:
        return replace(base, reason=f"failed call: {error}")
    if name == "CreateVpc":
        vpc = record.node("responseElements").node("vpc").id_text("vpcId", check_vpc_id)
        return replace(base, new_vpc=vpc)
    if name == "ModifyManagedPrefixList":
        return replace(base, prefix_list=_modified_prefix_list(record))
    group = _group(record, name)
    if group is None:
        return replace(base, reason=_why_noop(name))
    return replace(base, groups=(group,))


def _where(record: Node, envelope: Envelope | None, source: str) -> Targets:
    """Event id, account and region: the envelope's where there is one, else the record's."""
    # The record's own fields are read (and so checked) even when the envelope wins.
    # The actor too comes from the record: EventBridge's envelope does not name one.
    event_id = record.opt_text("eventID", limit=256)
    account = record.opt_id_text("recipientAccountId", check_account)
    region = record.opt_id_text("awsRegion", check_region)
    if envelope is not None:
        event_id = envelope.event_id or event_id
        account = envelope.account or account
        region = envelope.region or region
    return Targets(
        source=source,
        event_id=event_id,
        account=account,
        region=region,
        actor=actor_of(record),
    )


def _group(record: Node, name: str) -> GroupTarget | None:
    if name == "AuthorizeSecurityGroupEgress":
        return _authorize_egress(record)
    if name == "ModifySecurityGroupRules":
        return _modify_rules(record)
    if name == "CreateSecurityGroup":
        response = record.node("responseElements")
        return GroupTarget(response.id_text("groupId", check_group_id))
    return None


def _why_noop(name: str) -> str:
    if "Ingress" in name:
        return f"ingress change ({name})"
    if name.startswith("Revoke"):
        return f"revocation ({name}) adds no egress traffic"
    return f"{name} adds no egress rule"


def _authorize_egress(record: Node) -> GroupTarget:
    request = record.node("requestParameters")
    group_id = request.id_text("groupId", check_group_id)
    rule_ids = _created_egress_rules(record.opt_node("responseElements"), group_id)
    if rule_ids:
        return GroupTarget(group_id, rule_ids=rule_ids)
    # Records from before mid-2021 carry no rule ids: name the rules by what was requested.
    permissions = request.opt_node("ipPermissions")
    items = [] if permissions is None else permissions.nodes("items")
    specs = specs_from_permissions(items, CLOUDTRAIL)
    return GroupTarget(group_id, specs=specs)


def _created_egress_rules(response: Node | None, group_id: str) -> tuple[str, ...]:
    rule_set = None if response is None else response.opt_node("securityGroupRuleSet")
    if rule_set is None:
        return ()
    rule_ids: list[str] = []
    for item in rule_set.nodes("items"):
        if item.raw("isEgress") is not True:
            continue
        owner = item.opt_text("groupId", limit=256)
        if owner is not None and owner != group_id:
            raise EventError(
                f"{item.where('groupId')}: {short(owner)} is not the requested group {group_id}"
            )
        rule_ids.append(item.id_text("securityGroupRuleId", check_rule_id))
    return tuple(dict.fromkeys(rule_ids))


def _modify_rules(record: Node) -> GroupTarget:
    request = record.node("requestParameters").node("ModifySecurityGroupRulesRequest")
    group_id = request.id_text("GroupId", check_group_id)
    # One rule is an object, several a list (the query API's SecurityGroupRule.N).
    value = request.raw("SecurityGroupRule")
    if value is None:
        rules = []
    elif isinstance(value, list | tuple):
        rules = request.nodes("SecurityGroupRule")
    else:
        rules = [request.node("SecurityGroupRule")]
    rule_ids = tuple(
        dict.fromkeys(rule.id_text("SecurityGroupRuleId", check_rule_id) for rule in rules)
    )
    # No rule named (a request shape we have not seen): judging the whole group is safe.
    return GroupTarget(group_id, rule_ids=rule_ids)


def _modified_prefix_list(record: Node) -> str:
    """The list's id, from every place a record may hold it; where several do, they agree."""
    found: dict[str, str] = {}  # path -> id
    for place in PREFIX_LIST_PLACES:
        node = _walk(record, place)
        if node is None:
            continue
        for key in ("PrefixListId", "prefixListId"):
            value = node.opt_id_text(key, check_prefix_list_id)
            if value is not None:
                found[node.where(key)] = value
    if not found:
        where = record.where("requestParameters.ModifyManagedPrefixListRequest.PrefixListId")
        raise EventError(f"{where}: missing, and no other place of the record names the list")
    if len(set(found.values())) > 1:
        places = ", ".join(f"{where} {value}" for where, value in found.items())
        raise EventError(f"the record names different prefix lists: {places}")
    return next(iter(found.values()))


def _walk(node: Node | None, keys: tuple[str, ...]) -> Node | None:
    for key in keys:
        if node is None:
            return None
        node = node.opt_node(key)
    return node


CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"
ROUTES = (
    Route(
        "aws.ec2",
        CLOUDTRAIL_DETAIL_TYPE,
        lambda _, envelope: parse_cloudtrail(envelope.detail, envelope),
    ),
)
