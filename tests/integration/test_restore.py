"""Restore: re-authorizing the rules a result revoked, against the emulator.

First the command as a user runs it (`egress-guard scan`, then `egress-guard restore` on its
output: the same rules come back, with descriptions and tags), with moto's own
RevokeSecurityGroupEgress answer and with one shaped like real EC2's; then
`egress_guard.restore` in-process, for the paths the command cannot easily reach.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from support.cli import cli_lines, egress_cli
from support.egress import SMTP, egress_rules, without_id
from support.emulator import ACCOUNT_ID, REGION, Group, create_vpc
from support.proxy import Proxy, add_revoked_security_group_rules, fail

from egress_guard.aws import Ec2
from egress_guard.restore import Report, restore, rules_to_restore
from egress_guard.result_input import result_of

pytestmark = pytest.mark.integration

MakeGroup = Callable[..., Group]


def properties(ec2: Any, group_id: str) -> list[tuple[Any, ...]]:
    """The group's egress rules without their ids, in a stable order."""
    return sorted((without_id(r) for r in egress_rules(ec2, group_id)), key=repr)


# --- the command, revoke then restore ----------------------------------------------------------


@pytest.fixture(params=["moto-response", "ec2-response"])
def endpoint(
    request: pytest.FixtureRequest, aws_env: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """moto's own RevokeSecurityGroupEgress answer, or one shaped like real EC2's."""
    if request.param == "moto-response":
        yield aws_env
        return
    with Proxy(aws_env) as running:
        running.on("RevokeSecurityGroupEgress", add_revoked_security_group_rules)
        monkeypatch.setenv("AWS_ENDPOINT_URL", running.url)
        yield running.url


def test_revoke_then_restore_gives_back_the_same_rules(
    endpoint: str, ec2: Any, make_group: MakeGroup, tmp_path: Path
) -> None:
    vpc_id = create_vpc(ec2)
    peer = make_group(vpc_id=vpc_id)
    prefix_list = ec2.create_managed_prefix_list(
        PrefixListName="partners",
        MaxEntries=5,
        AddressFamily="IPv4",
        Entries=[{"Cidr": "198.51.100.0/24"}],
    )["PrefixList"]["PrefixListId"]
    group = make_group(
        vpc_id=vpc_id,
        egress=[
            {**SMTP, "Tags": {"team": "mail", "cost-center": "42"}},
            {"IpProtocol": "tcp", "Port": 25, "CidrIpv6": "::/0", "Description": "mail v6"},
            {"IpProtocol": "udp", "FromPort": 500, "ToPort": 4500, "CidrIpv4": "203.0.113.0/24",
             "Tags": {"vpn": "yes"}},
            {"IpProtocol": "icmp", "FromPort": 8, "ToPort": -1, "CidrIpv4": "0.0.0.0/0"},
            {"IpProtocol": "-1", "ReferencedGroupId": peer.group_id, "Description": "peers"},
            {"IpProtocol": "tcp", "Port": 443, "PrefixListId": prefix_list},
        ],
    )  # fmt: skip
    before = properties(ec2, group.group_id)
    assert len(before) == 7  # with the default all-traffic rule

    scan = egress_cli("scan", "--group-id", group.group_id, denylist={"version": 1,
                      "deny": [{"id": "everything"}]})  # fmt: skip
    assert scan.returncode == 0, scan.stderr
    result = json.loads(scan.stdout)
    assert len(result["RevokedSecurityGroupRules"]) == 7
    assert egress_rules(ec2, group.group_id) == []
    result_file = tmp_path / "result.json"
    result_file.write_text(scan.stdout)

    dry = egress_cli("restore", str(result_file), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert [r["Status"] for r in json.loads(dry.stdout)["Rules"]] == ["would-restore"] * 7
    assert egress_rules(ec2, group.group_id) == []

    done = egress_cli("restore", str(result_file), "-o", "table")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 9
    assert all(" restored " in line for line in lines[1:8])
    assert lines[8] == f"7 restored, 0 already present, 0 failed in {ACCOUNT_ID}/{REGION}"
    assert properties(ec2, group.group_id) == before

    again = egress_cli("restore", str(result_file))
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert (report["Restored"], report["AlreadyPresent"], report["Failed"]) == (0, 7, 0)
    assert properties(ec2, group.group_id) == before


def test_restore_refuses_a_result_from_another_account_or_region(
    aws_env: str, ec2: Any, make_group: MakeGroup, tmp_path: Path
) -> None:
    group = make_group(egress=[SMTP])
    scan = egress_cli("scan", "--group-id", group.group_id)
    assert scan.returncode == 0, scan.stderr
    result = json.loads(scan.stdout)
    count = len(egress_rules(ec2, group.group_id))

    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(json.dumps({**result, "Account": "999999999999"}))
    done = egress_cli("restore", str(elsewhere))
    assert done.returncode == 2
    assert cli_lines(done.stderr) == [
        "egress-guard: the result is from account 999999999999, but these credentials are for "
        f"account {ACCOUNT_ID}; run restore with credentials for 999999999999"
    ]

    here = tmp_path / "result.json"
    here.write_text(scan.stdout)
    done = egress_cli("restore", str(here), "--region", "eu-west-1")
    assert done.returncode == 2
    assert "pass --region us-east-1" in done.stderr
    assert len(egress_rules(ec2, group.group_id)) == count

    nothing = tmp_path / "nothing.json"
    nothing.write_text(json.dumps({**result, "RevokedSecurityGroupRules": [], "Findings": []}))
    done = egress_cli("restore", str(nothing))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["Notes"] == ["nothing to restore: the result revoked no rules"]


# --- egress_guard.restore in-process ----------------------------------------------------------


def live_ec2(endpoint_url: str) -> Ec2:
    client = boto3.client("ec2", endpoint_url=endpoint_url, region_name=REGION)
    return Ec2(client, None, REGION)


def revoked_result(ec2: Any, group: Group, rule_ids: tuple[str, ...]) -> dict[str, Any]:
    """A result as the function would write it for these rules, read from EC2 now."""
    rules = [r for r in egress_rules(ec2, group.group_id) if r["SecurityGroupRuleId"] in rule_ids]
    from egress_guard.rules import Rule

    parsed = [Rule.from_ec2(r) for r in rules]
    return {
        "Return": True,
        "RevokedSecurityGroupRules": [r.to_revoked() for r in parsed],
        "Findings": [
            {
                "GroupId": r.group_id,
                "SecurityGroupRuleId": r.rule_id,
                "DenylistEntry": "smtp-out",
                "Action": "revoked",
                "Tags": [{"Key": k, "Value": v} for k, v in r.tags],
            }
            for r in parsed
        ],
        "Account": ACCOUNT_ID,
        "Region": REGION,
    }


def test_ec2_duplicate_counts_as_already_present(
    proxy: Proxy, ec2: Any, make_group: MakeGroup
) -> None:
    """When the group cannot be read first, EC2's InvalidPermission.Duplicate decides."""
    group = make_group(egress=[{**SMTP, "Tags": {"team": "mail"}}])
    result = revoked_result(ec2, group, group.rule_ids)
    proxy.on("DescribeSecurityGroupRules", fail("UnauthorizedOperation", "no describe", times=1))

    report = restore(
        live_ec2(proxy.url), rules_to_restore(result_of(result)), Report(None, REGION, False)
    )

    assert [o.status for o in report.outcomes] == ["already-present"]
    assert report.outcomes[0].existing_rule_id == group.rule_ids[0]
    assert report.ok
    assert report.notes == [
        f"{group.group_id}: rules not read first (UnauthorizedOperation: no describe)"
    ]
    assert "AuthorizeSecurityGroupEgress" in proxy.actions()
    assert len(egress_rules(ec2, group.group_id)) == 2


def test_a_missing_group_fails_and_the_others_are_restored(
    aws_env: str, ec2: Any, make_group: MakeGroup
) -> None:
    kept = make_group(egress=[SMTP])
    deleted = make_group(egress=[SMTP])
    result = revoked_result(ec2, kept, kept.rule_ids)
    gone = revoked_result(ec2, deleted, deleted.rule_ids)
    result["RevokedSecurityGroupRules"] += gone["RevokedSecurityGroupRules"]
    result["Findings"] += gone["Findings"]
    ec2.revoke_security_group_egress(
        GroupId=kept.group_id, SecurityGroupRuleIds=list(kept.rule_ids)
    )
    ec2.delete_security_group(GroupId=deleted.group_id)

    report = restore(live_ec2(aws_env), rules_to_restore(result), Report(None, REGION, False))

    assert [o.status for o in report.outcomes] == ["restored", "failed"]
    assert report.outcomes[1].error is not None
    assert report.outcomes[1].error.startswith("InvalidGroup.NotFound")
    assert not report.ok
    restored = [r for r in egress_rules(ec2, kept.group_id) if r.get("Description") == "mail relay"]
    assert [r["SecurityGroupRuleId"] for r in restored] == [report.outcomes[0].new_rule_id]


def test_extra_tags_and_reserved_tags(aws_env: str, ec2: Any, make_group: MakeGroup) -> None:
    group = make_group(egress=[{**SMTP, "Tags": {"team": "mail"}}])
    result = revoked_result(ec2, group, group.rule_ids)
    result["Findings"][0]["Tags"].append({"Key": "aws:cloudformation:stack-name", "Value": "x"})
    ec2.revoke_security_group_egress(
        GroupId=group.group_id, SecurityGroupRuleIds=list(group.rule_ids)
    )

    report = restore(
        live_ec2(aws_env),
        rules_to_restore(result),
        Report(None, REGION, False),
        extra_tags={"egress-guard:exempt": "true"},
    )

    assert [o.status for o in report.outcomes] == ["restored"]
    assert report.notes == [
        f"{group.rule_ids[0]}: tags aws:cloudformation:stack-name not re-applied (reserved by AWS)"
    ]
    (rule,) = [r for r in egress_rules(ec2, group.group_id) if r.get("Description") == "mail relay"]
    assert {t["Key"]: t["Value"] for t in rule["Tags"]} == {
        "team": "mail",
        "egress-guard:exempt": "true",
    }
