"""Which places an org scan covers: its accounts crossed with the regions of each.

The accounts are those given, or the organisation's ACTIVE ones (of one unit and its
children, when given), less those excluded; each is entered (the member role assumed) and
asked which regions it has enabled, so that a region it has not enabled, or an account that
cannot be entered, is reported as an `Outcome` rather than swept into an error.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

from egress_guard.aws import (
    Clients,
    organization_accounts,
    place_problem,
    region_states,
    unit_accounts,
)
from egress_guard.places import DEFAULT_CONCURRENCY, Outcome, Place


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
