"""The blast-radius limit, counted in rules."""

from __future__ import annotations

from egress_guard.limits import NO_LIMITS, Limits, hold_reason

DEFAULT = Limits()


def test_up_to_the_limit_goes_on() -> None:
    assert hold_reason(25, 25, sweep=False, limits=DEFAULT) is None


def test_over_the_limit_holds_and_names_limit_and_count() -> None:
    reason = hold_reason(40, 1000, sweep=False, limits=DEFAULT)
    assert reason is not None
    assert "40" in reason
    assert "MAX_REVOCATIONS=25" in reason


def test_zero_means_no_limit() -> None:
    assert hold_reason(10_000, 10_000, sweep=True, limits=NO_LIMITS) is None


def test_a_sweep_over_the_share_holds() -> None:
    reason = hold_reason(12, 100, sweep=True, limits=DEFAULT)
    assert reason is not None
    assert "MAX_REVOCATIONS_PERCENT=10" in reason


def test_a_few_bad_rules_in_a_small_estate_are_not_held() -> None:
    assert hold_reason(10, 20, sweep=True, limits=DEFAULT) is None


def test_the_share_applies_to_sweeps_only() -> None:
    assert hold_reason(12, 100, sweep=False, limits=DEFAULT) is None
