"""The org sweep's "sweep one place" event (README "Organization"): one account-region swept."""

from __future__ import annotations

import re
from typing import Any

import pytest
from support.event_samples import assert_rejected, sample

from egress_guard.events import parse_event
from egress_guard.targets import EventError


def place(**changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = sample("sweep-place.json")
    event.update(changes)
    return {k: v for k, v in event.items() if v is not None}


def test_sweep_place_sweeps_every_group_of_its_account_and_region() -> None:
    targets = parse_event(place(account="210987654321", region="eu-west-1"))
    assert (targets.sweep, targets.groups, targets.account, targets.region) == (
        True,
        (),
        "210987654321",
        "eu-west-1",
    )


def test_run_is_optional() -> None:
    assert parse_event(place(run=None)).event_id is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"account": None}, "account: missing"),
        ({"region": None}, "region: missing"),
        ({"account": "12345678901"}, "account: '12345678901' is not a 12-digit AWS account id"),
        ({"account": "\uff11" * 12}, "is not a 12-digit AWS account id"),
        ({"account": 123456789012}, "account: expected a string, got number"),
        ({"region": "../us-east-1"}, "region: '../us-east-1' is not an AWS region name"),
        ({"region": ["us-east-1"]}, "region: expected a string, got array"),
        ({"run": ""}, "run: empty"),
        ({"run": "r" * 257}, "run: longer than 256 characters"),
        ({"egress-guard": "sweep-everything"}, "'sweep-everything' is not a supported kind"),
        ({"groupId": "sg-0123456789abcdef0"}, "unknown keys ['groupId']"),
        ({"regions": ["eu-west-1"]}, "unknown keys ['regions']"),
    ],
)
def test_hostile_or_mistyped_place_is_rejected_naming_the_path(
    changes: dict[str, Any], message: str
) -> None:
    assert_rejected(place(**changes), message)


def test_kind_key_wins_over_any_aws_shape() -> None:
    """An EventBridge-looking envelope that carries the key is judged as a place event, so
    it is refused for its extra keys rather than parsed as something else."""
    with pytest.raises(EventError, match=re.escape("unknown keys ['detail-type', 'source'")):
        parse_event(place(**{"detail-type": "Scheduled Event", "source": "aws.events"}))


def test_null_kind_is_rejected_naming_the_key() -> None:
    with pytest.raises(EventError, match=re.escape("egress-guard: missing")):
        parse_event({**sample("sweep-place.json"), "egress-guard": None})
