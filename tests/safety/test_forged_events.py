"""Forged events (issue 4; docs/invocation.md, step 2: a forged or out-of-date event can
never lead to revoking a rule the denylist does not make offending).

Every sample of events/ that names a group says it needs action: it claims offending
egress (tcp/25 or all traffic to 0.0.0.0/0 in CloudTrail request parameters and rule
sets, a legacy record's ipPermissions, a Config item's ipPermissionsEgress, a manual
request by IpPermissions), a new group's default rule, a NON_COMPLIANT evaluation or a
failed Security Hub finding. Each is pointed at a
group whose live rules are all legitimate: nothing may be written, nothing reported
revoked. And every event naming another account is refused, with no AWS call at all,
unless MEMBER_ROLE_NAME is configured.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from support.emulator import FakeLambdaContext, create_group
from support.estate import DENYLIST, LEGITIMATE, WRITE_ACTIONS, live_rule_ids
from support.proxy import Proxy, Response
from support.samples import EVENTS, SAMPLE_GROUP, SAMPLE_RULES

from egress_guard import handler
from egress_guard.events import parse_event
from egress_guard.service import AccountRefused

pytestmark = pytest.mark.integration

OTHER_ACCOUNT = "210987654321"
CONFIG_ACCEPTS = Response(
    200, {"content-type": "application/x-amz-json-1.1"}, b'{"FailedEvaluations": []}'
)


def _names(*, sweeps: bool) -> list[str]:
    names = []
    for path in sorted(EVENTS.glob("*.json")):
        targets = parse_event(json.loads(path.read_text()))
        if targets.groups or (sweeps and targets.sweep):
            names.append(path.name)
    return names


GROUP_SAMPLES = _names(sweeps=False)
ACCOUNT_SAMPLES = [
    n for n in _names(sweeps=True) if OTHER_ACCOUNT not in n and "manual" not in n
]  # manual requests name no account: the function's own


def point(name: str, group_id: str, rule_ids: tuple[str, ...] = (), account: str = "") -> Any:
    text = (EVENTS / name).read_text().replace(SAMPLE_GROUP, group_id)
    for placeholder, live in zip(SAMPLE_RULES, rule_ids, strict=False):
        text = text.replace(placeholder, live)
    if account:
        text = text.replace("123456789012", account)
    return json.loads(text)


@pytest.fixture
def world(
    proxy: Proxy, ec2: Any, unlimited_container: None, monkeypatch: pytest.MonkeyPatch
) -> Proxy:
    monkeypatch.setenv("DENYLIST", json.dumps(DENYLIST))
    proxy.on("PutEvaluations", lambda request, forward: CONFIG_ACCEPTS)
    return proxy


@pytest.mark.parametrize("name", GROUP_SAMPLES)
def test_claims_of_offending_egress_for_a_compliant_group_revoke_nothing(
    name: str, world: Proxy, ec2: Any
) -> None:
    group = create_group(ec2, LEGITIMATE, keep_default_egress=False)
    event = point(name, group.group_id, group.rule_ids)

    result = handler.lambda_handler(event, FakeLambdaContext())

    assert result["Return"] is True
    assert result["RevokedSecurityGroupRules"] == []
    assert result["Findings"] == []
    assert not WRITE_ACTIONS & set(world.actions())
    assert live_rule_ids(ec2, [group.group_id]) == set(group.rule_ids)


def test_forged_rule_properties_in_a_legacy_record_match_no_live_rule(
    world: Proxy, ec2: Any
) -> None:
    """A pre-2021 record has no rule ids: the function looks for live rules with the
    claimed properties (all traffic to 0.0.0.0/0 and ::/0). None exists: nothing to do,
    and the claim is reported as EC2 would (UnknownIpPermissions)."""
    group = create_group(ec2, LEGITIMATE, keep_default_egress=False)
    event = point("cloudtrail-authorize-egress-legacy-2020.json", group.group_id)

    result = handler.lambda_handler(event, FakeLambdaContext())

    assert result["Findings"] == []
    assert result["UnknownIpPermissions"]
    assert not WRITE_ACTIONS & set(world.actions())
    assert live_rule_ids(ec2, [group.group_id]) == set(group.rule_ids)


def test_forged_config_item_does_not_stand_for_the_live_rules(world: Proxy, ec2: Any) -> None:
    """The configuration item lists an all-traffic rule and tcp/25 to 0.0.0.0/0; the live
    group has one offending rule the item does not mention: that one alone is revoked."""
    offending = {
        "IpProtocol": "udp",
        "FromPort": 1000,
        "ToPort": 2000,
        "CidrIpv4": "203.0.113.0/24",
    }
    group = create_group(ec2, [*LEGITIMATE, offending], keep_default_egress=False)
    event = point("config-configuration-item-change.json", group.group_id)

    result = handler.lambda_handler(event, FakeLambdaContext())

    assert [r["SecurityGroupRuleId"] for r in result["RevokedSecurityGroupRules"]] == [
        group.rule_ids[-1]
    ]
    assert live_rule_ids(ec2, [group.group_id]) == set(group.rule_ids[:-1])


@pytest.mark.parametrize("name", ACCOUNT_SAMPLES)
def test_event_for_another_account_without_member_role_is_refused(
    name: str, world: Proxy, ec2: Any
) -> None:
    group = create_group(ec2, LEGITIMATE, keep_default_egress=False)
    world.clear_calls()
    event = point(name, group.group_id, group.rule_ids, account=OTHER_ACCOUNT)

    with pytest.raises(AccountRefused, match=OTHER_ACCOUNT):
        handler.lambda_handler(event, FakeLambdaContext())

    assert world.actions() == []  # not one AWS call, let alone a write
