"""A Lambda on-failure record is an event too (issue 11, item 6): parse_event unwraps it,
so the handler, `invoke` and `replay` all accept the failure queue's messages."""

from __future__ import annotations

from typing import Any

import pytest
from support.event_samples import sample

from egress_guard.events import parse_event
from egress_guard.targets import EventError


def on_failure_record(payload: Any) -> dict[str, Any]:
    """Lambda's on-failure destination record, as the failure queue receives it."""
    return {
        "version": "1.0",
        "timestamp": "2025-03-04T09:21:13.000Z",
        "requestContext": {
            "requestId": "7f1c2a9e-0000-4000-8000-000000000000",
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:egress-guard:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": payload,
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "responsePayload": {
            "errorMessage": "1 revocation(s) failed",
            "errorType": "RemediationFailed",
        },
    }


@pytest.mark.parametrize(
    "name", ["cloudtrail-authorize-egress.json", "scheduled-event.json", "manual-revoke.json"]
)
def test_a_record_targets_what_its_original_event_targets(name: str) -> None:
    event = sample(name)
    replayed = parse_event(on_failure_record(event))
    direct = parse_event(event)
    assert (replayed.source, replayed.event_id, replayed.groups, replayed.sweep) == (
        direct.source,
        direct.event_id,
        direct.groups,
        direct.sweep,
    )
    assert replayed.notes[-1] == (
        "replayed from a Lambda on-failure record (RetriesExhausted: 1 revocation(s) failed)"
    )


def test_a_record_of_an_invalid_event_is_refused_as_that_event_would_be() -> None:
    with pytest.raises(EventError, match="unrecognised event"):
        parse_event(on_failure_record({"hello": "world"}))


def test_a_record_inside_a_record_is_refused() -> None:
    inner = on_failure_record(sample("cloudtrail-authorize-egress.json"))
    with pytest.raises(EventError, match="inside another"):
        parse_event(on_failure_record(inner))
