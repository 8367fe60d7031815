"""Polite sweeps (issue 11, item 5): mutating EC2 calls are paced per account and region.

The token bucket on a fake clock, the settings that size it, and the EC2 layer that spends
its tokens: revokes, DryRun revokes and restores, never a sleep past the deadline.
"""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

import pytest

from egress_guard.aws import Clients, Ec2, OutOfTime, may_have_applied
from egress_guard.pacing import Pace, TokenBucket, WaitTooLong
from egress_guard.settings import Settings, SettingsError, pace_from_env

GROUP = "sg-0123456789abcdef0"
RULE = "sgr-0123456789abcdef0"


class FakeClock:
    def __init__(self, *, frozen: bool = False) -> None:
        self.now = 0.0
        self.frozen = frozen
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            if not self.frozen:
                self.now += seconds


class FakeEc2Client:
    """What Ec2 uses of a boto3 EC2 client: the two egress calls and the timeouts."""

    def __init__(self, connect: float = 1.0, read: float = 1.0) -> None:
        self.meta = SimpleNamespace(
            config=SimpleNamespace(connect_timeout=connect, read_timeout=read)
        )
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def revoke_security_group_egress(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("revoke", kwargs))
        if kwargs.get("DryRun"):
            from botocore.exceptions import ClientError

            error = {"Error": {"Code": "DryRunOperation", "Message": "would have succeeded"}}
            raise ClientError(error, "RevokeSecurityGroupEgress")
        return {"Return": True}

    def authorize_security_group_egress(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("authorize", kwargs))
        return {"Return": True, "SecurityGroupRules": [{"SecurityGroupRuleId": RULE}]}


def paced_ec2(
    pace: Pace, *, seconds_left: float | None = None
) -> tuple[Ec2, FakeEc2Client, FakeClock]:
    clock = FakeClock()
    client = FakeEc2Client()
    bucket = TokenBucket(pace, clock=clock, sleep=clock.sleep)
    ec2 = Ec2(
        client,  # type: ignore[arg-type]
        "111122223333",
        "eu-west-1",
        pacer=bucket,
        seconds_left=lambda: seconds_left,
    )
    return ec2, client, clock


# --- the bucket -----------------------------------------------------------------------------------


def test_workers_sharing_a_bucket_each_get_their_own_slot() -> None:
    """Eight threads, 40 calls, a clock that never moves: every caller past the burst is
    told a distinct wait, one 1/rate apart, so no two calls go out together."""
    clock = FakeClock(frozen=True)
    bucket = TokenBucket(Pace(rate=2, burst=10), clock=clock, sleep=clock.sleep)
    waits: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(5):
            waited = bucket.acquire()
            with lock:
                waits.append(waited)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(waits) == [0.0] * 10 + [k / 2 for k in range(1, 31)]


def test_a_wait_beyond_the_limit_is_refused_and_takes_no_token() -> None:
    clock = FakeClock()
    bucket = TokenBucket(Pace(rate=1, burst=1), clock=clock, sleep=clock.sleep)
    bucket.acquire()
    with pytest.raises(WaitTooLong) as refused:
        bucket.acquire(limit=0.5)
    assert refused.value.wait == 1.0
    assert clock.slept == []
    clock.now = 1.0  # the refused call took nothing: the token is there for the next
    assert bucket.acquire(limit=0.0) == 0.0


# --- the settings ---------------------------------------------------------------------------------


def test_the_default_pace_is_two_a_second_with_a_burst_of_ten() -> None:
    assert Settings.from_env({}).pace == Pace(rate=2.0, burst=10)


def test_the_pace_comes_from_revoke_rate_and_revoke_burst() -> None:
    settings = Settings.from_env({"REVOKE_RATE": "0.5", "REVOKE_BURST": "3"})
    assert (settings.revoke_rate, settings.revoke_burst) == (0.5, 3)
    assert Settings.from_env({"REVOKE_RATE": "0"}).pace.unpaced


@pytest.mark.parametrize("value", ["fast", "-1", "nan", "inf", "101"])
def test_a_bad_revoke_rate_is_refused_naming_the_variable(value: str) -> None:
    with pytest.raises(SettingsError, match=r"^REVOKE_RATE: .* from 0 \(unpaced\) to 100"):
        Settings.from_env({"REVOKE_RATE": value})


@pytest.mark.parametrize("value", ["0", "-3", "2.5", "ten", "1001"])
def test_a_bad_revoke_burst_is_refused_naming_the_variable(value: str) -> None:
    with pytest.raises(SettingsError, match=r"^REVOKE_BURST: .* integer 1-1000"):
        pace_from_env({"REVOKE_BURST": value})


# --- the EC2 layer --------------------------------------------------------------------------------


def test_revokes_past_the_burst_wait_for_their_token() -> None:
    ec2, client, clock = paced_ec2(Pace(rate=2, burst=2))
    for _ in range(4):
        ec2.revoke(GROUP, [RULE])
    assert len(client.calls) == 4
    assert clock.slept == [0.5, 0.5]


def test_dry_run_revokes_and_restores_spend_tokens_too() -> None:
    ec2, client, clock = paced_ec2(Pace(rate=1, burst=1))
    assert ec2.revoke_dry_run(GROUP, [RULE]).permitted
    ec2.authorize(GROUP, {"IpProtocol": "tcp", "FromPort": 25, "ToPort": 25}, {})
    assert [name for name, _ in client.calls] == ["revoke", "authorize"]
    assert clock.slept == [1.0]


def test_a_token_that_would_come_after_the_deadline_fails_the_call_unsent() -> None:
    """60 s left, 2 s margin, a first attempt of 1 + 1 s plus 1 s of backoff: a call may
    wait at most 55 s. The 11th revoke of a bucket of 10 at 0.01 a second would wait 100 s."""
    ec2, client, clock = paced_ec2(Pace(rate=0.01, burst=10), seconds_left=60.0)
    for _ in range(10):
        ec2.revoke(GROUP, [RULE])
    with pytest.raises(OutOfTime) as refused:
        ec2.revoke(GROUP, [RULE])
    assert len(client.calls) == 10
    assert clock.slept == []
    assert not may_have_applied(refused.value)  # nothing was sent: nothing to read back


def test_a_wait_that_fits_before_the_deadline_is_waited() -> None:
    ec2, client, clock = paced_ec2(Pace(rate=0.02, burst=1), seconds_left=60.0)
    ec2.revoke(GROUP, [RULE])
    clock.now = 5.0  # 45 s to wait, 55 s allowed
    ec2.revoke(GROUP, [RULE])
    assert clock.slept == [45.0]
    assert len(client.calls) == 2


def test_one_bucket_per_account_and_region_for_the_container() -> None:
    clients = Clients()
    clients.set_own_account("111122223333")
    pace = Pace()
    own = clients.ec2(None, "eu-west-1", None, pace=pace)
    named = clients.ec2("111122223333", "eu-west-1", None, pace=pace)
    elsewhere = clients.ec2("111122223333", "us-east-1", None, pace=pace)
    other = clients.ec2("444455556666", "eu-west-1", "egress-guard-member", pace=pace)
    assert own.pacer is not None
    assert own.pacer is named.pacer  # the own account, named or not: one bucket
    assert elsewhere.pacer is not own.pacer
    assert other.pacer is not own.pacer


def test_the_pace_defaults_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    clients = Clients()
    monkeypatch.setenv("REVOKE_RATE", "0")
    assert clients.ec2("111122223333", "eu-west-1", None).pacer is None
    monkeypatch.setenv("REVOKE_RATE", "1")
    monkeypatch.setenv("REVOKE_BURST", "xx")
    with pytest.raises(SettingsError, match="REVOKE_BURST"):
        clients.ec2("111122223333", "eu-west-1", None)
