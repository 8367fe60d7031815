"""The emulator fixtures work, and moto 5.2.5 behaves as MOTO_NOTES.md says.

The second half pins moto's behaviour (its gaps next to real EC2) so that a moto upgrade
that changes it fails here, where the reason is plain, rather than somewhere else.
"""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from support import proxy as hooks
from support.egress import HTTPS, SMTP, MakeGroup, described, prefix_list
from support.egress import egress_by_id as egress_rules
from support.emulator import ACCOUNT_ID, AwsCliError, FakeLambdaContext, MotoServer
from support.proxy import Forward, Proxy, Request, Response

pytestmark = pytest.mark.integration


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


# --------------------------------------------------------------------------- fixtures


def test_aws_cli_creates_a_group_that_boto3_reads(aws_cli: Any, ec2: Any) -> None:
    vpc_id = aws_cli("ec2", "create-vpc", "--cidr-block", "10.1.0.0/16")["Vpc"]["VpcId"]
    group_id = aws_cli(
        "ec2",
        "create-security-group",
        "--group-name",
        "web",
        "--description",
        "web",
        "--vpc-id",
        vpc_id,
    )["GroupId"]
    answer = aws_cli(
        "ec2",
        "authorize-security-group-egress",
        "--group-id",
        group_id,
        "--ip-permissions",
        json.dumps(
            [
                {
                    "IpProtocol": "tcp",
                    "FromPort": 25,
                    "ToPort": 25,
                    "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
                },
            ]
        ),
    )
    (new_rule,) = answer["SecurityGroupRules"]

    rules = egress_rules(ec2, group_id)
    assert new_rule["SecurityGroupRuleId"] in rules
    assert rules[new_rule["SecurityGroupRuleId"]]["FromPort"] == 25
    assert len(rules) == 2  # and the default all-traffic rule


def test_aws_cli_error_carries_the_aws_message(aws_cli: Any) -> None:
    with pytest.raises(AwsCliError) as exc:
        aws_cli("ec2", "describe-security-groups", "--group-ids", "sg-0123456789abcdef0")
    assert "InvalidGroup.NotFound" in exc.value.stderr
    assert exc.value.returncode != 0


def test_code_reaches_the_emulator_through_aws_endpoint_url_only(aws_env: str, ec2: Any) -> None:
    client = boto3.client("ec2")  # no endpoint, no region, no credentials given
    vpc_id = client.create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
    assert ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
    assert boto3.client("sts").get_caller_identity()["Account"] == ACCOUNT_ID


def test_make_group_returns_each_rules_id(make_group: MakeGroup, ec2: Any) -> None:
    other = make_group()
    partners_list = prefix_list(ec2, "198.51.100.0/24")
    group = make_group(
        [
            SMTP,
            {"IpProtocol": "udp", "FromPort": 53, "ToPort": 53, "CidrIpv6": "::/0"},
            {"IpProtocol": "tcp", "Port": 8443, "PrefixListId": partners_list},
            {"IpProtocol": "tcp", "Port": 5432, "ReferencedGroupId": other.group_id},
            {**HTTPS, "Tags": {"team": "web"}},
        ],
        ingress=[{"IpProtocol": "tcp", "Port": 22, "CidrIpv4": "10.0.0.0/8"}],
        tags={"env": "test"},
    )
    rules = egress_rules(ec2, group.group_id)
    assert set(rules) == set(group.egress_rule_ids)
    assert group.default_rule_id is not None
    assert rules[group.default_rule_id]["IpProtocol"] == "-1"
    smtp, dns, partners, database, https = (rules[i] for i in group.rule_ids)
    assert (smtp["FromPort"], smtp["CidrIpv4"], smtp["Description"]) == (
        25,
        "0.0.0.0/0",
        "mail relay",
    )
    assert (dns["IpProtocol"], dns["CidrIpv6"]) == ("udp", "::/0")
    assert partners["PrefixListId"] == partners_list
    assert database["ReferencedGroupInfo"]["GroupId"] == other.group_id
    assert https["Tags"] == [{"Key": "team", "Value": "web"}]
    assert len(group.ingress_rule_ids) == 1
    (described,) = ec2.describe_security_groups(GroupIds=[group.group_id])["SecurityGroups"]
    assert described["Tags"] == [{"Key": "env", "Value": "test"}]


def test_make_group_can_drop_the_default_egress_rule(make_group: MakeGroup, ec2: Any) -> None:
    group = make_group([HTTPS], keep_default_egress=False)
    assert group.default_rule_id is None
    assert set(egress_rules(ec2, group.group_id)) == set(group.rule_ids)


@pytest.mark.parametrize("attempt", [1, 2, 3])
def test_every_test_starts_from_an_empty_emulator(attempt: int, ec2: Any) -> None:
    """Run three times in one session: the state of the run before must be gone."""
    named = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["marker"]}])
    assert named["SecurityGroups"] == []
    assert len(ec2.describe_vpcs()["Vpcs"]) == 1  # the default VPC only
    vpc_id = ec2.create_vpc(CidrBlock="10.3.0.0/16")["Vpc"]["VpcId"]
    ec2.create_security_group(GroupName="marker", Description=str(attempt), VpcId=vpc_id)


def test_reset_forgets_everything(emulator: MotoServer, ec2: Any) -> None:
    vpc_id = ec2.create_vpc(CidrBlock="10.4.0.0/16")["Vpc"]["VpcId"]
    emulator.reset()
    assert vpc_id not in {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]}


def test_lambda_context_looks_like_lambdas(lambda_context: FakeLambdaContext) -> None:
    assert lambda_context.invoked_function_arn == (
        f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:egress-guard"
    )
    assert 0 < lambda_context.get_remaining_time_in_millis() <= 60_000
    assert lambda_context.aws_request_id


# --------------------------------------------------------------------------- proxy


def test_proxy_passes_requests_through_and_records_them(
    proxy: Proxy, make_group: MakeGroup
) -> None:
    group = make_group([SMTP])  # setup goes to moto directly: not recorded
    client = boto3.client("ec2")  # the code under test: through the proxy
    groups = client.describe_security_groups(GroupIds=[group.group_id])["SecurityGroups"]
    assert groups[0]["GroupId"] == group.group_id
    assert proxy.actions() == ["DescribeSecurityGroups"]
    assert proxy.calls[0].status == 200


def test_proxy_hook_adds_revoked_rules_like_real_ec2(
    proxy: Proxy, make_group: MakeGroup, ec2: Any
) -> None:
    other = make_group()
    group = make_group([SMTP, HTTPS, {"IpProtocol": "-1", "ReferencedGroupId": other.group_id}])
    smtp_id, https_id, reference_id = group.rule_ids
    proxy.on("RevokeSecurityGroupEgress", hooks.add_revoked_security_group_rules)

    answer = boto3.client("ec2").revoke_security_group_egress(
        GroupId=group.group_id, SecurityGroupRuleIds=[smtp_id, reference_id]
    )

    assert answer["Return"] is True
    revoked = {r["SecurityGroupRuleId"]: r for r in answer["RevokedSecurityGroupRules"]}
    assert revoked[smtp_id] == described(group.group_id, smtp_id, SMTP)
    assert revoked[reference_id]["ReferencedGroupId"] == other.group_id
    assert set(egress_rules(ec2, group.group_id)) == {group.default_rule_id, https_id}
    assert proxy.actions() == ["RevokeSecurityGroupEgress"]  # the hook's reads are not


def test_proxy_hook_can_inject_an_error_without_touching_moto(
    proxy: Proxy, make_group: MakeGroup, ec2: Any
) -> None:
    group = make_group([SMTP])
    proxy.on("RevokeSecurityGroupEgress", hooks.fail("UnauthorizedOperation", status=403, times=1))
    client = boto3.client("ec2")

    with pytest.raises(ClientError) as exc:
        client.revoke_security_group_egress(
            GroupId=group.group_id, SecurityGroupRuleIds=[group.rule_ids[0]]
        )
    assert error_code(exc) == "UnauthorizedOperation"
    assert group.rule_ids[0] in egress_rules(ec2, group.group_id)

    client.revoke_security_group_egress(
        GroupId=group.group_id, SecurityGroupRuleIds=[group.rule_ids[0]]
    )
    assert group.rule_ids[0] not in egress_rules(ec2, group.group_id)
    assert [(c.status, c.error_code) for c in proxy.calls] == [
        (403, "UnauthorizedOperation"),
        (200, None),
    ]


def test_proxy_hooks_nest_and_can_edit_after_forwarding(
    proxy: Proxy, make_group: MakeGroup
) -> None:
    group = make_group([SMTP])
    seen: list[str | None] = []

    def everything(request: Request, forward: Forward) -> Response:
        seen.append(request.action)
        return forward(request)

    def lose_the_answer(request: Request, forward: Forward) -> Response:
        forward(request)  # the change happens in moto ...
        return hooks.ec2_error("RequestLimitExceeded", status=503)  # ... but the client hears this

    proxy.on("*", everything)
    proxy.on("RevokeSecurityGroupEgress", lose_the_answer)
    client = boto3.client("ec2", config=Config(retries={"total_max_attempts": 1}))
    with pytest.raises(ClientError) as exc:
        client.revoke_security_group_egress(
            GroupId=group.group_id, SecurityGroupRuleIds=[group.rule_ids[0]]
        )
    assert error_code(exc) == "RequestLimitExceeded"
    assert seen == ["RevokeSecurityGroupEgress"]
    with pytest.raises(ClientError) as again:
        client.revoke_security_group_egress(
            GroupId=group.group_id, SecurityGroupRuleIds=[group.rule_ids[0]]
        )
    assert error_code(again) == "RequestLimitExceeded"  # the hook still answers ...
    assert proxy.calls[-1].response.status == 503
    proxy.off("RevokeSecurityGroupEgress")
    with pytest.raises(ClientError) as gone:  # ... moto had revoked it the first time
        client.revoke_security_group_egress(
            GroupId=group.group_id, SecurityGroupRuleIds=[group.rule_ids[0]]
        )
    assert error_code(gone) == "InvalidPermission.NotFound"


def test_aws_cli_can_go_through_the_proxy(proxy: Proxy, aws_cli: Any) -> None:
    proxy.on("DescribeVpcs", hooks.fail("UnauthorizedOperation", status=403))
    with pytest.raises(AwsCliError) as exc:
        aws_cli("ec2", "describe-vpcs", endpoint_url=proxy.url)
    assert "UnauthorizedOperation" in exc.value.stderr
    assert aws_cli("ec2", "describe-vpcs")["Vpcs"]  # directly: no hook


# --------------------------------------------------------------------------- moto 5.2.5


def test_moto_revoke_answers_only_return(make_group: MakeGroup, ec2: Any) -> None:
    group = make_group([SMTP])
    answer = ec2.revoke_security_group_egress(
        GroupId=group.group_id, SecurityGroupRuleIds=[group.rule_ids[0]]
    )
    answer.pop("ResponseMetadata")
    assert answer == {"Return": True}


def test_moto_authorize_answers_only_the_last_permissions_rules(
    make_group: MakeGroup, ec2: Any
) -> None:
    group = make_group(keep_default_egress=False)
    answer = ec2.authorize_security_group_egress(
        GroupId=group.group_id,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": p, "ToPort": p, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
            for p in (25, 26)
        ],
    )
    assert [r["FromPort"] for r in answer["SecurityGroupRules"]] == [26]
    assert len(egress_rules(ec2, group.group_id)) == 2


def test_moto_unknown_rule_id_errors(make_group: MakeGroup, ec2: Any) -> None:
    group = make_group([SMTP])
    unknown = "sgr-0123456789abcdef0"
    with pytest.raises(ClientError) as revoke:  # real EC2: InvalidSecurityGroupRuleId.NotFound
        ec2.revoke_security_group_egress(
            GroupId=group.group_id, SecurityGroupRuleIds=[group.rule_ids[0], unknown]
        )
    assert error_code(revoke) == "InvalidPermission.NotFound"
    assert group.rule_ids[0] in egress_rules(ec2, group.group_id)  # all or nothing
    with pytest.raises(ClientError) as describe:
        ec2.describe_security_group_rules(SecurityGroupRuleIds=[unknown])
    assert error_code(describe) == "InvalidSecurityGroupRuleId.NotFound"
    with pytest.raises(ClientError) as no_group:
        ec2.revoke_security_group_egress(
            GroupId="sg-0123456789abcdef0", SecurityGroupRuleIds=[unknown]
        )
    assert error_code(no_group) == "InvalidGroup.NotFound"


def test_moto_dry_run_revoke(make_group: MakeGroup, ec2: Any) -> None:
    group = make_group([SMTP])
    with pytest.raises(ClientError) as exc:
        ec2.revoke_security_group_egress(
            GroupId=group.group_id, SecurityGroupRuleIds=[group.rule_ids[0]], DryRun=True
        )
    assert error_code(exc) == "DryRunOperation"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert group.rule_ids[0] in egress_rules(ec2, group.group_id)


def test_moto_describe_rules_fields_filters_and_tags(make_group: MakeGroup, ec2: Any) -> None:
    other = make_group()
    group = make_group([SMTP, {"IpProtocol": "-1", "ReferencedGroupId": other.group_id}])
    smtp_id, reference_id = group.rule_ids
    ec2.create_tags(Resources=[smtp_id], Tags=[{"Key": "egress-guard:exempt", "Value": "true"}])

    by_id = ec2.describe_security_group_rules(
        Filters=[{"Name": "security-group-rule-id", "Values": [smtp_id]}]
    )["SecurityGroupRules"]
    assert (
        by_id
        == ec2.describe_security_group_rules(SecurityGroupRuleIds=[smtp_id])["SecurityGroupRules"]
    )
    (smtp,) = by_id
    assert smtp == {
        **described(group.group_id, smtp_id, SMTP),
        "Tags": [{"Key": "egress-guard:exempt", "Value": "true"}],
    }  # no GroupOwnerId, no SecurityGroupRuleArn
    reference = egress_rules(ec2, group.group_id)[reference_id]
    assert reference["ReferencedGroupInfo"] == {"GroupId": other.group_id, "UserId": ACCOUNT_ID}
    tagged = ec2.describe_security_group_rules(
        Filters=[{"Name": "tag:egress-guard:exempt", "Values": ["true"]}]
    )["SecurityGroupRules"]
    assert [r["SecurityGroupRuleId"] for r in tagged] == [smtp_id]
    # Tags of the group are not copied to its rules.
    ec2.create_tags(Resources=[group.group_id], Tags=[{"Key": "team", "Value": "x"}])
    assert egress_rules(ec2, group.group_id)[reference_id]["Tags"] == []


def test_moto_prefix_list_entries(ec2: Any) -> None:
    listed = ec2.create_managed_prefix_list(
        PrefixListName="partners",
        MaxEntries=2,
        AddressFamily="IPv4",
        Entries=[{"Cidr": "198.51.100.0/24", "Description": "partner"}],
    )["PrefixList"]["PrefixListId"]
    entries = ec2.get_managed_prefix_list_entries(PrefixListId=listed)["Entries"]
    assert entries == [{"Cidr": "198.51.100.0/24", "Description": "partner"}]


def test_moto_member_account_through_assume_role(aws_env: str) -> None:
    sts = boto3.client("sts")
    credentials = sts.assume_role(
        RoleArn="arn:aws:iam::111111111111:role/egress-guard-member", RoleSessionName="test"
    )["Credentials"]
    member = boto3.client(
        "ec2",
        region_name="eu-west-1",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    vpc = member.create_vpc(CidrBlock="10.5.0.0/16")["Vpc"]
    assert vpc["OwnerId"] == "111111111111"
    own = boto3.client("ec2", region_name="eu-west-1").describe_vpcs()["Vpcs"]
    assert vpc["VpcId"] not in {v["VpcId"] for v in own}


# --------------------------------------------------------------------------- make demo

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo() -> SimpleNamespace:
    """scripts/demo.py's functions, run as a script is (not imported: scripts/ is no package)."""
    return SimpleNamespace(**runpy.run_path(str(ROOT / "scripts" / "demo.py")))


def test_demo_creates_its_group_and_names_it_in_the_event(
    demo: SimpleNamespace, aws_env: str, ec2: Any
) -> None:
    group = demo.create_demo_group(aws_env, demo.lambda_env(aws_env))
    rules = egress_rules(ec2, group.group_id)
    assert set(rules) == {group.offending_rule_id, group.legitimate_rule_id, group.default_rule_id}
    assert rules[group.offending_rule_id]["FromPort"] == 25
    assert rules[group.legitimate_rule_id]["FromPort"] == 443
    assert rules[group.default_rule_id]["IpProtocol"] == "-1"

    samples = [demo.SAMPLE_EVENT, demo.REFERENCE_RECORD]
    for sample in [s for s in samples if s.exists()]:
        event = demo.build_event(group, sample=sample)
        detail = event["detail"]
        assert (event["source"], event["detail-type"]) == ("aws.ec2", "AWS API Call via CloudTrail")
        assert (event["account"], event["region"]) == (ACCOUNT_ID, "us-east-1")
        assert detail["eventName"] == "AuthorizeSecurityGroupEgress"
        assert detail["requestParameters"]["groupId"] == group.group_id
        (item,) = detail["responseElements"]["securityGroupRuleSet"]["items"]
        assert item["securityGroupRuleId"] == group.offending_rule_id
        assert item["groupId"] == group.group_id
        original = json.loads(sample.read_text())
        original_detail = original.get("detail", original)
        text = json.dumps(event)
        assert original_detail["requestParameters"]["groupId"] not in text
        for item in original_detail["responseElements"]["securityGroupRuleSet"]["items"]:
            assert item["securityGroupRuleId"] not in text


@pytest.mark.slow
def test_make_demo_runs_end_to_end() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "demo.py")],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "smtp rule revoked: yes; other rules kept: yes" in done.stdout
