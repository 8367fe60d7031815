"""From targets to a result: read live rules, judge them, revoke the offending ones.

SPEC section 1, steps 2-5. Every group is tried even when another fails; failures are
recorded in the result (`failed` findings, `errors`) and the caller raises afterwards, so
that Lambda's retries and failure destination see them. Nothing here decides what is
offending (that is `judge`) or how EC2 is called (that is `aws`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger

from egress_guard.aws import AwsErrors, DryRunResult, Ec2, NotFound, error_text, may_have_applied
from egress_guard.judge import Judge, PrefixLists, prefix_list_networks
from egress_guard.log import SERVICE
from egress_guard.result import Finding, PermissionCheck, Result
from egress_guard.rules import Rule
from egress_guard.settings import Settings
from egress_guard.targets import GroupTarget, Targets

logger = Logger(service=SERVICE, child=True)

Offence = tuple[Rule, str]  # the rule and the deny entry that makes it offending
TIME_MARGIN_SECONDS = 5.0


@dataclass
class _Outcome:
    """What happened to one group; merged into the result on the caller's thread."""

    findings: list[Finding] = field(default_factory=list)
    revoked: list[dict[str, Any]] = field(default_factory=list)
    check: PermissionCheck | None = None
    errors: list[str] = field(default_factory=list)


class Remediator:
    """One invocation's work against one account and region."""

    def __init__(
        self,
        ec2: Ec2,
        judge: Judge,
        settings: Settings,
        *,
        dry_run: bool,
        time_left: Callable[[], float] | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        """`progress`, if given, is told how a long run is getting on: once per sweep page
        read, per group read and per group acted on (on the caller's thread)."""
        self.ec2 = ec2
        self.judge = judge
        self.settings = settings
        self.dry_run = dry_run
        self._time_left = time_left or (lambda: float("inf"))
        self._prefix_lists: dict[str, tuple[Any, ...]] = {}
        self._progress = progress or (lambda _message: None)

    def run(self, targets: Targets, result: Result) -> Result:
        offences: dict[str, list[Offence]] = {}
        if targets.sweep:
            offences = self._sweep(result)
        offending = _count(offences)
        for number, target in enumerate(targets.groups, 1):
            if self._out_of_time():
                result.errors.append(f"{target.group_id}: not read, the invocation ran out of time")
                continue
            found = self._judge_target(target, result)
            if found:
                offences.setdefault(target.group_id, []).extend(found)
            offending += len(found)
            self._progress(f"read {number}/{len(targets.groups)} groups; {offending} offending")
        self._act(offences, result)
        return result

    # --- reading and judging --------------------------------------------------------------

    def _judge_target(self, target: GroupTarget, result: Result) -> list[Offence]:
        try:
            if target.rule_ids:
                rules = self.ec2.rules_by_ids(target.group_id, target.rule_ids)
            else:
                rules = self.ec2.rules_of_group(target.group_id)
        except AwsErrors as exc:
            result.errors.append(f"{target.group_id}: could not read its rules: {error_text(exc)}")
            return []
        if target.specs:
            rules = self._match_specs(target, rules, result)
        egress = [r for r in rules if r.is_egress]
        if not egress:
            logger.info("nothing to judge", group_id=target.group_id, rules_read=len(rules))
        result.groups_judged.add(target.group_id)
        return self._judge(egress, result)

    def _match_specs(self, target: GroupTarget, rules: list[Rule], result: Result) -> list[Rule]:
        """Narrows to the live rules an event named by properties; reports the unmatched."""
        matched: list[Rule] = []
        for spec in target.specs:
            hits = [r for r in rules if r.is_egress and spec.matches(r)]
            if not hits:
                result.unknown_permissions.append(dict(spec.permission))
            matched.extend(r for r in hits if r not in matched)
        return matched

    def _judge(self, rules: Sequence[Rule], result: Result) -> list[Offence]:
        lists = self._lists_for(rules, result)
        offences: list[Offence] = []
        for rule in rules:
            verdict = self.judge.verdict(rule, lists)
            result.rules_judged += 1
            if verdict.offending and verdict.entry_id is not None:
                offences.append((rule, verdict.entry_id))
            elif verdict.allowed_by is not None:
                logger.debug(
                    "rule allowed",
                    group_id=rule.group_id,
                    rule_id=rule.rule_id,
                    allow_entry=verdict.allowed_by,
                )
        return offences

    def _lists_for(self, rules: Iterable[Rule], result: Result) -> PrefixLists:
        """The CIDRs of the prefix lists these rules name, read once per invocation."""
        if not self.judge.needs_prefix_lists:
            return self._prefix_lists
        for rule in rules:
            pl = rule.prefix_list_id
            if pl is None or pl in self._prefix_lists:
                continue
            try:
                self._prefix_lists[pl] = prefix_list_networks(self.ec2.prefix_list_cidrs(pl))
            except AwsErrors as exc:
                # Judged without its CIDRs, the rule can only match entries naming the list.
                self._prefix_lists[pl] = ()
                result.notes.append(f"{pl}: entries not read ({error_text(exc)})")
                logger.warning("prefix list not read", prefix_list_id=pl, error=error_text(exc))
        return self._prefix_lists

    def _sweep(self, result: Result) -> dict[str, list[Offence]]:
        """Every egress rule of the region, page by page; keeps only the offending ones."""
        offences: dict[str, list[Offence]] = {}
        rules_read = 0
        try:
            for number, page in enumerate(self.ec2.all_rule_pages(), 1):
                rules_read += len(page)
                egress = [r for r in page if r.is_egress]
                result.groups_judged.update(r.group_id for r in page)
                for rule, entry in self._judge(egress, result):
                    offences.setdefault(rule.group_id, []).append((rule, entry))
                self._progress(
                    f"read page {number}: {rules_read} rules, {len(result.groups_judged)} groups;"
                    f" {_count(offences)} offending"
                )
                if self._out_of_time():
                    result.errors.append("sweep incomplete: the invocation ran out of time")
                    break
        except AwsErrors as exc:
            result.errors.append(f"sweep incomplete: could not read rules: {error_text(exc)}")
        return offences

    # --- acting -----------------------------------------------------------------------------

    def _act(self, offences: dict[str, list[Offence]], result: Result) -> None:
        if not offences:
            return
        exempt_groups = self._exempt_groups(list(offences), result)
        groups = sorted(offences)
        workers = min(self.settings.sweep_concurrency, len(groups))

        def act(group_id: str) -> _Outcome:
            return self._act_on_group(group_id, offences[group_id], group_id in exempt_groups)

        with ExitStack() as stack:
            outcomes: Iterator[_Outcome]
            if workers > 1:
                # Imported here: an event about one group acts on this thread, without
                # starting threads (and without the import) on the warm path.
                from concurrent.futures import ThreadPoolExecutor

                pool = stack.enter_context(ThreadPoolExecutor(max_workers=workers))
                outcomes = pool.map(act, groups)
            else:
                outcomes = map(act, groups)
            verb = "checking" if self.dry_run else "revoking"
            for number, (group_id, outcome) in enumerate(zip(groups, outcomes, strict=True), 1):
                self._progress(f"{verb} {number}/{len(groups)} groups")
                result.findings.extend(outcome.findings)
                result.revoked.extend(outcome.revoked)
                result.errors.extend(outcome.errors)
                if outcome.check is not None:
                    result.permission_checks.append(outcome.check)
                if any(f.action in ("exempt", "failed", "would-revoke") for f in outcome.findings):
                    result.noncompliant_groups.add(group_id)

    def _exempt_groups(self, group_ids: list[str], result: Result) -> set[str]:
        key = self.settings.exempt_tag
        try:
            if len(group_ids) > 50:
                tagged = self.ec2.groups_tagged(key)
            else:
                tagged = {
                    gid: tags.get(key, "")
                    for gid, tags in self.ec2.group_tags(group_ids).items()
                    if key in tags
                }
        except AwsErrors as exc:
            # Without the tags nothing can be shown not to be exempt: revoke nothing.
            result.errors.append(f"group tags not read, nothing revoked: {error_text(exc)}")
            return set(group_ids)
        return {gid for gid, value in tagged.items() if _is_true(value)}

    def _act_on_group(self, group_id: str, offences: list[Offence], group_exempt: bool) -> _Outcome:
        outcome = _Outcome()
        due: list[Offence] = []
        for rule, entry in offences:
            if group_exempt or _is_true(rule.tag(self.settings.exempt_tag) or ""):
                outcome.findings.append(Finding(rule, entry, "exempt"))
                logger.info("exempt", **_log_fields(rule, entry, group_exempt=group_exempt))
            else:
                due.append((rule, entry))
        if not due:
            return outcome
        if self._out_of_time():
            for rule, entry in due:
                outcome.findings.append(Finding(rule, entry, "failed", "ran out of time"))
            return outcome
        if self.dry_run:
            self._check_permission(group_id, due, outcome)
        else:
            self._revoke(group_id, due, outcome)
        return outcome

    def _check_permission(self, group_id: str, due: list[Offence], outcome: _Outcome) -> None:
        try:
            answer = self.ec2.revoke_dry_run(group_id, [rule.rule_id for rule, _ in due])
        except NotFound as exc:
            answer = DryRunResult(True, f"some rules already gone: {exc}")
        except AwsErrors as exc:
            answer = DryRunResult(False, error_text(exc))
        outcome.check = PermissionCheck(group_id, answer.permitted, str(answer))
        for rule, entry in due:
            outcome.findings.append(Finding(rule, entry, "would-revoke"))
            logger.info("would revoke", **_log_fields(rule, entry), permitted=answer.permitted)

    def _revoke(self, group_id: str, due: list[Offence], outcome: _Outcome) -> None:
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
            except AwsErrors as exc:
                self._settle_failure(group_id, pending, exc, outcome)
                return
            self._confirm(group_id, pending, response, outcome)
            return

    def _settle_failure(
        self, group_id: str, pending: dict[str, Offence], exc: Exception, outcome: _Outcome
    ) -> None:
        """A revoke that raised failed, unless an attempt whose answer was lost (boto3
        retried it, or no answer came) revoked the rules: then reading the group tells.
        One call revokes all its rules or none, so all gone means ours did it."""
        if may_have_applied(exc):
            try:
                live = {r.rule_id for r in self.ec2.rules_of_group(group_id)}
            except AwsErrors:
                live = set(pending)  # still unknown: failed
            if not live & set(pending):
                self._record_revoked(pending.values(), outcome, "answer lost; read back")
                return
        self._fail(pending.values(), error_text(exc), outcome)

    def _record_revoked(self, offences: Iterable[Offence], outcome: _Outcome, how: str) -> None:
        for rule, entry in offences:
            outcome.revoked.append(rule.to_revoked())
            outcome.findings.append(Finding(rule, entry, "revoked"))
            logger.info("revoked", **_log_fields(rule, entry), confirmed=how)

    def _drop_vanished(
        self, group_id: str, pending: dict[str, Offence], outcome: _Outcome, *, retried: bool
    ) -> bool:
        """After a not-found: re-read the group, report vanished rules as gone, and keep
        only those still there and still offending. True when a retry is due.

        `retried`: the not-found answered a retry of our own call; if every rule vanished,
        the attempt whose answer was lost revoked them (all or none): they are revoked."""
        try:
            live = {r.rule_id: r for r in self.ec2.rules_of_group(group_id)}
        except AwsErrors as exc:
            self._fail(pending.values(), error_text(exc), outcome)
            return False
        if retried and not set(pending) & set(live):
            self._record_revoked(pending.values(), outcome, "answer lost; read back")
            pending.clear()
            return False
        for rule_id, (rule, entry) in list(pending.items()):
            now = live.get(rule_id)
            if now is None:
                outcome.findings.append(Finding(rule, entry, "gone"))
                logger.info("gone before revoke", **_log_fields(rule, entry))
                del pending[rule_id]
            elif not self.judge.verdict(now, self._prefix_lists).offending:
                logger.info("changed before revoke, no longer offending", **_log_fields(now, entry))
                del pending[rule_id]
            else:
                pending[rule_id] = (now, entry)
        return bool(pending)

    def _confirm(
        self,
        group_id: str,
        pending: dict[str, Offence],
        response: dict[str, Any],
        outcome: _Outcome,
    ) -> None:
        """Checks that the revoked rules are gone: from the response where EC2 lists them
        (as current EC2 does), else by reading the group back (older APIs, emulators)."""
        if response.get("Return") is False:
            self._fail(pending.values(), "EC2 answered Return: false", outcome)
            return
        listed = {
            item["SecurityGroupRuleId"]: item
            for item in response.get("RevokedSecurityGroupRules") or ()
            if "SecurityGroupRuleId" in item
        }
        unconfirmed = {rid: off for rid, off in pending.items() if rid not in listed}
        still_there: set[str] = set()
        if unconfirmed:
            try:
                still_there = {r.rule_id for r in self.ec2.rules_of_group(group_id)}
            except AwsErrors as exc:
                self._fail(
                    unconfirmed.values(), f"revoke not confirmed: {error_text(exc)}", outcome
                )
                unconfirmed = {}
        for rule_id, (rule, entry) in pending.items():
            if rule_id in listed:
                outcome.revoked.append(_revoked_item(listed[rule_id], rule))
            elif rule_id not in unconfirmed:
                continue
            elif rule_id in still_there:
                self._fail([(rule, entry)], "still present after revoke", outcome)
                continue
            else:
                outcome.revoked.append(rule.to_revoked())
            outcome.findings.append(Finding(rule, entry, "revoked"))
            logger.info("revoked", **_log_fields(rule, entry))

    def _fail(self, offences: Iterable[Offence], error: str, outcome: _Outcome) -> None:
        for rule, entry in offences:
            outcome.findings.append(Finding(rule, entry, "failed", error))
            logger.error("revoke failed", **_log_fields(rule, entry), error=error)

    def _out_of_time(self) -> bool:
        return self._time_left() < TIME_MARGIN_SECONDS


def _revoked_item(listed: dict[str, Any], rule: Rule) -> dict[str, Any]:
    """EC2's own RevokedSecurityGroupRule, completed from the rule as read if it lacks a key."""
    return {**rule.to_revoked(), **{k: v for k, v in listed.items() if v is not None}}


def _count(offences: dict[str, list[Offence]]) -> int:
    return sum(len(found) for found in offences.values())


def _is_true(value: str) -> bool:
    return value.strip().lower() == "true"


def _log_fields(rule: Rule, entry: str, **extra: Any) -> dict[str, Any]:
    return {
        "group_id": rule.group_id,
        "rule_id": rule.rule_id,
        "denylist_entry": entry,
        "traffic": rule.describe(),
        **extra,
    }


def monotonic_deadline(seconds: float) -> Callable[[], float]:
    """A time_left function for callers without a Lambda context (CLI, tests)."""
    end = time.monotonic() + seconds
    return lambda: end - time.monotonic()
