"""Many places at once: run a unit of work in each place, several at a time, and merge.

A place is one account and one region. `egress-guard scan --organization --regions ...`
(docs/command-line.md) finds its places (egress_guard.org_places), sweeps each one as the
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
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from egress_guard.aws import place_problem
from egress_guard.ids import AccountId, Region
from egress_guard.progress import AtPlace, PlaceDone, Progress, Step, ignore
from egress_guard.result_document import read, write

if TYPE_CHECKING:
    from aws_lambda_powertools import Metrics

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
        return self.error is None and self.result is not None and read(self.result).ok

    def to_dict(self) -> dict[str, Any]:
        if self.result is None:
            out: dict[str, Any] = {
                "Account": self.place.account,
                "Region": self.place.region,
                "Return": False,
                "Error": self.error or "not run",
            }
        else:
            document = read(self.result)
            # The place's own, as the unit was asked for (a result names it anyway).
            out = write(
                replace(
                    document,
                    account=document.account or self.place.account,
                    region=document.region or self.place.region,
                )
            )
        out["Seconds"] = round(self.seconds, 3)
        return out


def parse_place(text: str) -> Place:
    """`ACCOUNT/REGION` (restore --place); ValueError naming what is wrong."""
    account, sep, region = text.strip().partition("/")
    if not sep:
        raise ValueError(f"{text!r} is not ACCOUNT/REGION")
    return Place(AccountId(account, "account"), Region(region, "region"))


# --- running units ---------------------------------------------------------------------------

Unit = Callable[[Place, Progress], Mapping[str, Any]]


class PlaceProgress:
    """Progress of many places on one callback: each place's own steps as `AtPlace`, and a
    `PlaceDone` for each place finished (counted here). Thread-safe."""

    def __init__(self, progress: Progress, total: int) -> None:
        self._progress = progress
        self._total = total
        self._done = 0
        self._lock = threading.Lock()

    def of(self, place: Place) -> Progress:
        def tell(step: Step) -> None:
            with self._lock:
                self._progress(AtPlace(str(place), step))

        return tell

    def finished(self, outcome: Outcome) -> None:
        with self._lock:
            self._done += 1
            done = PlaceDone(
                self._done, self._total, str(outcome.place), outcome.result, outcome.error
            )
            self._progress(done)


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
        tell = progress.of(place) if progress else ignore
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
    notes: Sequence[str] = (),
) -> dict[str, Any]:
    """One result for many places (module docstring), places in account and region order;
    `notes`: the event's own (a Security Hub batch's), after the errors."""
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
        if outcome.result is None:
            continue
        document = read(outcome.result)
        totals["RulesJudged"] += document.rules_judged or 0
        for finding in document.findings:
            name = ACTION_TOTALS.get(str(finding.action))
            if name:
                totals[name] += 1
        errors.extend(f"{outcome.place}: {e}" for e in document.errors)
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
    if notes:
        out["Notes"] = list(notes)
    return out


def is_merged(document: Mapping[str, Any]) -> bool:
    """A merged result of several places (this module's shape)."""
    return isinstance(document.get("Places"), list) and "RevokedSecurityGroupRules" not in document


def place_of(document: Mapping[str, Any], wanted: Place) -> Mapping[str, Any]:
    """The result of one place of a merged result; ValueError naming the places there."""
    places = [(p, read(p)) for p in document.get("Places") or () if isinstance(p, Mapping)]
    for item, named in places:
        if (named.account, named.region) == (wanted.account, wanted.region):
            return item
    there = ", ".join(place_names(document)[:20])
    raise ValueError(f"place {wanted} is not in the result (its places: {there or 'none'})")


def place_names(document: Mapping[str, Any]) -> list[str]:
    """`ACCOUNT/REGION` of each place of a merged result, in its order."""
    named = (read(p) for p in document.get("Places") or () if isinstance(p, Mapping))
    return [f"{n.account}/{n.region}" for n in named]
