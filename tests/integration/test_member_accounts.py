"""Events from other accounts (docs/configuration.md): acted on through MEMBER_ROLE_NAME.

moto's STS hands out credentials of the role's account, and that account sees only its
own resources: the same separation as AWS.
"""

from __future__ import annotations

from typing import Any

import pytest
from support.egress import use_denylist
from support.emulator import create_group
from support.org import MEMBER, ROLE
from support.samples import authorize_egress

from egress_guard import handler

pytestmark = pytest.mark.integration

DENY_SMTP = {"version": 1, "deny": [{"id": "smtp", "ports": "25"}]}
SMTP = {"IpProtocol": "tcp", "Port": 25, "CidrIpv4": "0.0.0.0/0"}


@pytest.fixture(autouse=True)
def _denylist(monkeypatch: pytest.MonkeyPatch, fresh_container: None) -> None:
    use_denylist(monkeypatch, DENY_SMTP)


def member_event(group_id: str, *rule_ids: str) -> dict[str, Any]:
    event = authorize_egress(group_id, *rule_ids)
    event["account"] = event["detail"]["recipientAccountId"] = MEMBER
    return event


def test_event_from_a_member_account_is_remediated_there_through_the_member_role(
    member_ec2: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEMBER_ROLE_NAME", ROLE)
    group = create_group(member_ec2, [SMTP], keep_default_egress=False)

    result = handler.lambda_handler(member_event(group.group_id, *group.rule_ids), lambda_context)

    live = member_ec2.describe_security_group_rules(
        Filters=[{"Name": "group-id", "Values": [group.group_id]}]
    )["SecurityGroupRules"]
    assert (result["Account"], live) == (MEMBER, [])
    assert [f["Action"] for f in result["Findings"]] == ["revoked"]


def test_member_account_event_never_touches_the_functions_own_account(
    member_ec2: Any, ec2: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The member's group id names nothing in the function's account."""
    monkeypatch.setenv("MEMBER_ROLE_NAME", ROLE)
    own = create_group(ec2, [SMTP], keep_default_egress=False)

    handler.lambda_handler(member_event(own.group_id, *own.rule_ids), lambda_context)

    live = ec2.describe_security_group_rules(
        Filters=[{"Name": "group-id", "Values": [own.group_id]}]
    )
    assert [r["SecurityGroupRuleId"] for r in live["SecurityGroupRules"]] == list(own.rule_ids)
