"""Events from other accounts (docs/configuration.md): acted on through MEMBER_ROLE_NAME.

moto's STS hands out credentials of the role's account, and that account sees only its
own resources: the same separation as AWS.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from support.emulator import REGION, create_group
from support.samples import authorize_egress

from egress_guard import handler
from egress_guard.aws import Clients

pytestmark = pytest.mark.integration

MEMBER = "210987654321"
ROLE = "egress-guard-member"
SMTP = {"IpProtocol": "tcp", "Port": 25, "CidrIpv4": "0.0.0.0/0"}


@pytest.fixture(autouse=True)
def cold_container(monkeypatch: pytest.MonkeyPatch, aws_env: str) -> None:
    monkeypatch.setattr(handler, "clients", Clients())
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    monkeypatch.setenv(
        "DENYLIST", json.dumps({"version": 1, "deny": [{"id": "smtp", "ports": "25"}]})
    )


@pytest.fixture
def member_ec2(aws_env: str) -> Any:
    """An EC2 client acting in the member account, as its own administrators would."""
    sts = boto3.client("sts", endpoint_url=aws_env, region_name=REGION)
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{MEMBER}:role/{ROLE}", RoleSessionName="setup")[
        "Credentials"
    ]
    return boto3.client(
        "ec2",
        endpoint_url=aws_env,
        region_name=REGION,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


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
