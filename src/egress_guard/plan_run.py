"""`egress-guard plan`: what a denylist change would do to the live rules of a place.

Reads only (docs/command-line.md, "Plan before a denylist change"): the rules
(DescribeSecurityGroupRules), the CIDRs of the managed prefix lists they name
(GetManagedPrefixListEntries, each list once per place) and the tags of the groups holding
a rule some denylist makes offending (DescribeSecurityGroups). Nothing is written, and no
`DryRun` call is made either.

A place is one account and region with its EC2 reader; `Planner.place` plans one place, so
a plan across many places is one call per place and `plan_document` to merge them. A plan
is never partial: whatever cannot be read (a prefix list, the rules, the tags that say
which rules are exempt) makes it fail (`PlanFailed`), naming what, rather than show fewer
differences than there are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NoReturn

from aws_lambda_powertools import Logger

from egress_guard.aws import AwsError, Ec2Calls, answer_text, setup_problem
from egress_guard.exemptions import Exemption, combine, exemption_of, until_key
from egress_guard.judge import Judge, PrefixLists, prefix_list_networks
from egress_guard.limits import Limits, hold_reason
from egress_guard.planning import Judged, Plan, differences, judge_both
from egress_guard.progress import PlanPageRead, Progress, ignore
from egress_guard.rules import Rule
from egress_guard.settings import Settings
from egress_guard.telemetry import SERVICE

logger = Logger(service=SERVICE, child=True)

# Above this many groups, exemption tags are read by two tag-filtered listings of the
# region (the exempt tag and its -until form) rather than group by group.
TAG_LISTING_THRESHOLD = 50


class PlanFailed(Exception):
    """The plan cannot be made: something it needs could not be read (one line)."""


@dataclass(frozen=True, slots=True)
class PlaceEc2:
    """One account and region to plan for, with the EC2 it is read through. `account`
    None: the credentials' own (then named by `own_account`, for the output)."""

    account: str | None
    region: str
    ec2: Ec2Calls


@dataclass(frozen=True, slots=True)
class HeldLimit:
    """A blast-radius limit the rules due under NEW would trip in one invocation."""

    limit: str  # MAX_REVOCATIONS or MAX_REVOCATIONS_PERCENT
    setting: int
    due: int
    judged: int
    invocation: str  # "sweep": the whole place; "groups": the groups named
    reason: str
    tripped_by_current: bool  # CURRENT trips it already: not NEW's doing

    def to_dict(self) -> dict[str, Any]:
        return {
            "Limit": self.limit,
            "Setting": self.setting,
            "Due": self.due,
            "RulesJudged": self.judged,
            "Invocation": self.invocation,
            "TrippedByCurrent": self.tripped_by_current,
            "Reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class PlacePlan:
    account: str
    region: str
    plan: Plan
    held: tuple[HeldLimit, ...] = ()
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "Account": self.account,
            "Region": self.region,
            "RulesJudged": self.plan.rules_judged,
            "DueUnderNew": self.plan.due_under_new,
            "DueUnderCurrent": self.plan.due_under_current,
            "NewlyRevoked": len(self.plan.newly_revoked),
            "NewlySpared": len(self.plan.newly_spared),
            "ExemptLeftOut": self.plan.exempt_left_out,
            "HeldLimits": [h.to_dict() for h in self.held],
        }
        if self.notes:
            out["Notes"] = list(self.notes)
        return out


def configured_limits(env: Mapping[str, str] | None = None) -> Limits:
    """MAX_REVOCATIONS and MAX_REVOCATIONS_PERCENT as the function reads them (settings.py)."""
    return Settings.from_env(env).limits


@dataclass
class Planner:
    """NEW and CURRENT compiled, and what decides exemptions and limits; plans places."""

    new: Judge
    current: Judge
    exempt_tag: str
    limits: Limits
    now: datetime  # aware; `-until` exemptions are judged at this moment

    def place(
        self,
        place: PlaceEc2,
        own_account: str,
        group_ids: Sequence[str] = (),
        progress: Progress | None = None,
    ) -> PlacePlan:
        """The plan of one place: of the named groups, or (none named) of every group."""
        reading = _Reading(place.ec2, self, progress or ignore)
        if group_ids:
            rules_judged, found = reading.groups(group_ids)
        else:
            rules_judged, found = reading.sweep()
        exempt, notes = self._exemptions(place.ec2, found)
        plan = differences(found, rules_judged, exempt)
        account = place.account or own_account
        held = self._held(plan, sweep=not group_ids)
        for change in plan.changes:
            logger.info(
                "plan: " + change.change,
                account=account,
                region=place.region,
                group_id=change.rule.group_id,
                rule_id=change.rule.rule_id,
                denylist_entry=change.entry_id,
            )
        logger.info(
            "plan made",
            account=account,
            region=place.region,
            rules_judged=plan.rules_judged,
            newly_revoked=len(plan.newly_revoked),
            newly_spared=len(plan.newly_spared),
            exempt_left_out=plan.exempt_left_out,
            held_limits=[h.limit for h in held],
        )
        return PlacePlan(account, place.region, plan, held, notes)

    def _held(self, plan: Plan, *, sweep: bool) -> tuple[HeldLimit, ...]:
        """Each limit the rules due under NEW would trip: MAX_REVOCATIONS per invocation
        (the named groups, or the whole place for a sweep), MAX_REVOCATIONS_PERCENT for a
        sweep. Each limit is checked alone, so both are named when both trip."""
        judged = plan.rules_judged
        checks = [
            ("MAX_REVOCATIONS", self.limits.max_revocations, Limits(self.limits.max_revocations, 0))
        ]
        if sweep:
            checks.append(
                (
                    "MAX_REVOCATIONS_PERCENT",
                    self.limits.max_percent,
                    Limits(0, self.limits.max_percent),
                )
            )
        held: list[HeldLimit] = []
        for name, setting, alone in checks:
            reason = hold_reason(plan.due_under_new, judged, sweep=sweep, limits=alone)
            if reason is None:
                continue
            by_current = hold_reason(plan.due_under_current, judged, sweep=sweep, limits=alone)
            held.append(
                HeldLimit(
                    name,
                    setting,
                    plan.due_under_new,
                    judged,
                    "sweep" if sweep else "groups",
                    reason,
                    by_current is not None,
                )
            )
        return tuple(held)

    def _exemptions(
        self, ec2: Ec2Calls, found: Sequence[Judged]
    ) -> tuple[Callable[[Rule], bool], tuple[str, ...]]:
        """Whether each rule of `found` is exempt, by its own tags or its group's. Group
        tags are read only for the groups of rules their own tags do not exempt."""
        own = {item.rule.rule_id: self._exemption(dict(item.rule.tags)) for item in found}
        groups = sorted({i.rule.group_id for i in found if not own[i.rule.rule_id].exempt})
        group_tags = self._group_tags(ec2, groups)
        by_group = {g: self._exemption(tags) for g, tags in group_tags.items()}
        notes: dict[str, None] = {}
        verdicts: dict[str, bool] = {}
        for item in found:
            rule = item.rule
            both = combine(by_group.get(rule.group_id, Exemption()), own[rule.rule_id])
            verdicts[rule.rule_id] = both.exempt
            if both.note:
                notes[f"{rule.group_id} {rule.rule_id}: {both.note}"] = None
        return (lambda rule: verdicts.get(rule.rule_id, False)), tuple(notes)

    def _exemption(self, tags: Mapping[str, str]) -> Exemption:
        return exemption_of(tags, self.exempt_tag, self.now)

    def _group_tags(self, ec2: Ec2Calls, group_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        if not group_ids:
            return {}
        try:
            if len(group_ids) <= TAG_LISTING_THRESHOLD:
                return ec2.group_tags(group_ids)
            return ec2.groups_tagged((self.exempt_tag, until_key(self.exempt_tag)))
        except AwsError as exc:
            _fail("group tags (which rules are exempt) could not be read", exc)


@dataclass
class _Reading:
    """Reads one place's rules and judges them by both denylists, page by page."""

    ec2: Ec2Calls
    planner: Planner
    progress: Progress
    lists: dict[str, Any] = field(default_factory=dict)  # prefix list id -> its networks

    @property
    def needs_lists(self) -> bool:
        return self.planner.new.needs_prefix_lists or self.planner.current.needs_prefix_lists

    def sweep(self) -> tuple[int, list[Judged]]:
        return self._judge_pages(self._read("the rules of the region", self.ec2.all_rule_pages))

    def groups(self, group_ids: Sequence[str]) -> tuple[int, list[Judged]]:
        missing: list[str] = []

        def pages() -> Iterator[list[Rule]]:
            for group_id in group_ids:
                rules = self.ec2.rules_of_group(group_id)
                if not rules and group_id not in self.ec2.group_tags([group_id]):
                    missing.append(group_id)
                yield rules

        judged = self._judge_pages(self._read("the rules of the groups", pages))
        if missing:
            names = ", ".join(f"'{g}'" for g in missing)
            plural = "s" if len(missing) > 1 else ""
            verb = "do" if len(missing) > 1 else "does"
            raise PlanFailed(
                f"InvalidGroup.NotFound: the security group{plural} {names} {verb} not exist"
            )
        return judged

    def _read(self, what: str, pages: Callable[[], Iterable[list[Rule]]]) -> Iterator[list[Rule]]:
        try:
            yield from pages()
        except AwsError as exc:
            _fail(f"{what} could not be read", exc)

    def _judge_pages(self, pages: Iterable[list[Rule]]) -> tuple[int, list[Judged]]:
        judged = 0
        found: list[Judged] = []
        new, current = self.planner.new, self.planner.current
        lists: PrefixLists = self.lists
        for number, page in enumerate(pages, 1):
            self._read_lists(page)
            count, offending = judge_both(
                page,
                lambda r: new.verdict(r, lists).entry_id,
                lambda r: current.verdict(r, lists).entry_id,
            )
            judged += count
            found.extend(offending)
            self.progress(PlanPageRead(number, judged, len(found)))
        return judged, found

    def _read_lists(self, rules: Iterable[Rule]) -> None:
        """The CIDRs of each prefix list these egress rules name, once per place."""
        if not self.needs_lists:
            return
        for rule in rules:
            pl = rule.prefix_list_id
            if not rule.is_egress or pl is None or pl in self.lists:
                continue
            try:
                self.lists[pl] = prefix_list_networks(self.ec2.prefix_list_cidrs(pl))
            except AwsError as exc:
                # Judged without its entries, a rule to the list could only be guessed at.
                _fail(f"prefix list {pl} could not be read", exc)


def _fail(what: str, exc: Exception) -> NoReturn:
    """Raises a set-up problem (credentials, endpoint, a non-AWS answer) as itself, for the
    command line to name; any other error as PlanFailed naming what was not read."""
    if setup_problem(exc) is not None:
        raise exc
    raise PlanFailed(f"plan not made: {what}: {answer_text(exc)}") from exc


def plan_document(
    places: Sequence[PlacePlan], *, new_source: str, current_source: str
) -> dict[str, Any]:
    """The plan's output (docs/command-line.md): the changes in the findings' shape, each
    naming its place, then each place's counts and limits, then the totals."""
    changes = [
        {"Account": p.account, "Region": p.region, **change.to_dict()}
        for p in places
        for change in p.plan.changes
    ]
    return {
        "Changes": changes,
        "Places": [p.to_dict() for p in places],
        "Summary": {
            "NewDenylist": new_source,
            "CurrentDenylist": current_source,
            "NewlyRevoked": sum(len(p.plan.newly_revoked) for p in places),
            "NewlySpared": sum(len(p.plan.newly_spared) for p in places),
            "ExemptLeftOut": sum(p.plan.exempt_left_out for p in places),
            "RulesJudged": sum(p.plan.rules_judged for p in places),
            "DueUnderNew": sum(p.plan.due_under_new for p in places),
            "DueUnderCurrent": sum(p.plan.due_under_current for p in places),
            "Places": len(places),
            "PlacesWithHeldLimits": sum(1 for p in places if p.held),
        },
    }
