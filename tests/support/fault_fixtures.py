"""Fixtures for the safety tests (issue 4): fault injection, the fuzzing profile.

A pytest plugin (registered in tests/conftest.py), next to the emulator's
(`support.fixtures`). Added here:

- ``fault_proxy``: a `faults.FaultProxy` in front of moto with AWS_ENDPOINT_URL pointing
  at it, and the clients' timeouts and attempts lowered so that a fault costs
  milliseconds, not the production 15 s read timeout (``AWS_READ_TIMEOUT``,
  ``AWS_CONNECT_TIMEOUT``, ``AWS_MAX_ATTEMPTS``; see egress_guard.aws.client_config).
- ``unlimited_container``: the cold container of ``fresh_container``, with the
  blast-radius limits in force but out of reach (`UNREACHED_LIMIT`, 100%).
- The hypothesis profile ``safety`` (see `FUZZ_EXAMPLES`): derandomized, so CI runs the
  same cases every time; ``HYPOTHESIS_PROFILE=thorough`` multiplies the cases by 10.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from botocore.retries import bucket
from botocore.retries.standard import ExponentialBackoff
from hypothesis import HealthCheck, settings

from support.faults import CONNECT_TIMEOUT, MAX_ATTEMPTS, READ_TIMEOUT, TIME_SCALE, FaultProxy

UNREACHED_LIMIT = 1_000_000
# Hypothesis: cases per fuzz test; the fuzz tests together run >= 10,000 (FIGURES.md).
FUZZ_EXAMPLES = int(os.environ.get("SAFETY_FUZZ_EXAMPLES", "2000"))
_scale = 10 if os.environ.get("HYPOTHESIS_PROFILE") == "thorough" else 1
settings.register_profile(
    "safety",
    max_examples=FUZZ_EXAMPLES * _scale,
    deadline=None,
    derandomize=True,
    print_blob=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture
def unlimited_container(monkeypatch: pytest.MonkeyPatch, fresh_container: None) -> None:
    # These suites prove exact revocations, not the blast-radius limit: a limit in force
    # (the default way of acting: judge everything, then act) that they never reach.
    monkeypatch.setenv("MAX_REVOCATIONS", str(UNREACHED_LIMIT))
    monkeypatch.setenv("MAX_REVOCATIONS_PERCENT", "100")


def compress_boto3_retry_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run boto3's retry timing TIME_SCALE times faster, as the read timeout already is.

    Under fault injection most of a test's time would be boto3 waiting: its backoff
    (1 s x 2^attempt x jitter after throttling, 50 ms x ... otherwise) and the adaptive
    mode's client-side rate limiter, whose token bucket drops to 0.5 requests/s under
    sustained throttling. Both keep their logic (attempts, jitter, CUBIC rate changes,
    the retry quota); only their clock runs faster: backoff bases are divided by
    TIME_SCALE, and the limiter's clock reads TIME_SCALE x real time (so tokens refill,
    and its waits end, TIME_SCALE times sooner).
    """
    config = ExponentialBackoff._DEFAULT_BACKOFF_CONFIG
    for key in ("throttling_base_scale", "non_throttling_base_scale"):
        monkeypatch.setitem(config, key, config[key] / TIME_SCALE)
    monkeypatch.setattr(bucket.Clock, "current_time", lambda self: time.time() * TIME_SCALE)
    sleep_amount = bucket.TokenBucket._sleep_amount
    monkeypatch.setattr(
        bucket.TokenBucket,
        "_sleep_amount",
        lambda self, amount: sleep_amount(self, amount) / TIME_SCALE,
    )


@pytest.fixture
def fault_proxy(monkeypatch: pytest.MonkeyPatch, aws_env: str) -> Iterator[FaultProxy]:
    with FaultProxy(aws_env) as running:
        monkeypatch.setenv("AWS_ENDPOINT_URL", running.url)
        monkeypatch.setenv("AWS_READ_TIMEOUT", str(READ_TIMEOUT))
        monkeypatch.setenv("AWS_CONNECT_TIMEOUT", str(CONNECT_TIMEOUT))
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", str(MAX_ATTEMPTS))
        monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
        compress_boto3_retry_time(monkeypatch)
        yield running
