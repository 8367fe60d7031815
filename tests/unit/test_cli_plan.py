"""`egress-guard plan` in-process: options, exit statuses, JSON, table and CSV, no writes.

The fixtures are conftest.py's (`FakeEc2` over SMTP, HTTPS in GROUP "web" and
OTHER_SMTP in OTHER_GROUP; DENYLIST set to the smtp-out denylist).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import NoCredentialsError
from support.cli_session import DENYLIST, only_line, run, write
from support.fake_aws import FakeClients, FakeEc2, aws_error, client_error
from support.rules import GROUP

from egress_guard import cli
from egress_guard.tables.plan import render_plan

pytestmark = pytest.mark.usefixtures("cli_env")

HTTPS_TOO = {
    "version": 1,
    "deny": [
        *DENYLIST["deny"],
        {"id": "https-out", "protocol": "tcp", "ports": "443", "cidr": ["0.0.0.0/0"]},
    ],
}
# Denies only what no rule of the fake estate is: SMTP is spared under it.
NOTHING = {"version": 1, "deny": [{"id": "telnet-out", "protocol": "tcp", "ports": "23"}]}


def plan(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, new: Any, *argv: str
) -> tuple[int, str, str]:
    return run(capsys, "plan", "--denylist", write(tmp_path, "new.json", new), *argv)


def test_the_same_denylist_exits_0_with_no_changes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, clients: FakeClients
) -> None:
    status, out, _ = plan(capsys, tmp_path, DENYLIST)
    assert status == 0
    document = json.loads(out)
    assert document["Changes"] == []
    assert document["Summary"]["CurrentDenylist"] == "DENYLIST"
    assert document["Places"][0]["RulesJudged"] == 3


def test_an_added_entry_exits_1_with_the_rule_newly_revoked_by_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, clients: FakeClients
) -> None:
    status, out, _ = plan(capsys, tmp_path, HTTPS_TOO)
    assert status == 1
    (change,) = json.loads(out)["Changes"]
    assert (change["SecurityGroupRuleId"], change["Action"], change["DenylistEntry"]) == (
        "sgr-00000000000000002",
        "newly-revoked",
        "https-out",
    )
    assert (change["Account"], change["Region"]) == ("123456789012", "us-east-1")


def test_current_is_the_file_given_else_the_configured_denylist(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, clients: FakeClients
) -> None:
    current = write(tmp_path, "current.json", HTTPS_TOO)
    status, out, _ = plan(capsys, tmp_path, DENYLIST, "--current", current)
    assert status == 1
    document = json.loads(out)
    assert [c["Action"] for c in document["Changes"]] == ["newly-spared"]
    assert document["Summary"]["CurrentDenylist"] == current


def test_new_is_never_taken_for_the_configured_denylist(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, clients: FakeClients
) -> None:
    status, out, _ = plan(capsys, tmp_path, NOTHING)
    assert status == 1
    assert [c["DenylistEntry"] for c in json.loads(out)["Changes"]] == ["smtp-out", "smtp-out"]
    assert "DENYLIST_FILE" not in os.environ


def test_nothing_is_written_not_even_a_dry_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, clients: FakeClients, ec2: FakeEc2
) -> None:
    plan(capsys, tmp_path, NOTHING)
    assert (ec2.revoked, ec2.dry_runs, ec2.authorized) == ([], [], [])


def test_an_invalid_new_denylist_exits_2_naming_the_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, clients: FakeClients
) -> None:
    bad = {"version": 1, "deny": [{"id": "x", "protocol": "tcp", "ports": "99999"}]}
    status, out, err = plan(capsys, tmp_path, bad)
    assert (status, out) == (2, "")
    assert only_line(err).startswith(f"egress-guard: {tmp_path / 'new.json'} is invalid: ")


def test_an_unreadable_current_file_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, clients: FakeClients
) -> None:
    status, _, err = plan(capsys, tmp_path, DENYLIST, "--current", str(tmp_path / "none"))
    assert status == 2
    assert "cannot read denylist file" in only_line(err)


def test_rules_that_cannot_be_read_exit_2_never_0_or_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, clients: FakeClients, ec2: FakeEc2
) -> None:
    ec2.fail("all_rule_pages", client_error("RequestLimitExceeded", "slow down"))
    status, out, err = plan(capsys, tmp_path, NOTHING)
    assert (status, out) == (2, "")
    assert only_line(err) == (
        "egress-guard: plan not made: the rules of the region could not be read: "
        "RequestLimitExceeded: slow down"
    )


def test_the_denylist_option_is_required() -> None:
    with pytest.raises(SystemExit) as exited:
        cli.build_parser().parse_args(["plan"])
    assert exited.value.code == 2


def test_a_bad_group_id_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, clients: FakeClients
) -> None:
    status, _, err = plan(capsys, tmp_path, NOTHING, "--group-id", "web")
    assert status == 2
    assert "is not a security group id" in only_line(err)


def test_a_named_group_is_planned_alone(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, clients: FakeClients
) -> None:
    status, out, _ = plan(capsys, tmp_path, NOTHING, "--group-id", GROUP)
    assert status == 1
    assert [c["GroupId"] for c in json.loads(out)["Changes"]] == [GROUP]


def test_a_table_shows_each_change_a_summary_and_the_limits_new_trips(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    clients: FakeClients,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MAX_REVOCATIONS", "2")
    status, out, _ = plan(capsys, tmp_path, HTTPS_TOO, "-o", "table")
    assert status == 1
    assert out.splitlines() == [
        "GROUP                 NAME  VPC                    RULE                   "
        "TRAFFIC               DENYLIST ENTRY  CHANGE",
        "sg-0123456789abcdef0  web   vpc-0a1b2c3d4e5f67890  sgr-00000000000000002  "
        "tcp/443 -> 0.0.0.0/0  https-out       newly-revoked",
        "1 newly revoked, 0 newly spared in 123456789012/us-east-1; 3 rules judged, 3 due under NEW"
        " (2 under CURRENT)",
        "limit: under NEW, 123456789012/us-east-1 would be held: 3 rules due for revocation exceed"
        " MAX_REVOCATIONS=2",
    ]


def test_a_table_without_changes_says_so(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, clients: FakeClients
) -> None:
    _, out, _ = plan(capsys, tmp_path, DENYLIST, "-o", "table")
    assert out.splitlines()[0] == "no difference: NEW and CURRENT revoke the same rules"


def test_csv_has_a_row_per_change_with_its_place(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, clients: FakeClients
) -> None:
    _, out, _ = plan(capsys, tmp_path, HTTPS_TOO, "-o", "csv")
    assert out.splitlines() == [
        "account,region,group_id,group_name,vpc_id,rule_id,traffic,denylist_entry,change",
        "123456789012,us-east-1,sg-0123456789abcdef0,web,vpc-0a1b2c3d4e5f67890,"
        "sgr-00000000000000002,tcp/443 -> 0.0.0.0/0,https-out,newly-revoked",
    ]


def test_a_set_up_problem_while_reading_exits_2_naming_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, clients: FakeClients, ec2: FakeEc2
) -> None:
    ec2.fail("all_rule_pages", aws_error(NoCredentialsError()))
    status, out, err = plan(capsys, tmp_path, NOTHING)
    assert (status, out) == (2, "")
    assert only_line(err) == "egress-guard: no usable AWS credentials: Unable to locate credentials"


def test_a_table_of_several_places_names_each_rows_place() -> None:
    change = {
        "Account": "111111111111",
        "Region": "eu-west-1",
        "GroupId": GROUP,
        "SecurityGroupRuleId": "sgr-00000000000000002",
        "DenylistEntry": "https-out",
        "Action": "newly-revoked",
        "Traffic": "tcp/443 -> 0.0.0.0/0",
    }
    places = [
        {"Account": account, "Region": "eu-west-1", "RulesJudged": 1, "NewlyRevoked": n}
        for account, n in (("111111111111", 1), ("222222222222", 0))
    ]
    lines = render_plan({"Changes": [change], "Places": places}).splitlines()
    assert lines[0].split()[:3] == ["ACCOUNT", "REGION", "GROUP"]
    assert lines[1].split()[:3] == ["111111111111", "eu-west-1", GROUP]
    assert [line.split(" in ")[1].split(";")[0] for line in lines[2:]] == [
        "111111111111/eu-west-1",
        "222222222222/eu-west-1",
    ]
