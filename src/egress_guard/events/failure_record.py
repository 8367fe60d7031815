"""Failure-queue messages: what to run again, from either kind of message the queue holds.

The template's failure queue receives two kinds of message (docs/operations.md, "Replay"):

- Lambda's on-failure destination record for an asynchronous invocation that exhausted its
  retries: `{"version": "1.0", "requestContext": {...}, "requestPayload": EVENT,
  "responseContext": {...}, "responsePayload": {...}}`; the original event is
  `requestPayload`.
- EventBridge's dead letter for an event it could not deliver: the event itself.

Pure code; the event it returns is parsed like any other, so a record cannot smuggle in
anything a plain event could not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from egress_guard.events._access import Node, kind
from egress_guard.targets import EventError

RECORD_KEYS = frozenset({"requestContext", "requestPayload"})


@dataclass(frozen=True, slots=True)
class FailedInvocation:
    """The event to run again and, for an on-failure record, why it failed before."""

    event: Mapping[str, Any]
    condition: str | None = None
    error: str | None = None


def is_failure_record(event: Mapping[str, Any]) -> bool:
    return event.keys() >= RECORD_KEYS


def failed_invocation(message: Mapping[str, Any]) -> FailedInvocation:
    """The event inside a failure-queue message (an on-failure record, or a bare event)."""
    if not is_failure_record(message):
        return FailedInvocation(message)
    root = Node(message)
    payload = root.raw("requestPayload")
    if not isinstance(payload, Mapping):
        raise EventError(f"requestPayload: expected the original event object, got {kind(payload)}")
    if is_failure_record(payload):
        raise EventError("requestPayload: an on-failure record inside another is not replayed")
    context = root.node("requestContext")
    response = root.opt_node("responsePayload")
    error = None
    if response is not None:
        error = response.opt_text("errorMessage", limit=1024) or response.opt_text(
            "errorType", limit=256
        )
    return FailedInvocation(payload, context.opt_text("condition", limit=256), error)
