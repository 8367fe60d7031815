"""Exemption tags: whether a group's or rule's tags spare an offending rule, and until when.

Pure code. Two tags count (docs/denylist.md, "Exemptions"):

- `<EXEMPT_TAG>` = `true` (any case): exempt, with no end;
- `<EXEMPT_TAG>-until` = an ISO 8601 date or date-time: exempt until then, not after.

A date alone means the start of that day in UTC, and a date-time without an offset is UTC:
an exemption never lasts longer than the text can be read to say. A value that is not such
a date exempts nothing (a typo must not become a permanent exemption) and is reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

UNTIL_SUFFIX = "-until"


@dataclass(frozen=True, slots=True)
class Exemption:
    """What the tags say. `until` is set for an expiring exemption still in force; `note`
    names a malformed `-until` value (which then exempts nothing)."""

    exempt: bool = False
    until: datetime | None = None
    note: str | None = None

    @property
    def until_text(self) -> str | None:
        return None if self.until is None else self.until.isoformat().replace("+00:00", "Z")


NOT_EXEMPT = Exemption()


def until_key(exempt_tag: str) -> str:
    """The tag key of the expiring exemption for this deployment's exemption tag."""
    return exempt_tag + UNTIL_SUFFIX


def parse_until(text: str) -> datetime:
    """An ISO 8601 date or date-time as an aware UTC datetime; ValueError otherwise."""
    value = text.strip()
    if len(value) == 10:  # YYYY-MM-DD
        day = date.fromisoformat(value)
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    if "T" not in value.upper():
        raise ValueError(f"{text!r} is not an ISO 8601 date (YYYY-MM-DD) or date-time")
    moment = datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def exemption_of(tags: Mapping[str, str], exempt_tag: str, now: datetime) -> Exemption:
    """The exemption one resource's tags grant at `now` (aware datetime)."""
    if tags.get(exempt_tag, "").strip().lower() == "true":
        return Exemption(exempt=True)
    key = until_key(exempt_tag)
    if key not in tags:
        return NOT_EXEMPT
    try:
        until = parse_until(tags[key])
    except ValueError:
        shown = tags[key][:64]
        return Exemption(note=f"{key}={shown!r} is not an ISO 8601 date or date-time: not exempt")
    if now < until:
        return Exemption(exempt=True, until=until)
    return NOT_EXEMPT


def combine(group: Exemption, rule: Exemption) -> Exemption:
    """A rule is exempt when its group or itself is; an open-ended exemption wins over an
    expiring one, and of two expiring ones the later end counts. Notes are kept."""
    note = "; ".join(n for n in (group.note, rule.note) if n) or None
    exempt = [e for e in (group, rule) if e.exempt]
    if not exempt:
        return Exemption(note=note)
    if any(e.until is None for e in exempt):
        return Exemption(exempt=True, note=note)
    return Exemption(exempt=True, until=max(e.until for e in exempt if e.until), note=note)


def expiring(result: Mapping[str, Any], now: datetime, within: timedelta) -> list[dict[str, Any]]:
    """The result's exempt findings whose exemption ends within `within` of `now` (the
    command line's `scan --expiring-within`), soonest first. Reads nothing: only what the
    result already says."""
    found: list[tuple[datetime, dict[str, Any]]] = []
    for finding in result.get("Findings") or ():
        if not isinstance(finding, Mapping) or finding.get("Action") != "exempt":
            continue
        text = finding.get("ExemptUntil")
        if not isinstance(text, str):
            continue
        try:
            until = parse_until(text)
        except ValueError:
            continue
        if until <= now + within:
            item = {key: finding.get(key) for key in EXPIRING_KEYS}
            found.append((until, item))
    found.sort(key=lambda pair: (pair[0], str(pair[1].get("SecurityGroupRuleId"))))
    return [item for _, item in found]


EXPIRING_KEYS = ("GroupId", "SecurityGroupRuleId", "DenylistEntry", "Traffic", "ExemptUntil")
