"""The unit an org scan runs in each place: that place swept through the service's own path.

egress_guard.places runs units it is given, several at a time, and merges what they
return; this module, above it and beside the service, makes the unit that sweeps one
place as the org sweep's "sweep one place" event does (service.run_targets), so that the
places module never calls back up into the service.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from egress_guard.aws import Clients
from egress_guard.places import Place, Unit
from egress_guard.progress import Progress
from egress_guard.service import RemediationFailed, run_targets
from egress_guard.settings import Settings
from egress_guard.sinks import MetricCounter
from egress_guard.targets import Targets


def sweep_unit(
    clients: Clients,
    metrics: MetricCounter,
    settings: Settings,
    *,
    source: str,
    event_id: str,
    force_dry_run: bool,
) -> Unit:
    """A unit that sweeps its place (through the member role in another account). A place
    whose remediation failed returns its result (Return false); a place that cannot be
    entered raises, and places.run_units reports why."""

    def sweep(place: Place, progress: Progress) -> Mapping[str, Any]:
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
