"""Failure-queue messages: Lambda's on-failure records are unwrapped, bare events pass."""

from __future__ import annotations

from typing import Any

import pytest

from egress_guard.events.failure_record import failed_invocation, is_failure_record
from egress_guard.targets import EventError

EVENT = {"GroupId": "sg-0123456789abcdef0"}


def record(payload: Any = EVENT, **extra: Any) -> dict[str, Any]:
    return {
        "version": "1.0",
        "timestamp": "2026-12-01T10:00:00.000Z",
        "requestContext": {
            "requestId": "c0ffee00-0000-4000-8000-000000000000",
            "functionArn": "arn:aws:lambda:eu-west-1:111122223333:function:egress-guard:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": payload,
        "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
        "responsePayload": {"errorMessage": "1 revocation(s) failed", "errorType": "Failed"},
        **extra,
    }


def test_an_on_failure_record_gives_back_the_original_event() -> None:
    found = failed_invocation(record())
    assert found.event == EVENT
    assert (found.condition, found.error) == ("RetriesExhausted", "1 revocation(s) failed")


def test_a_bare_event_is_itself() -> None:
    assert failed_invocation(EVENT).event == EVENT
    assert not is_failure_record(EVENT)


def test_a_record_without_an_event_object_is_refused_naming_the_key() -> None:
    with pytest.raises(EventError, match="requestPayload: expected the original event object"):
        failed_invocation(record(payload="x"))


def test_a_record_inside_a_record_is_refused() -> None:
    with pytest.raises(EventError, match="inside another"):
        failed_invocation(record(payload=record()))
