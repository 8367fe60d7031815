"""Faults between the function and EC2 (issue 4): throttling, 500s, resets, timeouts.

A `faults.Faults` hook answers a seeded share of EC2 reads and writes with
RequestLimitExceeded (503), InternalError (500), a connection reset, or an answer held
past the read timeout (the request having taken effect). The reads include
GetManagedPrefixListEntries: every group holds rules to managed prefix lists, judged
through the lists' entries, so a list that cannot be read must fail its rules (issue 8).
Over a batch of events and over sweeps, at 10%, 30% and 60% fault rates, after every invocation:

- no legitimate or exempt rule was revoked (live state; and no such write was sent);
- every offending rule the event pointed at is gone, or the result reports it
  (`failed`, or an error naming its group) AND the invocation raised: nothing is
  silently skipped, and Lambda's retry and failure destination see what is undone;
- each revoked rule's full definition is in the result, and no rule is in two results.

At the end, with the faults off, one sweep leaves exactly the legitimate rules. Retries
are boto3's own (adaptive mode, AWS_MAX_ATTEMPTS attempts); a separate test bounds an
invocation's time by the Lambda context's remaining time.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.retries.standard import ExponentialBackoff
from support.emulator import FakeLambdaContext
from support.estate import (
    DENYLIST,
    Estate,
    Planned,
    WriteGuard,
    build_estate,
    check_revoked_items,
    events_for,
    live_rule_ids,
    sweep,
    sweep_event,
)
from support.faults import FAULT_DELAY, MAX_ATTEMPTS, FaultProxy, Faults
from support.figures import record

from egress_guard import handler
from egress_guard.service import RemediationFailed

pytestmark = [pytest.mark.integration, pytest.mark.slow]

GROUPS = 50
EVENTS = 200
SWEEPS = 3
RATES = (0.1, 0.3, 0.6)


@dataclass
class Outcome:
    result: dict[str, Any] | None  # the result, returned or carried by RemediationFailed
    error: BaseException | None  # what the invocation raised, if anything
    seconds: float


def invoke(event: Mapping[str, Any], context: FakeLambdaContext | None = None) -> Outcome:
    started = time.monotonic()
    try:
        result = handler.lambda_handler(dict(event), context or FakeLambdaContext())
        return Outcome(result, None, time.monotonic() - started)
    except RemediationFailed as exc:
        return Outcome(exc.result.to_dict(), exc, time.monotonic() - started)
    except Exception as exc:  # any other exception also counts as "raised"
        return Outcome(None, exc, time.monotonic() - started)


def problems_after(
    estate: Estate,
    targeted: Iterable[str],
    outcome: Outcome,
    live: set[str],
    scope: Iterable[str] | None = None,
) -> list[str]:
    """Everything wrong with one invocation, judged by the live state after it (`live`:
    the egress rules of the groups in `scope`, default every group)."""
    groups = set(scope) if scope is not None else {g.group_id for g in estate.groups}
    protected = {rid for rid in estate.protected if estate.group_of[rid] in groups}
    problems = [f"protected rule {rid} revoked" for rid in sorted(protected - live)]
    result = outcome.result or {}
    problems += check_revoked_items(estate, result.get("RevokedSecurityGroupRules", []))
    left = sorted(set(targeted) & live)
    if outcome.error is None:
        if left:
            problems.append(f"returned normally but left offending rules {left}")
        if result.get("Return") is not True:
            problems.append(f"returned normally with Return {result.get('Return')!r}")
        return problems
    if outcome.result is None:
        return problems  # raised before a result existed: nothing was claimed
    failed = {f["SecurityGroupRuleId"] for f in result["Findings"] if f["Action"] == "failed"}
    errors = " ".join(result.get("Errors", []))
    if result.get("Return") is not False:
        problems.append("raised with Return true")
    for rule_id in left:
        group_id = estate.group_of[rule_id]
        reported = (
            rule_id in failed
            or group_id in errors
            or "sweep incomplete" in errors
            or "group tags not read" in errors
        )
        if not reported:
            problems.append(f"offending rule {rule_id} left in place and not reported")
    return problems


@dataclass
class Tally:
    invocations: int = 0
    returned: int = 0
    raised_failed: int = 0
    raised_other: int = 0
    rules_revoked: int = 0
    findings: Counter[str] | None = None
    other_errors: Counter[str] | None = None

    def add(self, outcome: Outcome) -> None:
        self.findings = self.findings or Counter()
        self.other_errors = self.other_errors or Counter()
        self.invocations += 1
        if outcome.error is None:
            self.returned += 1
        elif outcome.result is not None:
            self.raised_failed += 1
        else:
            self.raised_other += 1
            self.other_errors[f"{type(outcome.error).__name__}: {outcome.error}"[:120]] += 1
        result = outcome.result or {}
        self.rules_revoked += len(result.get("RevokedSecurityGroupRules", []))
        self.findings.update(f["Action"] for f in result.get("Findings", []))


def run_batch(
    estate: Estate, ec2: Any, plan: Iterable[Planned], tally: Tally, accounted: dict[str, str]
) -> list[str]:
    """Invokes the handler on each planned event, one after another; checks each.

    `accounted`: rule id -> the event whose result holds its definition (revoked, or
    failed: a revoke whose answer was lost may have happened); none may be in two
    results' RevokedSecurityGroupRules.
    """
    problems: list[str] = []
    for planned in plan:
        outcome = invoke(planned.event)
        tally.add(outcome)
        # The event's group only (faster); the WriteGuard sees every write anywhere.
        scope = {estate.group_of[rid] for rid in planned.targeted}
        if len(scope) > 1:
            live, scoped = live_rule_ids(ec2), None
        else:
            live, scoped = live_rule_ids(ec2, scope), scope
        where = f"event {planned.event['id']}"
        found = problems_after(estate, planned.targeted, outcome, live, scoped)
        problems += [f"{where}: {p}" for p in found]
        result = outcome.result or {}
        for item in result.get("RevokedSecurityGroupRules", []):
            rule_id = item["SecurityGroupRuleId"]
            if accounted.get(rule_id, "").startswith("revoked"):
                problems.append(f"{where}: {rule_id} also revoked in {accounted[rule_id]}")
            accounted[rule_id] = f"revoked in {planned.event['id']}"
        for finding in result.get("Findings", []):
            if finding["Action"] != "failed":
                continue
            rule_id = finding["SecurityGroupRuleId"]
            if rule_id in estate.protected:
                problems += check_unjudged(estate, finding, where)
                continue
            problems += check_revoked_items(estate, [finding["Rule"]])
            accounted.setdefault(rule_id, "failed")
    return problems


def check_unjudged(estate: Estate, finding: Mapping[str, Any], where: str) -> list[str]:
    """A legitimate rule may be `failed` only as not judged (its prefix list unread), and
    then was never revoked: no MaybeRevoked, and no write named it (the WriteGuard)."""
    rule_id = finding["SecurityGroupRuleId"]
    if "PrefixListId" not in estate.definition[rule_id]:
        return [f"{where}: legitimate rule {rule_id} failed: {finding.get('Error')}"]
    if not str(finding.get("Error", "")).startswith("prefix list "):
        return [f"{where}: legitimate rule {rule_id} failed: {finding.get('Error')}"]
    if finding.get("MaybeRevoked"):
        return [f"{where}: legitimate rule {rule_id} maybe revoked"]
    return []


def list_reads_failed(faults: Faults) -> int:
    return sum(
        n for (action, _), n in faults.by_action.items() if action.endswith("PrefixListEntries")
    )


@pytest.mark.parametrize("rate", RATES, ids=[f"{int(r * 100)}pct" for r in RATES])
def test_batch_and_sweeps_under_faults(
    rate: float,
    *,
    fault_proxy: FaultProxy,
    ec2: Any,
    unlimited_container: None,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    monkeypatch.setenv("DENYLIST", json.dumps(DENYLIST))
    estate = build_estate(ec2, GROUPS, seed=int(rate * 100))
    guard = WriteGuard(allowed=set(estate.offending))
    fault_proxy.on("RevokeSecurityGroupEgress", guard)
    faults = Faults(read_rate=rate, write_rate=rate, seed=int(rate * 1000), delay=FAULT_DELAY)
    fault_proxy.on("*", faults)
    tally = Tally()
    accounted: dict[str, str] = {}

    # A batch of events; part-way, the estate is re-offended, as a live estate would be.
    plan = events_for(estate, EVENTS, seed=int(rate * 100))
    problems = run_batch(estate, ec2, plan, tally, accounted)
    # Sweeps under the same faults: each one checked the same way, over every group.
    sweeps = [sweep(estate, f"sweep-{n}") for n in range(SWEEPS)]
    problems += run_batch(estate, ec2, sweeps, tally, accounted)

    # Faults off: one sweep finishes the job and leaves exactly the legitimate rules.
    faults.enabled = False
    returned = tally.returned
    problems += run_batch(estate, ec2, [sweep(estate, "final-sweep")], tally, accounted)
    final_returned = tally.returned - returned
    live = live_rule_ids(ec2)

    record(
        request.node.nodeid,
        {
            "fault_rate_pct": int(rate * 100),
            "invocations": tally.invocations,
            "invocations_returned": tally.returned,
            "invocations_raised_remediation_failed": tally.raised_failed,
            "invocations_raised_other": tally.raised_other,
            "faults_injected": faults.total,
            "ec2_requests_seen": sum(faults.seen.values()),
            "offending_rules": len(estate.offending),
            "protected_rules": len(estate.protected),
            "rules_revoked": tally.rules_revoked,
            "rules_wrongly_revoked": len(estate.protected - live),
            "offending_rules_left": len(estate.offending & live),
            "writes_naming_protected_rules": len(guard.violations),
            "faults_by_kind": faults.summary()["injected"],
            "prefix_list_reads_failed": list_reads_failed(faults),
            "findings_by_action": dict(tally.findings or {}),
            "other_errors": dict(tally.other_errors or {}),
        },
    )
    assert problems == []
    assert guard.violations == []
    assert final_returned == 1
    assert live & estate.offending == set()
    assert estate.protected <= live
    # Every offending rule's definition is in some result: revoked, or failed (a revoke
    # whose answer was lost may have happened; the definition is there to restore it).
    assert set(accounted) == estate.offending
    assert faults.total > 0.5 * rate * sum(faults.seen.values())  # the faults did happen
    assert list_reads_failed(faults) > 0  # prefix-list reads failed too
    assert tally.raised_other == 0, tally.other_errors


def test_every_kind_of_fault_is_survived_on_its_own(
    fault_proxy: FaultProxy, ec2: Any, unlimited_container: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each fault kind at a 50% rate on reads and writes, a few events each."""
    monkeypatch.setenv("DENYLIST", json.dumps(DENYLIST))
    estate = build_estate(ec2, 8, exempt_every=4)
    guard = WriteGuard(allowed=set(estate.offending))
    fault_proxy.on("RevokeSecurityGroupEgress", guard)
    problems: list[str] = []
    accounted: dict[str, str] = {}
    for number, kind in enumerate(("throttle", "internal", "reset", "timeout")):
        faults = Faults(0.5, 0.5, seed=number, kinds=[kind], delay=FAULT_DELAY)
        fault_proxy.on("*", faults)
        groups = estate.groups[number * 2 : number * 2 + 2]
        sub = Estate(groups=groups, **{k: getattr(estate, k) for k in ("offending", "protected",
                     "exempt", "group_of", "definition")})  # fmt: skip
        problems += run_batch(estate, ec2, events_for(sub, 8, seed=number), Tally(), accounted)
        assert faults.injected, f"no {kind} fault was injected"
        faults.enabled = False
    assert problems == []
    assert guard.violations == []


def test_writes_failing_every_time_fail_the_invocation_and_name_each_rule(
    fault_proxy: FaultProxy, ec2: Any, unlimited_container: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EC2 refuses every revoke (throttled or 500, past every retry): all `failed`."""
    monkeypatch.setenv("DENYLIST", json.dumps(DENYLIST))
    estate = build_estate(ec2, 3, exempt_every=0)
    fault_proxy.on("*", Faults(0.0, 1.0, seed=7, kinds=["throttle", "internal"]))

    outcome = invoke(sweep_event())

    assert isinstance(outcome.error, RemediationFailed)
    assert outcome.result is not None
    assert outcome.result["Return"] is False
    failed = {
        f["SecurityGroupRuleId"] for f in outcome.result["Findings"] if f["Action"] == "failed"
    }
    assert failed == estate.offending
    assert live_rule_ids(ec2) == estate.offending | estate.protected
    revokes = [c for c in fault_proxy.calls if c.action == "RevokeSecurityGroupEgress"]
    groups = {estate.group_of[rid] for rid in estate.offending}  # with the default groups
    assert len(revokes) == len(groups) * MAX_ATTEMPTS  # bounded: boto3's attempts, no more


@pytest.mark.parametrize("remaining", [7.0, 10.0])
def test_invocation_ends_before_the_lambda_deadline_however_slow_ec2_is(
    remaining: float,
    *,
    fault_proxy: FaultProxy,
    ec2: Any,
    unlimited_container: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """EC2 throttles every revoke, and boto3 may try 30 times (its backoff alone would
    sum to minutes): the invocation stops sending attempts in time (the next attempt and
    its backoff must end DEADLINE_MARGIN before the context's end), raises, and reports
    every rule it could not revoke."""
    monkeypatch.setenv("DENYLIST", json.dumps(DENYLIST))
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "30")
    # Production's backoff here (1 s base after throttling): the deadline must hold it.
    monkeypatch.setitem(ExponentialBackoff._DEFAULT_BACKOFF_CONFIG, "throttling_base_scale", 1)
    # No prefix lists: their reads would eat into the few seconds this test is about.
    estate = build_estate(ec2, 12, exempt_every=0, prefix_lists=False)
    fault_proxy.on("*", Faults(0.0, 1.0, seed=3, kinds=["throttle", "hang"], delay=FAULT_DELAY))
    fault_proxy.on("RevokeSecurityGroupEgress", guard := WriteGuard(set(estate.offending)))
    context = FakeLambdaContext(timeout_seconds=remaining)

    outcome = invoke(sweep_event(), context)

    assert outcome.seconds < remaining, f"ran {outcome.seconds:.1f} s of {remaining} s"
    assert isinstance(outcome.error, RemediationFailed)
    assert outcome.result is not None
    failed = {f["SecurityGroupRuleId"]: f["Error"] for f in outcome.result["Findings"]}
    assert set(failed) == estate.offending  # every one reported, none silently skipped
    assert any("not sent" in error for error in failed.values())  # OutOfTime
    assert guard.violations == []
    assert live_rule_ids(ec2) == estate.offending | estate.protected
