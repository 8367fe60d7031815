"""Settings are read and validated once, at the entry: a bad value is one line naming it.

From the command line: exit status 2 and that line on stderr, before any AWS call. From the
Lambda handler: a `SettingsError` naming the variable, logged as one JSON line, with no
chained traceback behind it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.cli_session import only_line, run
from support.emulator import FakeLambdaContext

from egress_guard.settings import AwsTimeouts, Settings, SettingsError

EVENT = {"version": "0", "id": "e-1", "source": "aws.events", "detail-type": "Scheduled Event",
         "account": "123456789012", "region": "us-east-1", "detail": {}}  # fmt: skip


def refused_with(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """The CLI's exit status and its one line on stderr."""
    status, _, err = run(capsys, *argv)
    return status, only_line(err)


def test_a_read_timeout_that_is_not_a_number_is_exit_2_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_READ_TIMEOUT", "abc")
    status, line = refused_with(capsys, "scan", "--dry-run")
    assert (status, line) == (2, "egress-guard: AWS_READ_TIMEOUT: 'abc' is not a number")


def test_a_negative_max_revocations_is_exit_2_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MAX_REVOCATIONS", "-1")
    status, line = refused_with(capsys, "scan", "--dry-run")
    assert status == 2
    assert line.startswith("egress-guard: MAX_REVOCATIONS: '-1' is not an integer")


def test_an_unknown_mode_is_exit_2_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("MODE", "bogus")
    event = tmp_path / "event.json"
    event.write_text(json.dumps(EVENT))
    status, line = refused_with(capsys, "invoke", str(event))
    assert (status, line) == (2, "egress-guard: MODE: 'bogus' is not 'enforce' or 'report'")


def test_the_handler_refuses_a_bad_setting_with_one_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from egress_guard.handler import lambda_handler

    monkeypatch.setenv("AWS_CONNECT_TIMEOUT", "soon")
    with pytest.raises(SettingsError, match=r"^AWS_CONNECT_TIMEOUT: 'soon' is not a number$") as e:
        lambda_handler(EVENT, FakeLambdaContext())
    assert e.value.__cause__ is None
    assert e.value.__suppress_context__


def test_aws_timeouts_are_read_with_the_other_settings() -> None:
    env = {"AWS_CONNECT_TIMEOUT": "1.5", "AWS_READ_TIMEOUT": "3", "AWS_MAX_ATTEMPTS": "2"}
    assert Settings.from_env(env).aws == AwsTimeouts(connect=1.5, read=3.0, attempts=2)


def test_a_timeout_below_its_minimum_is_refused() -> None:
    with pytest.raises(SettingsError, match="AWS_MAX_ATTEMPTS: '0' is below 1"):
        Settings.from_env({"AWS_MAX_ATTEMPTS": "0"})
