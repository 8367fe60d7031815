"""A denylist change, planned: which live rules it would newly revoke, and which it would spare.

Pure code. The same live rules are judged by two denylists (the one deployed, CURRENT, and
the one proposed, NEW); every rule whose verdict differs is a change, with the entry that
decides it (NEW's entry for a rule NEW would revoke, CURRENT's for a rule NEW would spare).
Exempt rules are revoked by neither and so never differ; the caller leaves them out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from egress_guard.rules import Rule

# A verdict function: the id of the deny entry that makes a rule offending, or None.
Decide = Callable[[Rule], str | None]
Change = Literal["newly-revoked", "newly-spared"]


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
class Plan:
    changes: tuple[PlannedChange, ...]
    rules_judged: int
    due_under_new: int  # rules NEW makes offending (before limits): for the limit check

    @property
    def newly_revoked(self) -> tuple[PlannedChange, ...]:
        return tuple(c for c in self.changes if c.change == "newly-revoked")

    @property
    def newly_spared(self) -> tuple[PlannedChange, ...]:
        return tuple(c for c in self.changes if c.change == "newly-spared")


def plan(rules: Iterable[Rule], new: Decide, current: Decide) -> Plan:
    """Every egress rule's verdict under both denylists; the differences, in rule order."""
    changes: list[PlannedChange] = []
    judged = due = 0
    for rule in rules:
        if not rule.is_egress:
            continue
        judged += 1
        by_new, by_current = new(rule), current(rule)
        if by_new is not None:
            due += 1
        if by_new is not None and by_current is None:
            changes.append(PlannedChange(rule, "newly-revoked", by_new))
        elif by_current is not None and by_new is None:
            changes.append(PlannedChange(rule, "newly-spared", by_current))
    return Plan(tuple(changes), judged, due)
