"""EventBridge "Scheduled Event" (source aws.events): sweep every security group in the region.

The schedule is the safety net for whatever the change-driven sources miss (events lost,
rules added while the function was broken). The event names no group, only where it fired.
"""

from __future__ import annotations

from egress_guard.events._envelope import Envelope, Route
from egress_guard.targets import EventError, Targets

SCHEDULED = "Scheduled Event"


def parse_schedule(envelope: Envelope) -> Targets:
    """A sweep of the envelope's account and region."""
    if envelope.detail_type != SCHEDULED:
        raise EventError(
            f"detail-type: {envelope.detail_type!r} is not a supported aws.events event "
            f"(expected {SCHEDULED!r})"
        )
    return Targets(
        source="schedule",
        event_id=envelope.event_id,
        account=envelope.account,
        region=envelope.region,
        sweep=True,
    )


ROUTES = (Route("aws.events", SCHEDULED, lambda _, envelope: parse_schedule(envelope)),)
