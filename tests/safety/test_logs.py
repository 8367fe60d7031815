"""What the logs and the result keep (issue 4: "Logs never contain credentials or whole
events at INFO; the result never loses a revoked rule's definition").

The log lines are caught as CloudWatch would get them: the Powertools JSON the
function's logger writes, through its own formatter. The credentials are canaries: the
container's (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN) and those
STS hands out for a member role; none may appear in any line, at INFO or DEBUG, on the
happy path or any failure path. An event's fields the function does not use (a canary)
never reach the log at INFO. Every revoked rule comes back in the result
with a definition that re-creates it exactly, and the result log line carries the same.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from support.crowd import CROWD_ENV, DENY_TCP_OUT, build_crowd
from support.egress import SMTP, described
from support.emulator import ACCOUNT_ID, FakeLambdaContext, create_group
from support.estate import DENYLIST
from support.logs import FunctionLog
from support.proxy import Proxy, fail
from support.samples import authorize_egress, pointed

from egress_guard import handler
from egress_guard.service import RemediationFailed

pytestmark = pytest.mark.integration

SECRET = "canarySecretKey/0123456789abcdefghijklmnopqrstuv"
TOKEN = "canarySessionToken0123456789+abcdefghijklmnopqrstuvwxyz/ABCDEFG=="
KEY_ID = "AKIACANARY1234567890"
# In a field of the event no code needs. (Not the user agent: that is the actor's, which
# the result and the decision lines report on purpose, docs/result.md.)
USER_AGENT = "canary-user-agent/7f3a9c"


@pytest.fixture
def log(
    proxy: Proxy,
    unlimited_container: None,
    function_log: FunctionLog,
    monkeypatch: pytest.MonkeyPatch,
) -> FunctionLog:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    monkeypatch.setenv("DENYLIST", json.dumps(DENYLIST))
    return function_log


def run(event: dict[str, Any]) -> dict[str, Any] | BaseException:
    try:
        return handler.lambda_handler(event, FakeLambdaContext())
    except Exception as exc:  # the failure paths are under test too
        return exc


def assert_no_secrets(text: str, *secrets: str) -> None:
    for secret in (SECRET, TOKEN, *secrets):
        assert secret not in text
        assert secret[:16] not in text  # not even a prefix


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_no_credentials_in_any_log_line(
    level: str, log: FunctionLog, proxy: Proxy, ec2: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler.logger.setLevel(level)
    monkeypatch.setattr(handler.logger, "setLevel", lambda *_: None)  # keep it for the test
    try:
        revoked = create_group(ec2, [SMTP], keep_default_egress=False)
        refused = create_group(ec2, [SMTP], keep_default_egress=False)
        outcomes = [run(authorize_egress(revoked.group_id, *revoked.rule_ids))]
        proxy.on("RevokeSecurityGroupEgress", fail("UnauthorizedOperation", "not allowed"))
        outcomes.append(run(authorize_egress(refused.group_id, *refused.rule_ids)))
        other = authorize_egress(refused.group_id, *refused.rule_ids)
        other["account"] = other["detail"]["recipientAccountId"] = "210987654321"
        outcomes.append(run(other))  # refused: no member role
        monkeypatch.setenv("DENYLIST", '{"version": 1, "deny": [{"id": "x", "ports": 1e9}]}')
        outcomes.append(run(authorize_egress(refused.group_id, *refused.rule_ids)))
    finally:
        handler.logger._logger.setLevel(logging.INFO)

    kinds = [type(o).__name__ for o in outcomes]
    assert kinds == ["dict", "RemediationFailed", "AccountRefused", "DenylistError"]
    text = log.text()
    assert text.count("\n") >= 4
    assert_no_secrets(text)
    assert all(SECRET not in str(o) and TOKEN not in str(o) for o in outcomes)


def test_member_role_credentials_never_logged(
    log: FunctionLog, proxy: Proxy, ec2: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Acting in another account: STS hands out credentials; they stay out of the log."""
    monkeypatch.setenv("MEMBER_ROLE_NAME", "egress-guard-member")
    group = create_group(ec2, [], keep_default_egress=False)
    event = authorize_egress(group.group_id, "sgr-0123456789abcdef0")
    event["account"] = event["detail"]["recipientAccountId"] = "210987654321"

    result = run(event)

    assert isinstance(result, dict)
    handed_out = [c for c in proxy.calls if c.action == "AssumeRole"]
    assert handed_out, "the member role was not assumed"
    body = handed_out[0].response.text
    secret = body.split("<SecretAccessKey>")[1].split("</SecretAccessKey>")[0]
    token = body.split("<SessionToken>")[1].split("</SessionToken>")[0]
    assert_no_secrets(log.text(), secret, token)
    assert_no_secrets(json.dumps(result), secret, token)


@pytest.mark.parametrize(
    "sample",
    [
        "cloudtrail-authorize-egress.json",
        "config-configuration-item-change.json",
        "securityhub-finding-imported.json",
        "cloudtrail-authorize-ingress.json",
        "cloudtrail-failed-call.json",
    ],
)
def test_whole_event_never_logged_at_info(
    sample: str, log: FunctionLog, ec2: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    group = create_group(ec2, [SMTP], keep_default_egress=False)
    event = pointed(sample, group.group_id, group.rule_ids)
    event["canary"] = USER_AGENT
    if isinstance(event.get("detail"), dict):
        event["detail"]["additionalEventData"] = {"canary": USER_AGENT}

    run(event)

    records = log.records()
    assert records, "nothing logged"
    assert all(r["level"] != "DEBUG" for r in records)
    assert USER_AGENT not in log.text()


# (moto refuses rules with protocol numbers such as 50, so none is here.)
RULES = [
    {"IpProtocol": "tcp", "FromPort": 25, "ToPort": 25,
     "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "mail relay (ticket SEC-1)"}]},
    {"IpProtocol": "udp", "FromPort": 1000, "ToPort": 2000,
     "Ipv6Ranges": [{"CidrIpv6": "2001:db8::/32", "Description": "v6"}]},
    {"IpProtocol": "icmp", "FromPort": 8, "ToPort": 0, "IpRanges": [{"CidrIp": "203.0.113.0/24"}]},
    {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "198.51.100.0/24"}]},
    {"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535,
     "IpRanges": [{"CidrIp": "203.0.113.0/25"}]},
]  # fmt: skip
DENY_ALL_OF_THEM = {
    "version": 1,
    "deny": [
        {"id": "internet", "cidr": ["0.0.0.0/0", "::/0"]},
    ],
}


def _permission(item: dict[str, Any]) -> dict[str, Any]:
    """An IpPermissions item from a RevokedSecurityGroupRule, written independently of the
    code under test."""
    permission: dict[str, Any] = {"IpProtocol": item["IpProtocol"]}
    if item["IpProtocol"] not in ("-1",) and "FromPort" in item:
        permission["FromPort"] = item["FromPort"]
        permission["ToPort"] = item["ToPort"]
    description = {"Description": item["Description"]} if "Description" in item else {}
    for key, (list_key, item_key) in {
        "CidrIpv4": ("IpRanges", "CidrIp"),
        "CidrIpv6": ("Ipv6Ranges", "CidrIpv6"),
        "PrefixListId": ("PrefixListIds", "PrefixListId"),
        "ReferencedGroupId": ("UserIdGroupPairs", "GroupId"),
    }.items():
        if key in item:
            permission[list_key] = [{item_key: item[key], **description}]
    return permission


def _comparable(rule: dict[str, Any]) -> tuple[Any, ...]:
    keys = ("IpProtocol", "FromPort", "ToPort", "CidrIpv4", "CidrIpv6", "PrefixListId",
            "Description")  # fmt: skip
    referenced = (rule.get("ReferencedGroupInfo") or {}).get("GroupId")
    return (*(rule.get(k) for k in keys), referenced, rule.get("ReferencedGroupId"))


def test_revoked_rules_come_back_exactly_from_the_result_and_its_log_line(
    log: FunctionLog, ec2: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DENYLIST", json.dumps(DENY_ALL_OF_THEM))
    peer = create_group(ec2, [], keep_default_egress=False)
    group = create_group(ec2, [], keep_default_egress=False, vpc_id=peer.vpc_id)
    permissions = [*RULES, {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                            "UserIdGroupPairs": [{"GroupId": peer.group_id}]}]  # fmt: skip
    for permission in permissions:
        ec2.authorize_security_group_egress(
            GroupId=group.group_id,
            IpPermissions=[permission],
            TagSpecifications=[
                {"ResourceType": "security-group-rule", "Tags": [{"Key": "owner", "Value": "t"}]}
            ],
        )
    before = ec2.describe_security_group_rules(
        Filters=[{"Name": "group-id", "Values": [group.group_id]}]
    )["SecurityGroupRules"]
    event = pointed("config-configuration-item-change.json", group.group_id)

    result = handler.lambda_handler(event, FakeLambdaContext(account_id=ACCOUNT_ID))

    # Everything offending is revoked (the group reference only if it is; it is not here).
    revoked = result["RevokedSecurityGroupRules"]
    assert len(revoked) == len(RULES)
    logged = [r for r in log.records() if r.get("message") == "result"]
    assert logged[-1]["result"]["RevokedSecurityGroupRules"] == revoked
    assert all(f.get("Tags") == [{"Key": "owner", "Value": "t"}] for f in result["Findings"])
    # Restore from the result alone: the same rules, field for field.
    for item in revoked:
        ec2.authorize_security_group_egress(
            GroupId=item["GroupId"], IpPermissions=[_permission(item)]
        )
    after = ec2.describe_security_group_rules(
        Filters=[{"Name": "group-id", "Values": [group.group_id]}]
    )["SecurityGroupRules"]
    assert sorted(map(_comparable, after), key=repr) == sorted(map(_comparable, before), key=repr)


def test_a_failed_revoke_keeps_the_rule_definition_in_the_result(
    log: FunctionLog, proxy: Proxy, ec2: Any
) -> None:
    """A revoke that fails may have happened all the same (its answer lost): the finding
    carries the rule's whole definition, so the result can still restore it."""
    group = create_group(ec2, [SMTP], keep_default_egress=False)
    proxy.on("RevokeSecurityGroupEgress", fail("InternalError", "boom", status=500))

    with pytest.raises(RemediationFailed) as failed:
        handler.lambda_handler(
            authorize_egress(group.group_id, *group.rule_ids), FakeLambdaContext()
        )

    (finding,) = failed.value.result.to_dict()["Findings"]
    assert finding["Action"] == "failed"
    assert finding["Rule"] == described(group.group_id, group.rule_ids[0], SMTP)
    logged = [r for r in log.records() if r.get("message") == "result"]
    assert logged[-1]["result"]["Findings"] == [finding]


CLOUDWATCH_EVENT_LIMIT = 262_144 - 26  # bytes of one log event's message


def test_a_result_too_large_for_one_log_event_is_a_summary_and_numbered_parts(
    log: FunctionLog, ec2: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DENYLIST", json.dumps(DENY_TCP_OUT))
    for name, value in CROWD_ENV.items():
        monkeypatch.setenv(name, value)
    crowd = build_crowd(ec2, 1000)
    event = pointed("scheduled-event.json", "sg-00000000")

    result = handler.lambda_handler(event, FakeLambdaContext(account_id=ACCOUNT_ID))

    text = log.text()
    assert all(len(line.encode()) < CLOUDWATCH_EVENT_LIMIT for line in text.splitlines())
    records = log.records()
    [summary] = [r for r in records if r.get("message") == "result"]
    total = summary["result"]["Parts"]
    assert total > 1
    assert summary["result"]["Return"] is True
    assert summary["result"]["EventId"] == result["EventId"]
    assert summary["result"]["Counts"]["RevokedSecurityGroupRules"] == len(
        result["RevokedSecurityGroupRules"]
    )
    assert "RevokedSecurityGroupRules" not in summary["result"]  # restore reads the parts
    parts = [r for r in records if str(r.get("message", "")).startswith("result part ")]
    assert [(r["message"], r["part"], r["parts"]) for r in parts] == [
        (f"result part {k} of {total}", k, total) for k in range(1, total + 1)
    ]
    logged = [rule for r in parts for rule in r["result"]["RevokedSecurityGroupRules"]]
    assert sorted(logged, key=repr) == sorted(result["RevokedSecurityGroupRules"], key=repr)
    assert crowd <= {rule["SecurityGroupRuleId"] for rule in logged}
    findings = [f for r in parts for f in r["result"]["Findings"]]
    assert sorted(findings, key=repr) == sorted(result["Findings"], key=repr)
