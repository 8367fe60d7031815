"""The command line in-process: argument parsing, exit statuses, output, progress.

AWS is replaced by in-memory fakes (support.fake_aws: `FakeClients`, `FakeEc2`) through
`cli.environment.new_clients` (the fixtures `cli_env`, `ec2` and `clients` of conftest.py);
the rest is the real code path (service.handle / run_targets, Remediator, restore).
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError, NoCredentialsError
from botocore.parsers import ResponseParserError
from support.cli_session import only_line, refused, run, write
from support.fake_aws import ACCOUNT, REGION, FakeClients, FakeEc2, aws_error, client_error
from support.rules import GROUP, HTTPS, OTHER_GROUP, OTHER_SMTP, SMTP

import egress_guard.handler  # noqa: F401  (its logger must bind the session's stderr, not a test's)
from egress_guard import __version__, cli
from egress_guard.aws import Duplicate
from egress_guard.progress import GroupsActed, GroupsRead
from egress_guard.rules import Rule

EVENTS = Path(__file__).resolve().parents[2] / "events"
pytestmark = pytest.mark.usefixtures("cli_env")


# --- parsing ------------------------------------------------------------------------------------


def test_global_options_go_before_or_after_the_command() -> None:
    parser = cli.build_parser()
    before = parser.parse_args(["--output", "table", "--region", "eu-west-1", "scan"])
    after = parser.parse_args(["scan", "-o", "table", "--region", "eu-west-1"])
    for args in (before, after):
        assert (args.output, args.region, args.command) == ("table", "eu-west-1", "scan")
    default = parser.parse_args(["scan"])
    assert (default.output, default.region, default.log_level) == ("json", None, None)
    assert default.group_ids == []
    assert default.dry_run is False
    assert default.progress is None


def test_option_after_the_command_wins_over_the_global_one() -> None:
    args = cli.build_parser().parse_args(["-o", "table", "scan", "-o", "json"])
    assert args.output == "json"


def test_scan_options() -> None:
    args = cli.build_parser().parse_args(
        ["scan", "--group-id", GROUP, "--group-id", OTHER_GROUP, "--dry-run", "--no-progress"]
    )
    assert args.group_ids == [GROUP, OTHER_GROUP]
    assert args.dry_run is True
    assert args.progress is False
    assert args.run is cli.run_scan


def test_command_arguments() -> None:
    parser = cli.build_parser()
    invoke = parser.parse_args(["invoke", "e.json", "--dry-run", "--log-level", "debug"])
    assert (invoke.event, invoke.dry_run, invoke.log_level) == ("e.json", True, "DEBUG")
    restore = parser.parse_args(["restore", "r.json", "--tag", "a=b", "--tag", "c=", "--dry-run"])
    assert (restore.result, restore.tags, restore.dry_run) == ("r.json", ["a=b", "c="], True)
    check = parser.parse_args(["check-denylist", "d.yaml"])
    assert check.file == "d.yaml"
    assert check.run is cli.run_check_denylist


@pytest.mark.parametrize(
    "argv",
    [
        ["--output", "xml", "scan"],
        ["scan", "--bogus"],
        ["invoke"],
        ["restore"],
        ["frobnicate"],
        ["--log-level", "LOUD", "scan"],
    ],
)
def test_bad_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    assert "usage: egress-guard" in capsys.readouterr().err


def test_no_command_exits_2_with_usage(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys)
    assert status == 2
    assert out == ""
    assert err.startswith("usage: egress-guard")
    assert "a command is required" in err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"egress-guard {__version__}"


def test_help_has_examples_and_exit_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    for text in ("invoke", "scan", "check-denylist", "restore", "examples:", "exit status"):
        assert text in out
    for command in ("invoke", "scan", "check-denylist", "restore"):
        with pytest.raises(SystemExit):
            cli.main([command, "--help"])
        assert "examples:" in capsys.readouterr().out


def test_parse_tags() -> None:
    assert cli.parse_tags(["a=b", "c=", "d=e=f"]) == {"a": "b", "c": "", "d": "e=f"}
    with pytest.raises(cli.BadInput, match="KEY=VALUE"):
        cli.parse_tags(["novalue"])


def test_environment_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    parser = cli.build_parser()
    cli.prepare_environment(parser.parse_args(["--region", "eu-central-1", "scan"]))
    assert os.environ["POWERTOOLS_METRICS_DISABLED"] == "true"
    assert os.environ["POWERTOOLS_LOG_LEVEL"] == "WARNING"
    assert os.environ["AWS_DEFAULT_REGION"] == "eu-central-1"
    monkeypatch.delenv("POWERTOOLS_LOG_LEVEL")
    cli.prepare_environment(parser.parse_args(["invoke", "x.json"]))
    assert os.environ["POWERTOOLS_LOG_LEVEL"] == "INFO"
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "debug")
    cli.prepare_environment(parser.parse_args(["scan"]))
    assert os.environ["POWERTOOLS_METRICS_DISABLED"] == "false"  # the user's choice stands
    assert os.environ["POWERTOOLS_LOG_LEVEL"] == "DEBUG"
    cli.prepare_environment(parser.parse_args(["--log-level", "error", "scan"]))
    assert os.environ["POWERTOOLS_LOG_LEVEL"] == "ERROR"


# --- invoke -------------------------------------------------------------------------------------


def manual_event(*rule_ids: str, dry_run: bool = False) -> dict[str, Any]:
    return {"GroupId": GROUP, "SecurityGroupRuleIds": list(rule_ids), "DryRun": dry_run}


@pytest.fixture
def smtp_event(tmp_path: Path) -> str:
    """A file holding the manual request to revoke SMTP."""
    return write(tmp_path, "event.json", manual_event(SMTP.rule_id))


def test_invoke_revokes_and_prints_the_result(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], clients: FakeClients, ec2: FakeEc2
) -> None:
    event = write(tmp_path, "event.json", manual_event(SMTP.rule_id, HTTPS.rule_id))
    status, out, _ = run(capsys, "invoke", event)
    assert status == 0
    result = json.loads(out)
    assert result["Return"] is True
    assert result["DryRun"] is False
    assert [r["SecurityGroupRuleId"] for r in result["RevokedSecurityGroupRules"]] == [SMTP.rule_id]
    assert result["Findings"][0]["Tags"] == [{"Key": "team", "Value": "ops"}]
    assert ec2.revoked == [(GROUP, [SMTP.rule_id])]
    assert clients.ec2_calls == [(None, None, None)]


def test_invoke_dry_run_revokes_nothing(
    capsys: pytest.CaptureFixture[str], clients: FakeClients, ec2: FakeEc2, smtp_event: str
) -> None:
    status, out, _ = run(capsys, "invoke", smtp_event, "--dry-run", "--output", "table")
    assert status == 0
    assert ec2.revoked == []
    assert ec2.dry_runs == [(GROUP, [SMTP.rule_id])]
    lines = out.splitlines()
    assert lines[0].split() == ["GROUP", "NAME", "VPC", "RULE", "TRAFFIC", "DENYLIST", "ENTRY",
                                "ACTION"]  # fmt: skip
    assert lines[1].split() == [GROUP, "web", "vpc-0a1b2c3d4e5f67890", SMTP.rule_id, "tcp/25",
                                "->", "0.0.0.0/0", "smtp-out", "would-revoke"]  # fmt: skip
    # A manual request names no account: the result names the credentials' own.
    assert lines[2].startswith(f"1 would-revoke, 0 exempt, 0 failed in {ACCOUNT}/us-east-1")
    assert "(enforce, dry run)" in lines[2]


@pytest.mark.usefixtures("clients")
def test_invoke_report_mode_from_the_environment(
    capsys: pytest.CaptureFixture[str],
    ec2: FakeEc2,
    monkeypatch: pytest.MonkeyPatch,
    smtp_event: str,
) -> None:
    monkeypatch.setenv("MODE", "report")
    status, out, _ = run(capsys, "invoke", smtp_event)
    assert status == 0
    assert ec2.revoked == []
    assert json.loads(out)["Findings"][0]["Action"] == "would-revoke"


def test_invoke_failed_revocation_exits_1_and_still_prints_the_result(
    capsys: pytest.CaptureFixture[str], clients: FakeClients, ec2: FakeEc2, smtp_event: str
) -> None:
    ec2.fail("revoke", client_error("UnauthorizedOperation", "not allowed"))
    status, out, err = run(capsys, "invoke", smtp_event)
    assert status == 1
    result = json.loads(out)
    assert result["Return"] is False
    assert result["Findings"][0]["Action"] == "failed"
    assert "UnauthorizedOperation" in result["Findings"][0]["Error"]
    assert only_line(err).startswith("egress-guard: remediation failed: 1 revocation(s) failed")


def test_invoke_noop_event(
    capsys: pytest.CaptureFixture[str], clients: FakeClients, ec2: FakeEc2
) -> None:
    status, out, _ = run(capsys, "invoke", str(EVENTS / "cloudtrail-failed-call.json"))
    assert status == 0
    assert json.loads(out)["Findings"] == []
    assert clients.ec2_calls == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not JSON"),
        ("[1, 2]", "unrecognised event"),
        ('{"hello": "world"}', "unrecognised event"),
        ('{"GroupId": "sg-nope"}', "sg-nope"),
    ],
)
def test_invoke_bad_event_exits_2_with_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    clients: FakeClients,
    content: str,
    message: str,
) -> None:
    line = refused(capsys, "invoke", write(tmp_path, "e.json", content))
    assert line.startswith("egress-guard: ")
    assert message in line
    assert clients.fake_ec2.revoked == []


def test_invoke_missing_or_binary_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run(capsys, "invoke", str(tmp_path / "missing.json"))
    assert status == 2
    assert "cannot read event file" in only_line(err)
    assert "missing.json" in err
    binary = tmp_path / "b.json"
    binary.write_bytes(b"\xff\xfe\x00")
    status, _, err = run(capsys, "invoke", str(binary))
    assert status == 2
    assert "not UTF-8" in only_line(err)


def test_invoke_reads_stdin(
    capsys: pytest.CaptureFixture[str],
    clients: FakeClients,
    ec2: FakeEc2,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(json.dumps(manual_event(SMTP.rule_id)).encode()))
    monkeypatch.setattr("sys.stdin", stdin)
    status, out, _ = run(capsys, "invoke", "-", "--dry-run")
    assert status == 0
    assert json.loads(out)["DryRun"] is True


@pytest.mark.parametrize(
    "case",
    [
        ("MODE", "sometimes", "MODE: 'sometimes'"),
        ("DENYLIST", '{"version": 2, "deny": []}', "DENYLIST is invalid: version"),
        ("SWEEP_CONCURRENCY", "0", "SWEEP_CONCURRENCY"),
    ],
)
def test_bad_settings_exit_2(
    capsys: pytest.CaptureFixture[str],
    clients: FakeClients,
    monkeypatch: pytest.MonkeyPatch,
    case: tuple[str, str, str],
    smtp_event: str,
) -> None:
    variable, value, message = case
    monkeypatch.setenv(variable, value)
    for argv in (["invoke", smtp_event], ["scan"]):
        line = refused(capsys, *argv)
        assert message in line
    assert clients.fake_ec2.revoked == []


def test_event_for_another_account_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], clients: FakeClients, ec2: FakeEc2
) -> None:
    event = {
        "version": "0",
        "id": "e2",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "999999999999",
        "region": REGION,
        "time": "2025-01-01T00:00:00Z",
        "resources": [],
        "detail": {},
    }
    line = refused(capsys, "invoke", write(tmp_path, "e.json", event))
    assert "999999999999" in line
    assert ec2.revoked == []


@pytest.mark.parametrize(
    ("code", "status", "line"),
    [
        ("RequestLimitExceeded", 1, "AWS error: RequestLimitExceeded: the text"),
        ("ExpiredToken", 2, "AWS refused the credentials: ExpiredToken: the text"),
    ],
)
def test_aws_error_exits_1_with_one_line_and_refused_credentials_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    clients: FakeClients,
    monkeypatch: pytest.MonkeyPatch,
    code: str,
    status: int,
    line: str,
) -> None:
    def refused() -> str:
        raise client_error(code, "the text")

    monkeypatch.setattr(clients, "own_account", refused)
    result = write(tmp_path, "r.json", revoked_result(SMTP))
    got, _, err = run(capsys, "restore", result)
    assert got == status
    assert only_line(err) == f"egress-guard: {line}"


# --- scan ---------------------------------------------------------------------------------------


def test_scan_sweeps_the_region_with_progress(
    capsys: pytest.CaptureFixture[str], clients: FakeClients, ec2: FakeEc2
) -> None:
    status, out, err = run(capsys, "scan", "--progress", "-o", "table")
    assert status == 0
    assert len(ec2.made("page ")) == 2
    assert sorted(ec2.revoked) == [(GROUP, [SMTP.rule_id]), (OTHER_GROUP, [OTHER_SMTP.rule_id])]
    lines = out.splitlines()
    assert len(lines) == 4
    summary = f"2 revoked, 0 exempt, 0 failed in {ACCOUNT}/us-east-1 (enforce); 3 rules judged"
    assert lines[-1] == summary
    progress = err.splitlines()
    assert progress[0] == "read page 1: 2 rules, 1 groups; 1 offending"
    assert "read page 2: 3 rules, 2 groups; 2 offending" in progress
    assert progress[-1] == "revoking 2/2 groups"


def test_scan_json_names_the_account_and_source(
    capsys: pytest.CaptureFixture[str], clients: FakeClients, ec2: FakeEc2
) -> None:
    status, out, err = run(capsys, "scan", "--dry-run")
    assert status == 0
    assert err == ""  # no progress: stderr is not a terminal here
    result = json.loads(out)
    assert result["Source"] == "cli:scan"
    assert result["Account"] == ACCOUNT
    assert result["DryRun"] is True
    assert ec2.revoked == []
    assert result["EventId"].startswith("cli-scan-")
    assert clients.ec2_calls == [(None, REGION, None)]


def test_scan_named_groups_with_region(
    capsys: pytest.CaptureFixture[str], clients: FakeClients, ec2: FakeEc2
) -> None:
    status, out, err = run(
        capsys, "--region", "eu-west-1", "scan", "--group-id", GROUP, "--group-id", GROUP,
        "--progress",
    )  # fmt: skip
    assert status == 0
    assert len(ec2.made("page ")) == 0
    assert ec2.revoked == [(GROUP, [SMTP.rule_id])]
    assert clients.ec2_calls == [(None, "eu-west-1", None)]
    assert json.loads(out)["Region"] == "eu-west-1"
    assert err.splitlines() == ["read 1/1 groups; 1 offending", "revoking 1/1 groups"]


def test_scan_bad_group_id_exits_2(
    capsys: pytest.CaptureFixture[str], clients: FakeClients, ec2: FakeEc2
) -> None:
    line = refused(capsys, "scan", "--group-id", "default")
    assert "--group-id: 'default' is not a security group id" in line
    assert clients.ec2_calls == []


def test_scan_failure_exits_1_and_prints_the_table(
    capsys: pytest.CaptureFixture[str], clients: FakeClients, ec2: FakeEc2
) -> None:
    ec2.fail("revoke", client_error("RequestLimitExceeded", "slow down"))
    status, out, err = run(capsys, "scan", "--output", "table")
    assert status == 1
    assert "0 revoked, 0 exempt, 2 failed" in out
    assert "failed: RequestLimitExceeded: slow down" in out
    assert "remediation failed" in only_line(err)


# --- check-denylist -----------------------------------------------------------------------------


def test_check_denylist_prints_the_normalised_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = {"version": 1, "deny": [{"id": "x", "protocol": "6", "cidr": "10.0.0.18/16"}]}
    status, out, err = run(capsys, "check-denylist", write(tmp_path, "d.json", doc))
    assert status == 0
    normal = json.loads(out)
    assert normal["deny"][0]["protocol"] == "tcp"
    assert normal["deny"][0]["cidr"] == ["10.0.0.0/16"]
    assert "warning:" in err
    assert "canonicalised to 10.0.0.0/16" in err


def test_check_denylist_yaml_and_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "d.yaml", "version: 1\ndeny:\n  - id: smtp\n    ports: '25'\n")
    status, out, err = run(capsys, "check-denylist", path, "--output", "table")
    assert status == 0
    assert err == ""
    # Ports without a protocol: those ports over tcp and udp.
    assert out.splitlines()[1].split() == ["deny", "smtp", "tcp+udp", "25", "any", "overlaps"]


def test_check_denylist_problems_one_per_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = {"version": 1, "deny": [{"id": "a", "ports": "99999"}, {"protocol": "tcp"}]}
    path = write(tmp_path, "d.json", doc)
    status, out, err = run(capsys, "check-denylist", path)
    assert status == 2
    assert out == ""
    assert err.splitlines() == [
        f'{path}: deny[0] (id "a"): ports: 99999 is out of range 0-65535',
        f"{path}: deny[1]: id: missing or not a non-empty string",
    ]


def test_check_denylist_unreadable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "check-denylist", str(tmp_path))
    assert status == 2
    assert only_line(err).startswith(f"egress-guard: cannot read denylist file {tmp_path}")


# --- restore ------------------------------------------------------------------------------------


def revoked_result(*rules: Rule, account: str | None = ACCOUNT, region: str = REGION) -> Any:
    return {
        "Return": True,
        "DryRun": False,
        "RevokedSecurityGroupRules": [r.to_revoked() for r in rules],
        "Findings": [
            {
                "GroupId": r.group_id,
                "SecurityGroupRuleId": r.rule_id,
                "DenylistEntry": "smtp-out",
                "Action": "revoked",
                **({"Tags": [{"Key": k, "Value": v} for k, v in r.tags]} if r.tags else {}),
            }
            for r in rules
        ],
        "Account": account,
        "Region": region,
    }


def restore(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, document: Any, *options: str
) -> tuple[int, str, str]:
    """Runs `restore` on a file holding `document`."""
    return run(capsys, "restore", write(tmp_path, "r.json", document), *options)


def test_restore_reauthorizes_with_description_and_tags(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], clients: FakeClients
) -> None:
    ec2 = FakeEc2([HTTPS])
    clients.fake_ec2 = ec2
    path = write(tmp_path, "r.json", revoked_result(SMTP))
    status, out, err = run(capsys, "restore", path, "--tag", "egress-guard:exempt=true")
    assert status == 0, err
    assert ec2.authorized == [
        (
            GROUP,
            {
                "IpProtocol": "tcp",
                "FromPort": 25,
                "ToPort": 25,
                "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "mail relay"}],
            },
            {"team": "ops", "egress-guard:exempt": "true"},
        )
    ]
    report = json.loads(out)
    assert (report["Restored"], report["AlreadyPresent"], report["Failed"]) == (1, 0, 0)
    assert report["Rules"][0]["Status"] == "restored"
    assert report["Rules"][0]["NewSecurityGroupRuleId"].startswith("sgr-")
    assert (report["Account"], report["Region"]) == (ACCOUNT, REGION)

    # Again: nothing to add, and no write.
    status, out, _ = run(capsys, "restore", path, "-o", "table")
    assert status == 0
    assert len(ec2.authorized) == 1
    assert "already-present" in out.splitlines()[1]
    assert out.splitlines()[2] == f"0 restored, 1 already present, 0 failed in {ACCOUNT}/us-east-1"


def test_restore_dry_run_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], clients: FakeClients, ec2: FakeEc2
) -> None:
    ec2.rules = [HTTPS]
    status, out, _ = restore(capsys, tmp_path, revoked_result(SMTP, HTTPS), "--dry-run")
    assert status == 0
    assert ec2.authorized == []
    report = json.loads(out)
    assert [r["Status"] for r in report["Rules"]] == ["would-restore", "already-present"]
    assert report["Rules"][1]["ExistingSecurityGroupRuleId"] == HTTPS.rule_id
    assert report["WouldRestore"] == 1


def test_restore_duplicate_from_ec2_is_already_present(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], clients: FakeClients, ec2: FakeEc2
) -> None:
    ec2.rules = []
    ec2.fail("authorize", Duplicate("InvalidPermission.Duplicate: already exists"))
    status, out, _ = restore(capsys, tmp_path, revoked_result(SMTP))
    assert status == 0
    assert json.loads(out)["Rules"][0]["Status"] == "already-present"


def test_restore_failure_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], clients: FakeClients, ec2: FakeEc2
) -> None:
    ec2.rules = []
    ec2.fail("authorize", client_error("InvalidGroup.NotFound", "no such group"))
    status, out, err = restore(capsys, tmp_path, revoked_result(SMTP))
    assert status == 1
    report = json.loads(out)
    assert report["Return"] is False
    assert report["Failed"] == 1
    assert report["Rules"][0]["Error"] == "InvalidGroup.NotFound: no such group"
    assert only_line(err) == "egress-guard: restore failed for 1 rule(s)"


def test_restore_with_nothing_revoked_does_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], clients: FakeClients
) -> None:
    status, out, _ = restore(capsys, tmp_path, revoked_result())
    assert status == 0
    assert json.loads(out)["Rules"] == []
    assert clients.sts_calls == 0
    assert clients.ec2_calls == []


@pytest.mark.parametrize(
    ("account", "region", "said"),
    [
        pytest.param("999999999999", REGION, ["from account 999999999999"], id="another-account"),
        pytest.param(ACCOUNT, "eu-west-1", ["pass --region eu-west-1"], id="another-region"),
        pytest.param(None, REGION, ["names no Account", "--force"], id="no-account"),
    ],
)
def test_restore_refuses_a_result_from_another_place_or_none(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    ec2: FakeEc2,
    clients: FakeClients,
    account: str | None,
    region: str,
    said: list[str],
) -> None:
    ec2.rules = []
    result = revoked_result(SMTP, account=account, region=region)
    line = refused(capsys, "restore", write(tmp_path, "r.json", result))
    assert [part for part in said if part not in line] == [], line
    assert ec2.authorized == []


def test_restore_force_restores_a_result_without_account_here_with_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], clients: FakeClients, ec2: FakeEc2
) -> None:
    ec2.rules = []
    status, out, _ = restore(capsys, tmp_path, revoked_result(SMTP, account=None), "--force")
    assert status == 0
    assert json.loads(out)["Notes"] == [
        f"the result names no account; restoring in {ACCOUNT} (--force)"
    ]
    assert len(ec2.authorized) == 1


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "expected a JSON object, got list"),
        ({"Findings": []}, "no RevokedSecurityGroupRules"),
        ({"RevokedSecurityGroupRules": {}}, "expected a list"),
        ({"RevokedSecurityGroupRules": [{"GroupId": GROUP}]}, "SecurityGroupRuleId"),
        (
            {"RevokedSecurityGroupRules": [{**SMTP.to_revoked(), "IsEgress": False}]},
            "egress rules only",
        ),
        (
            {"RevokedSecurityGroupRules": [{**SMTP.to_revoked(), "CidrIpv6": "::/0"}]},
            "exactly one of",
        ),
        (
            {"RevokedSecurityGroupRules": [{**SMTP.to_revoked(), "IpProtocol": "bogus"}]},
            "not a protocol",
        ),
        ({"RevokedSecurityGroupRules": [{**SMTP.to_revoked(), "FromPort": "25"}]}, "FromPort"),
    ],
)
def test_restore_bad_result_exits_2(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    clients: FakeClients,
    document: Any,
    message: str,
) -> None:
    line = refused(capsys, "restore", write(tmp_path, "r.json", document))
    assert message in line
    assert clients.ec2_calls == []


def test_restore_reads_the_result_log_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], clients: FakeClients, ec2: FakeEc2
) -> None:
    ec2.rules = []
    line = {"level": "INFO", "message": "result", "result": revoked_result(SMTP)}
    status, out, _ = restore(capsys, tmp_path, line)
    assert status == 0
    assert json.loads(out)["Restored"] == 1


def test_restore_reads_an_sns_notice_saved_as_it_came(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], clients: FakeClients, ec2: FakeEc2
) -> None:
    from egress_guard.notice import RESULT_MARKER, result_json

    ec2.rules = []
    notice = tmp_path / "notice.txt"
    text = f"egress-guard revoked 1 egress rule ...\n\n{RESULT_MARKER}\n"
    notice.write_text(text + result_json(revoked_result(SMTP)) + "\n--\nunsubscribe: ...\n")
    status, out, _ = run(capsys, "restore", str(notice))
    assert status == 0
    assert json.loads(out)["Restored"] == 1


def test_restore_of_a_notice_whose_result_is_broken_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], clients: FakeClients
) -> None:
    from egress_guard.notice import RESULT_MARKER

    notice = tmp_path / "notice.txt"
    notice.write_text(f"egress-guard revoked 1 egress rule\n\n{RESULT_MARKER}\n{{\n  cut here")
    line = refused(capsys, "restore", str(notice))
    assert f"result file {notice}: the notice's result part is not JSON" in line
    assert clients.ec2_calls == []


# --- progress -----------------------------------------------------------------------------------


def read(done: int) -> GroupsRead:
    return GroupsRead(done, 5, offending=0)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_lines_keep_first_and_last_of_each_phase_and_one_a_second() -> None:
    stream, clock = io.StringIO(), Clock()
    progress = cli.Progress(stream, interval=1.0, clock=clock)
    for page in range(1, 6):
        progress(read(page))
        clock.now += 0.3
    for group in range(1, 4):
        progress(GroupsActed(group, 3, dry_run=False))
    progress.close()
    assert stream.getvalue().splitlines() == [
        "read 1/5 groups; 0 offending",
        "read 5/5 groups; 0 offending",  # 1.2 s after the first
        "revoking 1/3 groups",
        "revoking 3/3 groups",
    ]


def test_progress_shows_the_last_message_of_a_phase_before_the_next() -> None:
    stream, clock = io.StringIO(), Clock()
    progress = cli.Progress(stream, clock=clock)
    for page in range(1, 4):
        progress(read(page))
    progress(GroupsActed(1, 1, dry_run=False))
    progress.close()
    assert stream.getvalue().splitlines() == [
        "read 1/5 groups; 0 offending",
        "read 3/5 groups; 0 offending",
        "revoking 1/1 groups",
    ]


def test_progress_on_a_terminal_rewrites_one_line_per_phase() -> None:
    stream, clock = io.StringIO(), Clock()
    progress = cli.Progress(stream, tty=True, clock=clock)
    progress(read(1))
    clock.now += 1
    progress(read(2))
    progress(GroupsActed(1, 2, dry_run=False))
    clock.now += 1
    progress(GroupsActed(2, 2, dry_run=False))
    progress.close()
    assert stream.getvalue() == (
        "\rread 1/5 groups; 0 offending\x1b[K\rread 2/5 groups; 0 offending\x1b[K\n"
        "\rrevoking 1/2 groups\x1b[K\rrevoking 2/2 groups\x1b[K\n"
    )


def test_progress_off_and_broken_streams_are_silent() -> None:
    class NotATerminal(io.StringIO):
        def isatty(self) -> bool:
            return False

    quiet = cli.Progress.for_stream(NotATerminal(), None)
    assert quiet.stream is None
    quiet(read(1))
    quiet.close()
    forced = cli.Progress.for_stream(NotATerminal(), True)
    assert forced.stream is not None

    closed = io.StringIO()
    closed.close()
    progress = cli.Progress(closed)
    progress(read(1))  # no exception: progress never stops a remediation
    progress.close()


def test_metrics_left_over_in_the_process_never_reach_stdout(
    capsys: pytest.CaptureFixture[str], clients: FakeClients
) -> None:
    from aws_lambda_powertools.metrics import MetricUnit

    from egress_guard import handler

    handler.metrics.clear_metrics()
    for _ in range(99):  # one short of Powertools' automatic flush at 100 values
        handler.metrics.add_metric("RulesJudged", MetricUnit.Count, 1)

    status, out, _ = run(capsys, "scan", "--dry-run")

    assert (status, json.loads(out)["Source"]) == (0, "cli:scan")


# --- region, set-up problems and options --------------------------------------------------------


@pytest.mark.parametrize("command", ["scan", "invoke", "restore"])
def test_no_region_anywhere_exits_2_naming_it(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    clients: FakeClients,
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    smtp_event: str,
) -> None:
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    argv = {
        "scan": ["scan"],
        "invoke": ["invoke", smtp_event],
        "restore": ["restore", write(tmp_path, "r.json", revoked_result(SMTP))],
    }[command]
    line = refused(capsys, *argv)
    assert line.startswith("egress-guard: a region is required: pass --region")
    assert clients.ec2_calls == []
    assert clients.sts_calls == 0


def test_aws_region_alone_is_the_region_as_for_the_aws_cli(
    capsys: pytest.CaptureFixture[str], clients: FakeClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", "eu-north-1")
    status, out, _ = run(capsys, "scan", "--dry-run")
    assert status == 0
    assert clients.ec2_calls == [(None, "eu-north-1", None)]
    assert json.loads(out)["Region"] == "eu-north-1"


def test_an_unknown_profile_exits_2_naming_it(
    capsys: pytest.CaptureFixture[str], clients: FakeClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    line = refused(capsys, "scan", "--profile", "nowhere")
    assert line == (
        "egress-guard: AWS configuration: The config profile (nowhere) could not be found"
    )


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (NoCredentialsError(), "no usable AWS credentials: Unable to locate credentials"),
        (
            EndpointConnectionError(endpoint_url="https://sts.eu-nowhere-1.amazonaws.com/"),
            "cannot reach the AWS endpoint: Could not connect to the endpoint URL: "
            '"https://sts.eu-nowhere-1.amazonaws.com/"',
        ),
    ],
)
@pytest.mark.parametrize("output", ["json", "table"])
def test_setup_problems_exit_2_with_one_line_and_no_result(
    capsys: pytest.CaptureFixture[str],
    clients: FakeClients,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    line: str,
    output: str,
    smtp_event: str,
) -> None:
    def broken() -> str:
        raise aws_error(error)

    monkeypatch.setattr(clients, "own_account", broken)
    for argv in (["scan", "-o", output], ["invoke", smtp_event, "-o", output]):
        said = refused(capsys, *argv)  # no table claiming "no offending egress rules"
        assert said == f"egress-guard: {line}"
    assert clients.ec2_calls == []


def test_a_malformed_answer_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], clients: FakeClients, ec2: FakeEc2
) -> None:
    ec2.fail(
        "all_rule_pages",
        aws_error(
            ResponseParserError(
                "Unable to parse response (syntax error), invalid XML received:\n"
                "b'<html>500</html>'"
            )
        ),
    )
    line = refused(capsys, "scan", "-o", "table")
    assert line == (
        "egress-guard: malformed answer from the AWS endpoint: Unable to parse response "
        "(syntax error), invalid XML received:"
    )


def test_invoke_refuses_an_event_from_another_region(
    capsys: pytest.CaptureFixture[str], clients: FakeClients, ec2: FakeEc2
) -> None:
    event = str(EVENTS / "cloudtrail-authorize-egress.json")  # names us-east-1
    line = refused(capsys, "invoke", event, "--region", "eu-west-1")
    assert line == (
        "egress-guard: the event is from region us-east-1 but this command works in eu-west-1 "
        "(--region, AWS_REGION or the profile): pass --region us-east-1 to act on it"
    )
    assert clients.ec2_calls == []


def test_invoke_proves_the_credentials_before_judging(
    capsys: pytest.CaptureFixture[str], clients: FakeClients, smtp_event: str
) -> None:
    status, _, _ = run(capsys, "invoke", smtp_event, "--dry-run")
    assert status == 0
    assert clients.sts_calls >= 1


@pytest.mark.usefixtures("clients")
@pytest.mark.parametrize("command", ["invoke", "scan"])
def test_dry_run_writes_no_notice(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    ec2: FakeEc2,
    smtp_event: str,
    command: str,
) -> None:
    # FakeClients.client() fails the test if an SNS client is asked for.
    monkeypatch.setenv("NOTIFY_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:egress-guard")
    argv = {"invoke": ["invoke", smtp_event], "scan": ["scan"]}[command]
    status, out, _ = run(capsys, *argv, "--dry-run")
    assert status == 0
    assert "would-revoke" in {f["Action"] for f in json.loads(out)["Findings"]}
    assert ec2.revoked == []


@pytest.mark.parametrize(
    "argv",
    [
        ["check-denylist", "d.json", "--region", "eu-west-1"],
        ["check-denylist", "d.json", "--profile", "p"],
        ["check-denylist", "d.json", "--endpoint-url", "http://x"],
        ["check-denylist", "d.json", "--log-level", "debug"],
        ["--region", "eu-west-1", "check-denylist", "d.json"],
        ["restore", "r.json", "--mode", "report"],
        ["restore", "r.json", "--denylist", "d.json"],
        ["invoke", "e.json", "--fail-on-findings"],
        ["invoke", "e.json", "--group-id", GROUP],
    ],
)
def test_options_that_mean_nothing_for_a_command_are_refused(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    assert "usage: egress-guard" in capsys.readouterr().err


def test_aws_options_before_or_after_the_command() -> None:
    parser = cli.build_parser()
    for argv in (
        ["--profile", "p", "--endpoint-url", "http://e", "scan"],
        ["scan", "--profile", "p", "--endpoint-url", "http://e"],
    ):
        args = parser.parse_args(argv)
        assert (args.profile, args.endpoint_url) == ("p", "http://e")


def test_aws_options_stand_for_their_environment_variables(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_PROFILE", "other")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT")
    monkeypatch.setenv("AWS_ENDPOINT_URL_EC2", "http://elsewhere")
    args = cli.build_parser().parse_args(
        ["scan", "--profile", "audit", "--endpoint-url", "http://127.0.0.1:5000",
         "--denylist", "d.yaml", "--mode", "report"]
    )  # fmt: skip
    cli.prepare_environment(args)
    assert os.environ["AWS_PROFILE"] == "audit"
    # A profile given by name wins, as with the AWS CLI, over the environment's.
    assert "AWS_DEFAULT_PROFILE" not in os.environ
    assert "AWS_ACCESS_KEY_ID" not in os.environ
    assert os.environ["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5000"
    assert "AWS_ENDPOINT_URL_EC2" not in os.environ


def test_denylist_and_mode_options_override_their_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DENYLIST", '{"version": 1, "deny": []}')
    monkeypatch.setenv("MODE", "enforce")
    args = cli.build_parser().parse_args(["scan", "--denylist", "d.yaml", "--mode", "report"])
    settings = cli.settings_of(args)
    assert settings.denylist_file == os.path.abspath("d.yaml")
    assert settings.denylist_inline is None  # it would win over the file
    assert settings.mode == "report"


def test_denylist_and_mode_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], clients: FakeClients, ec2: FakeEc2
) -> None:
    https_only = {"version": 1, "deny": [{"id": "no-https", "protocol": "tcp", "ports": "443"}]}
    path = write(tmp_path, "d.json", https_only)
    status, out, _ = run(capsys, "scan", "--denylist", path, "--mode", "report")
    assert status == 0
    result = json.loads(out)
    assert result["Mode"] == "report"
    assert [(f["SecurityGroupRuleId"], f["Action"]) for f in result["Findings"]] == [
        (HTTPS.rule_id, "would-revoke")
    ]
    assert ec2.revoked == []


def test_scan_fail_on_findings_is_a_ci_gate(
    capsys: pytest.CaptureFixture[str], clients: FakeClients, ec2: FakeEc2
) -> None:
    status, out, err = run(capsys, "scan", "--dry-run", "--fail-on-findings", "-o", "table")
    assert status == 1
    assert "2 would-revoke" in out
    assert only_line(err) == "egress-guard: 2 offending rule(s) found (--fail-on-findings)"
    assert ec2.revoked == []

    ec2.rules = [HTTPS]
    status, _, err = run(capsys, "scan", "--dry-run", "--fail-on-findings")
    assert (status, err) == (0, "")


def test_scan_csv_has_a_header_and_a_row_per_finding(
    capsys: pytest.CaptureFixture[str], clients: FakeClients, ec2: FakeEc2
) -> None:
    status, out, _ = run(capsys, "scan", "--dry-run", "-o", "csv")
    assert status == 0
    assert out.splitlines() == [
        "group_id,group_name,vpc_id,rule_id,traffic,denylist_entry,action,error",
        f"{GROUP},web,vpc-0a1b2c3d4e5f67890,{SMTP.rule_id},tcp/25 -> 0.0.0.0/0,smtp-out,"
        "would-revoke,",
        f"{OTHER_GROUP},,,{OTHER_SMTP.rule_id},tcp/25 -> 0.0.0.0/0,smtp-out,would-revoke,",
    ]


def test_table_shows_dash_for_a_group_whose_name_is_unknown(
    capsys: pytest.CaptureFixture[str], clients: FakeClients, ec2: FakeEc2
) -> None:
    status, out, _ = run(capsys, "scan", "--dry-run", "-o", "table")
    assert status == 0
    rows = [line.split()[:3] for line in out.splitlines()[1:3]]
    assert rows == [[GROUP, "web", "vpc-0a1b2c3d4e5f67890"], [OTHER_GROUP, "-", "-"]]


def test_check_denylist_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "d.yaml", "version: 1\ndeny:\n  - id: smtp\n    ports: '25'\n")
    status, out, _ = run(capsys, "check-denylist", path, "-o", "csv")
    assert status == 0
    assert out.splitlines() == [
        "list,id,protocol,ports,destination,match",
        "deny,smtp,tcp+udp,25,any,overlaps",
    ]
