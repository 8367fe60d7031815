"""The EventBridge envelope shared by every EventBridge-delivered source, and its routes.

{"version": "0", "id": ..., "detail-type": ..., "source": ..., "account": ...,
 "time": ..., "region": ..., "resources": [...], "detail": {...}}
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from egress_guard.events._access import Node
from egress_guard.targets import Targets, check_account, check_region


@dataclass(frozen=True, slots=True)
class Envelope:
    event_id: str | None
    source: str
    detail_type: str
    account: str | None
    region: str | None
    detail: Node


def read_envelope(event: Node) -> Envelope:
    return Envelope(
        event_id=event.opt_text("id", limit=256),
        source=event.text("source", limit=256),
        detail_type=event.text("detail-type", limit=256),
        account=event.opt_id_text("account", check_account),
        region=event.opt_id_text("region", check_region),
        detail=event.node("detail"),
    )


@dataclass(frozen=True, slots=True)
class Route:
    """An EventBridge `source` and `detail-type` a source module parses, and its parser
    (given the whole event and its envelope). Each source module declares its own as
    `ROUTES`; events/__init__.py dispatches on them, and the template's rules route them."""

    source: str
    detail_type: str
    parse: Callable[[Node, Envelope], Targets]
