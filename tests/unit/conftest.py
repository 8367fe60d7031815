"""Fixtures of the command-line tests (test_cli*.py): the CLI's environment, and the fake
estate behind it (SMTP and HTTPS in GROUP "web", OTHER_SMTP in OTHER_GROUP)."""

from __future__ import annotations

import pytest
from support import fake_aws
from support.cli_session import cli_environment
from support.fake_aws import FakeClients, FakeEc2
from support.rules import CLI_ESTATE, GROUP, WEB

from egress_guard import cli


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch) -> None:
    cli_environment(monkeypatch)


@pytest.fixture
def ec2() -> FakeEc2:
    """Pages of two rules, so that a sweep reads more than one."""
    return FakeEc2(CLI_ESTATE, page_size=2, groups={GROUP: WEB}, account=None)


@pytest.fixture
def clients(monkeypatch: pytest.MonkeyPatch, ec2: FakeEc2) -> FakeClients:
    fake = fake_aws.FakeClients(ec2)
    monkeypatch.setattr(cli.environment, "new_clients", lambda: fake)
    return fake
