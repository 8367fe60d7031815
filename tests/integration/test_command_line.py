"""The `egress-guard` command line as a user runs it: a subprocess against the emulator.

`python -m egress_guard ...` with PYTHONPATH=src and the emulator's environment (the
``aws_env`` fixture: AWS_ENDPOINT_URL, fake credentials, us-east-1); stdout, stderr and the
exit status are what is checked, and EC2's state afterwards through boto3.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from support.cli import cli_lines, egress_cli
from support.egress import (
    HTTPS,
    NO_LIMITS,
    SMTP,
    SMTP_V6,
    SMTP_V6_ONLY,
    MakeGroup,
    egress_rules,
)
from support.emulator import ACCOUNT_ID, REGION, create_vpc, free_port
from support.proxy import Forward, Proxy, Request, Response, fail
from support.samples import authorize_egress, pointed

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


# --- invoke -------------------------------------------------------------------------------------


def test_invoke_a_manual_event_revokes_the_named_rule(
    aws_env: str, ec2: Any, make_group: MakeGroup, tmp_path: Path
) -> None:
    group = make_group(egress=[SMTP, HTTPS])
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps({"GroupId": group.group_id, "SecurityGroupRuleIds": [group.rule_ids[0]]})
    )

    done = egress_cli("invoke", str(event))

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["Return"] is True
    assert [r["SecurityGroupRuleId"] for r in result["RevokedSecurityGroupRules"]] == [
        group.rule_ids[0]
    ]
    assert result["RevokedSecurityGroupRules"][0]["Description"] == "mail relay"
    left = {r["SecurityGroupRuleId"] for r in egress_rules(ec2, group.group_id)}
    assert left == {group.default_rule_id, group.rule_ids[1]}
    # The handler's JSON logs go to stderr, never to stdout.
    assert any(json.loads(line).get("message") == "result" for line in done.stderr.splitlines()
               if line.startswith("{"))  # fmt: skip


def test_invoke_the_cloudtrail_sample_pointed_at_a_live_rule(
    aws_env: str, ec2: Any, make_group: MakeGroup, tmp_path: Path
) -> None:
    group = make_group(egress=[SMTP, HTTPS])
    event = tmp_path / "event.json"
    event.write_text(json.dumps(authorize_egress(group.group_id, *group.rule_ids)))

    done = egress_cli("invoke", str(event), "--output", "table")

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 3
    group_id, name, vpc_id, rule_id = lines[1].split()[:4]
    # The group's name and VPC come from the tag read the remediation made anyway.
    assert (group_id, vpc_id, rule_id) == (group.group_id, group.vpc_id, group.rule_ids[0])
    assert name.startswith("eg-test-")
    assert lines[1].split()[-2:] == ["smtp-out", "revoked"]
    assert lines[2].startswith(f"1 revoked, 0 exempt, 0 failed in {ACCOUNT_ID}/{REGION} (enforce)")
    left = {r["SecurityGroupRuleId"] for r in egress_rules(ec2, group.group_id)}
    assert left == {group.default_rule_id, group.rule_ids[1]}


def test_invoke_the_sample_schedule_event_as_a_dry_run_table(
    aws_env: str, ec2: Any, make_group: MakeGroup
) -> None:
    group = make_group(egress=[SMTP_V6])

    done = egress_cli(
        "invoke",
        str(ROOT / "events" / "scheduled-event.json"),
        "--dry-run",
        "-o",
        "table",
        denylist=SMTP_V6_ONLY,
    )

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["GROUP", "NAME", "VPC", "RULE", "TRAFFIC", "DENYLIST", "ENTRY",
                                "ACTION"]  # fmt: skip
    assert lines[1].split()[2:] == [group.vpc_id, group.rule_ids[0], "tcp/25", "->", "::/0",
                                    "smtp-out-v6", "would-revoke"]  # fmt: skip
    assert lines[2].startswith(f"1 would-revoke, 0 exempt, 0 failed in {ACCOUNT_ID}/{REGION}")
    assert "(enforce, dry run)" in lines[2]
    assert len(egress_rules(ec2, group.group_id)) == 2  # nothing revoked


def test_invoke_a_failed_revocation_exits_1_and_prints_the_result(
    proxy: Proxy, ec2: Any, make_group: MakeGroup, tmp_path: Path
) -> None:
    group = make_group(egress=[SMTP], keep_default_egress=False)
    proxy.on("RevokeSecurityGroupEgress", fail("UnauthorizedOperation", "not for you"))
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"GroupId": group.group_id}))

    done = egress_cli("invoke", str(event))

    assert done.returncode == 1
    result = json.loads(done.stdout)
    assert result["Return"] is False
    assert [f["Action"] for f in result["Findings"]] == ["failed"]
    assert "UnauthorizedOperation" in result["Findings"][0]["Error"]
    assert cli_lines(done.stderr) == ["egress-guard: remediation failed: 1 revocation(s) failed"]
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json at all", "is not JSON"),
        ('{"source": "aws.s3", "detail-type": "Object Created", "detail": {}}', "aws.s3"),
    ],
)
def test_invoke_bad_input_exits_2_with_one_line(
    aws_env: str, tmp_path: Path, content: str, message: str
) -> None:
    event = tmp_path / "event.json"
    event.write_text(content)
    done = egress_cli("invoke", str(event))
    assert done.returncode == 2
    assert done.stdout == ""
    lines = cli_lines(done.stderr)
    assert len(lines) == 1
    assert lines[0].startswith("egress-guard: ")
    assert message in lines[0]
    assert "Traceback" not in done.stderr


def put_evaluations_in_test_mode(request: Request, forward: Forward) -> Response:
    """moto answers PutEvaluations only with TestMode (MOTO_NOTES.md): add it."""
    body = json.loads(request.body)
    body["TestMode"] = True
    return forward(dataclasses.replace(request, body=json.dumps(body).encode()))


def test_a_cli_dry_run_writes_nothing_anywhere(
    proxy: Proxy, aws_env: str, ec2: Any, make_group: MakeGroup, tmp_path: Path
) -> None:
    group = make_group(egress=[SMTP], keep_default_egress=False)
    topic = boto3.client("sns", endpoint_url=aws_env, region_name=REGION).create_topic(
        Name="egress-guard"
    )["TopicArn"]
    proxy.on("PutEvaluations", put_evaluations_in_test_mode)
    event = tmp_path / "event.json"
    event.write_text(json.dumps(pointed("config-rule-invocation-change.json", group.group_id)))

    dry = egress_cli("invoke", str(event), "--dry-run", NOTIFY_TOPIC_ARN=topic)

    assert dry.returncode == 0, dry.stderr
    assert [f["Action"] for f in json.loads(dry.stdout)["Findings"]] == ["would-revoke"]
    writes = [
        c.action
        for c in proxy.calls
        if c.action in ("PutEvaluations", "Publish", "RevokeSecurityGroupEgress")
    ]
    assert writes == ["RevokeSecurityGroupEgress"]  # EC2's own DryRun, nothing else
    (check,) = [c for c in proxy.calls if c.action == "RevokeSecurityGroupEgress"]
    assert check.request.params["DryRun"] == "true"
    assert check.error_code == "DryRunOperation"
    assert egress_rules(ec2, group.group_id) != []

    # The same event without --dry-run: the writes the dry run left out.
    proxy.clear_calls()
    done = egress_cli("invoke", str(event), NOTIFY_TOPIC_ARN=topic)
    assert done.returncode == 0, done.stderr
    assert {"RevokeSecurityGroupEgress", "PutEvaluations", "Publish"} <= set(proxy.actions())


def test_no_credentials_exit_2_with_one_line_and_no_table(aws_env: str) -> None:
    done = egress_cli("scan", "-o", "table", AWS_ACCESS_KEY_ID="", AWS_SECRET_ACCESS_KEY="")
    assert (done.returncode, done.stdout) == (2, "")
    assert cli_lines(done.stderr) == [
        "egress-guard: no usable AWS credentials: Unable to locate credentials"
    ]


def test_an_unreachable_endpoint_exits_2_naming_it(aws_env: str) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    done = egress_cli("scan", "--endpoint-url", url, AWS_MAX_ATTEMPTS="1")
    assert (done.returncode, done.stdout) == (2, "")
    assert cli_lines(done.stderr) == [
        "egress-guard: cannot reach the AWS endpoint: "
        f'Could not connect to the endpoint URL: "{url}/"'
    ]


def test_a_malformed_answer_exits_2_without_a_traceback(proxy: Proxy) -> None:
    def broken(request: Request, forward: Forward) -> Response:
        return Response(200, {"content-type": "text/html"}, b"<html><p>Internal error</html>")

    proxy.on("DescribeSecurityGroupRules", broken)
    done = egress_cli("scan", "-o", "table")
    assert (done.returncode, done.stdout) == (2, "")
    (line,) = cli_lines(done.stderr)
    assert line.startswith("egress-guard: malformed answer from the AWS endpoint: ")
    assert "Traceback" not in done.stderr


def test_make_try_runs_the_config_rule_samples_with_their_evaluations() -> None:
    """`make try` (scripts/demo.py --every-sample), on the samples moto cannot take alone."""
    samples = [
        "config-rule-invocation-change.json",
        "config-rule-invocation-oversized.json",
        "config-rule-invocation-scheduled.json",
    ]
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "demo.py"), "--every-sample", *samples],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    lines = {line.split()[0]: line for line in done.stdout.splitlines() if line.split()}
    for sample in samples:
        assert lines[sample].split()[1] == "revoked"
        assert "tcp/25 -> 0.0.0.0/0 [smtp-to-internet]" in lines[sample]
        assert "PutEvaluations" in lines[sample]
        assert "<html" not in lines[sample].lower()
    assert "3 of 3 samples ran" in done.stdout


def test_make_try_shows_a_changed_prefix_list_revoking_the_rule_to_it() -> None:
    """The ModifyManagedPrefixList sample meets a list now holding 0.0.0.0/0."""
    sample = "cloudtrail-modify-managed-prefix-list.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "demo.py"), "--every-sample", sample],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    (line,) = [line for line in done.stdout.splitlines() if line.startswith(sample)]
    assert line.split()[1:4] == ["revoked", "tcp/25", "->"]
    assert line.split()[4].startswith("pl-")


# --- scan ---------------------------------------------------------------------------------------


def make_many_groups(ec2: Any, count: int, exempt: int) -> dict[str, str]:
    """`count` groups in one VPC, each with an SMTP egress rule; the first `exempt` of them
    tagged exempt. Returns group id -> SMTP rule id."""
    vpc_id = create_vpc(ec2)
    found: dict[str, str] = {}
    for number in range(count):
        kwargs: dict[str, Any] = {}
        if number < exempt:
            kwargs["TagSpecifications"] = [
                {
                    "ResourceType": "security-group",
                    "Tags": [{"Key": "egress-guard:exempt", "Value": "true"}],
                }
            ]
        group_id = ec2.create_security_group(
            GroupName=f"many-{number}", Description="many", VpcId=vpc_id, **kwargs
        )["GroupId"]
        answer = ec2.authorize_security_group_egress(
            GroupId=group_id,
            IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": 25, "ToPort": 25,
                 "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}
            ],
        )  # fmt: skip
        found[group_id] = answer["SecurityGroupRules"][0]["SecurityGroupRuleId"]
    return found


@pytest.mark.slow
def test_scan_of_300_groups_shows_progress_and_a_correct_table(aws_env: str, ec2: Any) -> None:
    groups = make_many_groups(ec2, 300, exempt=10)
    exempt = set(list(groups)[:10])

    # Unpaced (REVOKE_RATE=0): at the default pace the 290 revokes (and the DryRun probes)
    # alone would take 140 s; pacing has tests of its own (test_paced_sweep.py).
    unpaced = {"REVOKE_RATE": "0"}
    dry = egress_cli(
        "scan",
        "--dry-run",
        "--progress",
        "-o",
        "table",
        denylist=SMTP_V6_ONLY,
        **NO_LIMITS,
        **unpaced,
    )
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines()[-1].startswith("290 would-revoke, 10 exempt, 0 failed")
    assert all(len(egress_rules(ec2, g)) == 2 for g in list(groups)[:5])

    done = egress_cli(
        "scan", "--progress", "--output", "table", denylist=SMTP_V6_ONLY, **NO_LIMITS, **unpaced
    )

    assert done.returncode == 0, done.stderr
    progress = cli_lines(done.stderr)
    assert progress[0].startswith("read page 1: ")
    assert progress[0].endswith("; 300 offending")
    assert progress[-1] == "revoking 300/300 groups"
    assert len(progress) < 20  # throttled, not one line per group

    lines = done.stdout.splitlines()
    header, rows, summary = lines[0], lines[1:-1], lines[-1]
    assert header.split() == ["GROUP", "NAME", "VPC", "RULE", "TRAFFIC", "DENYLIST", "ENTRY",
                              "ACTION"]  # fmt: skip
    assert len(rows) == 300
    seen = {}
    for row in rows:
        group_id, name, _vpc, rule_id, *traffic, entry, action = row.split()
        assert name.startswith("many-")
        assert " ".join(traffic) == "tcp/25 -> ::/0"
        assert entry == "smtp-out-v6"
        seen[group_id] = (rule_id, action)
    assert seen == {g: (rule, "exempt" if g in exempt else "revoked") for g, rule in groups.items()}
    assert [r.split()[0] for r in rows] == sorted(groups)
    assert summary.startswith(
        f"290 revoked, 10 exempt, 0 failed in {ACCOUNT_ID}/{REGION} (enforce)"
    )

    for group_id, rule_id in groups.items():
        ids = {r["SecurityGroupRuleId"] for r in egress_rules(ec2, group_id)}
        assert (rule_id in ids) == (group_id in exempt)


def test_scan_named_group_json(aws_env: str, ec2: Any, make_group: MakeGroup) -> None:
    target = make_group(egress=[SMTP])
    other = make_group(egress=[SMTP])

    done = egress_cli("scan", "--group-id", target.group_id)

    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # WARNING level by default; no progress into a pipe
    result = json.loads(done.stdout)
    assert (result["Source"], result["Account"], result["Region"]) == (
        "cli:scan",
        ACCOUNT_ID,
        REGION,
    )
    assert {f["SecurityGroupRuleId"] for f in result["Findings"]} == set(target.egress_rule_ids)
    assert {f["GroupId"] for f in result["Findings"]} == {target.group_id}
    assert egress_rules(ec2, target.group_id) == []
    assert len(egress_rules(ec2, other.group_id)) == 2


# --- check-denylist -----------------------------------------------------------------------------


def test_check_denylist_good_json_and_yaml(tmp_path: Path) -> None:
    packaged = ROOT / "src" / "egress_guard" / "default-denylist.json"
    done = egress_cli("check-denylist", str(packaged))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["version"] == 1

    yaml_file = tmp_path / "denylist.yaml"
    yaml_file.write_text(
        "version: 1\n"
        "deny:\n"
        "  - id: smtp-out\n"
        "    protocol: 6\n"
        "    ports: 25\n"
        "    cidr: [10.0.0.18/16]\n"
    )
    done = egress_cli("check-denylist", str(yaml_file))
    assert done.returncode == 0, done.stderr
    entry = json.loads(done.stdout)["deny"][0]
    assert (entry["protocol"], entry["ports"], entry["cidr"]) == ("tcp", "25", ["10.0.0.0/16"])
    assert "canonicalised to 10.0.0.0/16" in done.stderr

    table = egress_cli("check-denylist", str(yaml_file), "-o", "table")
    assert table.stdout.splitlines()[1].split() == [
        "deny", "smtp-out", "tcp", "25", "10.0.0.0/16", "overlaps"
    ]  # fmt: skip


def test_check_denylist_bad(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"version": 1, "deny": [{"id": "x", "protocol": "tcpp"}, {}]}))
    done = egress_cli("check-denylist", str(bad))
    assert done.returncode == 2
    assert done.stdout == ""
    problems = done.stderr.splitlines()
    assert len(problems) == 2
    assert problems[0].startswith(f'{bad}: deny[0] (id "x"): protocol: ')
    assert problems[1] == f"{bad}: deny[1]: id: missing or not a non-empty string"

    missing = egress_cli("check-denylist", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2
    assert cli_lines(missing.stderr) == [
        f"egress-guard: cannot read denylist file {tmp_path / 'nope.yaml'}: No such file or "
        "directory"
    ]
