"""Fixtures for tests against the local EC2 emulator (moto's server in a subprocess).

A pytest plugin (registered in tests/conftest.py), so every test folder can use them:

- ``moto_server`` (session): the running `emulator.MotoServer`; ``.url``. One per pytest
  session, so one per xdist worker.
- ``emulator``: the same server, reset to an empty state before the test.
- ``aws_env``: the environment of a Lambda pointed at the emulator: AWS_ENDPOINT_URL, fake
  credentials, region us-east-1, no profile or config files. Returns the endpoint URL.
  Code under test then reaches the emulator only through boto3's own AWS_ENDPOINT_URL.
- ``proxy``: a `support.proxy.Proxy` in front of moto, with AWS_ENDPOINT_URL pointing at it, so
  the code under test goes through its hooks. Setup fixtures (``ec2``, ``aws_cli``) keep
  talking to moto directly and are not recorded in ``proxy.calls``.
- ``ec2``: a boto3 EC2 client on the emulator, for test setup and checks.
- ``aws_cli``: ``aws_cli("ec2", "describe-security-groups", ...)`` runs the real AWS CLI
  against the emulator and returns its parsed JSON output (raises
  `emulator.AwsCliError`); ``endpoint_url=proxy.url`` sends it through the proxy.
- ``make_group``: ``make_group(egress=[...], ...)`` -> `emulator.Group`; see
  `emulator.create_group`.
- ``lambda_context``: an `emulator.FakeLambdaContext` for account 123456789012.
- ``fresh_container``: a cold Lambda container for the handler module (its clients made
  anew against this test's endpoint, metrics off).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from support.emulator import (
    ACCOUNT_ID,
    REGION,
    FakeLambdaContext,
    Group,
    MotoServer,
    create_group,
    emulator_environment,
    run_aws_cli,
)
from support.proxy import Proxy


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


@pytest.fixture
def emulator(moto_server: MotoServer) -> MotoServer:
    moto_server.reset()
    return moto_server


def point_env_at(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """Set the process environment to that of a Lambda whose AWS is the emulator at `url`."""
    target = emulator_environment(url, os.environ)
    for name in set(os.environ) - set(target):
        monkeypatch.delenv(name, raising=False)
    for name, value in target.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, emulator: MotoServer) -> str:
    point_env_at(monkeypatch, emulator.url)
    return emulator.url


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch, aws_env: str) -> Iterator[Proxy]:
    with Proxy(aws_env) as running:
        monkeypatch.setenv("AWS_ENDPOINT_URL", running.url)
        yield running


@pytest.fixture
def ec2(aws_env: str) -> Any:
    return boto3.client("ec2", endpoint_url=aws_env, region_name=REGION)


AwsCli = Callable[..., Any]


@pytest.fixture
def aws_cli(aws_env: str) -> AwsCli:
    def aws(*args: str, endpoint_url: str | None = None, timeout: float = 120) -> Any:
        return run_aws_cli(*args, endpoint_url=endpoint_url or aws_env, timeout=timeout)

    return aws


@pytest.fixture
def make_group(ec2: Any) -> Callable[..., Group]:
    def make(*args: Any, **kwargs: Any) -> Group:
        return create_group(ec2, *args, **kwargs)

    return make


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext(account_id=ACCOUNT_ID, region=REGION)


@pytest.fixture
def fresh_container(monkeypatch: pytest.MonkeyPatch, aws_env: str) -> None:
    """A cold Lambda container: the handler module's clients made anew against this test's
    endpoint, metrics off; egress-guard's settings are the documented defaults (tests/
    conftest.py clears them) until the test sets its own."""
    from egress_guard import handler
    from egress_guard.aws import Clients

    monkeypatch.setattr(handler, "clients", Clients())
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
