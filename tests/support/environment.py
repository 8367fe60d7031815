"""The sealed AWS environment every test runs in, and the variables a test takes charge of.

`seal` is what tests/conftest.py applies to every test: fake credentials, region us-east-1,
no profile or config files, no instance metadata, and AWS_ENDPOINT_URL pointing at a closed
local port, so a boto3 client created by mistake fails at once instead of reaching for real
AWS; egress-guard's own configuration variables from the caller's shell are cleared.
`own` is for variables the code under test writes to ``os.environ`` itself (the CLI does).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # importable without pytest: scripts/demo.py reads the variables
    import pytest

REGION = "us-east-1"
# Nothing listens here: the discard port of the loopback address.
CLOSED_ENDPOINT = "http://127.0.0.1:9"

# egress-guard's own configuration: every variable of docs/configuration.md's table (the
# AWS_ ones are cleared by prefix; Powertools' own are the library's).
CONFIGURATION_VARIABLES = (
    "DENYLIST",
    "DENYLIST_FILE",
    "DENYLIST_PARAMETER",
    "MODE",
    "EXEMPT_TAG",
    "MEMBER_ROLE_NAME",
    "NOTIFY_TOPIC_ARN",
    "MAX_REVOCATIONS",
    "MAX_REVOCATIONS_PERCENT",
    "SWEEP_CONCURRENCY",
    "REVOKE_RATE",
    "REVOKE_BURST",
)

SEALED = {
    "AWS_ENDPOINT_URL": CLOSED_ENDPOINT,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}


def seal(monkeypatch: pytest.MonkeyPatch) -> None:
    """No AWS, boto or egress-guard variable from the caller's shell; the sealed ones set."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "BOTO_")) or name in CONFIGURATION_VARIABLES:
            monkeypatch.delenv(name, raising=False)
    for name, value in SEALED.items():
        monkeypatch.setenv(name, value)


def own(monkeypatch: pytest.MonkeyPatch, names: Iterable[str]) -> None:
    """Unset `names`, and have monkeypatch restore them after the test even where the code
    under test sets them in ``os.environ`` itself (set first, so that monkeypatch also
    removes the ones that were not there)."""
    for name in names:
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
