"""From targets to a result: read live rules, judge them, revoke the offending ones.

docs/invocation.md, steps 2-5. Every group is tried even when another fails; failures are
recorded in the result (`failed` findings, `errors`) and the caller raises afterwards, so
that Lambda's retries and failure destination see them. Nothing here decides what is
offending (that is `judge`) or how EC2 is called (that is `aws`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from egress_guard.aws import AwsErrors, DryRunResult, Ec2, NotFound, error_text, may_have_applied
from egress_guard.exemptions import NOT_EXEMPT, Exemption, combine, exemption_of, until_key
from egress_guard.judge import Judge, PrefixLists, prefix_list_networks
from egress_guard.limits import hold_reason
from egress_guard.log import SERVICE
from egress_guard.result import Finding, PermissionCheck, Result
from egress_guard.rules import Rule
from egress_guard.settings import Settings
from egress_guard.targets import EventError, GroupTarget, Targets

if TYPE_CHECKING:
    from concurrent.futures import Executor, Future

logger = Logger(service=SERVICE, child=True)

Offence = tuple[Rule, str]  # the rule and the deny entry that makes it offending
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
        self._progress = progress or (lambda _message: None)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._who: dict[str, Any] = {}  # the actor, on each decision's log line (CloudTrail)

    def run(self, targets: Targets, result: Result) -> Result:
        self._who = {"actor": result.actor.to_dict()} if result.actor else {}
        # A sweep and named groups never come together (no event names both), so each
        # `_Acting` below holds all that one invocation would revoke: the limit's count.
        if targets.sweep:
            with _Acting(self, result, scope=None, sweep=True) as acting:
                self._sweep(result, acting)
        missing: list[str] = []
        groups = targets.groups + self._new_vpc_group(targets.new_vpc, result)
        offences = self._read_targets(groups, result, missing)
        if missing:
            # Named by the operator and not there: an error, before anything is written.
            raise GroupNotFound(missing)
        if targets.prefix_list is not None:
            for rule, entry in self._judge(self._referencing(targets.prefix_list, result), result):
                offences.setdefault(rule.group_id, []).append((rule, entry))
        if offences:
            with _Acting(self, result, scope=sorted(offences)) as acting:
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
            self._progress(f"read {number}/{len(targets)} groups; {_count(offences)} offending")
        return offences

    def report_progress(self, message: str) -> None:
        self._progress(message)

    # --- groups an event names by a VPC or a prefix list ------------------------------------

    def _new_vpc_group(self, vpc_id: str | None, result: Result) -> tuple[GroupTarget, ...]:
        """A new VPC's `default` group, judged whole (its all-traffic egress rule)."""
        if vpc_id is None:
            return ()
        try:
            group_id = self.ec2.default_group_of_vpc(vpc_id)
        except AwsErrors as exc:
            result.errors.append(f"{vpc_id}: could not find its default group: {error_text(exc)}")
            return ()
        if group_id is None:
            reason = f"{vpc_id} or its default group no longer exists"
            logger.info("no action", vpc_id=vpc_id, reason=reason)
            result.notes.append(f"no action: {reason}")
            return ()
        logger.info("new VPC: judging its default group", vpc_id=vpc_id, group_id=group_id)
        return (GroupTarget(group_id),)

    def _referencing(self, prefix_list_id: str, result: Result) -> list[Rule]:
        """Every egress rule of this account and region whose destination is the list.

        EC2 names the groups that reference it (GetManagedPrefixListAssociations); where it
        will not, every rule of the region is listed and filtered here instead.
        """
        try:
            associations = self.ec2.prefix_list_associations(prefix_list_id)
        except AwsErrors as exc:
            result.errors.append(
                f"{prefix_list_id}: could not find what references it: {error_text(exc)}"
            )
            return []
        if associations is None:
            logger.info(
                "prefix list associations not available: listing every rule",
                prefix_list_id=prefix_list_id,
            )
            rules = self._listed_referencing(prefix_list_id, result)
        else:
            rules = self._associated_referencing(prefix_list_id, associations, result)
        logger.info(
            "prefix list changed: judging the egress rules that reference it",
            prefix_list_id=prefix_list_id,
            groups=sorted({r.group_id for r in rules}),
            rules=len(rules),
        )
        return rules

    def _associated_referencing(
        self, prefix_list_id: str, associations: list[tuple[str, str]], result: Result
    ) -> list[Rule]:
        rules: list[Rule] = []
        own = self.ec2.account
        for resource_id, owner in associations:
            if not resource_id.startswith("sg-"):
                continue  # route tables and other resources: not egress rules
            if own and owner and owner != own:
                # A list shared through RAM: that account's own events judge its groups.
                result.notes.append(
                    f"{resource_id} (account {owner}) references {prefix_list_id}: not judged here"
                )
                continue
            if self._out_of_time():
                result.errors.append(f"{resource_id}: not read, the invocation ran out of time")
                continue
            try:
                group_rules = self.ec2.rules_of_group(resource_id)
            except AwsErrors as exc:
                result.errors.append(f"{resource_id}: could not read its rules: {error_text(exc)}")
                continue
            result.groups_judged.add(resource_id)
            rules.extend(_to_list(group_rules, prefix_list_id))
        return rules

    def _listed_referencing(self, prefix_list_id: str, result: Result) -> list[Rule]:
        rules: list[Rule] = []
        try:
            for page in self.ec2.all_rule_pages():
                rules.extend(_to_list(page, prefix_list_id))
                if self._out_of_time():
                    result.errors.append(
                        f"{prefix_list_id}: rules not all listed, the invocation ran out of time"
                    )
                    break
        except AwsErrors as exc:
            result.errors.append(f"{prefix_list_id}: rules not all listed: {error_text(exc)}")
        result.groups_judged.update(r.group_id for r in rules)
        return rules

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
        except AwsErrors as exc:
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
            except AwsErrors as exc:
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
        logger.error("not judged", **_log_fields(rule, worst.entry_id), error=error)

    def _sweep(self, result: Result, acting: _Acting) -> None:
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
                self._progress(
                    f"read page {number}: {rules_read} rules, {len(result.groups_judged)} groups;"
                    f" {offending} offending"
                )
                if self._out_of_time():
                    result.errors.append("sweep incomplete: the invocation ran out of time")
                    break
        except AwsErrors as exc:
            result.errors.append(f"sweep incomplete: could not read rules: {error_text(exc)}")
        for group_id, offences in held.items():
            acting.submit(group_id, offences)

    # --- acting -----------------------------------------------------------------------------

    def exemptions(self, group_ids: list[str] | None, result: Result) -> _Exemptions:
        """The groups tagged exempt (`EXEMPT_TAG`) or exempt until a moment (its `-until`
        form): among `group_ids`, or (None) every one in the region. Judged at the clock's
        now, once per invocation."""
        key = self.settings.exempt_tag
        keys = (key, until_key(key))
        now = self._clock()
        try:
            if group_ids is None or len(group_ids) > 50:  # one tag-filtered listing then
                tagged = self.ec2.groups_tagged(keys)
            else:
                tagged = {
                    gid: tags
                    for gid, tags in self.ec2.group_tags(group_ids).items()
                    if any(k in tags for k in keys)
                }
        except AwsErrors as exc:
            # Without the tags no group can be shown not to be exempt: revoke nothing.
            error = f"group tags not read: {error_text(exc)}"
            result.errors.append(error)
            return _Exemptions({}, now, error)
        return _Exemptions({g: exemption_of(tags, key, now) for g, tags in tagged.items()}, now)

    def decide(
        self, group_id: str, offences: list[Offence], exemptions: _Exemptions, result: Result
    ) -> tuple[_Outcome, list[Offence]]:
        """Splits a group's offending rules into exempt ones (findings) and those due.
        On the caller's thread: a malformed `-until` tag is named in the result's notes."""
        outcome = _Outcome()
        due: list[Offence] = []
        group = exemptions.groups.get(group_id, NOT_EXEMPT)
        if group.note:
            _note_once(result, f"{group_id}: {group.note}")
        for rule, entry in offences:
            own = exemption_of(dict(rule.tags), self.settings.exempt_tag, exemptions.now)
            if own.note:
                _note_once(result, f"{rule.rule_id} ({group_id}): {own.note}")
            found = combine(group, own)
            if not found.exempt:
                due.append((rule, entry))
                continue
            until = found.until_text
            outcome.findings.append(Finding(rule, entry, "exempt", exempt_until=until))
            logger.info(
                "exempt",
                **_log_fields(rule, entry, group_exempt=group.exempt, until=until),
                **self._who,
            )
        if due and exemptions.error is not None:
            self._fail(due, exemptions.error, outcome)
            return outcome, []
        return outcome, due

    def act_on_group(self, group_id: str, due: list[Offence]) -> _Outcome:
        """Revokes (or in a dry run checks) a group's rules that are due, exemptions aside."""
        outcome = _Outcome()
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
            logger.info(
                "would revoke", **_log_fields(rule, entry), permitted=answer.permitted, **self._who
            )

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
            self._confirm(pending, response, outcome)
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
            except AwsErrors as read_error:
                # Still unknown: failed, and said to be maybe revoked (restore accepts it).
                error = f"{error_text(exc)}; not read back: {error_text(read_error)}"
                self._fail(pending.values(), error, outcome, maybe_revoked=True)
                return
            if not live & set(pending):
                self._record_revoked(pending.values(), outcome, "answer lost; read back")
                return
        self._fail(pending.values(), error_text(exc), outcome)

    def _record_revoked(self, offences: Iterable[Offence], outcome: _Outcome, how: str) -> None:
        for rule, entry in offences:
            outcome.revoked.append(rule.to_revoked())
            outcome.findings.append(Finding(rule, entry, "revoked"))
            logger.info("revoked", **_log_fields(rule, entry), confirmed=how, **self._who)

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
                logger.info("gone before revoke", **_log_fields(rule, entry))
                del pending[rule_id]
            elif self.judge.unread_prefix_list(now, self._prefix_lists) is not None:
                # Changed to a prefix list never read: it cannot be judged, so not revoked.
                self._fail([(now, entry)], f"{now.prefix_list_id}: entries not read", outcome)
                del pending[rule_id]
            elif not self.judge.verdict(now, self._prefix_lists).offending:
                logger.info("changed before revoke, no longer offending", **_log_fields(now, entry))
                del pending[rule_id]
            else:
                pending[rule_id] = (now, entry)
        return bool(pending)

    def _confirm(
        self, pending: dict[str, Offence], response: dict[str, Any], outcome: _Outcome
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
            logger.info(
                "revoked", **_log_fields(rule, entry), listed=rule_id in listed, **self._who
            )

    def _fail(
        self,
        offences: Iterable[Offence],
        error: str,
        outcome: _Outcome,
        *,
        maybe_revoked: bool = False,
    ) -> None:
        for rule, entry in offences:
            outcome.findings.append(Finding(rule, entry, "failed", error, maybe_revoked))
            logger.error(
                "revoke failed",
                **_log_fields(rule, entry),
                error=error,
                maybe_revoked=maybe_revoked,
                **self._who,
            )

    def _out_of_time(self) -> bool:
        return self._time_left() < TIME_MARGIN_SECONDS


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
    decided: _Outcome
    due: list[Offence]
    acted: Future[_Outcome] | _Outcome | None = None


class _Acting:
    """Acts on groups as they are submitted, on a thread pool when there may be several,
    and merges each group's outcome into the result on the caller's thread at the end.

    The exemption tags are read on the first submission: never when nothing is offending.
    Under a blast-radius limit (MAX_REVOCATIONS, MAX_REVOCATIONS_PERCENT) nothing is acted
    on before the end: then the rules due (offending, not exempt) are counted, and either
    all are acted on or all are `held` and the result gets an error naming the limit.
    """

    def __init__(
        self,
        remediator: Remediator,
        result: Result,
        *,
        scope: list[str] | None,
        sweep: bool = False,
    ) -> None:
        """`scope`: the groups that will be submitted, or None when not known yet (sweeps).
        `sweep`: the share limit (MAX_REVOCATIONS_PERCENT) applies."""
        self.remediator = remediator
        self.result = result
        self.scope = scope
        self.sweep = sweep
        self.limits = remediator.settings.limits
        self._stack = ExitStack()
        self._pool: Executor | None = None
        self._exemptions: _Exemptions | None = None
        self._slots: list[_Slot] = []
        self._started = 0

    def __enter__(self) -> _Acting:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        with self._stack:
            if not self.limits.unlimited and exc_type is None:
                self._act_or_hold()
            self._collect()

    def submit(self, group_id: str, offences: list[Offence]) -> None:
        if self._exemptions is None:
            self._exemptions = self.remediator.exemptions(self.scope, self.result)
        decided, due = self.remediator.decide(group_id, offences, self._exemptions, self.result)
        slot = _Slot(group_id, decided, due)
        self._slots.append(slot)
        if due and self.limits.unlimited:
            self._start(slot)

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
                logger.info("held", **_log_fields(rule, entry))

    def _start(self, slot: _Slot) -> None:
        pool = self._executor()
        act = self.remediator.act_on_group
        self._started += 1
        if pool is None:
            slot.acted = act(slot.group_id, slot.due)
        else:
            slot.acted = pool.submit(act, slot.group_id, slot.due)

    def _executor(self) -> Executor | None:
        """None for the first group (an event about one group starts no thread); a pool of
        SWEEP_CONCURRENCY threads from the second on, when that is above 1."""
        workers = self.remediator.settings.sweep_concurrency
        if self._pool is None and self._started and workers > 1:
            from concurrent.futures import ThreadPoolExecutor  # only runs with several groups

            self._pool = self._stack.enter_context(ThreadPoolExecutor(max_workers=workers))
        return self._pool

    def _collect(self) -> None:
        verb = "checking" if self.remediator.dry_run else "revoking"
        total = len(self._slots)
        for number, slot in enumerate(self._slots, 1):
            outcomes = [slot.decided]
            if slot.acted is not None:
                acted = slot.acted
                outcomes.append(acted if isinstance(acted, _Outcome) else acted.result())
            self.remediator.report_progress(f"{verb} {number}/{total} groups")
            for outcome in outcomes:
                self.result.findings.extend(outcome.findings)
                self.result.revoked.extend(outcome.revoked)
                self.result.errors.extend(outcome.errors)
                if outcome.check is not None:
                    self.result.permission_checks.append(outcome.check)
                if any(f.action in STILL_THERE for f in outcome.findings):
                    self.result.noncompliant_groups.add(slot.group_id)


# Actions that leave an offending rule in place (its group is NON_COMPLIANT for Config).
STILL_THERE = frozenset({"exempt", "failed", "would-revoke", "held"})


def _revoked_item(listed: dict[str, Any], rule: Rule) -> dict[str, Any]:
    """EC2's own RevokedSecurityGroupRule, completed from the rule as read if it lacks a key."""
    return {**rule.to_revoked(), **{k: v for k, v in listed.items() if v is not None}}


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


def _to_list(rules: Iterable[Rule], prefix_list_id: str) -> list[Rule]:
    """The egress rules among these whose destination is the prefix list."""
    return [r for r in rules if r.is_egress and r.prefix_list_id == prefix_list_id]


def _count(offences: dict[str, list[Offence]]) -> int:
    return sum(len(found) for found in offences.values())


def _note_once(result: Result, note: str) -> None:
    if note not in result.notes:
        result.notes.append(note)


def _log_fields(rule: Rule, entry: str, **extra: Any) -> dict[str, Any]:
    return {
        "group_id": rule.group_id,
        "rule_id": rule.rule_id,
        "denylist_entry": entry,
        "traffic": rule.describe(),
        **extra,
    }
