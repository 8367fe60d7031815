"""AWS Config: EventBridge item and compliance changes, and custom-rule invocations.

- EventBridge "Config Configuration Item Change": the security group the item describes
  (`configurationItem`, or `configurationItemSummary` for oversized items). Other resource
  types and deleted groups are no-ops.
- EventBridge "Config Rules Compliance Change": the group when NON_COMPLIANT; any other
  compliance type or resource type is a no-op.
- Custom-rule invocation (Config invokes the function directly with `invokingEvent`, a JSON
  string, and `resultToken`): the group of a change notification, or a sweep of the region
  for periodic ones. `Targets.config` carries what PutEvaluations needs afterwards, even for
  no-ops, so the caller can report NOT_APPLICABLE; the resource is in
  `ConfigInvocation.resource`.

None of these carries the group's rules that remediation may trust: the group is read live.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from egress_guard.events._access import MAX_TOKEN, Node, check_timestamp, parse_arn, short
from egress_guard.events._envelope import Envelope, Route
from egress_guard.ids import SECURITY_GROUP
from egress_guard.targets import (
    ConfigInvocation,
    ConfigResource,
    EventError,
    GroupTarget,
    Targets,
    check_account,
    check_group_id,
    check_region,
)

ITEM_CHANGE = "Config Configuration Item Change"
COMPLIANCE_CHANGE = "Config Rules Compliance Change"
CHANGE = "ConfigurationItemChangeNotification"
OVERSIZED = "OversizedConfigurationItemChangeNotification"
PERIODIC = ("ScheduledNotification", "ConfigurationSnapshotDeliveryCompleted")
DELETED = ("ResourceDeleted", "ResourceDeletedNotRecorded")
# Lambda's own payload limit: an invokingEvent cannot be larger on the wire.
MAX_INVOKING_EVENT = 6 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class _Resource:
    """The resource a configuration item (or its oversized summary) describes."""

    item: Node
    resource_type: str
    resource_id: str | None
    status: str | None
    account: str | None
    region: str | None
    capture_time: str | None


def parse_config(event: Node, envelope: Envelope | None = None) -> Targets:
    """Targets of a Config EventBridge event (`envelope` given) or rule invocation (`event`)."""
    if envelope is None:
        return _invocation(event)
    if envelope.detail_type == ITEM_CHANGE:
        return _item_change(envelope)
    if envelope.detail_type == COMPLIANCE_CHANGE:
        return _compliance_change(envelope)
    raise EventError(
        f"detail-type: {short(envelope.detail_type)} is not a supported aws.config event "
        f"(expected {ITEM_CHANGE!r} or {COMPLIANCE_CHANGE!r})"
    )


def _item_change(envelope: Envelope) -> Targets:
    detail = envelope.detail
    item = detail.opt_node("configurationItem") or detail.opt_node("configurationItemSummary")
    if item is None:
        raise EventError(f"{detail.where('configurationItem')}: missing")
    resource = _resource(item)
    base = Targets(
        source="config:ConfigurationItemChange",
        event_id=envelope.event_id,
        account=resource.account or envelope.account,
        region=resource.region or envelope.region,
    )
    return _resource_targets(base, resource)


def _compliance_change(envelope: Envelope) -> Targets:
    detail = envelope.detail
    result = detail.node("newEvaluationResult")
    compliance = result.text("complianceType", limit=64)
    resource_type = detail.opt_text("resourceType", limit=256) or _qualifier(result).text(
        "resourceType", limit=256
    )
    base = Targets(
        source="config:ComplianceChange",
        event_id=envelope.event_id,
        account=detail.opt_id_text("awsAccountId", check_account) or envelope.account,
        region=detail.opt_id_text("awsRegion", check_region) or envelope.region,
    )
    if resource_type != SECURITY_GROUP:
        return replace(base, reason=f"resource type {resource_type} is not a security group")
    if compliance != "NON_COMPLIANT":
        why = "compliant" if compliance == "COMPLIANT" else f"compliance type {compliance}"
        return replace(base, reason=why)
    group_id = detail.opt_id_text("resourceId", check_group_id) or _qualifier(result).id_text(
        "resourceId", check_group_id
    )
    return replace(base, groups=(GroupTarget(group_id),))


def _qualifier(result: Node) -> Node:
    return result.node("evaluationResultIdentifier").node("evaluationResultQualifier")


def _invocation(event: Node) -> Targets:
    token = event.text("resultToken", limit=MAX_TOKEN)
    rule_name = event.text("configRuleName", limit=256)
    left_scope = event.flag("eventLeftScope")
    invoking = _invoking_event(event)
    message_type = invoking.text("messageType", limit=256)
    source = f"config-rule:{message_type}"
    account = event.opt_id_text("accountId", check_account)
    if message_type in PERIODIC:
        timestamp = check_timestamp(
            invoking.text("notificationCreationTime", limit=64),
            invoking.where("notificationCreationTime"),
        )
        return Targets(
            source=source,
            account=invoking.opt_id_text("awsAccountId", check_account) or account,
            region=_rule_region(event),
            sweep=True,
            config=ConfigInvocation(token, rule_name, timestamp, left_scope),
        )
    if message_type not in (CHANGE, OVERSIZED):
        raise EventError(
            f"{invoking.where('messageType')}: {short(message_type)} is not one of "
            f"{', '.join((CHANGE, OVERSIZED, *PERIODIC))}"
        )
    item = invoking.node(
        "configurationItem" if message_type == CHANGE else "configurationItemSummary"
    )
    resource = _resource(item)
    timestamp = resource.capture_time or check_timestamp(
        invoking.text("notificationCreationTime", limit=64),
        invoking.where("notificationCreationTime"),
    )
    base = Targets(
        source=source,
        account=resource.account or account,
        region=resource.region or _rule_region(event),
        config=ConfigInvocation(
            token,
            rule_name,
            timestamp,
            left_scope,
            ConfigResource(resource.resource_type, resource.resource_id),
        ),
    )
    if left_scope:
        return replace(base, reason="resource left the rule's scope")
    return _resource_targets(base, resource)


def _invoking_event(event: Node) -> Node:
    where = event.where("invokingEvent")
    text = event.text("invokingEvent", limit=MAX_INVOKING_EVENT)
    try:
        decoded: Any = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise EventError(f"{where}: not valid JSON ({short(str(error), 120)})") from None
    return Node.of(decoded, where)


def _rule_region(event: Node) -> str | None:
    """The region in configRuleArn: a periodic invocation names no resource to take it from."""
    arn = event.opt_text("configRuleArn", limit=2048)
    if arn is None:
        return None
    where = event.where("configRuleArn")
    return check_region(parse_arn(arn, where).group("region"), where)


def _resource(item: Node) -> _Resource:
    capture_time = item.opt_text("configurationItemCaptureTime", limit=64)
    if capture_time is not None:
        check_timestamp(capture_time, item.where("configurationItemCaptureTime"))
    return _Resource(
        item=item,
        resource_type=item.text("resourceType", limit=256),
        resource_id=item.opt_text("resourceId", limit=768),
        status=item.opt_text("configurationItemStatus", limit=64),
        account=item.opt_id_text("awsAccountId", check_account),
        region=item.opt_id_text("awsRegion", check_region),
        capture_time=capture_time,
    )


def _resource_targets(base: Targets, resource: _Resource) -> Targets:
    if resource.resource_type != SECURITY_GROUP:
        return replace(
            base, reason=f"resource type {resource.resource_type} is not a security group"
        )
    group_id = resource.item.id_text("resourceId", check_group_id)
    if resource.status in DELETED:
        return replace(base, reason=f"group {group_id} deleted ({resource.status})")
    return replace(base, groups=(GroupTarget(group_id),))


ROUTES = (
    Route("aws.config", ITEM_CHANGE, lambda _, envelope: _item_change(envelope)),
    Route("aws.config", COMPLIANCE_CHANGE, lambda _, envelope: _compliance_change(envelope)),
)
