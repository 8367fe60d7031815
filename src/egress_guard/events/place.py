"""The "sweep one place" event: one account and region of the organisation sweep.

    {"egress-guard": "sweep-place", "account": "123456789012", "region": "eu-west-1",
     "run": "<the sweep's execution name>"}

The org sweep's state machine (statemachine/org-sweep.asl.json) sends one per place to
the function. It is not an AWS event: the top-level key "egress-guard" names the kind, so
that no AWS event shape can be mistaken for it. Every key is checked and any other key is
an error, as with a manual request: a typo must not turn into a sweep of the wrong place.
The account may be the function's own (swept with its own role) or a member's (swept
through MEMBER_ROLE_NAME, or refused naming the account where that is not set).
"""

from __future__ import annotations

from egress_guard.events._access import Node, short
from egress_guard.targets import EventError, Targets, check_account, check_region

KIND_KEY = "egress-guard"
SWEEP_PLACE = "sweep-place"
KEYS = (KIND_KEY, "account", "region", "run")
SOURCE = "org-sweep"


def parse_place(event: Node) -> Targets:
    """A sweep of the event's account and region."""
    unknown = [k for k in event.data if k not in KEYS]
    if unknown:
        names = ", ".join(short(k, 40) for k in unknown[:10])
        raise EventError(f"unknown keys [{names}]; a {SWEEP_PLACE} event has {', '.join(KEYS)}")
    kind = event.text(KIND_KEY, limit=64)
    if kind != SWEEP_PLACE:
        raise EventError(
            f"{KIND_KEY}: {short(kind)} is not a supported kind (expected {SWEEP_PLACE!r})"
        )
    account = event.id_text("account", check_account)
    region = event.id_text("region", check_region)
    # The run (the sweep's execution name, at most 80 characters) correlates the place's
    # log lines with the sweep's records in S3.
    run = event.opt_text("run", limit=256)
    return Targets(
        source=SOURCE,
        event_id=f"{run}/{account}/{region}" if run else None,
        account=account,
        region=region,
        sweep=True,
    )
