"""Safe at scale (issue 11, items 1 and 2) against the emulator: the blast-radius limit and
exemptions that expire.

A bad denylist push looks like a wave of offending rules: past MAX_REVOCATIONS (or, for a
sweep, MAX_REVOCATIONS_PERCENT of the judged rules) nothing is revoked, every rule due is
reported `held`, and the invocation fails. An `egress-guard:exempt-until` tag exempts until
its moment and not a second after. The offending rules here are tcp to ::/0 under an
IPv6-only denylist, so the IPv4 all-traffic rules of the groups moto makes stay legitimate.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from support.cli import egress_cli
from support.egress import use_denylist
from support.emulator import ACCOUNT_ID, REGION, create_vpc
from support.samples import authorize_egress, sample
from support.sns import sns_to_sqs

from egress_guard import handler
from egress_guard.aws import Clients
from egress_guard.service import RemediationFailed, handle

pytestmark = pytest.mark.integration

TCP_V6_OUT = {
    "version": 1,
    "deny": [{"id": "tcp-to-internet-v6", "protocol": "tcp", "cidr": ["::/0"]}],
}
EXEMPT = "egress-guard:exempt"
UNTIL = "egress-guard:exempt-until"
COUNT_LIMIT = "40 rules due for revocation exceed MAX_REVOCATIONS=25: none revoked (held)"
MOMENT = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _denylist(monkeypatch: pytest.MonkeyPatch, fresh_container: None) -> None:
    use_denylist(monkeypatch, TCP_V6_OUT)


def offending_group(
    ec2: Any,
    count: int,
    *,
    vpc_id: str | None = None,
    tags: dict[str, str] | None = None,
    rule_tags: dict[str, str] | None = None,
    cidr: str = "::/0",
) -> tuple[str, list[str]]:
    """A group with `count` tcp egress rules to `cidr` (offending when ::/0); returns the
    group id and the rules' ids."""
    extra: dict[str, Any] = {}
    if tags:
        extra["TagSpecifications"] = [{"ResourceType": "security-group", "Tags": tag_list(tags)}]
    group_id: str = ec2.create_security_group(
        GroupName=f"wave-{uuid.uuid4().hex[:10]}",
        Description="wave",
        VpcId=vpc_id or create_vpc(ec2),
        **extra,
    )["GroupId"]
    return group_id, add_rules(ec2, group_id, count, cidr=cidr, rule_tags=rule_tags)


def add_rules(
    ec2: Any,
    group_id: str,
    count: int,
    *,
    first_port: int = 1000,
    cidr: str = "::/0",
    rule_tags: dict[str, str] | None = None,
) -> list[str]:
    """`count` tcp egress rules to `cidr` in one call (its tags on every rule); their ids,
    read back (moto's answer lists only the last permission's rules)."""
    destination = (
        {"Ipv6Ranges": [{"CidrIpv6": cidr}]} if ":" in cidr else {"IpRanges": [{"CidrIp": cidr}]}
    )
    extra: dict[str, Any] = {}
    if rule_tags:
        extra["TagSpecifications"] = [
            {"ResourceType": "security-group-rule", "Tags": tag_list(rule_tags)}
        ]
    before = live_ids(ec2, [group_id])
    ec2.authorize_security_group_egress(
        GroupId=group_id,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, **destination}
            for port in range(first_port, first_port + count)
        ],
        **extra,
    )
    made = sorted(live_ids(ec2, [group_id]) - before)
    assert len(made) == count
    return made


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def live_ids(ec2: Any, group_ids: Sequence[str]) -> set[str]:
    rules = ec2.describe_security_group_rules(
        Filters=[{"Name": "group-id", "Values": list(group_ids)}]
    )["SecurityGroupRules"]
    return {r["SecurityGroupRuleId"] for r in rules if r["IsEgress"]}


def actions(result: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for finding in result["Findings"]:
        counts[finding["Action"]] = counts.get(finding["Action"], 0) + 1
    return counts


def held_run(event: dict[str, Any], lambda_context: Any) -> dict[str, Any]:
    """The handler's result for an invocation that must fail (as Lambda sees it)."""
    with pytest.raises(RemediationFailed) as raised:
        handler.lambda_handler(event, lambda_context)
    return raised.value.result.to_dict()


def at(moment: datetime, event: dict[str, Any]) -> dict[str, Any]:
    """The invocation as the handler runs it, with its clock pinned to `moment`."""
    return handle(event, Clients(), handler.metrics, clock=lambda: moment)


# --- the limit -------------------------------------------------------------------------------


def test_an_event_naming_40_offending_rules_revokes_none_and_reports_40_held(
    ec2: Any, lambda_context: Any
) -> None:
    group_id, rule_ids = offending_group(ec2, 40)

    result = held_run(authorize_egress(group_id, *rule_ids), lambda_context)

    assert live_ids(ec2, [group_id]) >= set(rule_ids)
    assert actions(result) == {"held": 40}
    assert (result["Return"], result["RevokedSecurityGroupRules"]) == (False, [])
    assert result["Errors"] == [COUNT_LIMIT]


def test_with_max_revocations_0_the_same_event_revokes_all_40(
    ec2: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_REVOCATIONS", "0")
    group_id, rule_ids = offending_group(ec2, 40)

    result = handler.lambda_handler(authorize_egress(group_id, *rule_ids), lambda_context)

    assert live_ids(ec2, [group_id]).isdisjoint(rule_ids)
    assert actions(result) == {"revoked": 40}
    assert result["Return"] is True


def test_a_denylist_push_that_would_revoke_40_rules_is_held_and_the_cli_exits_1(
    ec2: Any,
) -> None:
    vpc_id = create_vpc(ec2)
    groups = [offending_group(ec2, 20, vpc_id=vpc_id) for _ in range(2)]
    rule_ids = {r for _, ids in groups for r in ids}

    done = egress_cli("scan", denylist=TCP_V6_OUT)

    assert done.returncode == 1, done.stderr
    assert "MAX_REVOCATIONS=25" in done.stderr
    result = json.loads(done.stdout)
    assert actions(result) == {"held": 40}
    assert result["Errors"] == [COUNT_LIMIT]
    assert live_ids(ec2, [g for g, _ in groups]) >= rule_ids


def test_max_revocations_0_on_the_command_line_revokes_the_40(ec2: Any) -> None:
    vpc_id = create_vpc(ec2)
    groups = [offending_group(ec2, 20, vpc_id=vpc_id) for _ in range(2)]
    rule_ids = {r for _, ids in groups for r in ids}

    done = egress_cli("scan", "--max-revocations", "0", denylist=TCP_V6_OUT)

    assert done.returncode == 0, done.stderr
    assert actions(json.loads(done.stdout)) == {"revoked": 40}
    assert live_ids(ec2, [g for g, _ in groups]).isdisjoint(rule_ids)


def test_report_mode_shows_held_and_asks_ec2_nothing_about_the_revoke(
    ec2: Any, proxy: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODE", "report")
    vpc_id = create_vpc(ec2)
    for _ in range(2):
        offending_group(ec2, 20, vpc_id=vpc_id)

    result = held_run(sample("scheduled-event.json"), lambda_context)

    assert actions(result) == {"held": 40}
    assert result["DryRun"] is True
    assert "RevokeSecurityGroupEgress" not in proxy.actions()


def test_a_sweep_over_the_share_of_judged_rules_is_held(ec2: Any, lambda_context: Any) -> None:
    group_id, rule_ids = offending_group(ec2, 12)  # under MAX_REVOCATIONS, most of the rules

    result = held_run(sample("scheduled-event.json"), lambda_context)

    assert actions(result) == {"held": 12}
    assert "MAX_REVOCATIONS_PERCENT=10" in result["Errors"][0]
    assert live_ids(ec2, [group_id]) >= set(rule_ids)


def test_a_sweep_with_a_small_share_offending_revokes_them(ec2: Any, lambda_context: Any) -> None:
    vpc_id = create_vpc(ec2)
    group_id, rule_ids = offending_group(ec2, 12, vpc_id=vpc_id)
    for _ in range(3):
        offending_group(ec2, 50, vpc_id=vpc_id, cidr="10.0.0.0/8")  # 150 legitimate rules

    result = handler.lambda_handler(sample("scheduled-event.json"), lambda_context)

    assert actions(result) == {"revoked": 12}
    assert live_ids(ec2, [group_id]).isdisjoint(rule_ids)


def test_exempt_rules_do_not_count_towards_the_limit(ec2: Any, lambda_context: Any) -> None:
    group_id, exempt_ids = offending_group(ec2, 20, rule_tags={EXEMPT: "true"})
    due_ids = add_rules(ec2, group_id, 20, first_port=2000)

    result = handler.lambda_handler(
        authorize_egress(group_id, *exempt_ids, *due_ids), lambda_context
    )

    assert actions(result) == {"exempt": 20, "revoked": 20}
    assert live_ids(ec2, [group_id]) & set(exempt_ids + due_ids) == set(exempt_ids)


def test_an_exempt_group_does_not_count_towards_the_limit_of_a_sweep(
    ec2: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_REVOCATIONS_PERCENT", "0")  # the count limit alone
    vpc_id = create_vpc(ec2)
    exempt_group, exempt_ids = offending_group(ec2, 20, vpc_id=vpc_id, tags={EXEMPT: "true"})
    due_group, due_ids = offending_group(ec2, 20, vpc_id=vpc_id)

    result = handler.lambda_handler(sample("scheduled-event.json"), lambda_context)

    assert actions(result) == {"exempt": 20, "revoked": 20}
    assert live_ids(ec2, [exempt_group, due_group]) & set(exempt_ids + due_ids) == set(exempt_ids)


def test_a_held_invocation_is_announced_as_held(
    ec2: Any, aws_env: str, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic, sqs, queue = sns_to_sqs(aws_env)
    monkeypatch.setenv("NOTIFY_TOPIC_ARN", topic)
    group_id, rule_ids = offending_group(ec2, 40)

    held_run(authorize_egress(group_id, *rule_ids), lambda_context)

    notice = json.loads(sqs.receive_message(QueueUrl=queue)["Messages"][0]["Body"])
    assert notice["Subject"] == (
        f"egress-guard HELD 40 egress rules (over the limit) on {group_id} in {ACCOUNT_ID}/{REGION}"
    )
    assert COUNT_LIMIT in notice["Message"]  # the text, and the result's JSON after it


# --- exemptions that expire ------------------------------------------------------------------


def test_an_exemption_a_second_in_the_past_is_not_honoured(ec2: Any) -> None:
    group_id, rule_ids = offending_group(ec2, 1, tags={UNTIL: "2030-01-01T00:00:00Z"})

    result = at(MOMENT + timedelta(seconds=1), authorize_egress(group_id, *rule_ids))

    assert actions(result) == {"revoked": 1}
    assert live_ids(ec2, [group_id]).isdisjoint(rule_ids)


def test_a_future_exemption_is_honoured_and_says_until_when(ec2: Any) -> None:
    group_id, rule_ids = offending_group(ec2, 1, tags={UNTIL: "2030-01-01T00:00:00Z"})

    result = at(MOMENT - timedelta(seconds=1), authorize_egress(group_id, *rule_ids))

    (finding,) = result["Findings"]
    assert (finding["Action"], finding["ExemptUntil"]) == ("exempt", "2030-01-01T00:00:00Z")
    assert live_ids(ec2, [group_id]) >= set(rule_ids)


def test_a_rule_exempt_until_a_date_is_exempt_until_that_day_starts(ec2: Any) -> None:
    group_id, rule_ids = offending_group(ec2, 1, rule_tags={UNTIL: "2030-01-01"})

    before = at(MOMENT - timedelta(seconds=1), authorize_egress(group_id, *rule_ids))
    after = at(MOMENT, authorize_egress(group_id, *rule_ids))

    assert before["Findings"][0]["ExemptUntil"] == "2030-01-01T00:00:00Z"
    assert (actions(before), actions(after)) == ({"exempt": 1}, {"revoked": 1})


def test_a_malformed_exemption_is_named_in_notes_and_the_rule_revoked(ec2: Any) -> None:
    group_id, rule_ids = offending_group(ec2, 1, tags={UNTIL: "end of January"})

    result = at(MOMENT, authorize_egress(group_id, *rule_ids))

    assert actions(result) == {"revoked": 1}
    assert result["Notes"] == [
        f"{group_id}: {UNTIL}='end of January' is not an ISO 8601 date or date-time: not exempt"
    ]


@pytest.mark.slow
def test_a_sweep_honours_an_expiring_exemption_found_by_its_own_tag_key(
    ec2: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More than 50 offending groups: the sweep lists tagged groups by tag key."""
    monkeypatch.setenv("MAX_REVOCATIONS", "0")
    monkeypatch.setenv("MAX_REVOCATIONS_PERCENT", "0")
    vpc_id = create_vpc(ec2)
    exempt_group, exempt_ids = offending_group(ec2, 1, vpc_id=vpc_id, tags={UNTIL: "2030-01-02"})
    others = [offending_group(ec2, 1, vpc_id=vpc_id) for _ in range(50)]
    other_ids = {rule for _, ids in others for rule in ids}

    result = at(MOMENT, sample("scheduled-event.json"))

    assert actions(result) == {"exempt": 1, "revoked": 50}
    live = live_ids(ec2, [exempt_group, *(g for g, _ in others)])
    assert live & (other_ids | set(exempt_ids)) == set(exempt_ids)


def test_scan_lists_the_exemptions_expiring_within_the_days_asked(ec2: Any) -> None:
    soon = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    vpc_id = create_vpc(ec2)
    soon_group, soon_ids = offending_group(
        ec2, 1, vpc_id=vpc_id, tags={UNTIL: soon.isoformat().replace("+00:00", "Z")}
    )
    later = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    offending_group(ec2, 1, vpc_id=vpc_id, tags={UNTIL: later})
    offending_group(ec2, 1, vpc_id=vpc_id, tags={EXEMPT: "true"})

    done = egress_cli("scan", "--dry-run", "--expiring-within", "7", denylist=TCP_V6_OUT)
    table = egress_cli(
        "scan", "--dry-run", "--expiring-within", "7", "-o", "table", denylist=TCP_V6_OUT
    )

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert actions(result) == {"exempt": 3}
    assert result["ExpiringExemptions"] == [
        {
            "GroupId": soon_group,
            "SecurityGroupRuleId": soon_ids[0],
            "DenylistEntry": "tcp-to-internet-v6",
            "Traffic": "tcp/1000 -> ::/0",
            "ExemptUntil": soon.isoformat().replace("+00:00", "Z"),
        }
    ]
    assert "expiring exemptions (1):" in table.stdout
    assert soon_ids[0] in table.stdout.split("expiring exemptions (1):")[1]
