"""The invocation's result (docs/result.md): findings and the RevokeSecurityGroupEgress shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from egress_guard.events.actor import Actor
from egress_guard.result_document import (
    FindingRecord,
    PermissionRecord,
    ReferencedGroup,
    ResultDocument,
    write,
    write_finding,
)
from egress_guard.rules import Rule

Action = Literal["revoked", "would-revoke", "exempt", "gone", "failed", "held"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One offending (or exempt) rule and what was done about it.

    `maybe_revoked`: a `failed` revoke whose outcome is unknown (its answer lost, or EC2's
    answer unconfirmed, and the group could not be read back): the rule may be gone, so the
    finding says so and `restore` accepts it.
    `exempt_until`: an `exempt` finding's exemption ends then (ISO 8601, UTC), by an
    `-until` tag; None when it does not end.
    """

    rule: Rule
    entry_id: str
    action: Action
    error: str | None = None
    maybe_revoked: bool = False
    exempt_until: str | None = None

    def to_dict(self, actor: Actor | None = None) -> dict[str, Any]:
        """`actor`: who made the change this finding is about (CloudTrail events)."""
        return write_finding(self.record(actor))

    def record(self, actor: Actor | None = None) -> FindingRecord:
        """The finding as the result document holds it (docs/result.md, "Findings")."""
        rule = self.rule
        restorable = self.action == "revoked" or self.maybe_revoked
        owner = rule.foreign_referenced_owner
        return FindingRecord(
            group_id=rule.group_id,
            rule_id=rule.rule_id,
            entry_id=self.entry_id,
            action=self.action,
            traffic=rule.describe(),
            tags=rule.tags if restorable else None,
            # EC2's RevokedSecurityGroupRule names the group only: keep its owner here, so
            # that restore re-creates the reference to the other account's group.
            referenced=None if owner is None else ReferencedGroup(rule.referenced_group_id, owner),
            exempt_until=self.exempt_until,
            error=self.error,
            # A revoke whose answer was lost may have happened after all: keep the rule's
            # full definition (RevokedSecurityGroupRule shape) so it can still be restored.
            rule=rule.to_revoked() if self.action == "failed" else None,
            maybe_revoked=self.action == "failed" and self.maybe_revoked,
            actor=actor,
        )


@dataclass(frozen=True, slots=True)
class PermissionCheck:
    """A dry run's answer from EC2: would the revoke of this group have been permitted?"""

    group_id: str
    permitted: bool
    detail: str

    def record(self) -> PermissionRecord:
        return PermissionRecord(self.group_id, self.permitted, self.detail)


@dataclass
class Result:
    """Everything one invocation did; `to_dict` is what the handler returns and logs."""

    source: str
    event_id: str | None
    account: str | None
    region: str | None
    mode: str
    dry_run: bool
    findings: list[Finding] = field(default_factory=list)
    revoked: list[dict[str, Any]] = field(default_factory=list)
    unknown_permissions: list[dict[str, Any]] = field(default_factory=list)
    permission_checks: list[PermissionCheck] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rules_judged: int = 0
    groups_judged: set[str] = field(default_factory=set)
    noncompliant_groups: set[str] = field(default_factory=set)
    # Who made the change, for a CloudTrail-triggered invocation (one record, one actor):
    # on the result and on each of its findings.
    actor: Actor | None = None

    @property
    def ok(self) -> bool:
        return not self.errors and not any(f.action in ("failed", "held") for f in self.findings)

    def count(self, action: Action) -> int:
        return sum(1 for f in self.findings if f.action == action)

    def to_dict(self) -> dict[str, Any]:
        return write(self.document())

    def document(self) -> ResultDocument:
        """The result as its document holds it (docs/result.md)."""
        return ResultDocument(
            ok=self.ok,
            dry_run=self.dry_run,
            revoked=tuple(self.revoked),
            unknown_permissions=tuple(self.unknown_permissions),
            findings=tuple(f.record(self.actor) for f in self.findings),
            event_id=self.event_id,
            source=self.source,
            account=self.account,
            region=self.region,
            mode=self.mode,
            rules_judged=self.rules_judged,
            actor=self.actor,
            permission_checks=tuple(c.record() for c in self.permission_checks),
            errors=tuple(self.errors),
            notes=tuple(self.notes),
        )
