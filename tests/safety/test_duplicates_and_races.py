"""Duplicates and races (issue 4; docs/invariants.md, 3: the same event twice gives the
same final state and no error).

EventBridge delivers at least once, Lambda retries, and several containers may run at
once. The same event 50 times in sequence, the same event 50 times from 8 concurrent
containers (each its own `Clients`, as separate Lambda containers have), and a group's
events in any order: the same final state, no error, and no rule in two results'
RevokedSecurityGroupRules (the container that loses a race finds the rule `gone`).
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from support.emulator import FakeLambdaContext, create_group
from support.estate import DENYLIST, LEGITIMATE, OFFENDING, live_rule_ids
from support.figures import record
from support.samples import authorize_egress, pointed

from egress_guard import handler
from egress_guard.aws import Clients
from egress_guard.service import handle

pytestmark = pytest.mark.integration

REPEATS = 50
WORKERS = 8


class NullMetrics:
    """Stands in for Powertools' Metrics, whose metric store is shared by all instances."""

    def add_metric(self, *args: Any, **kwargs: Any) -> None:
        pass


@pytest.fixture(autouse=True)
def _denylist(monkeypatch: pytest.MonkeyPatch, unlimited_container: None) -> None:
    monkeypatch.setenv("DENYLIST", json.dumps(DENYLIST))


def revoked_ids(results: list[dict[str, Any]]) -> Counter[str]:
    return Counter(
        item["SecurityGroupRuleId"] for r in results for item in r["RevokedSecurityGroupRules"]
    )


def test_same_event_fifty_times_in_sequence(ec2: Any) -> None:
    group = create_group(ec2, [*OFFENDING, *LEGITIMATE], keep_default_egress=False)
    offending, legitimate = set(group.rule_ids[:3]), set(group.rule_ids[3:])
    event = authorize_egress(group.group_id, *group.rule_ids)

    results = [handler.lambda_handler(event, FakeLambdaContext()) for _ in range(REPEATS)]

    assert all(r["Return"] is True for r in results)
    assert revoked_ids(results) == Counter(dict.fromkeys(offending, 1))
    assert all(r["Findings"] == [] for r in results[1:])  # nothing left to do, no error
    assert live_rule_ids(ec2, [group.group_id]) == legitimate


@pytest.mark.slow
def test_same_event_fifty_times_from_eight_concurrent_containers(
    ec2: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    groups = [
        create_group(ec2, [*OFFENDING, *LEGITIMATE], keep_default_egress=False) for _ in range(3)
    ]
    offending = {rid for g in groups for rid in g.rule_ids[:3]}
    legitimate = {rid for g in groups for rid in g.rule_ids[3:]}
    # One event naming all three groups' rules would be three events; a Security Hub
    # finding per group, each delivered 50 times, shuffled, is closer to real life.
    events = [pointed("securityhub-finding-imported.json", g.group_id) for g in groups] * REPEATS
    random.Random(4).shuffle(events)
    containers = threading.local()
    start = threading.Barrier(WORKERS)

    def invoke(event: dict[str, Any]) -> dict[str, Any] | BaseException:
        if not hasattr(containers, "clients"):  # each worker thread is one container
            containers.clients = Clients()
            start.wait(timeout=30)  # all containers warm, then race
        try:
            return handle(event, containers.clients, NullMetrics())  # type: ignore[arg-type]
        except Exception as exc:  # every exception is a failure of this test
            return exc

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        outcomes = list(pool.map(invoke, events))

    errors = [o for o in outcomes if isinstance(o, BaseException)]
    results = [o for o in outcomes if not isinstance(o, BaseException)]
    counts = revoked_ids(results)
    actions = Counter(f["Action"] for r in results for f in r["Findings"])
    record(
        "test_same_event_fifty_times_from_eight_concurrent_containers",
        {
            "invocations": len(events),
            "errors": len(errors),
            "rules_revoked": sum(counts.values()),
            "findings_gone": actions["gone"],
        },
    )
    assert errors == []
    assert all(r["Return"] is True for r in results)
    assert counts == Counter(dict.fromkeys(offending, 1))  # once each, never twice
    assert set(actions) <= {"revoked", "gone"}
    assert live_rule_ids(ec2, [g.group_id for g in groups]) == legitimate


@pytest.mark.parametrize("seed", range(4))
def test_events_for_one_group_in_any_order_give_the_same_state(seed: int, ec2: Any) -> None:
    """A rule added offending then made legitimate, and one added legitimate then made
    offending: whatever order the four events arrive in, the live state decides."""
    group = create_group(ec2, [], keep_default_egress=False)
    smtp, https = (
        {"IpProtocol": "tcp", "FromPort": 25, "ToPort": 25, "CidrIpv4": "0.0.0.0/0"},
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIpv4": "0.0.0.0/0"},
    )
    rule_a = _authorize(ec2, group.group_id, smtp)  # offending when added...
    rule_b = _authorize(ec2, group.group_id, https)  # legitimate when added...
    _modify(ec2, group.group_id, rule_a, https)  # ...then made legitimate
    _modify(ec2, group.group_id, rule_b, smtp)  # ...then made offending
    events = [
        authorize_egress(group.group_id, rule_a, event_id="add-a"),
        authorize_egress(group.group_id, rule_b, event_id="add-b"),
        _modify_event(group.group_id, rule_a, https, "modify-a"),
        _modify_event(group.group_id, rule_b, smtp, "modify-b"),
    ]
    random.Random(seed).shuffle(events)

    results = [handler.lambda_handler(e, FakeLambdaContext()) for e in events]

    assert all(r["Return"] is True for r in results)
    assert revoked_ids(results) == Counter({rule_b: 1})
    assert live_rule_ids(ec2, [group.group_id]) == {rule_a}


def _authorize(ec2: Any, group_id: str, rule: dict[str, Any]) -> str:
    permission = {
        "IpProtocol": rule["IpProtocol"],
        "FromPort": rule["FromPort"],
        "ToPort": rule["ToPort"],
        "IpRanges": [{"CidrIp": rule["CidrIpv4"]}],
    }
    answer = ec2.authorize_security_group_egress(GroupId=group_id, IpPermissions=[permission])
    return str(answer["SecurityGroupRules"][0]["SecurityGroupRuleId"])


def _modify(ec2: Any, group_id: str, rule_id: str, rule: dict[str, Any]) -> None:
    ec2.modify_security_group_rules(
        GroupId=group_id,
        SecurityGroupRules=[{"SecurityGroupRuleId": rule_id, "SecurityGroupRule": rule}],
    )


def _modify_event(group_id: str, rule_id: str, rule: dict[str, Any], event_id: str) -> Any:
    event = pointed("cloudtrail-modify-security-group-rules.json", group_id, (rule_id,))
    event["id"] = event_id
    request = event["detail"]["requestParameters"]["ModifySecurityGroupRulesRequest"]
    request["SecurityGroupRule"]["SecurityGroupRule"] = dict(rule)
    return event
