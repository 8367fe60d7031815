"""Issue 11, items 1 and 2, over an in-memory EC2: the blast-radius limit and expiring
exemptions as the remediation applies them, and how the result, metrics, notice, table and
settings say so. The emulator-backed scenarios are in tests/integration/test_limits_and_emulator.py.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from support.fake_aws import FakeEc2, FakeMetrics
from support.rules import SMTP_JUDGE, smtp

from egress_guard import cli
from egress_guard.exemptions import expiring
from egress_guard.limits import Limits
from egress_guard.remediate import Remediator
from egress_guard.result import Finding, Result
from egress_guard.rules import Rule
from egress_guard.settings import Settings, SettingsError
from egress_guard.sinks.metrics import record_metrics
from egress_guard.sinks.notice_subject import notice_subject
from egress_guard.tables.result import render_result
from egress_guard.targets import GroupTarget, Targets

NOW = datetime(2030, 1, 1, tzinfo=UTC)
UNTIL = "egress-guard:exempt-until"


def rules(group: str, count: int, start: int = 1, tags: dict[str, str] | None = None) -> list[Rule]:
    made = [smtp(group, n) for n in range(start, start + count)]
    return [replace(r, tags=tuple((tags or {}).items())) for r in made]


def run(
    ec2: FakeEc2,
    targets: Targets,
    *,
    dry_run: bool = False,
    clock: datetime = NOW,
    **settings: Any,
) -> Result:
    result = Result(targets.source, None, None, "us-east-1", "enforce", dry_run)
    remediator = Remediator(
        ec2,
        SMTP_JUDGE,
        Settings(sweep_concurrency=1, **settings),
        dry_run=dry_run,
        clock=lambda: clock,
    )
    return remediator.run(targets, result)


def one_group(group: str) -> Targets:
    return Targets("cloudtrail", groups=(GroupTarget(group),))


SWEEP = Targets("schedule", sweep=True)


# --- the limit ------------------------------------------------------------------------------


def test_forty_rules_due_are_all_held_and_none_revoked() -> None:
    ec2 = FakeEc2(rules("sg-aaaaaaaa", 40))

    result = run(ec2, one_group("sg-aaaaaaaa"))

    assert [f.action for f in result.findings] == ["held"] * 40
    assert not ec2.made("revoke")
    assert result.to_dict()["Return"] is False
    assert result.errors == [
        "40 rules due for revocation exceed MAX_REVOCATIONS=25: none revoked (held)"
    ]
    assert result.noncompliant_groups == {"sg-aaaaaaaa"}


def test_no_limit_revokes_all_forty() -> None:
    ec2 = FakeEc2(rules("sg-aaaaaaaa", 40))

    result = run(ec2, one_group("sg-aaaaaaaa"), max_revocations=0)

    assert result.count("revoked") == 40
    assert result.ok


def test_a_dry_run_over_the_limit_reports_held_and_asks_ec2_nothing() -> None:
    ec2 = FakeEc2(rules("sg-aaaaaaaa", 40))

    result = run(ec2, one_group("sg-aaaaaaaa"), dry_run=True)

    assert {f.action for f in result.findings} == {"held"}
    assert ec2.dry_runs == []
    assert result.permission_checks == []


def test_a_dry_run_within_the_limit_reports_would_revoke() -> None:
    ec2 = FakeEc2(rules("sg-aaaaaaaa", 25))

    result = run(ec2, one_group("sg-aaaaaaaa"), dry_run=True)

    assert {f.action for f in result.findings} == {"would-revoke"}
    assert [group for group, _ in ec2.dry_runs] == ["sg-aaaaaaaa"]
    assert result.ok


def test_exempt_rules_do_not_count_towards_the_limit() -> None:
    exempt = rules("sg-aaaaaaaa", 20, tags={"egress-guard:exempt": "true"})
    ec2 = FakeEc2(exempt + rules("sg-aaaaaaaa", 20, start=21))

    result = run(ec2, one_group("sg-aaaaaaaa"))

    assert (result.count("exempt"), result.count("revoked")) == (20, 20)
    assert result.ok


def test_a_sweep_under_a_limit_reads_every_page_before_revoking() -> None:
    ec2 = FakeEc2(
        pages=[[smtp("sg-aaaaaaaa", 1)], [smtp("sg-bbbbbbbb", 2)], [smtp("sg-cccccccc", 3)]]
    )

    run(ec2, SWEEP)

    first_revoke = min(i for i, c in enumerate(ec2.calls) if c.startswith("revoke"))
    assert ec2.calls.index("page 3") < first_revoke


def test_a_sweep_over_the_share_is_held() -> None:
    offending = rules("sg-aaaaaaaa", 12)
    clean = [
        Rule(f"sgr-{n:017x}", "sg-bbbbbbbb", True, "tcp", 443, 443, cidr_ipv4="0.0.0.0/0")
        for n in range(100, 148)
    ]
    ec2 = FakeEc2(pages=[offending, clean])

    result = run(ec2, SWEEP)

    assert result.count("held") == 12
    assert result.errors[0].startswith("12 of 60 judged egress rules (20%)")
    assert "MAX_REVOCATIONS_PERCENT=10" in result.errors[0]


def test_the_share_does_not_hold_an_event_about_named_groups() -> None:
    ec2 = FakeEc2(rules("sg-aaaaaaaa", 12))

    result = run(ec2, one_group("sg-aaaaaaaa"))

    assert result.count("revoked") == 12


# --- expiring exemptions --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("until", "action"),
    [((NOW - timedelta(seconds=1)).isoformat(), "revoked"), ("2030-01-02", "exempt")],
)
def test_a_group_exempt_until_a_moment_is_exempt_before_it_only(until: str, action: str) -> None:
    ec2 = FakeEc2(rules("sg-aaaaaaaa", 1), tags={"sg-aaaaaaaa": {UNTIL: until}})

    result = run(ec2, one_group("sg-aaaaaaaa"))

    assert [f.action for f in result.findings] == [action]


def test_an_expiring_exemption_is_reported_with_its_end() -> None:
    ec2 = FakeEc2(rules("sg-aaaaaaaa", 1), tags={"sg-aaaaaaaa": {UNTIL: "2030-01-02"}})

    result = run(ec2, one_group("sg-aaaaaaaa"))

    assert result.findings[0].to_dict()["ExemptUntil"] == "2030-01-02T00:00:00Z"


def test_a_sweep_reads_both_exemption_keys_in_one_listing() -> None:
    ec2 = FakeEc2(rules("sg-aaaaaaaa", 1), tags={"sg-aaaaaaaa": {UNTIL: "2030-01-02"}})

    result = run(ec2, SWEEP)

    assert ec2.made("tagged") == ["tagged egress-guard:exempt,egress-guard:exempt-until"]
    assert result.findings[0].exempt_until == "2030-01-02T00:00:00Z"


def test_a_malformed_until_on_a_rule_is_named_in_notes_and_the_rule_revoked() -> None:
    ec2 = FakeEc2(rules("sg-aaaaaaaa", 1, tags={UNTIL: "next tuesday"}))

    result = run(ec2, one_group("sg-aaaaaaaa"))

    assert [f.action for f in result.findings] == ["revoked"]
    assert result.notes == [
        f"{smtp('sg-aaaaaaaa', 1).rule_id} (sg-aaaaaaaa): egress-guard:exempt-until="
        "'next tuesday' is not an ISO 8601 date or date-time: not exempt"
    ]


def test_a_malformed_until_on_a_group_is_named_once() -> None:
    ec2 = FakeEc2(rules("sg-aaaaaaaa", 3), tags={"sg-aaaaaaaa": {UNTIL: "soon"}})

    result = run(ec2, one_group("sg-aaaaaaaa"))

    assert result.count("revoked") == 3
    assert len(result.notes) == 1
    assert result.notes[0].startswith("sg-aaaaaaaa: egress-guard:exempt-until='soon'")


def test_expiring_lists_exemptions_ending_within_the_window_soonest_first() -> None:
    def exempt(rule: str, until: str | None) -> dict[str, Any]:
        return {"GroupId": "sg-1", "SecurityGroupRuleId": rule, "DenylistEntry": "smtp",
                "Action": "exempt", **({"ExemptUntil": until} if until else {})}  # fmt: skip

    result = {
        "Findings": [
            exempt("sgr-late", "2030-01-20T00:00:00Z"),
            exempt("sgr-soon", "2030-01-05T00:00:00Z"),
            exempt("sgr-sooner", "2030-01-02T00:00:00Z"),
            exempt("sgr-forever", None),
        ]
    }

    found = expiring(result, NOW, timedelta(days=7))

    assert [f["SecurityGroupRuleId"] for f in found] == ["sgr-sooner", "sgr-soon"]


# --- how the result says so -----------------------------------------------------------------


def held_result(count: int) -> Result:
    result = Result("schedule", None, "123456789012", "us-east-1", "enforce", False)
    result.findings = [Finding(smtp("sg-aaaaaaaa", n), "smtp", "held") for n in range(count)]
    result.errors = ["held"]
    return result


def test_the_notice_subject_says_held() -> None:
    subject = notice_subject(held_result(40))

    assert "HELD 40 egress rules" in subject
    assert len(subject) <= 100


def test_a_revocations_held_metric_is_emitted() -> None:
    metrics = FakeMetrics()

    record_metrics(metrics, held_result(40))

    assert metrics.counts["RevocationsHeld"] == 40


def test_the_table_shows_held_and_the_end_of_an_exemption_and_what_expires() -> None:
    output = held_result(2).to_dict()
    output["Findings"].append(
        {"GroupId": "sg-b", "SecurityGroupRuleId": "sgr-b", "DenylistEntry": "smtp",
         "Action": "exempt", "ExemptUntil": "2030-01-02T00:00:00Z", "Traffic": "t"}
    )  # fmt: skip
    output["ExpiringExemptions"] = [dict(output["Findings"][-1])]

    text = render_result(output)

    assert "2 held" in text
    assert "exempt until 2030-01-02T00:00:00Z" in text
    assert "expiring exemptions (1):" in text


# --- settings -------------------------------------------------------------------------------


def test_limits_default_to_25_rules_and_10_percent() -> None:
    settings = Settings.from_env({})

    assert (settings.max_revocations, settings.max_revocations_percent) == (25, 10)


def test_zero_lifts_the_limits() -> None:
    env = {"MAX_REVOCATIONS": "0", "MAX_REVOCATIONS_PERCENT": "0"}

    assert Settings.from_env(env).limits.unlimited


@pytest.mark.parametrize(
    ("name", "value"),
    [("MAX_REVOCATIONS", "-1"), ("MAX_REVOCATIONS", "ten"), ("MAX_REVOCATIONS_PERCENT", "101")],
)
def test_a_limit_that_is_not_a_count_is_refused_by_name(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


# --- the command line's options -------------------------------------------------------------


def test_max_revocations_on_the_command_line_is_the_runs_only_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("POWERTOOLS_METRICS_DISABLED", "POWERTOOLS_LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MAX_REVOCATIONS", "25")  # monkeypatch restores what the CLI sets
    monkeypatch.setenv("MAX_REVOCATIONS_PERCENT", "10")

    args = cli.build_parser().parse_args(["scan", "--max-revocations", "100"])
    cli.prepare_environment(args)

    assert cli.settings_of(args).limits == Limits(100, 0)


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["scan", "--max-revocations", "-1"], "--max-revocations"),
        (["invoke", "e.json", "--max-revocations", "many"], "--max-revocations"),
        (["scan", "--expiring-within", "soon"], "--expiring-within"),
        (["invoke", "e.json", "--expiring-within", "7"], "--expiring-within"),  # scan only
    ],
)
def test_bad_limit_options_exit_2_naming_the_option(
    argv: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.build_parser().parse_args(argv)

    assert exited.value.code == 2
    assert named in capsys.readouterr().err
