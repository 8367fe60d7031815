"""The blast-radius limit, counted in rules."""

from __future__ import annotations

import pytest

from egress_guard.limits import NO_LIMITS, Limits, hold_reason

DEFAULT = Limits()  # MAX_REVOCATIONS=25, MAX_REVOCATIONS_PERCENT=10


@pytest.mark.parametrize(
    ("scenario", "due", "judged", "sweep", "limits"),
    [
        ("up to the limit goes on", 25, 25, False, DEFAULT),
        ("zero means no limit", 10_000, 10_000, True, NO_LIMITS),
        ("a few bad rules in a small estate are not held", 10, 20, True, DEFAULT),
        ("the share applies to sweeps only", 12, 100, False, DEFAULT),
    ],
)
def test_goes_on(scenario: str, due: int, judged: int, sweep: bool, limits: Limits) -> None:
    assert hold_reason(due, judged, sweep=sweep, limits=limits) is None


@pytest.mark.parametrize(
    ("scenario", "due", "judged", "sweep", "named"),
    [
        (
            "over the limit holds, naming limit and count",
            40,
            1000,
            False,
            ("40", "MAX_REVOCATIONS=25"),
        ),
        ("a sweep over the share holds", 12, 100, True, ("MAX_REVOCATIONS_PERCENT=10",)),
    ],
)
def test_holds_naming_why(
    scenario: str, due: int, judged: int, sweep: bool, named: tuple[str, ...]
) -> None:
    reason = hold_reason(due, judged, sweep=sweep, limits=DEFAULT)
    assert reason is not None
    assert all(part in reason for part in named), reason
