"""Event parsing: any supported event to `Targets`, with no AWS calls.

`parse_event` recognises the shape and hands it to one module per source; an EventBridge
event goes to the module whose `ROUTES` name its source and detail-type (`ROUTES` here is
their table, which the template's rules are tested against):

- cloudtrail: EventBridge "AWS API Call via CloudTrail" (aws.ec2) and raw CloudTrail records
- config: EventBridge Config item/compliance changes and Config custom-rule invocations
- securityhub: EventBridge Security Hub findings (Imported, Custom Action)
- schedule: EventBridge "Scheduled Event"
- manual: a `revoke-security-group-egress --generate-cli-skeleton` request
- place: the org sweep's "sweep one place" event (`{"egress-guard": "sweep-place", ...}`)
- failure_record: Lambda's on-failure destination record (the failure queue's messages),
  unwrapped to the original event it holds, which is then parsed as above

Anything else, or anything malformed, raises `EventError` naming what was wrong. A
well-formed event that needs no action returns no-op Targets with a `reason`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from egress_guard.events import cloudtrail, config, schedule, securityhub
from egress_guard.events._access import Node, key_list, kind, short
from egress_guard.events._envelope import Envelope, Route, read_envelope
from egress_guard.events.cloudtrail import CLOUDTRAIL_DETAIL_TYPE, parse_cloudtrail
from egress_guard.events.config import parse_config
from egress_guard.events.failure_record import (
    FailedInvocation,
    failed_invocation,
    is_failure_record,
)
from egress_guard.events.manual import KEYS as MANUAL_KEYS
from egress_guard.events.manual import parse_manual
from egress_guard.events.place import KIND_KEY as PLACE_KEY
from egress_guard.events.place import parse_place
from egress_guard.targets import EventError, Targets

__all__ = ["ROUTES", "EventError", "Route", "parse_event"]

# (source, detail-type) -> its route, from the source modules' own declarations.
ROUTES: Mapping[tuple[str, str], Route] = {
    (route.source, route.detail_type): route
    for module in (cloudtrail, config, securityhub, schedule)
    for route in module.ROUTES
}
EXPECTED = (
    "expected an EventBridge event (source, detail-type, detail), a CloudTrail record "
    "(eventSource, eventName), a Config rule invocation (invokingEvent, resultToken) or a "
    "revoke-security-group-egress request (GroupId, SecurityGroupRuleIds, IpPermissions, DryRun)"
)


def parse_event(event: Mapping[str, Any]) -> Targets:
    """The targets an event names. Raises EventError for anything unsupported or malformed."""
    if not isinstance(event, Mapping):
        raise EventError(f"unrecognised event: {EXPECTED}; got {kind(event)}")
    if is_failure_record(event):
        # The original event, judged like any other (a record inside a record is refused).
        failed = failed_invocation(event)
        targets = parse_event(failed.event)
        return replace(targets, notes=(*targets.notes, _replayed(failed)))
    root = Node(event)
    if PLACE_KEY in event:
        return parse_place(root)
    if "detail-type" in event or ("source" in event and "detail" in event):
        return _eventbridge(root, read_envelope(root))
    if "invokingEvent" in event:
        return parse_config(root)
    if "eventSource" in event and "detail" not in event:
        return parse_cloudtrail(root)
    if any(key in event for key in MANUAL_KEYS):
        return parse_manual(root)
    if event.get("Type") == "Notification" and "Message" in event:
        raise EventError(
            "unrecognised event: an SNS notification is not supported; deliver Config and "
            f"other events through EventBridge ({EXPECTED})"
        )
    raise EventError(f"unrecognised event: {EXPECTED}; got keys {key_list(event)}")


def _replayed(failed: FailedInvocation) -> str:
    why = ": ".join(part for part in (failed.condition, failed.error) if part)
    note = "replayed from a Lambda on-failure record"
    return f"{note} ({' '.join(why.split())[:300]})" if why else note


def _eventbridge(root: Node, envelope: Envelope) -> Targets:
    source, detail_type = envelope.source, envelope.detail_type
    route = ROUTES.get((source, detail_type))
    if route is not None:
        return route.parse(root, envelope)
    known = [repr(t) for (s, t) in ROUTES if s == source]
    if known:
        raise EventError(
            f"unsupported EventBridge event: source {short(source)}, detail-type: "
            f"{short(detail_type)} is not a supported {source} event "
            f"(expected {' or '.join(known)})"
        )
    raise EventError(
        f"unsupported EventBridge event: source {short(source)}, detail-type "
        f"{short(detail_type)}; expected aws.ec2 {CLOUDTRAIL_DETAIL_TYPE!r}, aws.config "
        "item or compliance changes, aws.securityhub findings or an aws.events schedule"
    )
