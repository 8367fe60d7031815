"""Config rule invocations and Security Hub findings from member accounts (README
"Config and Security Hub across accounts").

- An organisation Config rule runs in each member and invokes the central function with
  the member's event: the function acts there through the member role, and answers
  PutEvaluations with the member's credentials (the token's account), not its own.
- A Security Hub batch whose findings span accounts is split per place: each place is
  remediated there, its findings are updated there, and one merged result comes back.

Which account made a call is read from the request's access key: moto's STS hands out a
key per AssumeRole and answers GetCallerIdentity for it with the role's account.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import urllib.parse
from typing import Any

import boto3
import pytest
from support.egress import egress_rules, use_denylist
from support.emulator import ACCOUNT_ID, REGION, create_group
from support.org import MEMBER, ROLE
from support.proxy import Forward, Proxy, Request, Response, SecurityHubUpdates
from support.samples import pointed

from egress_guard import handler

pytestmark = pytest.mark.integration

SMTP = {"IpProtocol": "tcp", "Port": 25, "CidrIpv4": "0.0.0.0/0"}
DENY_SMTP = {
    "version": 1,
    "deny": [{"id": "smtp-out", "protocol": "tcp", "ports": "25", "cidr": ["0.0.0.0/0"]}],
}


@pytest.fixture(autouse=True)
def central_function(monkeypatch: pytest.MonkeyPatch, fresh_container: None) -> None:
    use_denylist(monkeypatch, DENY_SMTP)
    monkeypatch.setenv("MEMBER_ROLE_NAME", ROLE)


def account_of(request: Request, endpoint: str) -> str:
    """The account whose credentials signed `request`."""
    credential = request.headers.get("authorization", "").split("Credential=", 1)[1]
    key = credential.split("/", 1)[0]
    sts = boto3.client(
        "sts",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key="unused",
    )
    return str(sts.get_caller_identity()["Account"])


# --- Config ------------------------------------------------------------------------------------


def member_config_invocation(group_id: str) -> dict[str, Any]:
    """The sample invocation as a member's organisation rule sends it: every account id
    the member's, in the invoking event too."""
    text = json.dumps(pointed("config-rule-invocation-change.json", group_id))
    return dict(json.loads(text.replace(ACCOUNT_ID, MEMBER)))


def test_a_member_config_rule_is_answered_with_the_members_credentials(
    proxy: Proxy, aws_env: str, member_ec2: Any, lambda_context: Any
) -> None:
    group = create_group(member_ec2, [SMTP], keep_default_egress=False)
    answered: list[tuple[str, dict[str, Any]]] = []

    def put_evaluations(request: Request, forward: Forward) -> Response:
        body = json.loads(request.body)
        answered.append((account_of(request, aws_env), body))
        # moto answers PutEvaluations only in TestMode (MOTO_NOTES.md).
        test_mode = json.dumps({**body, "TestMode": True}).encode()
        return forward(dataclasses.replace(request, body=test_mode))

    proxy.on("PutEvaluations", put_evaluations)

    result = handler.lambda_handler(member_config_invocation(group.group_id), lambda_context)

    assert egress_rules(member_ec2, group.group_id) == []
    assert result["Account"] == MEMBER
    [(account, body)] = answered
    assert account == MEMBER
    assert [(e["ComplianceResourceId"], e["ComplianceType"]) for e in body["Evaluations"]] == [
        (group.group_id, "COMPLIANT")
    ]


# --- Security Hub ------------------------------------------------------------------------------


class SignedHubUpdates(SecurityHubUpdates):
    """`SecurityHubUpdates`, also recording which account signed each update."""

    def __init__(self, endpoint: str) -> None:
        super().__init__()
        self.endpoint = endpoint
        self.accounts: list[str] = []

    def __call__(self, request: Request, forward: Forward) -> Response:
        path = urllib.parse.urlsplit(request.path).path
        if request.method == "PATCH" and path == self.PATH:
            self.accounts.append(account_of(request, self.endpoint))
        return super().__call__(request, forward)


def two_account_batch(own_group: str, member_group: str) -> dict[str, Any]:
    """An administrator account's "Findings - Imported" batch: one finding of its own
    account, one of a member's."""
    event = pointed("securityhub-finding-imported.json", own_group)
    own = event["detail"]["findings"][0]
    theirs = json.loads(
        json.dumps(own).replace(ACCOUNT_ID, MEMBER).replace(own_group, member_group)
    )
    theirs["Id"] = own["Id"].replace(ACCOUNT_ID, MEMBER) + "-member"
    event["detail"]["findings"] = [own, copy.deepcopy(theirs)]
    return dict(event)


def test_a_batch_spanning_two_accounts_is_remediated_and_updated_in_each(
    proxy: Proxy, aws_env: str, ec2: Any, member_ec2: Any, lambda_context: Any
) -> None:
    hub = SignedHubUpdates(aws_env)
    proxy.on("*", hub)
    own = create_group(ec2, [SMTP], keep_default_egress=False)
    theirs = create_group(member_ec2, [SMTP], keep_default_egress=False)
    event = two_account_batch(own.group_id, theirs.group_id)

    merged = handler.lambda_handler(event, lambda_context)

    assert egress_rules(ec2, own.group_id) == []
    assert egress_rules(member_ec2, theirs.group_id) == []
    assert [(p["Account"], p["Region"], p["Return"]) for p in merged["Places"]] == [
        (ACCOUNT_ID, REGION, True),
        (MEMBER, REGION, True),
    ]
    assert merged["Totals"]["RulesRevoked"] == 2
    updated = {
        account: [(i["Id"], r["Workflow"]["Status"]) for i in r["FindingIdentifiers"]]
        for account, r in zip(hub.accounts, hub.requests, strict=True)
    }
    findings = event["detail"]["findings"]
    assert updated == {
        ACCOUNT_ID: [(findings[0]["Id"], "RESOLVED")],
        MEMBER: [(findings[1]["Id"], "RESOLVED")],
    }


def test_a_place_of_the_batch_that_cannot_be_entered_fails_only_itself(
    proxy: Proxy, aws_env: str, ec2: Any, member_ec2: Any, lambda_context: Any, monkeypatch: Any
) -> None:
    """Without MEMBER_ROLE_NAME the member's place is refused; the own place is still done,
    and the invocation fails at the end (Lambda's retry and failure destination see it)."""
    from egress_guard.service import PlacesFailed

    monkeypatch.delenv("MEMBER_ROLE_NAME")
    proxy.on("*", SecurityHubUpdates())
    own = create_group(ec2, [SMTP], keep_default_egress=False)
    theirs = create_group(member_ec2, [SMTP], keep_default_egress=False)

    with pytest.raises(PlacesFailed) as raised:
        handler.lambda_handler(two_account_batch(own.group_id, theirs.group_id), lambda_context)

    places = {p["Account"]: p for p in raised.value.output["Places"]}
    assert egress_rules(ec2, own.group_id) == []
    assert len(egress_rules(member_ec2, theirs.group_id)) == 1
    assert places[ACCOUNT_ID]["Return"] is True
    assert "MEMBER_ROLE_NAME is not set" in places[MEMBER]["Error"]
