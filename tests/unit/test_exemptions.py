"""Exemption tags: `true` exempts for good, `-until` exempts until a moment, typos never."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from egress_guard.exemptions import Exemption, combine, exemption_of, parse_until, until_key

KEY = "egress-guard:exempt"
UNTIL = until_key(KEY)
NOW = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)


def test_the_until_key_follows_the_exempt_tag() -> None:
    assert until_key("team:skip") == "team:skip-until"


@pytest.mark.parametrize("value", ["true", "TRUE", " True "])
def test_exempt_true_exempts_without_end(value: str) -> None:
    assert exemption_of({KEY: value}, KEY, NOW) == Exemption(exempt=True)


@pytest.mark.parametrize("value", ["false", "yes", "1", ""])
def test_other_exempt_values_exempt_nothing(value: str) -> None:
    assert not exemption_of({KEY: value}, KEY, NOW).exempt


def test_a_future_date_time_exempts_until_then() -> None:
    found = exemption_of({UNTIL: "2026-12-24T18:00:00Z"}, KEY, NOW)
    assert found == Exemption(exempt=True, until=datetime(2026, 12, 24, 18, tzinfo=UTC))


def test_an_exemption_a_second_in_the_past_is_not_honoured() -> None:
    past = (NOW - timedelta(seconds=1)).isoformat()
    assert exemption_of({UNTIL: past}, KEY, NOW) == Exemption()


def test_a_date_means_the_start_of_that_day_in_utc() -> None:
    assert parse_until("2026-12-02") == datetime(2026, 12, 2, tzinfo=UTC)
    assert not exemption_of({UNTIL: "2026-12-01"}, KEY, NOW).exempt


def test_an_offset_is_honoured_and_a_missing_one_is_utc() -> None:
    assert parse_until("2026-12-01T14:00:00+02:00") == datetime(2026, 12, 1, 12, tzinfo=UTC)
    assert parse_until("2026-12-01T12:00:00") == datetime(2026, 12, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize("value", ["next week", "2026-13-01", "2026/12/31", "1767225600", ""])
def test_a_malformed_until_exempts_nothing_and_is_named(value: str) -> None:
    found = exemption_of({UNTIL: value}, KEY, NOW)
    assert not found.exempt
    assert found.note is not None
    assert UNTIL in found.note


def test_until_text_is_utc_with_z() -> None:
    assert exemption_of({UNTIL: "2027-01-01"}, KEY, NOW).until_text == "2027-01-01T00:00:00Z"


def test_combine_prefers_open_ended_and_later_ends() -> None:
    soon = Exemption(exempt=True, until=NOW + timedelta(days=1))
    later = Exemption(exempt=True, until=NOW + timedelta(days=9))
    assert combine(soon, later) == later
    assert combine(soon, Exemption(exempt=True)) == Exemption(exempt=True)
    assert combine(Exemption(), Exemption(note="bad")) == Exemption(note="bad")
