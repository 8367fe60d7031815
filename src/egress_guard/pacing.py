"""Client-side pacing of mutating EC2 calls, one token bucket per account and region.

EC2 throttles mutating calls per account and region with a token bucket (50 calls,
refilled at 5 a second) that it shares with everything else in the account: a sweep that
drains it makes the account's own deployments fail. egress-guard therefore spends at most
`rate` calls a second with a burst of `burst` (default 2 and 10), well inside EC2's bucket,
and waits for a token rather than being throttled. Thread-safe: a sweep's workers share one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_RATE = 2.0
DEFAULT_BURST = 10


@dataclass(frozen=True, slots=True)
class Pace:
    """`rate` calls per second with bursts of `burst`; rate 0 means unpaced."""

    rate: float = DEFAULT_RATE
    burst: int = DEFAULT_BURST

    @property
    def unpaced(self) -> bool:
        return self.rate <= 0


class WaitTooLong(Exception):
    """A token would come only after the caller's limit; nothing was taken."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"the next token comes in {wait:.1f} s")
        self.wait = wait


class TokenBucket:
    """Hands out one token per call; `acquire` sleeps until one is there.

    A caller reserves its token under the lock and then sleeps outside it, so that the
    workers of a sweep queue up in order, each for its own slot, rather than waking together
    and racing for the next token.
    """

    def __init__(
        self,
        pace: Pace,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._pace = pace
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(pace.burst)
        self._stamp = clock()

    def acquire(self, limit: float | None = None) -> float:
        """Takes a token, waiting for it if need be; returns the seconds waited.

        `limit`: the longest the caller may wait. When the token would come later, none is
        taken and `WaitTooLong` is raised at once: never a sleep that outlasts the caller.
        """
        if self._pace.unpaced:
            return 0.0
        with self._lock:
            now = self._clock()
            self._tokens = min(
                float(self._pace.burst), self._tokens + (now - self._stamp) * self._pace.rate
            )
            self._stamp = now
            # Below zero: tokens promised to callers already waiting for them.
            wait = max(0.0, (1 - self._tokens) / self._pace.rate)
            if limit is not None and wait > limit:
                raise WaitTooLong(wait)
            self._tokens -= 1
        if wait > 0:
            self._sleep(wait)
        return wait


class Pacers:
    """One bucket per (account, region), made on first use and kept for the container.

    `new_bucket` makes a bucket of the pace (a test's, on a fake clock).
    """

    def __init__(self, pace: Pace, new_bucket: Callable[[Pace], TokenBucket] = TokenBucket) -> None:
        self._pace = pace
        self._new_bucket = new_bucket
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    def bucket(self, account: str | None, region: str) -> TokenBucket:
        key = (account or "", region)
        with self._lock:
            found = self._buckets.get(key)
            if found is None:
                found = self._new_bucket(self._pace)
                self._buckets[key] = found
            return found
