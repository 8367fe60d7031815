"""How every client is configured: timeouts, retries and the agent; region and partition.

Clients are created once per container with boto3's adaptive retry mode, and reach a
local emulator through boto3's own AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_EC2 like any other
boto3 program.
"""

from __future__ import annotations

from typing import Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError

from egress_guard import __version__
from egress_guard.aws.errors import aws_call
from egress_guard.settings import AwsTimeouts

CONNECT_TIMEOUT = 5.0  # seconds; AWS_CONNECT_TIMEOUT overrides
READ_TIMEOUT = 15.0  # seconds; AWS_READ_TIMEOUT overrides
MAX_ATTEMPTS = 7  # total attempts (6 retries); boto3's own AWS_MAX_ATTEMPTS overrides

CLIENT_CONFIG = Config(
    retries={"mode": "adaptive", "total_max_attempts": MAX_ATTEMPTS},
    connect_timeout=CONNECT_TIMEOUT,
    read_timeout=READ_TIMEOUT,
    user_agent_extra=f"egress-guard/{__version__}",
    max_pool_connections=16,
)


def client_config(timeouts: AwsTimeouts | None = None) -> Config:
    """`CLIENT_CONFIG`, with the timeouts and attempts the settings ask for (None: as the
    environment says, read through settings.py; a bad value is a SettingsError).

    Retries stay boto3's own adaptive mode. The worst case of one call is about attempts x
    (connect + read) plus backoff, so lower them together with the Lambda timeout. Read
    when a client is created, i.e. once per container.
    """
    timeouts = AwsTimeouts.from_env() if timeouts is None else timeouts
    overrides: dict[str, Any] = {}
    if timeouts.connect is not None:
        overrides["connect_timeout"] = timeouts.connect
    if timeouts.read is not None:
        overrides["read_timeout"] = timeouts.read
    if timeouts.attempts is not None:
        overrides["retries"] = {"mode": "adaptive", "total_max_attempts": timeouts.attempts}
    return CLIENT_CONFIG.merge(Config(**overrides)) if overrides else CLIENT_CONFIG


MAX_BACKOFF = 20.0  # botocore's cap on one backoff (standard and adaptive modes)


@aws_call
def configured_region() -> str | None:
    """The region boto3 is configured with (AWS_DEFAULT_REGION, the profile's), if any.
    ProfileNotFound when AWS_PROFILE names no profile."""
    region = botocore.session.get_session().get_config_variable("region")
    return str(region) if region else None


def partition(region: str, session: botocore.session.Session | None = None) -> str:
    """The partition of `region`, from botocore's endpoint data (which names every region
    of every partition, and a pattern for new ones)."""
    try:
        return str((session or botocore.session.get_session()).get_partition_for_region(region))
    except BotoCoreError:
        raise ValueError(f"region {region!r}: no AWS partition known for it") from None
