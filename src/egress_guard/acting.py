"""Deciding and acting on offending groups: exemptions, the blast-radius limit, the pool.

docs/invocation.md, step 5. Each group's offending rules are split into exempt ones and
those due; under a limit all due rules are acted on or all held; groups are acted on (the
revoke protocol is `revoke`) on a thread pool, and their outcomes merged into the result on
the caller's thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from egress_guard.aws import AwsCallFailed, Ec2Calls, error_text
from egress_guard.exemptions import NOT_EXEMPT, Exemption, combine, exemption_of, until_key
from egress_guard.limits import hold_reason
from egress_guard.progress import GroupsActed, Progress
from egress_guard.result import Finding, Result
from egress_guard.revoke import GroupOutcome, Offence, fail, log_fields
from egress_guard.settings import Settings
from egress_guard.telemetry import SERVICE

if TYPE_CHECKING:
    from concurrent.futures import Executor, Future

logger = Logger(service=SERVICE, child=True)

# Actions that leave an offending rule in place (its group is NON_COMPLIANT for Config).
STILL_THERE = frozenset({"exempt", "failed", "would-revoke", "held"})


@dataclass(frozen=True)
class Invocation:
    """What acting needs from the invocation it is part of."""

    ec2: Ec2Calls
    settings: Settings
    dry_run: bool
    act: Callable[[str, list[Offence]], GroupOutcome]  # acts on one group's rules due
    clock: Callable[[], datetime]  # the time expiring exemptions are judged at
    progress: Progress
    who: Mapping[str, Any]  # the actor, on each decision's log line (CloudTrail)


@dataclass(frozen=True)
class _Exemptions:
    """What the groups' tags grant at `now` (groups without an exemption tag are absent);
    `error` when the tags could not be read (then none is known not to be exempt, and
    nothing is revoked)."""

    groups: Mapping[str, Exemption]
    now: datetime
    error: str | None = None


@dataclass
class _Slot:
    """One submitted group: what was decided before acting (exempt findings), the rules
    due, and the outcome of acting on them (a future on the pool), once it started."""

    group_id: str
    decided: GroupOutcome
    due: list[Offence]
    acted: Future[GroupOutcome] | GroupOutcome | None = None


class Acting:
    """Acts on groups as they are submitted, on a thread pool when there may be several,
    and merges each group's outcome into the result on the caller's thread at the end.

    The exemption tags are read on the first submission: never when nothing is offending.
    Under a blast-radius limit (MAX_REVOCATIONS, MAX_REVOCATIONS_PERCENT) nothing is acted
    on before the end: then the rules due (offending, not exempt) are counted, and either
    all are acted on or all are `held` and the result gets an error naming the limit.
    """

    def __init__(
        self,
        invocation: Invocation,
        result: Result,
        *,
        scope: list[str] | None,
        sweep: bool = False,
    ) -> None:
        """`scope`: the groups that will be submitted, or None when not known yet (sweeps).
        `sweep`: the share limit (MAX_REVOCATIONS_PERCENT) applies."""
        self.invocation = invocation
        self.result = result
        self.scope = scope
        self.sweep = sweep
        self.limits = invocation.settings.limits
        self._stack = ExitStack()
        self._pool: Executor | None = None
        self._exemptions: _Exemptions | None = None
        self._slots: list[_Slot] = []
        self._started = 0

    def __enter__(self) -> Acting:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        with self._stack:
            if not self.limits.unlimited and exc_type is None:
                self._act_or_hold()
            self._collect()

    def submit(self, group_id: str, offences: list[Offence]) -> None:
        if self._exemptions is None:
            self._exemptions = self._read_exemptions(self.scope)
        decided, due = self._decide(group_id, offences, self._exemptions)
        slot = _Slot(group_id, decided, due)
        self._slots.append(slot)
        if due and self.limits.unlimited:
            self._start(slot)

    def _read_exemptions(self, group_ids: list[str] | None) -> _Exemptions:
        """The groups tagged exempt (`EXEMPT_TAG`) or exempt until a moment (its `-until`
        form): among `group_ids`, or (None) every one in the region. Judged at the clock's
        now, once per invocation."""
        ec2 = self.invocation.ec2
        key = self.invocation.settings.exempt_tag
        keys = (key, until_key(key))
        now = self.invocation.clock()
        try:
            if group_ids is None or len(group_ids) > 50:  # one tag-filtered listing then
                tagged = ec2.groups_tagged(keys)
            else:
                tagged = {
                    gid: tags
                    for gid, tags in ec2.group_tags(group_ids).items()
                    if any(k in tags for k in keys)
                }
        except AwsCallFailed as exc:
            # Without the tags no group can be shown not to be exempt: revoke nothing.
            error = f"group tags not read: {error_text(exc)}"
            self.result.errors.append(error)
            return _Exemptions({}, now, error)
        return _Exemptions({g: exemption_of(tags, key, now) for g, tags in tagged.items()}, now)

    def _decide(
        self, group_id: str, offences: list[Offence], exemptions: _Exemptions
    ) -> tuple[GroupOutcome, list[Offence]]:
        """Splits a group's offending rules into exempt ones (findings) and those due.
        On the caller's thread: a malformed `-until` tag is named in the result's notes."""
        who = self.invocation.who
        outcome = GroupOutcome()
        due: list[Offence] = []
        group = exemptions.groups.get(group_id, NOT_EXEMPT)
        if group.note:
            self._note_once(f"{group_id}: {group.note}")
        for rule, entry in offences:
            own = exemption_of(dict(rule.tags), self.invocation.settings.exempt_tag, exemptions.now)
            if own.note:
                self._note_once(f"{rule.rule_id} ({group_id}): {own.note}")
            found = combine(group, own)
            if not found.exempt:
                due.append((rule, entry))
                continue
            until = found.until_text
            outcome.findings.append(Finding(rule, entry, "exempt", exempt_until=until))
            logger.info(
                "exempt",
                **log_fields(rule, entry, group_exempt=group.exempt, until=until),
                **who,
            )
        if due and exemptions.error is not None:
            fail(due, exemptions.error, outcome, who)
            return outcome, []
        return outcome, due

    def _note_once(self, note: str) -> None:
        if note not in self.result.notes:
            self.result.notes.append(note)

    def _act_or_hold(self) -> None:
        due = sum(len(slot.due) for slot in self._slots)
        if not due:
            return
        judged = self.result.rules_judged
        reason = hold_reason(due, judged, sweep=self.sweep, limits=self.limits)
        if reason is None:
            for slot in self._slots:
                if slot.due:
                    self._start(slot)
            return
        # A wave of offending rules looks like a bad denylist: revoke none, say so, fail.
        logger.error("revocations held", due=due, rules_judged=judged, reason=reason)
        self.result.errors.append(reason)
        for slot in self._slots:
            for rule, entry in slot.due:
                slot.decided.findings.append(Finding(rule, entry, "held"))
                logger.info("held", **log_fields(rule, entry))

    def _start(self, slot: _Slot) -> None:
        pool = self._executor()
        act = self.invocation.act
        self._started += 1
        if pool is None:
            slot.acted = act(slot.group_id, slot.due)
        else:
            slot.acted = pool.submit(act, slot.group_id, slot.due)

    def _executor(self) -> Executor | None:
        """None for the first group (an event about one group starts no thread); a pool of
        SWEEP_CONCURRENCY threads from the second on, when that is above 1."""
        workers = self.invocation.settings.sweep_concurrency
        if self._pool is None and self._started and workers > 1:
            from concurrent.futures import ThreadPoolExecutor  # only runs with several groups

            self._pool = self._stack.enter_context(ThreadPoolExecutor(max_workers=workers))
        return self._pool

    def _collect(self) -> None:
        total = len(self._slots)
        for number, slot in enumerate(self._slots, 1):
            outcomes = [slot.decided]
            if slot.acted is not None:
                acted = slot.acted
                outcomes.append(acted if isinstance(acted, GroupOutcome) else acted.result())
            self.invocation.progress(GroupsActed(number, total, self.invocation.dry_run))
            for outcome in outcomes:
                self.result.findings.extend(outcome.findings)
                self.result.revoked.extend(outcome.revoked)
                self.result.errors.extend(outcome.errors)
                if outcome.check is not None:
                    self.result.permission_checks.append(outcome.check)
                if any(f.action in STILL_THERE for f in outcome.findings):
                    self.result.noncompliant_groups.add(slot.group_id)
