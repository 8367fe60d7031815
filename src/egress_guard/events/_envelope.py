"""The EventBridge envelope shared by every EventBridge-delivered source.

{"version": "0", "id": ..., "detail-type": ..., "source": ..., "account": ...,
 "time": ..., "region": ..., "resources": [...], "detail": {...}}
"""

from __future__ import annotations

from dataclasses import dataclass

from egress_guard.events._access import Node
from egress_guard.targets import check_account, check_region


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
