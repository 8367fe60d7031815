"""Many places at once: the org scan of the command line and events that span places.

A place is one account and one region. `egress-guard scan --organization --regions ...`
(docs/command-line.md) finds its places (the organisation's ACTIVE accounts, or those
given, crossed with the regions given or enabled in each account), sweeps each one as the
org sweep's "sweep one place" event would (through the member role in another account,
with the caller's own credentials in its own), several at a time, and merges what each
place returned into one result:

    {"Return": <every place ok>, "DryRun": ..., "Source": ..., "EventId": ..., "Mode": ...,
     "Totals": {"Places": 6, "PlacesOk": 5, "PlacesFailed": 1, "PlacesUnreachable": 1,
                "RulesJudged": ..., "RulesRevoked": ..., "RulesWouldRevoke": ...,
                "RulesExempt": ..., "RulesGone": ..., "RulesFailed": ...},
     "Places": [<one place's own result, with its Account, Region and Return, and
                 "Seconds">, ...,
                {"Account": ..., "Region": ..., "Return": false, "Error": "<why>"}],
     "Errors": ["<account>/<region>: <error>", ...]}

Each item of `Places` is a whole result document of its own (docs/result.md), so
`egress-guard restore --place ACCOUNT/REGION merged.json` restores one place from it. A
place that cannot be worked in (the member role missing or refusing, the region not
enabled, access denied) has `Error` instead, one line from the AWS layer, and never hides
the others' results. A Security Hub event whose findings span places is run the same way
(service.handle), one place at a time, and answered with the same merged shape.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from egress_guard.aws import (
    Clients,
    organization_accounts,
    place_problem,
    region_states,
    unit_accounts,
)

if TYPE_CHECKING:
    from aws_lambda_powertools import Metrics

    from egress_guard.settings import Settings

DEFAULT_CONCURRENCY = 8
MAX_CONCURRENCY = 64
# Totals of the merged result: the count of each finding action, under these names.
ACTION_TOTALS = {
    "revoked": "RulesRevoked",
    "would-revoke": "RulesWouldRevoke",
    "exempt": "RulesExempt",
    "gone": "RulesGone",
    "failed": "RulesFailed",
}


@dataclass(frozen=True, slots=True, order=True)
class Place:
    """One account and region. `region` None: an account whose regions could not be
    listed (--all-regions), reported as a whole."""

    account: str
    region: str | None

    def __str__(self) -> str:
        return f"{self.account}/{self.region or '*'}"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one place: its result document, or why it could not be worked in."""

    place: Place
    result: Mapping[str, Any] | None = None
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.result and self.result.get("Return") is True)

    def to_dict(self) -> dict[str, Any]:
        if self.result is None:
            out: dict[str, Any] = {
                "Account": self.place.account,
                "Region": self.place.region,
                "Return": False,
                "Error": self.error or "not run",
            }
        else:
            out = dict(self.result)
            # The place's own, as the unit was asked for (a result names it anyway).
            out["Account"] = out.get("Account") or self.place.account
            out["Region"] = out.get("Region") or self.place.region
        out["Seconds"] = round(self.seconds, 3)
        return out


def parse_place(text: str) -> Place:
    """`ACCOUNT/REGION` (restore --place); ValueError naming what is wrong."""
    from egress_guard.targets import EventError, check_account, check_region

    account, sep, region = text.strip().partition("/")
    try:
        if not sep:
            raise EventError(f"{text!r} is not ACCOUNT/REGION")
        return Place(check_account(account, "account"), check_region(region, "region"))
    except EventError as exc:
        raise ValueError(str(exc)) from None


# --- finding the places -----------------------------------------------------------------------


def find_accounts(
    clients: Clients,
    *,
    accounts: Sequence[str] = (),
    organization: bool = False,
    unit: str | None = None,
    exclude: Iterable[str] = (),
) -> list[str]:
    """The accounts to scan: those given, or the organisation's ACTIVE ones (only those
    in `unit` and its child units, when given), less `exclude`; with neither, the
    credentials' own account."""
    if organization:
        org = clients.client("organizations")
        found = unit_accounts(org, unit) if unit else organization_accounts(org)
    elif accounts:
        found = list(dict.fromkeys(accounts))
    else:
        found = [clients.own_account()]
    excluded = set(exclude)
    return [a for a in found if a not in excluded]


def find_places(
    clients: Clients,
    accounts: Sequence[str],
    regions: Sequence[str] | None,
    *,
    role_name: str | None,
    working_region: str,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> tuple[list[Place], list[Outcome]]:
    """Each account crossed with `regions`, or (None) with the regions enabled in it.

    Each account is first entered (the member role assumed, in `working_region`) and asked
    which regions are enabled for it (DescribeRegions): an account that cannot be entered is
    reported for each of its regions, and a region given that the account has not enabled
    is reported as such, rather than swept into an error. Returns the places to sweep, and
    the outcomes of those that cannot be.
    """

    def regions_of(account: str) -> tuple[list[Place], list[Outcome]]:
        start = time.perf_counter()
        try:
            clients.assume_now(account, working_region, role_name)
            ec2 = clients.client_in("ec2", account, working_region, role_name)
            states = region_states(ec2)
        except Exception as exc:  # every cause is reported, as the place's reason
            why = place_problem(exc)
            seconds = time.perf_counter() - start
            lost = [Place(account, r) for r in regions] if regions else [Place(account, None)]
            return [], [Outcome(p, error=why, seconds=seconds) for p in lost]
        if regions is None:
            if states is None:
                why = (
                    "may not list the account's regions (ec2:DescribeRegions refused): "
                    "name them with --regions"
                )
                return [], [Outcome(Place(account, None), error=why)]
            return [Place(account, r) for r, enabled in sorted(states.items()) if enabled], []
        places: list[Place] = []
        refused: list[Outcome] = []
        for region in regions:
            enabled = None if states is None else states.get(region)
            if enabled is False:
                why = f"region {region} is not enabled for account {account} (an opt-in region)"
                refused.append(Outcome(Place(account, region), error=why))
            elif states is not None and enabled is None:
                why = f"region {region} is not a region EC2 knows in account {account}"
                refused.append(Outcome(Place(account, region), error=why))
            else:
                places.append(Place(account, region))
        return places, refused

    places: list[Place] = []
    refused: list[Outcome] = []
    workers = max(1, min(concurrency, len(accounts)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for found, lost in pool.map(regions_of, accounts):
            places.extend(found)
            refused.extend(lost)
    return places, refused


# --- running units ---------------------------------------------------------------------------

Unit = Callable[[Place, Callable[[str], None]], Mapping[str, Any]]


class PlaceProgress:
    """Progress of many places on one `Progress` (cli): a line for each place done, and
    the latest message of the places at work in between. Thread-safe."""

    def __init__(self, show: Callable[[str], None], total: int) -> None:
        self._show = show
        self._total = total
        self._done = 0
        self._lock = threading.Lock()

    def of(self, place: Place) -> Callable[[str], None]:
        def tell(message: str) -> None:
            with self._lock:
                self._show(f"scanning {place}: {message}")

        return tell

    def finished(self, outcome: Outcome) -> None:
        from egress_guard.tables.result import result_summary

        with self._lock:
            self._done += 1
            if outcome.result is not None:
                text = result_summary(outcome.result)
            else:
                text = f"{outcome.place}: not scanned: {outcome.error}"
            # "[k/n]" first: a phase of its own, so that each place's line stays.
            self._show(f"[{self._done}/{self._total}] {text}")


def run_units(
    places: Sequence[Place],
    unit: Unit,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: PlaceProgress | None = None,
) -> list[Outcome]:
    """`unit` for every place, `concurrency` at a time. A unit returns its place's result;
    any exception it raises makes its place's `Error` (one line, from the AWS layer) and
    stops no other place."""

    def run(place: Place) -> Outcome:
        start = time.perf_counter()
        tell = progress.of(place) if progress else _quiet
        try:
            result = unit(place, tell)
        except Exception as exc:  # every cause is reported, as the place's reason
            outcome = Outcome(place, error=place_problem(exc), seconds=time.perf_counter() - start)
        else:
            outcome = Outcome(place, result=result, seconds=time.perf_counter() - start)
        if progress:
            progress.finished(outcome)
        return outcome

    if not places:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(places)))) as pool:
        return list(pool.map(run, places))


def _quiet(_: str) -> None:
    return None


def sweep_unit(
    clients: Clients,
    metrics: Metrics,
    settings: Settings,
    *,
    source: str,
    event_id: str,
    force_dry_run: bool,
) -> Unit:
    """A unit that sweeps its place through the handler's own path (service.run_targets),
    as the org sweep's "sweep one place" event does. A place whose remediation failed
    returns its result (Return false); a place that cannot be entered raises."""
    from egress_guard.service import RemediationFailed, run_targets
    from egress_guard.targets import Targets

    def sweep(place: Place, progress: Callable[[str], None]) -> Mapping[str, Any]:
        clients.assume_now(place.account, place.region, settings.member_role_name)
        targets = Targets(
            source=source,
            event_id=f"{event_id}/{place}",
            account=place.account,
            region=place.region,
            sweep=True,
        )
        try:
            return run_targets(
                targets,
                clients,
                metrics,
                settings=settings,
                force_dry_run=force_dry_run,
                progress=progress,
            )
        except RemediationFailed as exc:
            return exc.result.to_dict()

    return sweep


class MetricsTally:
    """Metrics of many units, added up under a lock and handed to Powertools once at the
    end: Powertools' metric set is shared and not made for threads, and prints itself once
    100 values pile up. Only `add_metric` is offered (all the units call)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._totals: dict[tuple[str, str], float] = {}

    def add_metric(self, name: str, unit: Any, value: float, **_: Any) -> None:
        key = (name, str(getattr(unit, "value", unit)))
        with self._lock:
            self._totals[key] = self._totals.get(key, 0) + value

    def totals(self) -> dict[str, float]:
        with self._lock:
            return {name: value for (name, _), value in self._totals.items()}

    def flush_into(self, metrics: Metrics) -> None:
        from aws_lambda_powertools.metrics import MetricUnit

        with self._lock:
            items = sorted(self._totals.items())
            self._totals.clear()
        for (name, unit), value in items:
            metrics.add_metric(name, MetricUnit(unit), value)


# --- the merged result -----------------------------------------------------------------------


def merge(
    outcomes: Iterable[Outcome],
    *,
    source: str,
    event_id: str | None,
    dry_run: bool,
    mode: str,
) -> dict[str, Any]:
    """One result for many places (module docstring), places in account and region order."""
    done = sorted(outcomes, key=lambda o: (o.place.account, o.place.region or ""))
    totals: dict[str, Any] = {
        "Places": len(done),
        "PlacesOk": sum(1 for o in done if o.ok),
        "PlacesFailed": sum(1 for o in done if not o.ok),
        "PlacesUnreachable": sum(1 for o in done if o.error is not None),
        "RulesJudged": 0,
        **dict.fromkeys(ACTION_TOTALS.values(), 0),
    }
    errors: list[str] = []
    for outcome in done:
        if outcome.error is not None:
            errors.append(f"{outcome.place}: {outcome.error}")
        result = outcome.result or {}
        judged = result.get("RulesJudged")
        totals["RulesJudged"] += judged if isinstance(judged, int) else 0
        for finding in result.get("Findings") or ():
            name = ACTION_TOTALS.get(str(finding.get("Action")))
            if name:
                totals[name] += 1
        errors.extend(f"{outcome.place}: {e}" for e in result.get("Errors") or ())
    out: dict[str, Any] = {
        "Return": all(o.ok for o in done),
        "DryRun": dry_run,
        "Source": source,
        "EventId": event_id,
        "Mode": mode,
        "Totals": totals,
        "Places": [o.to_dict() for o in done],
    }
    if errors:
        out["Errors"] = errors
    return out


def is_merged(document: Mapping[str, Any]) -> bool:
    """A merged result of several places (this module's shape)."""
    return isinstance(document.get("Places"), list) and "RevokedSecurityGroupRules" not in document


def place_of(document: Mapping[str, Any], wanted: Place) -> Mapping[str, Any]:
    """The result of one place of a merged result; ValueError naming the places there."""
    places = [p for p in document.get("Places") or () if isinstance(p, Mapping)]
    for item in places:
        if item.get("Account") == wanted.account and item.get("Region") == wanted.region:
            return item
    named = ", ".join(f"{p.get('Account')}/{p.get('Region')}" for p in places[:20])
    raise ValueError(f"place {wanted} is not in the result (its places: {named or 'none'})")
