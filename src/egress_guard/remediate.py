"""From targets to a result: read live rules, judge them, hand the offending ones on.

docs/invocation.md, steps 2-5: the groups and rules named are read here (a sweep page by
page), judged, and acted on through `acting` (exemptions, the limit, the pool), whose
revokes are `revoke`'s. Every group is tried even when another fails; failures are
recorded in the result (`failed` findings, `errors`) and the caller raises afterwards, so
that Lambda's retries and failure destination see them. Nothing here decides what is
offending (that is `judge`) or how EC2 is called (that is `aws`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger

from egress_guard.acting import Acting, Invocation
from egress_guard.aws import AwsCallFailed, Ec2Calls, error_text
from egress_guard.judge import Judge, PrefixLists, prefix_list_networks
from egress_guard.progress import GroupsRead, PageRead, Progress, ignore
from egress_guard.references import new_vpc_group, referencing
from egress_guard.result import Finding, Result
from egress_guard.revoke import GroupOutcome, Offence, act_on_group, log_fields
from egress_guard.rules import Rule
from egress_guard.settings import Settings
from egress_guard.targets import EventError, GroupTarget, Targets
from egress_guard.telemetry import SERVICE

logger = Logger(service=SERVICE, child=True)

TIME_MARGIN_SECONDS = 5.0
# A prefix list whose entries cannot be read may hold anything: judged as every address,
# a rule to it is offending wherever some list content could make it so.
ANY_ADDRESS = prefix_list_networks(["0.0.0.0/0", "::/0"])


class GroupNotFound(EventError):
    """Groups an operator named (manual request, `scan --group-id`) do not exist."""

    def __init__(self, group_ids: Sequence[str]) -> None:
        self.group_ids = tuple(group_ids)
        names = ", ".join(f"'{g}'" for g in self.group_ids)
        verb = "does" if len(self.group_ids) == 1 else "do"
        plural = "" if len(self.group_ids) == 1 else "s"
        super().__init__(
            f"InvalidGroup.NotFound: the security group{plural} {names} {verb} not exist"
        )


class Remediator:
    """One invocation's work against one account and region."""

    def __init__(
        self,
        ec2: Ec2Calls,
        judge: Judge,
        settings: Settings,
        *,
        dry_run: bool,
        time_left: Callable[[], float] | None = None,
        progress: Progress | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """`progress`, if given, is told how a long run is getting on: once per sweep page
        read, per group read and per group acted on (on the caller's thread). `clock`: the
        time expiring exemptions are judged at (default: now, UTC)."""
        self.ec2 = ec2
        self.judge = judge
        self.settings = settings
        self.dry_run = dry_run
        self._time_left = time_left or (lambda: float("inf"))
        self._prefix_lists: dict[str, tuple[Any, ...]] = {}
        self._prefix_list_errors: dict[str, str] = {}  # list id -> why its entries are unknown
        self._progress = progress or ignore
        self._clock = clock or (lambda: datetime.now(UTC))
        self._who: dict[str, Any] = {}  # the actor, on each decision's log line (CloudTrail)

    def run(self, targets: Targets, result: Result) -> Result:
        self._who = {"actor": result.actor.to_dict()} if result.actor else {}
        # A sweep and named groups never come together (no event names both), so each
        # `Acting` below holds all that one invocation would revoke: the limit's count.
        if targets.sweep:
            with self._acting(result, scope=None, sweep=True) as acting:
                self._sweep(result, acting)
        missing: list[str] = []
        groups = targets.groups + new_vpc_group(self.ec2, targets.new_vpc, result)
        offences = self._read_targets(groups, result, missing)
        if missing:
            # Named by the operator and not there: an error, before anything is written.
            raise GroupNotFound(missing)
        if targets.prefix_list is not None:
            for rule, entry in self._judge(
                referencing(self.ec2, targets.prefix_list, result, self._out_of_time), result
            ):
                offences.setdefault(rule.group_id, []).append((rule, entry))
        if offences:
            with self._acting(result, scope=sorted(offences)) as acting:
                for group_id in sorted(offences):
                    acting.submit(group_id, offences[group_id])
        return result

    def _read_targets(
        self, targets: Sequence[GroupTarget], result: Result, missing: list[str]
    ) -> dict[str, list[Offence]]:
        offences: dict[str, list[Offence]] = {}
        for number, target in enumerate(targets, 1):
            if self._out_of_time():
                result.errors.append(f"{target.group_id}: not read, the invocation ran out of time")
                continue
            found = self._judge_target(target, result, missing)
            if found:
                offences.setdefault(target.group_id, []).extend(found)
            self._progress(GroupsRead(number, len(targets), _count(offences)))
        return offences

    # --- reading and judging --------------------------------------------------------------

    def _judge_target(
        self, target: GroupTarget, result: Result, missing: list[str]
    ) -> list[Offence]:
        try:
            if target.rule_ids:
                rules = self.ec2.rules_by_ids(target.group_id, target.rule_ids)
            else:
                rules = self.ec2.rules_of_group(target.group_id)
            if target.must_exist and not rules and not self._group_exists(target.group_id):
                missing.append(target.group_id)
                return []
        except AwsCallFailed as exc:
            result.errors.append(f"{target.group_id}: could not read its rules: {error_text(exc)}")
            return []
        if target.must_exist:
            _note_unmatched(target, rules, result)
        if target.specs:
            rules = self._match_specs(target, rules, result)
        egress = [r for r in rules if r.is_egress]
        if not egress:
            logger.info("nothing to judge", group_id=target.group_id, rules_read=len(rules))
        result.groups_judged.add(target.group_id)
        return self._judge(egress, result)

    def _group_exists(self, group_id: str) -> bool:
        """Whether the group exists (its rules were read as none: it may have none)."""
        return group_id in self.ec2.group_tags([group_id])

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
            result.rules_judged += 1
            unread = self._prefix_list_errors.get(rule.prefix_list_id or "")
            if unread is not None:
                self._judge_unread_list(rule, unread, result)
                continue
            verdict = self.judge.verdict(rule, lists)
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
            if pl in self._prefix_list_errors:
                continue
            try:
                self._prefix_lists[pl] = prefix_list_networks(self.ec2.prefix_list_cidrs(pl))
            except AwsCallFailed as exc:
                # Not tried again in this invocation: its rules fail, and the retry reads it.
                self._prefix_list_errors[pl] = f"prefix list {pl} not read: {error_text(exc)}"
                logger.warning("prefix list not read", prefix_list_id=pl, error=error_text(exc))
        return self._prefix_lists

    def _judge_unread_list(self, rule: Rule, error: str, result: Result) -> None:
        """A rule to a prefix list whose entries could not be read is never judged clean
        without them: `failed` (so the invocation raises and Lambda retries), unless no
        content of the list could make it offending (then it is clean whatever the list)."""
        assert rule.prefix_list_id is not None
        worst = self.judge.verdict(rule, {rule.prefix_list_id: ANY_ADDRESS})
        if worst.entry_id is None:
            return
        result.findings.append(Finding(rule, worst.entry_id, "failed", error))
        result.noncompliant_groups.add(rule.group_id)
        logger.error("not judged", **log_fields(rule, worst.entry_id), error=error)

    def _sweep(self, result: Result, acting: Acting) -> None:
        """Every egress rule of the region, page by page, keeping only the offending ones.

        With no blast-radius limit (both 0), groups are acted on while later pages are
        still being read (pages come one after another, each needing the last one's token).
        Under a limit, `acting` keeps them until the last page: only then is the count of
        rules due known, and all are revoked or all held. The page's last group may go on in
        the next page, so it is held back: a group gets one revoke where EC2 lists its
        rules together, and a second one only if they come apart.
        """
        held: dict[str, list[Offence]] = {}
        rules_read = offending = 0
        try:
            for number, page in enumerate(self.ec2.all_rule_pages(), 1):
                rules_read += len(page)
                result.groups_judged.update(r.group_id for r in page)
                found, held = held, {}
                for rule, entry in self._judge([r for r in page if r.is_egress], result):
                    found.setdefault(rule.group_id, []).append((rule, entry))
                    offending += 1
                if page and page[-1].group_id in found:
                    tail = page[-1].group_id
                    held[tail] = found.pop(tail)
                for group_id, offences in found.items():
                    acting.submit(group_id, offences)
                self._progress(PageRead(number, rules_read, len(result.groups_judged), offending))
                if self._out_of_time():
                    result.errors.append("sweep incomplete: the invocation ran out of time")
                    break
        except AwsCallFailed as exc:
            result.errors.append(f"sweep incomplete: could not read rules: {error_text(exc)}")
        for group_id, offences in held.items():
            acting.submit(group_id, offences)

    # --- acting -----------------------------------------------------------------------------

    def act_on_group(self, group_id: str, due: list[Offence]) -> GroupOutcome:
        """Revokes (or in a dry run checks) a group's rules that are due, exemptions aside."""
        if self._out_of_time():
            outcome = GroupOutcome()
            for rule, entry in due:
                outcome.findings.append(Finding(rule, entry, "failed", "ran out of time"))
            return outcome
        return act_on_group(
            self.ec2,
            group_id,
            due,
            judge=self.judge,
            prefix_lists=self._prefix_lists,
            dry_run=self.dry_run,
            who=self._who,
        )

    def _acting(self, result: Result, *, scope: list[str] | None, sweep: bool = False) -> Acting:
        invocation = Invocation(
            self.ec2,
            self.settings,
            self.dry_run,
            self.act_on_group,
            self._clock,
            self._progress,
            self._who,
        )
        return Acting(invocation, result, scope=scope, sweep=sweep)

    def _out_of_time(self) -> bool:
        return self._time_left() < TIME_MARGIN_SECONDS


def _note_unmatched(target: GroupTarget, rules: Sequence[Rule], result: Result) -> None:
    """An operator's request that names nothing judgeable says so in Notes (EC2 would have
    refused it), instead of a bare `Return: true`."""
    found = {rule.rule_id: rule for rule in rules}
    for rule_id in target.rule_ids:
        rule = found.get(rule_id)
        if rule is None:
            result.notes.append(
                f"{rule_id}: no rule of {target.group_id} has this id (unknown, or another"
                " group's rule); nothing done for it"
            )
        elif not rule.is_egress:
            result.notes.append(f"{rule_id}: an ingress rule; only egress rules are judged")
    if not target.rule_ids and not target.specs and not any(r.is_egress for r in rules):
        result.notes.append(f"{target.group_id}: the group has no egress rules")


def _count(offences: dict[str, list[Offence]]) -> int:
    return sum(len(found) for found in offences.values())
