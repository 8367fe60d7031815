"""Settings are read and validated once, at the entry: a bad value is one line naming it.

From the command line: exit status 2 and that line on stderr, before any AWS call. From the
Lambda handler: a `SettingsError` naming the variable, logged as one JSON line, with no
chained traceback behind it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from egress_guard import cli
from egress_guard.settings import AwsTimeouts, Settings, SettingsError

EVENT = {"version": "0", "id": "e-1", "source": "aws.events", "detail-type": "Scheduled Event",
         "account": "123456789012", "region": "us-east-1", "detail": {}}  # fmt: skip


class Context:
    function_name = "egress-guard"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    aws_request_id = "req-1"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:egress-guard"

    def get_remaining_time_in_millis(self) -> int:
        return 60000


def cli_error(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    status = cli.main(list(argv))
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if not line.startswith("{")]
    assert len(lines) == 1, err
    return status, lines[0]


def test_a_read_timeout_that_is_not_a_number_is_exit_2_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_READ_TIMEOUT", "abc")
    status, line = cli_error(capsys, "scan", "--dry-run")
    assert (status, line) == (2, "egress-guard: AWS_READ_TIMEOUT: 'abc' is not a number")


def test_a_negative_max_revocations_is_exit_2_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MAX_REVOCATIONS", "-1")
    status, line = cli_error(capsys, "scan", "--dry-run")
    assert status == 2
    assert line.startswith("egress-guard: MAX_REVOCATIONS: '-1' is not an integer")


def test_an_unknown_mode_is_exit_2_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("MODE", "bogus")
    event = tmp_path / "event.json"
    event.write_text(json.dumps(EVENT))
    status, line = cli_error(capsys, "invoke", str(event))
    assert (status, line) == (2, "egress-guard: MODE: 'bogus' is not 'enforce' or 'report'")


def test_the_handler_refuses_a_bad_setting_with_one_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from egress_guard.handler import lambda_handler

    monkeypatch.setenv("AWS_CONNECT_TIMEOUT", "soon")
    with pytest.raises(SettingsError, match=r"^AWS_CONNECT_TIMEOUT: 'soon' is not a number$") as e:
        lambda_handler(EVENT, Context())  # type: ignore[arg-type]
    assert e.value.__cause__ is None
    assert e.value.__suppress_context__


def test_aws_timeouts_are_read_with_the_other_settings() -> None:
    env = {"AWS_CONNECT_TIMEOUT": "1.5", "AWS_READ_TIMEOUT": "3", "AWS_MAX_ATTEMPTS": "2"}
    assert Settings.from_env(env).aws == AwsTimeouts(connect=1.5, read=3.0, attempts=2)


def test_a_timeout_below_its_minimum_is_refused() -> None:
    with pytest.raises(SettingsError, match="AWS_MAX_ATTEMPTS: '0' is below 1"):
        Settings.from_env({"AWS_MAX_ATTEMPTS": "0"})
