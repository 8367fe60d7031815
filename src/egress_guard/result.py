"""The invocation's result (docs/result.md): findings and the RevokeSecurityGroupEgress shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from egress_guard.events.actor import Actor
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
        out: dict[str, Any] = {
            "GroupId": self.rule.group_id,
            "SecurityGroupRuleId": self.rule.rule_id,
            "DenylistEntry": self.entry_id,
            "Action": self.action,
            "Traffic": self.rule.describe(),
        }
        if (self.action == "revoked" or self.maybe_revoked) and self.rule.tags:
            out["Tags"] = [{"Key": k, "Value": v} for k, v in self.rule.tags]
        owner = self.rule.foreign_referenced_owner
        if owner is not None:
            # EC2's RevokedSecurityGroupRule names the group only: keep its owner here, so
            # that restore re-creates the reference to the other account's group.
            out["ReferencedGroupInfo"] = {
                "GroupId": self.rule.referenced_group_id,
                "UserId": owner,
            }
        if self.exempt_until is not None:
            out["ExemptUntil"] = self.exempt_until
        if self.error:
            out["Error"] = self.error
        if self.action == "failed":
            # A revoke whose answer was lost may have happened after all: keep the rule's
            # full definition (RevokedSecurityGroupRule shape) so it can still be restored.
            out["Rule"] = self.rule.to_revoked()
            if self.maybe_revoked:
                out["MaybeRevoked"] = True
        if actor is not None:
            out["Actor"] = actor.to_dict()
        return out


@dataclass(frozen=True, slots=True)
class PermissionCheck:
    """A dry run's answer from EC2: would the revoke of this group have been permitted?"""

    group_id: str
    permitted: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"GroupId": self.group_id, "RevokePermitted": self.permitted, "Detail": self.detail}


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
        out: dict[str, Any] = {
            "Return": self.ok,
            "DryRun": self.dry_run,
            "RevokedSecurityGroupRules": self.revoked,
            "UnknownIpPermissions": self.unknown_permissions,
            "Findings": [f.to_dict(self.actor) for f in self.findings],
            "EventId": self.event_id,
            "Source": self.source,
            "Account": self.account,
            "Region": self.region,
            "Mode": self.mode,
            "RulesJudged": self.rules_judged,
        }
        if self.actor is not None:
            out["Actor"] = self.actor.to_dict()
        if self.permission_checks:
            out["PermissionChecks"] = [c.to_dict() for c in self.permission_checks]
        if self.errors:
            out["Errors"] = self.errors
        if self.notes:
            out["Notes"] = self.notes
        return out
