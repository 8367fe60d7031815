"""One invocation, wired: event -> targets -> live rules -> verdicts -> revocations -> result.

Shared by the Lambda handler and the command line, so both behave the same.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, TypedDict, Unpack

from aws_lambda_powertools import Logger

from egress_guard.aws import AwsCallFailed, Clients, Ec2, place_problem
from egress_guard.denylist_source import load_judge
from egress_guard.events import parse_event
from egress_guard.judge import Judge
from egress_guard.progress import Progress
from egress_guard.remediate import Remediator
from egress_guard.result import Result
from egress_guard.settings import Settings
from egress_guard.sinks import Delivery, MetricCounter, Sink, deliver
from egress_guard.sinks.config import ConfigSink
from egress_guard.sinks.log_line import LogLineSink
from egress_guard.sinks.metrics import MetricsSink
from egress_guard.sinks.securityhub import SecurityHubSink
from egress_guard.sinks.sns_notice import SnsNoticeSink
from egress_guard.targets import EventError, Targets
from egress_guard.telemetry import SERVICE

logger = Logger(service=SERVICE, child=True)

# Where every result goes, in this order: Config and Security Hub first, so that what they
# could not do is in the counts, the notice and the log line (egress_guard.sinks: each
# sink's failure policy).
SINKS: tuple[Sink, ...] = (
    ConfigSink(),
    SecurityHubSink(),
    MetricsSink(),
    SnsNoticeSink(),
    LogLineSink(),
)


class RemediationFailed(RuntimeError):
    """Something that was due was not done; raised after every group was tried so that
    Lambda's retry and failure destination see it. `result` holds everything."""

    def __init__(self, result: Result) -> None:
        self.result = result
        failed = result.count("failed")
        problems = [f"{failed} revocation(s) failed"] if failed else []
        super().__init__("; ".join(problems + result.errors[:5]) or "remediation failed")


class AccountRefused(EventError):
    """The event names an account this deployment may not act in."""


class RunOptions(TypedDict, total=False):
    """How to run, as `handle`, `run_targets` and `run_places` take it and pass it on.

    `settings`: read from the environment when not given. `time_left`: seconds before the
    invocation's end (Lambda's context). `force_dry_run`: the command line's --dry-run.
    `progress` is told how a long run is getting on (typed steps, progress.py: sweep pages
    read, groups acted on); the CLI shows them on stderr. `clock`: the time expiring
    exemptions are judged at (default: now).
    """

    settings: Settings | None
    time_left: Callable[[], float] | None
    force_dry_run: bool
    progress: Progress | None
    clock: Callable[[], datetime] | None


def handle(
    event: Mapping[str, Any],
    clients: Clients,
    metrics: MetricCounter,
    **options: Unpack[RunOptions],
) -> dict[str, Any]:
    options["settings"] = _settings(options)
    if isinstance(event, Mapping) and isinstance(event.get("id"), str):
        logger.set_correlation_id(event["id"])
    targets = parse_event(event)
    logger.set_correlation_id(targets.event_id)
    run = run_places if targets.split else run_targets  # several places, or one
    return run(targets, clients, metrics, **options)


def run_targets(
    targets: Targets,
    clients: Clients,
    metrics: MetricCounter,
    **options: Unpack[RunOptions],
) -> dict[str, Any]:
    """Everything after event parsing: `handle` for targets from anywhere (the CLI's scan)."""
    settings = _settings(options)
    dry_run = _dry_run(targets, settings, options)
    result = Result(
        source=targets.source,
        event_id=targets.event_id,
        account=targets.account,
        region=targets.region,
        mode=settings.mode,
        dry_run=dry_run,
        notes=list(targets.notes),
        actor=targets.actor,
    )
    writes = not (options.get("force_dry_run") or targets.dry_run)
    if targets.is_noop and targets.config is None:
        logger.info("no action", source=targets.source, reason=targets.reason)
        result.notes.append(f"no action: {targets.reason}")
        deliver(SINKS, result, _delivery(clients, targets, metrics, settings, writes, acted=False))
        return result.to_dict()
    judge = load_judge(settings, clients)
    ec2 = clients.ec2(
        _account(targets, clients, settings), targets.region, settings.member_role_name
    )
    result.region = ec2.region
    if result.account is None:  # manual requests: the credentials' own, so restore can check
        result.account = _own_account(clients)
    Remediator(
        ec2,
        judge,
        settings,
        dry_run=dry_run,
        time_left=options.get("time_left"),
        progress=options.get("progress"),
        clock=options.get("clock"),
    ).run(targets, result)
    run = _delivery(clients, targets, metrics, settings, writes, ec2=ec2, judge=judge)
    deliver(SINKS, result, run)
    output = result.to_dict()
    if not result.ok:
        raise RemediationFailed(result)
    return output


class PlacesFailed(RuntimeError):
    """A place of an event spanning several was not done (its remediation failed, or it
    could not be entered); raised after every place was tried. `output`: the merged result."""

    def __init__(self, output: dict[str, Any]) -> None:
        self.output = output
        super().__init__("; ".join(output.get("Errors", [])[:5]) or "a place failed")


def run_places(
    targets: Targets,
    clients: Clients,
    metrics: MetricCounter,
    **options: Unpack[RunOptions],
) -> dict[str, Any]:
    """An event spanning several places (`targets.split`): each place run as an event of
    its own, one after another, and one merged result (egress_guard.places). A place that
    fails or cannot be entered stops no other; PlacesFailed at the end if any did."""
    # Here, not at the top: only a Security Hub batch spans places, and the cold start of
    # every other event need not load the runner and its thread pool.
    from egress_guard.places import Outcome, Place, merge

    settings = options["settings"] = _settings(options)
    outcomes = []
    for part in targets.split:
        place = Place(part.account or _own_account(clients) or "?", part.region)
        started = time.perf_counter()
        try:
            output = run_targets(part, clients, metrics, **options)
            outcome = Outcome(place, result=output)
        except RemediationFailed as exc:
            outcome = Outcome(place, result=exc.result.to_dict())
        except Exception as exc:  # this place's reason; the others go on
            logger.error("place not done", place=str(place), error=place_problem(exc))
            outcome = Outcome(place, error=place_problem(exc))
        outcomes.append(replace(outcome, seconds=time.perf_counter() - started))
    merged = merge(
        outcomes,
        source=targets.source,
        event_id=targets.event_id,
        dry_run=_dry_run(targets, settings, options),
        mode=settings.mode,
        notes=targets.notes,
    )
    logger.info("places", totals=merged["Totals"], errors=merged.get("Errors", []))
    if not merged["Return"]:
        raise PlacesFailed(merged)
    return merged


def _settings(options: RunOptions) -> Settings:
    """The settings given, else the environment's (read once per invocation)."""
    return options.get("settings") or Settings.from_env()


def _dry_run(targets: Targets, settings: Settings, options: RunOptions) -> bool:
    """Nothing is revoked in report mode, nor when the event or the command line says so."""
    return settings.report_only or targets.dry_run or options.get("force_dry_run", False)


def _own_account(clients: Clients) -> str | None:
    """The function's own account (free in Lambda: from the context), None if unknown."""
    try:
        return clients.own_account()
    except AwsCallFailed:
        return None


def _delivery(
    clients: Clients,
    targets: Targets,
    metrics: MetricCounter,
    settings: Settings,
    writes: bool,
    *,
    acted: bool = True,
    ec2: Ec2 | None = None,
    judge: Judge | None = None,
) -> Delivery:
    """What the sinks need. `writes` is False for a dry run asked for by hand (the command
    line's --dry-run, a manual request's DryRun): it writes nothing anywhere, as EC2's own
    DryRun; report mode (MODE=report) still reports to Config and announces what it would
    revoke."""
    return Delivery(
        clients,
        targets,
        metrics,
        writes=writes,
        acted=acted,
        settings=settings,
        ec2=ec2,
        judge=judge,
    )


def _account(targets: Targets, clients: Clients, settings: Settings) -> str | None:
    """The account to act in; another account only through the configured member role."""
    if targets.account is None:
        return None
    own = clients.own_account()
    if targets.account != own and not settings.member_role_name:
        raise AccountRefused(
            f"the event names account {targets.account}, not this function's {own}, "
            "and MEMBER_ROLE_NAME is not set"
        )
    return targets.account
