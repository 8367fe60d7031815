"""Fault injection for the emulator's proxy: throttling, server errors, resets, timeouts.

`Faults` is a proxy hook (``proxy.on("*", faults)``) that, with a seeded RNG, answers a
share of EC2 requests itself instead of letting moto answer:

- ``throttle``: ``RequestLimitExceeded``, HTTP 503, as EC2 throttles (moto does nothing);
- ``internal``: ``InternalError``, HTTP 500 (moto does nothing);
- ``reset``: the TCP connection is reset before any answer (moto does nothing);
- ``timeout``: moto *does* the request, then the proxy sits on the answer past the
  client's read timeout and drops the connection. For a revoke this is the hard case:
  the rules are gone but the caller never heard so, and its retry finds them missing;
- ``hang`` (only when asked for): like ``timeout``, but the request never reaches moto.

Reads (``Describe*``, ``Get*``: GetManagedPrefixListEntries too) and writes (``Revoke*``,
``Authorize*``) have rates of their own; other EC2 actions and every non-EC2 request pass
untouched. `FaultProxy` is the emulator's `Proxy` that can reset connections (the base
proxy always answers).
`Faults.injected` counts what was injected, by kind and by action.
"""

from __future__ import annotations

import random
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any

from support import proxy as emulator_proxy
from support.emulator import EC2_API_VERSION
from support.proxy import Forward, Proxy, Request, Response, ec2_error

KINDS = ("throttle", "internal", "reset", "timeout")  # drawn from by default
EXTRA_KINDS = ("hang",)

# The clients' settings under fault injection (the ``fault_proxy`` fixture sets them): a
# "timeout" fault holds the answer FAULT_DELAY seconds, past READ_TIMEOUT; MAX_ATTEMPTS
# (boto3's AWS_MAX_ATTEMPTS: the first attempt and the retries) bounds each call.
READ_TIMEOUT = 0.3
CONNECT_TIMEOUT = 0.5
MAX_ATTEMPTS = 4
FAULT_DELAY = READ_TIMEOUT + 0.15
TIME_SCALE = 20.0  # boto3's backoff and rate limiter run this much faster (conftest)
READ_PREFIXES = ("Describe", "Get")
WRITE_PREFIXES = ("Revoke", "Authorize")


class ResetConnection(BaseException):
    """Raised by a hook to make `FaultProxy` reset the client's connection.

    A BaseException so that the base proxy's ``except Exception`` (which turns a broken
    hook into a 500) lets it through to `FaultProxy`'s handler.
    """


def is_ec2(request: Request) -> bool:
    return request.params.get("Version") == EC2_API_VERSION


def kind_of(action: str | None) -> str | None:
    """``"read"``, ``"write"`` or None (never faulted)."""
    if not action:
        return None
    if action.startswith(READ_PREFIXES):
        return "read"
    if action.startswith(WRITE_PREFIXES):
        return "write"
    return None


@dataclass
class Faults:
    """A seeded, thread-safe fault-injecting hook for `Proxy.on("*", ...)`.

    ``read_rate``/``write_rate``: the share (0..1) of read and write requests answered
    with a fault; ``kinds``: which faults to draw from (uniformly); ``delay``: how long a
    ``timeout`` fault holds the answer (set it past the client's read timeout).
    ``enabled`` turns injection off and on (e.g. for a final fault-free check).
    """

    read_rate: float = 0.0
    write_rate: float = 0.0
    seed: int = 0
    kinds: Sequence[str] = KINDS
    delay: float = 1.0
    enabled: bool = True
    injected: Counter[tuple[str, str]] = field(default_factory=Counter)  # (class, kind)
    by_action: Counter[tuple[str, str]] = field(default_factory=Counter)  # (action, kind)
    seen: Counter[str] = field(default_factory=Counter)  # class -> requests seen
    _rng: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        known = KINDS + EXTRA_KINDS
        if set(self.kinds) - set(known) or not self.kinds:
            raise ValueError(f"fault kinds must be some of {known}, not {list(self.kinds)}")
        self._rng = random.Random(self.seed)

    @property
    def total(self) -> int:
        return sum(self.injected.values())

    def draw(self, request: Request) -> str | None:
        """The fault to inject for this request, or None (counted either way)."""
        klass = kind_of(request.action) if is_ec2(request) else None
        if klass is None:
            return None
        rate = self.read_rate if klass == "read" else self.write_rate
        with self._lock:
            self.seen[klass] += 1
            if not self.enabled or self._rng.random() >= rate:
                return None
            fault = self._rng.choice(list(self.kinds))
            self.injected[(klass, fault)] += 1
            self.by_action[(request.action or "", fault)] += 1
            return fault

    def __call__(self, request: Request, forward: Forward) -> Response:
        fault = self.draw(request)
        if fault is None:
            return forward(request)
        if fault == "throttle":
            return ec2_error("RequestLimitExceeded", "Request limit exceeded.", 503)
        if fault == "internal":
            return ec2_error(
                "InternalError", "An internal error has occurred (injected by the test).", 500
            )
        if fault == "reset":
            raise ResetConnection
        if fault == "timeout":
            forward(request)  # the request takes effect, its answer never arrives
        time.sleep(self.delay)
        raise ResetConnection

    def summary(self) -> dict[str, Any]:
        return {
            "seen": dict(self.seen),
            "injected": {f"{k}/{f}": n for (k, f), n in sorted(self.injected.items())},
            "total": self.total,
        }


class FaultProxy(Proxy):
    """The emulator's `Proxy`, able to reset a connection when a hook raises
    `ResetConnection` (SO_LINGER 0 then close: the client sees ECONNRESET)."""

    def start(self) -> FaultProxy:
        if self._server is not None:
            return self
        base = emulator_proxy._handler_class(self)  # the proxy's own request handler

        class Handler(base):  # type: ignore[valid-type, misc]
            def _serve(self) -> None:
                try:
                    super()._serve()
                except ResetConnection:
                    self.close_connection = True
                    try:
                        self.connection.setsockopt(
                            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                        )
                        self.connection.close()
                    except OSError:
                        pass

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _serve

        server = ThreadingHTTPServer((self._host, self._port), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name="fault-proxy", daemon=True
        )
        self._thread.start()
        return self
