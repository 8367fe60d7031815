"""The revoke-confirm-settle protocol for one group, returning what happened to it.

docs/invocation.md, step 5. One `RevokeSecurityGroupEgress` call by rule ids (or in a dry
run its `DryRun` check); a not-found is settled by reading the group again, a call whose
answer was lost by reading it back. Nothing here writes into the result: the caller merges
each `GroupOutcome` on its own thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger

from egress_guard.aws import (
    AwsCallFailed,
    DryRunAnswer,
    Ec2Calls,
    NotFound,
    error_text,
)
from egress_guard.judge import Judge, PrefixLists
from egress_guard.result import Finding, PermissionCheck
from egress_guard.rules import Rule
from egress_guard.telemetry import SERVICE

logger = Logger(service=SERVICE, child=True)

Offence = tuple[Rule, str]  # the rule and the deny entry that makes it offending


@dataclass
class GroupOutcome:
    """What happened to one group; merged into the result on the caller's thread."""

    findings: list[Finding] = field(default_factory=list)
    revoked: list[dict[str, Any]] = field(default_factory=list)
    check: PermissionCheck | None = None
    errors: list[str] = field(default_factory=list)


def act_on_group(
    ec2: Ec2Calls,
    group_id: str,
    due: list[Offence],
    *,
    judge: Judge,
    prefix_lists: PrefixLists,
    dry_run: bool,
    who: Mapping[str, Any],
) -> GroupOutcome:
    """Revokes (or in a dry run checks) a group's rules that are due. `judge` and
    `prefix_lists` re-judge rules that changed before the revoke; `who` goes on each
    decision's log line (the actor, from CloudTrail)."""
    return _GroupRevoke(ec2, judge, prefix_lists, who).act(group_id, due, dry_run=dry_run)


def fail(
    offences: Iterable[Offence],
    error: str,
    outcome: GroupOutcome,
    who: Mapping[str, Any],
    *,
    maybe_revoked: bool = False,
) -> None:
    """Records these rules as `failed` (with `maybe_revoked` when a lost answer may have
    revoked them)."""
    for rule, entry in offences:
        outcome.findings.append(Finding(rule, entry, "failed", error, maybe_revoked))
        logger.error(
            "revoke failed",
            **log_fields(rule, entry),
            error=error,
            maybe_revoked=maybe_revoked,
            **who,
        )


def log_fields(rule: Rule, entry: str, **extra: Any) -> dict[str, Any]:
    return {
        "group_id": rule.group_id,
        "rule_id": rule.rule_id,
        "denylist_entry": entry,
        "traffic": rule.describe(),
        **extra,
    }


@dataclass(frozen=True)
class _GroupRevoke:
    """What acting on one group needs besides the group and its rules."""

    ec2: Ec2Calls
    judge: Judge
    prefix_lists: PrefixLists
    who: Mapping[str, Any]

    def act(self, group_id: str, due: list[Offence], *, dry_run: bool) -> GroupOutcome:
        outcome = GroupOutcome()
        if dry_run:
            self._check_permission(group_id, due, outcome)
        else:
            self._revoke(group_id, due, outcome)
        return outcome

    def _check_permission(self, group_id: str, due: list[Offence], outcome: GroupOutcome) -> None:
        try:
            answer = self.ec2.revoke_dry_run(group_id, [rule.rule_id for rule, _ in due])
        except NotFound as exc:
            answer = DryRunAnswer(True, f"some rules already gone: {exc}")
        except AwsCallFailed as exc:
            answer = DryRunAnswer(False, error_text(exc))
        outcome.check = PermissionCheck(group_id, answer.permitted, str(answer))
        for rule, entry in due:
            outcome.findings.append(Finding(rule, entry, "would-revoke"))
            logger.info(
                "would revoke", **log_fields(rule, entry), permitted=answer.permitted, **self.who
            )

    def _revoke(self, group_id: str, due: list[Offence], outcome: GroupOutcome) -> None:
        pending = {rule.rule_id: (rule, entry) for rule, entry in due}
        for attempt in (1, 2):
            try:
                response = self.ec2.revoke(group_id, list(pending))
            except NotFound as exc:
                retry = self._drop_vanished(group_id, pending, outcome, retried=exc.retried)
                if retry and attempt == 2:
                    self._fail(pending.values(), f"not found twice: {exc}", outcome)
                if not retry or attempt == 2:
                    return
                continue
            except AwsCallFailed as exc:
                self._settle_failure(group_id, pending, exc, outcome)
                return
            self._confirm(pending, response, outcome)
            return

    def _settle_failure(
        self, group_id: str, pending: dict[str, Offence], exc: AwsCallFailed, outcome: GroupOutcome
    ) -> None:
        """A revoke that raised failed, unless an attempt whose answer was lost (boto3
        retried it, or no answer came) revoked the rules: then reading the group tells.
        One call revokes all its rules or none, so all gone means ours did it."""
        if exc.may_have_applied:
            try:
                live = {r.rule_id for r in self.ec2.rules_of_group(group_id)}
            except AwsCallFailed as read_error:
                # Still unknown: failed, and said to be maybe revoked (restore accepts it).
                error = f"{error_text(exc)}; not read back: {error_text(read_error)}"
                self._fail(pending.values(), error, outcome, maybe_revoked=True)
                return
            if not live & set(pending):
                self._record_revoked(pending.values(), outcome, "answer lost; read back")
                return
        self._fail(pending.values(), error_text(exc), outcome)

    def _record_revoked(self, offences: Iterable[Offence], outcome: GroupOutcome, how: str) -> None:
        for rule, entry in offences:
            outcome.revoked.append(rule.to_revoked())
            outcome.findings.append(Finding(rule, entry, "revoked"))
            logger.info("revoked", **log_fields(rule, entry), confirmed=how, **self.who)

    def _drop_vanished(
        self, group_id: str, pending: dict[str, Offence], outcome: GroupOutcome, *, retried: bool
    ) -> bool:
        """After a not-found: re-read the group, report vanished rules as gone, and keep
        only those still there and still offending. True when a retry is due.

        `retried`: the not-found answered a retry of our own call; if every rule vanished,
        the attempt whose answer was lost revoked them (all or none): they are revoked."""
        try:
            live = {r.rule_id: r for r in self.ec2.rules_of_group(group_id)}
        except AwsCallFailed as exc:
            # After a retried call, the attempt whose answer was lost may have revoked them.
            self._fail(pending.values(), error_text(exc), outcome, maybe_revoked=retried)
            return False
        if retried and not set(pending) & set(live):
            self._record_revoked(pending.values(), outcome, "answer lost; read back")
            pending.clear()
            return False
        for rule_id, (rule, entry) in list(pending.items()):
            now = live.get(rule_id)
            if now is None:
                outcome.findings.append(Finding(rule, entry, "gone"))
                logger.info("gone before revoke", **log_fields(rule, entry))
                del pending[rule_id]
            elif self.judge.unread_prefix_list(now, self.prefix_lists) is not None:
                # Changed to a prefix list never read: it cannot be judged, so not revoked.
                self._fail([(now, entry)], f"{now.prefix_list_id}: entries not read", outcome)
                del pending[rule_id]
            elif not self.judge.verdict(now, self.prefix_lists).offending:
                logger.info("changed before revoke, no longer offending", **log_fields(now, entry))
                del pending[rule_id]
            else:
                pending[rule_id] = (now, entry)
        return bool(pending)

    def _confirm(
        self, pending: dict[str, Offence], response: dict[str, Any], outcome: GroupOutcome
    ) -> None:
        """Settles a revoke that EC2 answered. `Return: true` to a revoke by rule ids
        means every rule named is gone: EC2 fails the whole call when one id is unknown, so
        nothing is read back. Where the answer lists `RevokedSecurityGroupRules` (current
        EC2) those items are reported; where it does not (older API versions, emulators),
        the rules as read just before the revoke."""
        if response.get("Return") is False:
            self._fail(pending.values(), "EC2 answered Return: false", outcome)
            return
        items = response.get("RevokedSecurityGroupRules")
        listed = {
            item["SecurityGroupRuleId"]: item
            for item in (items if isinstance(items, list) else ())
            if isinstance(item, dict) and "SecurityGroupRuleId" in item
        }
        for rule_id, (rule, entry) in pending.items():
            outcome.revoked.append(_revoked_item(listed.get(rule_id, {}), rule))
            outcome.findings.append(Finding(rule, entry, "revoked"))
            logger.info("revoked", **log_fields(rule, entry), listed=rule_id in listed, **self.who)

    def _fail(
        self,
        offences: Iterable[Offence],
        error: str,
        outcome: GroupOutcome,
        *,
        maybe_revoked: bool = False,
    ) -> None:
        fail(offences, error, outcome, self.who, maybe_revoked=maybe_revoked)


def _revoked_item(listed: dict[str, Any], rule: Rule) -> dict[str, Any]:
    """EC2's own RevokedSecurityGroupRule, completed from the rule as read if it lacks a key."""
    return {**rule.to_revoked(), **{k: v for k, v in listed.items() if v is not None}}
