"""Who opened it: a CloudTrail event's actor travels from the event to the result
(docs/result.md, `Actor`), at the top and on each finding; other sources have none."""

from __future__ import annotations

from typing import Any

import pytest
from support.event_samples import DELETE, GROUP, changed, sample

from egress_guard.events import parse_event
from egress_guard.events.actor import Actor
from egress_guard.result import Finding, Result
from egress_guard.rules import Rule

ALICE = Actor(
    arn="arn:aws:sts::123456789012:assumed-role/Developer/alice",
    identity_type="AssumedRole",
    session_issuer="arn:aws:iam::123456789012:role/Developer",
    source_ip="198.51.100.23",
    user_agent=sample("cloudtrail-authorize-egress.json")["detail"]["userAgent"],
)


@pytest.mark.parametrize(
    "name",
    [
        "cloudtrail-authorize-egress.json",
        "cloudtrail-modify-security-group-rules.json",
        "cloudtrail-create-security-group.json",
    ],
)
def test_a_cloudtrail_event_names_who_made_the_change(name: str) -> None:
    targets = parse_event(sample(name))

    assert targets.actor is not None
    assert targets.actor.arn is not None
    assert targets.actor.arn.startswith("arn:aws:")


def test_the_actor_is_the_records_identity_address_and_agent() -> None:
    assert parse_event(sample("cloudtrail-authorize-egress.json")).actor == ALICE


def test_a_raw_cloudtrail_record_names_its_actor_too() -> None:
    record = sample("cloudtrail-authorize-egress.json")["detail"]

    assert parse_event(record).actor == ALICE


def test_a_record_without_identity_has_no_actor() -> None:
    event = sample("cloudtrail-authorize-egress.json")
    for key in ("userIdentity", "sourceIPAddress", "userAgent"):
        event = changed(event, ("detail", key), DELETE)

    assert parse_event(event).actor is None


@pytest.mark.parametrize("name", ["scheduled-event.json", "manual-revoke.json"])
def test_a_schedule_or_manual_event_has_no_actor(name: str) -> None:
    assert parse_event(sample(name)).actor is None


def result(actor: Actor | None) -> dict[str, Any]:
    rule = Rule("sgr-0aa11bb22cc33dd44", GROUP, True, "tcp", 25, 25, cidr_ipv4="0.0.0.0/0")
    out = Result("cloudtrail:X", "evt-1", "123456789012", "us-east-1", "enforce", False)
    out.actor = actor
    out.findings = [Finding(rule, "smtp-out", "revoked"), Finding(rule, "smtp-out", "exempt")]
    return out.to_dict()


def test_the_result_carries_the_actor_at_the_top_and_on_each_finding() -> None:
    document = result(ALICE)

    assert document["Actor"] == ALICE.to_dict()
    assert [f["Actor"] for f in document["Findings"]] == [ALICE.to_dict()] * 2


def test_a_result_without_an_actor_has_no_actor_key() -> None:
    document = result(None)

    assert "Actor" not in document
    assert all("Actor" not in f for f in document["Findings"])
