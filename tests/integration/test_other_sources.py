"""Config, Security Hub, schedule and manual triggers, and the SNS notice (docs/event-sources.md).

Each sample of events/ is pointed at a group the emulator really has.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from support.crowd import CROWD_ENV, DENY_TCP_OUT, build_crowd
from support.egress import HTTPS, SMTP, SMTP_ONLY, egress_ids, use_denylist
from support.proxy import Proxy, Request, fail
from support.samples import pointed
from support.sns import notified

from egress_guard import handler
from egress_guard.notice import result_in_notice

pytestmark = pytest.mark.integration

WRITES = {"RevokeSecurityGroupEgress", "AuthorizeSecurityGroupEgress"}


@pytest.fixture(autouse=True)
def _denylist(monkeypatch: pytest.MonkeyPatch, fresh_container: None) -> None:
    use_denylist(monkeypatch, SMTP_ONLY)


@pytest.fixture
def config_test_mode(proxy: Any) -> list[dict[str, Any]]:
    """moto accepts PutEvaluations only with TestMode: add it, and keep what was sent."""
    sent: list[dict[str, Any]] = []

    def hook(request: Request, forward: Any) -> Any:
        body = json.loads(request.body)
        sent.extend(body["Evaluations"])
        body["TestMode"] = True
        return forward(dataclasses.replace(request, body=json.dumps(body).encode()))

    proxy.on("PutEvaluations", hook)
    return sent


def invoke(event: dict[str, Any], context: Any) -> dict[str, Any]:
    result: dict[str, Any] = handler.lambda_handler(event, context)
    return result


def created(group: Any, context: Any) -> dict[str, Any]:
    """The result for the CloudTrail event of `group`'s rules' creation."""
    return invoke(
        pointed("cloudtrail-authorize-egress.json", group.group_id, group.rule_ids), context
    )


def received(sqs: Any, queue: str) -> list[dict[str, Any]]:
    """Every notice the queue holds (each SNS envelope, parsed)."""
    out: list[dict[str, Any]] = []
    while batch := sqs.receive_message(
        QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0
    ).get("Messages", []):
        out.extend(json.loads(message["Body"]) for message in batch)
    return out


@pytest.fixture
def notice_queue(aws_env: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, str]:
    """Where the notices land: (SQS client, queue URL); NOTIFY_TOPIC_ARN is set."""
    return notified(aws_env, monkeypatch)


@pytest.mark.parametrize(
    "sample",
    [
        "config-configuration-item-change.json",
        "config-compliance-change-noncompliant.json",
        "securityhub-finding-imported.json",
        "securityhub-custom-action.json",
        "manual-revoke-ip-permissions.json",
    ],
)
def test_source_names_the_group_and_its_offending_rule_is_revoked(
    sample: str, make_group: Any, ec2: Any, lambda_context: Any
) -> None:
    group = make_group([SMTP, HTTPS], keep_default_egress=False)

    result = invoke(pointed(sample, group.group_id), lambda_context)

    assert egress_ids(ec2, group.group_id) == {group.rule_ids[1]}
    assert [f["Action"] for f in result["Findings"]] == ["revoked"]


def test_compliant_config_finding_writes_nothing(
    make_group: Any, proxy: Any, lambda_context: Any
) -> None:
    group = make_group([SMTP], keep_default_egress=False)

    result = invoke(
        pointed("config-compliance-change-compliant.json", group.group_id), lambda_context
    )

    assert (result["Findings"], proxy.actions()) == ([], [])


@pytest.mark.parametrize(
    "sample",
    ["config-rule-invocation-change.json", "config-rule-invocation-oversized.json"],
    ids=["configuration-item", "oversized-item-read-from-the-group-itself"],
)
def test_config_rule_invocation_revokes_then_reports_compliant(
    sample: str,
    make_group: Any,
    ec2: Any,
    config_test_mode: list[dict[str, Any]],
    lambda_context: Any,
) -> None:
    group = make_group([SMTP], keep_default_egress=False)

    invoke(pointed(sample, group.group_id), lambda_context)

    assert egress_ids(ec2, group.group_id) == set()
    assert [(e["ComplianceResourceId"], e["ComplianceType"]) for e in config_test_mode] == [
        (group.group_id, "COMPLIANT")
    ]


def test_config_rule_invocation_reports_noncompliant_while_an_exempt_rule_remains(
    make_group: Any, config_test_mode: list[dict[str, Any]], lambda_context: Any
) -> None:
    group = make_group([SMTP], keep_default_egress=False, tags={"egress-guard:exempt": "true"})

    invoke(pointed("config-rule-invocation-change.json", group.group_id), lambda_context)

    assert [e["ComplianceType"] for e in config_test_mode] == ["NON_COMPLIANT"]
    assert "smtp-out" in config_test_mode[0]["Annotation"]


def test_scheduled_config_invocation_sweeps_and_reports_every_group(
    make_group: Any, ec2: Any, config_test_mode: list[dict[str, Any]], lambda_context: Any
) -> None:
    offending = make_group([SMTP], keep_default_egress=False)
    clean = make_group([HTTPS], keep_default_egress=False)

    invoke(pointed("config-rule-invocation-scheduled.json", offending.group_id), lambda_context)

    verdicts = {e["ComplianceResourceId"]: e["ComplianceType"] for e in config_test_mode}
    assert (verdicts[offending.group_id], verdicts[clean.group_id]) == ("COMPLIANT", "COMPLIANT")
    assert egress_ids(ec2, offending.group_id) == set()


def test_scheduled_sweep_revokes_across_every_group(
    make_group: Any, ec2: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The sweep also meets other tests' groups and the VPCs' default groups on the shared
    # emulator: over the sweep's share limit, which test_limits_and_emulator.py is about.
    monkeypatch.setenv("MAX_REVOCATIONS_PERCENT", "0")
    groups = [make_group([SMTP, HTTPS], keep_default_egress=False) for _ in range(5)]

    result = invoke(pointed("scheduled-event.json", groups[0].group_id), lambda_context)

    assert all(egress_ids(ec2, g.group_id) == {g.rule_ids[1]} for g in groups)
    assert result["Return"] is True


def test_archived_security_hub_finding_is_skipped(
    make_group: Any, proxy: Any, lambda_context: Any
) -> None:
    group = make_group([SMTP], keep_default_egress=False)
    event = pointed("securityhub-finding-imported.json", group.group_id)
    event["detail"]["findings"][0]["RecordState"] = "ARCHIVED"

    result = invoke(event, lambda_context)

    assert result["Findings"] == []
    assert not WRITES & set(proxy.actions())


def test_manual_request_by_rule_id_revokes_the_named_rule(
    make_group: Any, ec2: Any, lambda_context: Any
) -> None:
    group = make_group([SMTP, {**SMTP, "CidrIpv4": "198.51.100.0/24"}], keep_default_egress=False)

    invoke(pointed("manual-revoke.json", group.group_id, group.rule_ids[:1]), lambda_context)

    assert egress_ids(ec2, group.group_id) == {group.rule_ids[1]}


def test_manual_request_naming_an_allowed_rule_revokes_nothing(
    make_group: Any, ec2: Any, proxy: Any, lambda_context: Any
) -> None:
    group = make_group([HTTPS], keep_default_egress=False)

    result = invoke(pointed("manual-revoke.json", group.group_id, group.rule_ids), lambda_context)

    assert (result["Return"], result["Findings"]) == (True, [])
    assert not WRITES & set(proxy.actions())


def test_manual_ip_permissions_matching_no_rule_come_back_as_unknown(
    make_group: Any, lambda_context: Any
) -> None:
    group = make_group([SMTP], keep_default_egress=False)

    result = invoke(pointed("manual-revoke-ip-permissions.json", group.group_id), lambda_context)

    assert result["UnknownIpPermissions"] == [
        {"IpProtocol": "tcp", "FromPort": 25, "ToPort": 25, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}
    ]


def test_manual_dry_run_reports_would_revoke(
    make_group: Any, ec2: Any, lambda_context: Any
) -> None:
    group = make_group([SMTP], keep_default_egress=False)
    event = pointed("manual-revoke.json", group.group_id, group.rule_ids)
    event["DryRun"] = True

    result = invoke(event, lambda_context)

    assert egress_ids(ec2, group.group_id) == set(group.rule_ids)
    assert (result["DryRun"], [f["Action"] for f in result["Findings"]]) == (True, ["would-revoke"])


def test_revocation_is_announced_on_the_topic_with_filterable_attributes(
    make_group: Any, notice_queue: tuple[Any, str], lambda_context: Any
) -> None:
    group = make_group([SMTP], keep_default_egress=False)

    created(group, lambda_context)

    [notice] = received(*notice_queue)
    assert notice["Subject"].startswith(
        f"egress-guard revoked tcp/25 -> 0.0.0.0/0 on {group.group_id} "
    )
    assert notice["Subject"].endswith(" in 123456789012/us-east-1")
    assert (
        result_in_notice(notice["Message"])["RevokedSecurityGroupRules"][0]["GroupId"]
        == group.group_id
    )
    assert notice["MessageAttributes"]["group"]["Value"] == group.group_id


def test_clean_event_sends_no_notice(
    make_group: Any, notice_queue: tuple[Any, str], lambda_context: Any
) -> None:
    created(make_group([HTTPS], keep_default_egress=False), lambda_context)

    assert received(*notice_queue) == []


def test_notice_that_cannot_be_published_never_undoes_the_remediation(
    make_group: Any, ec2: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:no-such-topic")
    group = make_group([SMTP], keep_default_egress=False)

    result = created(group, lambda_context)

    assert (result["Return"], egress_ids(ec2, group.group_id)) == (True, set())


SNS_LIMIT = 262_144  # bytes: body, subject and attributes together


def published_bytes(notice: dict[str, Any]) -> int:
    """What SNS counts against its limit, in UTF-8 bytes (moto counts the body's
    characters only, so the tests count for themselves)."""
    attributes = notice.get("MessageAttributes", {})
    return sum(
        len(text.encode("utf-8"))
        for text in (
            notice["Message"],
            notice.get("Subject") or "",
            *(name + value["Type"] + value["Value"] for name, value in attributes.items()),
        )
    )


def named_rules(notices: list[dict[str, Any]]) -> set[str]:
    return {
        rule["SecurityGroupRuleId"]
        for notice in notices
        for rule in result_in_notice(notice["Message"])["RevokedSecurityGroupRules"]
    }


@pytest.fixture
def crowd_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DENYLIST", json.dumps(DENY_TCP_OUT))
    for name, value in CROWD_ENV.items():
        monkeypatch.setenv(name, value)


def test_a_small_result_is_still_one_notice_without_part_numbers(
    make_group: Any, notice_queue: tuple[Any, str], lambda_context: Any
) -> None:
    sqs, queue = notice_queue
    group = make_group([SMTP], keep_default_egress=False)

    result = created(group, lambda_context)

    [notice] = received(sqs, queue)
    assert result_in_notice(notice["Message"]) == result
    assert set(notice["MessageAttributes"]) == {"account", "region", "group", "mode"}
    assert "part" not in notice["Subject"]


@pytest.mark.slow
def test_a_sweep_too_large_for_one_message_names_every_revoked_rule_in_numbered_notices(
    crowd_settings: None,
    ec2: Any,
    notice_queue: tuple[Any, str],
    lambda_context: Any,
) -> None:
    sqs, queue = notice_queue
    crowd = build_crowd(ec2, 1000)

    result = invoke(pointed("scheduled-event.json", "sg-00000000"), lambda_context)

    revoked = {rule["SecurityGroupRuleId"] for rule in result["RevokedSecurityGroupRules"]}
    assert crowd <= revoked
    notices = received(sqs, queue)
    total = len(notices)
    assert total > 1
    numbers = sorted(int(n["MessageAttributes"]["part"]["Value"]) for n in notices)
    assert numbers == list(range(1, total + 1))
    for notice in notices:
        part = notice["MessageAttributes"]["part"]["Value"]
        assert notice["MessageAttributes"]["parts"]["Value"] == str(total)
        assert notice["MessageAttributes"]["mode"]["Value"] == "enforce"
        assert notice["Subject"].startswith("egress-guard revoked ")
        assert notice["Subject"].endswith(f" (part {part} of {total})")
        assert len(notice["Subject"]) <= 100
        assert published_bytes(notice) < SNS_LIMIT
    assert named_rules(notices) == revoked


def test_a_part_that_cannot_be_published_does_not_stop_the_others(
    crowd_settings: None,
    ec2: Any,
    notice_queue: tuple[Any, str],
    proxy: Proxy,
    lambda_context: Any,
) -> None:
    sqs, queue = notice_queue
    crowd = build_crowd(ec2, 400)
    proxy.on("Publish", fail("InvalidParameter", "Invalid parameter: Message too long", times=1))

    result = invoke(pointed("scheduled-event.json", "sg-00000000"), lambda_context)

    assert result["Return"] is True
    assert not egress_ids_of(ec2, crowd)
    publishes = [c for c in proxy.calls if c.action == "Publish"]
    notices = received(sqs, queue)
    assert len(publishes) == len(notices) + 1 >= 2
    parts = {n["MessageAttributes"]["part"]["Value"] for n in notices}
    assert parts == {str(k) for k in range(2, len(publishes) + 1)}


def egress_ids_of(ec2: Any, rule_ids: set[str]) -> set[str]:
    """Which of these rules still exist."""
    rules = ec2.describe_security_group_rules()["SecurityGroupRules"]
    return {r["SecurityGroupRuleId"] for r in rules} & rule_ids
