"""The sample events of events/, pointed at groups and rules the emulator really has.

The samples name the placeholder group sg-0f1e2d3c4b5a69780 and rules
sgr-0aa11bb22cc33dd44 / sgr-0bb22cc33dd44ee55; tests swap in live ids.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parents[2] / "events"
SAMPLE_GROUP = "sg-0f1e2d3c4b5a69780"
SAMPLE_RULES = ("sgr-0aa11bb22cc33dd44", "sgr-0bb22cc33dd44ee55")


def sample(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return data


def pointed(name: str, group_id: str, rule_ids: tuple[str, ...] = ()) -> dict[str, Any]:
    """The sample with its group id and rule ids replaced by live ones."""
    text = (EVENTS / name).read_text().replace(SAMPLE_GROUP, group_id)
    for placeholder, live in zip(SAMPLE_RULES, rule_ids, strict=False):
        text = text.replace(placeholder, live)
    data: dict[str, Any] = json.loads(text)
    return data


def authorize_egress(group_id: str, *rule_ids: str, event_id: str = "evt-1") -> dict[str, Any]:
    """An EventBridge AuthorizeSecurityGroupEgress event naming these new rules."""
    event = pointed("cloudtrail-authorize-egress.json", group_id)
    event["id"] = event_id
    items = event["detail"]["responseElements"]["securityGroupRuleSet"]["items"]
    template = items[0]
    event["detail"]["responseElements"]["securityGroupRuleSet"]["items"] = [
        {**copy.deepcopy(template), "securityGroupRuleId": rule_id} for rule_id in rule_ids
    ]
    return event
