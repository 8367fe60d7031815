"""docs/event-sources.md, schedule: an EventBridge "Scheduled Event" sweeps every group."""

from __future__ import annotations

import re

import pytest
from support.event_samples import sample

from egress_guard.events import parse_event
from egress_guard.targets import EventError


def test_other_aws_events_detail_type_is_rejected() -> None:
    event = {**sample("scheduled-event.json"), "detail-type": "Something Else"}
    with pytest.raises(EventError, match=r"not a supported aws\.events event"):
        parse_event(event)


def test_scheduled_event_without_detail_is_rejected() -> None:
    event = sample("scheduled-event.json")
    del event["detail"]
    with pytest.raises(EventError, match="detail: missing"):
        parse_event(event)


def test_scheduled_event_with_a_bad_region_is_rejected() -> None:
    event = {**sample("scheduled-event.json"), "region": "../us-east-1"}
    with pytest.raises(
        EventError, match=re.escape("region: '../us-east-1' is not an AWS region name")
    ):
        parse_event(event)
