"""A denylist change, planned: which live rules it would newly revoke, and which it would spare.

Pure code. The same live rules are judged by two denylists (the one deployed, CURRENT, and
the one proposed, NEW); every rule whose verdict differs is a change, with the entry that
decides it (NEW's entry for a rule NEW would revoke, CURRENT's for a rule NEW would spare).
Exempt rules are revoked by neither and so never differ: they are left out of the changes,
and counted.

Two steps, so that a caller reading a whole region keeps only what matters: `judge_both`
keeps the rules some denylist makes offending (all others are the same under both), and
`differences` turns those into a plan once their exemptions are known (reading exemptions
means reading group tags: only for the groups of these rules). `plan` does both at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from egress_guard.rules import Rule

# A verdict function: the id of the deny entry that makes a rule offending, or None.
Decide = Callable[[Rule], str | None]
IsExempt = Callable[[Rule], bool]
Change = Literal["newly-revoked", "newly-spared"]


def never_exempt(_rule: Rule) -> bool:
    return False


@dataclass(frozen=True, slots=True)
class PlannedChange:
    rule: Rule
    change: Change
    entry_id: str  # the deciding entry: NEW's for newly-revoked, CURRENT's for newly-spared

    def to_dict(self) -> dict[str, Any]:
        """In the findings' shape, with the change in `Action`."""
        return {
            "GroupId": self.rule.group_id,
            "SecurityGroupRuleId": self.rule.rule_id,
            "DenylistEntry": self.entry_id,
            "Action": self.change,
            "Traffic": self.rule.describe(),
            "Rule": self.rule.to_revoked(),
        }


@dataclass(frozen=True, slots=True)
class Judged:
    """An egress rule some denylist makes offending, with both verdicts (entry ids)."""

    rule: Rule
    by_new: str | None
    by_current: str | None


@dataclass(frozen=True, slots=True)
class Plan:
    changes: tuple[PlannedChange, ...]
    rules_judged: int
    due_under_new: int  # rules NEW would revoke (offending, not exempt): for the limits
    due_under_current: int = 0  # the same under CURRENT
    exempt_left_out: int = 0  # exempt rules whose verdicts differ: no change, counted here

    @property
    def newly_revoked(self) -> tuple[PlannedChange, ...]:
        return tuple(c for c in self.changes if c.change == "newly-revoked")

    @property
    def newly_spared(self) -> tuple[PlannedChange, ...]:
        return tuple(c for c in self.changes if c.change == "newly-spared")


def judge_both(rules: Iterable[Rule], new: Decide, current: Decide) -> tuple[int, list[Judged]]:
    """The number of egress rules judged, and those either denylist makes offending."""
    judged = 0
    found: list[Judged] = []
    for rule in rules:
        if not rule.is_egress:
            continue
        judged += 1
        by_new, by_current = new(rule), current(rule)
        if by_new is not None or by_current is not None:
            found.append(Judged(rule, by_new, by_current))
    return judged, found


def differences(
    judged: Iterable[Judged], rules_judged: int, exempt: IsExempt = never_exempt
) -> Plan:
    """The plan from `judge_both`'s rules: the changes, in order, exempt rules aside."""
    changes: list[PlannedChange] = []
    due_new = due_current = exempt_left_out = 0
    for item in judged:
        differ = (item.by_new is None) != (item.by_current is None)
        if exempt(item.rule):
            exempt_left_out += differ
            continue
        due_new += item.by_new is not None
        due_current += item.by_current is not None
        if item.by_new is not None and item.by_current is None:
            changes.append(PlannedChange(item.rule, "newly-revoked", item.by_new))
        elif item.by_current is not None and item.by_new is None:
            changes.append(PlannedChange(item.rule, "newly-spared", item.by_current))
    return Plan(tuple(changes), rules_judged, due_new, due_current, exempt_left_out)


def plan(
    rules: Iterable[Rule], new: Decide, current: Decide, exempt: IsExempt = never_exempt
) -> Plan:
    """Every egress rule's verdict under both denylists; the differences, in rule order."""
    judged, found = judge_both(rules, new, current)
    return differences(found, judged, exempt)
