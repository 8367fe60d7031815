"""The command line run in-process for the unit tests: its environment, a run, its output.

`cli_environment` is what the CLI tests' `cli_env` fixture (tests/unit/conftest.py) sets;
the estate behind it is `fake_aws.FakeEc2`, through `cli.environment.new_clients`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from egress_guard import cli
from support import environment

DENYLIST: dict[str, Any] = {
    "version": 1,
    "deny": [{"id": "smtp-out", "protocol": "tcp", "ports": "25", "cidr": ["0.0.0.0/0"]}],
}
# What the CLI sets itself, or reads from the caller's shell: cleared for every CLI test.
CLI_VARIABLES = (
    *environment.CONFIGURATION_VARIABLES,
    "POWERTOOLS_METRICS_DISABLED",
    "POWERTOOLS_LOG_LEVEL",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_EC2",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
)


def cli_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sealed environment without its endpoint and credentials, the CLI's own variables
    taken in charge (`environment.own`), DENYLIST the smtp-out denylist."""
    environment.seal(monkeypatch)
    environment.own(monkeypatch, CLI_VARIABLES)
    monkeypatch.setenv("DENYLIST", json.dumps(DENYLIST))


def write(tmp_path: Path, name: str, content: Any) -> str:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def only_line(err: str) -> str:
    """stderr holds exactly one line from the CLI (JSON log lines aside)."""
    lines = [line for line in err.splitlines() if not line.startswith("{")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Runs the CLI expecting exit status 2 with nothing on stdout; returns its one line."""
    status, out, err = run(capsys, *argv)
    assert (status, out) == (2, ""), err
    return only_line(err)
