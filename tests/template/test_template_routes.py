"""The template's EventBridge rules and the event dispatcher's routes agree, both ways.

Every (source, detail-type) a rule's pattern lets through (template.yaml, its organisation
bus rules, and org/member.yaml's forwarding rules) is parsed by a source module, and every
route a source module declares (egress_guard.events.ROUTES) is delivered by some rule of
template.yaml: a rule with nothing to parse it, or a parser that nothing feeds, is caught
here. A scheduled rule (ScheduleExpression) delivers EventBridge's "Scheduled Event".
"""

from __future__ import annotations

import json
from itertools import product
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml
from support.template import REPO

from egress_guard.events import ROUTES

SCHEDULED = ("aws.events", "Scheduled Event")
Pair = tuple[str, str]


def load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(json.dumps(cfn_yaml.load(str(REPO / name))))
    return loaded


def rules(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Events::Rule"
    }


def delivered(rule: dict[str, Any]) -> set[Pair]:
    """The (source, detail-type) pairs one rule lets through."""
    if "ScheduleExpression" in rule:
        return {SCHEDULED}
    pattern = rule["EventPattern"]
    return set(product(pattern["source"], pattern["detail-type"]))


TEMPLATES = {name: rules(load(name)) for name in ("template.yaml", "org/member.yaml")}
ALL_RULES = [
    (f"{t}:{name}", rule) for t, found in TEMPLATES.items() for name, rule in found.items()
]


@pytest.mark.parametrize(("name", "rule"), ALL_RULES, ids=[name for name, _ in ALL_RULES])
def test_every_rule_delivers_only_what_a_source_module_parses(
    name: str, rule: dict[str, Any]
) -> None:
    assert delivered(rule) <= set(ROUTES), name


@pytest.mark.parametrize("route", sorted(ROUTES), ids=" / ".join)
def test_every_route_is_delivered_by_a_rule_of_the_template(route: Pair) -> None:
    routed = set().union(*(delivered(rule) for rule in TEMPLATES["template.yaml"].values()))
    assert route in routed


def test_the_organisation_bus_rules_deliver_what_the_members_forward() -> None:
    forwarded = set().union(*(delivered(r) for r in TEMPLATES["org/member.yaml"].values()))
    org_bus = {
        pair
        for name, rule in TEMPLATES["template.yaml"].items()
        if name.startswith("Org")
        for pair in delivered(rule)
    }
    assert forwarded
    assert forwarded <= org_bus
