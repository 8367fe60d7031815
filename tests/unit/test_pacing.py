"""Pacing of mutating calls: a token bucket per account and region, on a fake clock."""

from __future__ import annotations

from egress_guard.pacing import Pace, Pacers, TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def bucket(rate: float = 2.0, burst: int = 10) -> tuple[TokenBucket, FakeClock]:
    clock = FakeClock()
    return TokenBucket(Pace(rate, burst), clock=clock, sleep=clock.sleep), clock


def test_a_burst_goes_without_waiting() -> None:
    paced, clock = bucket()
    for _ in range(10):
        paced.acquire()
    assert clock.slept == []


def test_past_the_burst_calls_come_at_the_rate() -> None:
    paced, clock = bucket()
    for _ in range(30):
        paced.acquire()
    assert clock.now == 10.0  # 20 calls past the burst at 2 a second


def test_an_idle_bucket_refills_up_to_the_burst_only() -> None:
    paced, clock = bucket()
    clock.now = 3600.0
    for _ in range(11):
        paced.acquire()
    assert clock.now == 3600.5


def test_rate_zero_is_unpaced() -> None:
    paced, clock = bucket(rate=0)
    for _ in range(1000):
        paced.acquire()
    assert clock.slept == []


def test_each_account_region_has_its_own_bucket() -> None:
    pacers = Pacers(Pace())
    assert pacers.bucket("111122223333", "eu-west-1") is pacers.bucket("111122223333", "eu-west-1")
    assert pacers.bucket("111122223333", "eu-west-1") is not pacers.bucket(
        "111122223333", "us-east-1"
    )
