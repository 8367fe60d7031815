"""The local EC2 emulator for integration tests and the demo: moto's server, plus a proxy.

Nothing here imports egress_guard: the code under test reaches the emulator only through
boto3's own ``AWS_ENDPOINT_URL``, exactly as it would reach a custom endpoint in AWS.

Pieces:

- `MotoServer` starts ``python -m moto.server`` as a subprocess on a free port of 127.0.0.1,
  waits until it answers, and stops it. ``reset()`` wipes every backend (``POST
  /moto-api/reset``). One server per pytest session (per xdist worker).
- `Proxy` is a small threaded HTTP proxy in front of moto. Hooks registered per API action
  (``"RevokeSecurityGroupEgress"``, or ``"*"`` for every request) see each request and a
  ``forward`` function, and decide what the client gets: moto's answer, an edited answer, or
  one made up without asking moto (fault injection). It records every call it served.
- `add_revoked_security_group_rules` is a hook that makes moto's RevokeSecurityGroupEgress
  answer like real EC2 (with ``RevokedSecurityGroupRules``); `fail` injects an EC2 error.
- `ec2_throttle_hook` (an `Ec2Throttle`) is EC2's request throttling: token buckets per
  account and region that answer ``RequestLimitExceeded`` when empty (moto never throttles).
- `SecurityHubUpdates` answers Security Hub's BatchUpdateFindings (moto has none) and
  records each request.
- `create_group` builds a VPC security group with given egress rules and returns the ids.
- `run_aws_cli` runs the real AWS CLI against an endpoint and parses its JSON output.
- `FakeLambdaContext` is the context object Lambda passes to a handler.

What moto 5.2.5 does and does not do is written down in MOTO_NOTES.md beside this file
and pinned by tests in test_emulator_harness.py.

Proxy hooks
-----------
A hook is ``hook(request, forward) -> Response``::

    def hook(request: Request, forward: Forward) -> Response:
        # request.action, request.params (the decoded query-protocol form), request.body
        response = forward(request)         # ask moto (or skip this to make up an answer)
        root = response.xml()               # edit the XML ...
        return response.with_xml(root)      # ... and hand the edited answer back

``forward`` can be called more than once and with other requests, e.g.
``forward(request.with_params({"Action": "DescribeSecurityGroupRules", ...}))``: the new
request keeps the caller's headers (so moto picks the same account and region; it does not
check signatures). Extra requests made through ``forward`` are not recorded in
``Proxy.calls``. Several hooks for one action nest: the hook registered last runs
outermost, and its ``forward`` runs the one registered before it, then the ``"*"`` hooks,
then moto.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ACCOUNT_ID = "123456789012"  # moto's default account: the credentials "testing" map to it
REGION = "us-east-1"
EC2_API_VERSION = "2016-11-15"
EC2_NS = f"http://ec2.amazonaws.com/doc/{EC2_API_VERSION}/"

__all__ = [
    "ACCOUNT_ID",
    "EC2_API_VERSION",
    "EC2_MUTATING",
    "EC2_NON_MUTATING",
    "EC2_NS",
    "REGION",
    "AwsCliError",
    "BucketSize",
    "Call",
    "Ec2Throttle",
    "FakeLambdaContext",
    "Forward",
    "Group",
    "Hook",
    "MotoServer",
    "Proxy",
    "Request",
    "Response",
    "SecurityHubUpdates",
    "add_revoked_security_group_rules",
    "aws_executable",
    "create_group",
    "create_vpc",
    "ec2_error",
    "ec2_throttle_hook",
    "fail",
    "free_port",
    "ip_permission",
    "run_aws_cli",
    "running_moto",
]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (the caller retries if it is taken since)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


# --------------------------------------------------------------------------- moto server


# ``python -m moto.server``, except that on Linux it first asks for SIGTERM when its parent
# dies (PR_SET_PDEATHSIG), so that a test run killed without cleaning up leaves no server.
_MOTO_MAIN = """
import signal, sys
if sys.platform.startswith("linux"):
    import ctypes
    ctypes.CDLL(None).prctl(1, signal.SIGTERM)
from moto.server import main
main()
"""


class MotoServer:
    """moto's server mode in a subprocess, as ``python -m moto.server -H 127.0.0.1 -p PORT``.

    Use as a context manager, or call `start` and `stop`. ``url`` is the endpoint to give
    boto3 (``AWS_ENDPOINT_URL``) or the AWS CLI (``--endpoint-url``). The server's own log
    goes to a temporary file (``log_path``), whose tail is shown if it fails to start.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int | None = None,
        python: str = sys.executable,
        start_timeout: float = 60.0,
    ) -> None:
        self.host = host
        self._requested_port = port
        self.port = 0
        self.python = python
        self.start_timeout = start_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None

    @property
    def url(self) -> str:
        if not self.port:
            raise RuntimeError("the moto server is not started")
        return f"http://{self.host}:{self.port}"

    def start(self) -> MotoServer:
        if self.process is not None:
            return self
        attempts = 1 if self._requested_port else 3  # a free port can be taken meanwhile
        error: RuntimeError | None = None
        for _ in range(attempts):
            try:
                self._start_once(self._requested_port or free_port(self.host))
                return self
            except RuntimeError as exc:
                error = exc
        assert error is not None
        raise error

    def _start_once(self, port: int) -> None:
        fd, log_name = tempfile.mkstemp(prefix="moto-server-", suffix=".log")
        os.close(fd)
        self.log_path = Path(log_name)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [self.python, "-c", _MOTO_MAIN, "-H", self.host, "-p", str(port)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                # Its own session: a Ctrl-C in the terminal reaches our process, which then
                # stops the server itself, rather than both at once ...
                start_new_session=True,
            )
        self.port = port
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                self.reset(timeout=2.0)
                return
            except OSError:
                time.sleep(0.1)
        tail = self.log_tail()
        self.stop()
        raise RuntimeError(f"moto server on port {port} did not start; its log ends:\n{tail}")

    def reset(self, timeout: float = 10.0) -> None:
        """Forget every resource in every account and region (``POST /moto-api/reset``)."""
        req = urllib.request.Request(f"{self.url}/moto-api/reset", data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = json.loads(resp.read() or b"{}")
        if body.get("status") != "ok":
            raise RuntimeError(f"moto reset answered {body!r}")

    def log_tail(self, lines: int = 40) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if self.log_path is not None:
            with contextlib.suppress(OSError):
                self.log_path.unlink()
            self.log_path = None
        self.port = 0

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------- environment

# Variables that could send a client somewhere other than the emulator, or make it use
# other credentials than the fake ones.
AWS_VARIABLES_TO_CLEAR = frozenset(
    {
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_ROLE_ARN",
        "AWS_ROLE_SESSION_NAME",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
        "AWS_CA_BUNDLE",
    }
)


def emulator_environment(url: str, base: Mapping[str, str]) -> dict[str, str]:
    """`base` as the environment of a Lambda whose AWS is the emulator at `url`.

    The code under test then reaches the emulator only through boto3's own
    AWS_ENDPOINT_URL, with fake credentials and no profile or config files.
    """
    env = {
        k: v
        for k, v in base.items()
        if not k.startswith("AWS_ENDPOINT_URL") and k not in AWS_VARIABLES_TO_CLEAR
    }
    env.update(
        AWS_ENDPOINT_URL=url,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


# --------------------------------------------------------------------------- proxy


@dataclass(frozen=True)
class Request:
    """One HTTP request as the client sent it. Header names are lower case."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes

    @property
    def params(self) -> dict[str, str]:
        """Query-protocol parameters (EC2, STS, SNS...): URL query plus form body."""
        query = urllib.parse.urlsplit(self.path).query
        params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
        if "x-www-form-urlencoded" in self.headers.get("content-type", ""):
            form = self.body.decode("utf-8", errors="replace")
            params.update(urllib.parse.parse_qsl(form, keep_blank_values=True))
        return params

    @property
    def action(self) -> str | None:
        """The API action: ``Action`` (query protocol) or the X-Amz-Target operation (JSON)."""
        target = self.headers.get("x-amz-target")
        if target:
            return target.rsplit(".", 1)[-1]
        return self.params.get("Action")

    def with_params(self, params: Mapping[str, str]) -> Request:
        """The same request (headers, path) with this query-protocol form as its body."""
        body = urllib.parse.urlencode(dict(params)).encode()
        headers = dict(self.headers)
        headers["content-type"] = "application/x-www-form-urlencoded; charset=utf-8"
        return replace(self, method="POST", headers=headers, body=body)


@dataclass(frozen=True)
class Response:
    """One HTTP response. Header names are lower case; content-length is set on sending."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def xml(self) -> ET.Element:
        """The body parsed as XML (EC2 elements are in the `EC2_NS` namespace)."""
        return ET.fromstring(self.body)

    def with_xml(self, root: ET.Element) -> Response:
        """This response with `root` serialised as its body."""
        ns = _namespace(root)
        body = ET.tostring(root, encoding="utf-8", xml_declaration=True, default_namespace=ns)
        return replace(self, body=body)

    def error_code(self) -> str | None:
        """The AWS error code of an error response (XML or JSON), else None."""
        if self.status < 400:
            return None
        with contextlib.suppress(ET.ParseError):
            for node in self.xml().iter():
                if _local(node.tag) == "Code" and node.text:
                    return node.text
        with contextlib.suppress(ValueError):
            data = json.loads(self.body)
            code = data.get("__type") or data.get("code")
            return str(code).rsplit("#", 1)[-1] if code else None
        return None


Forward = Callable[[Request], Response]
Hook = Callable[[Request, Forward], Response]


@dataclass(frozen=True)
class Call:
    """One request the proxy answered: action, status and (for errors) the AWS error code."""

    action: str | None
    status: int
    error_code: str | None
    request: Request = field(repr=False)
    response: Response = field(repr=False)


class Proxy:
    """A threaded HTTP proxy on 127.0.0.1 in front of an upstream endpoint (moto).

    ``proxy.on("RevokeSecurityGroupEgress", hook)`` routes that action through ``hook``;
    ``"*"`` hooks see every request. With no hook a request goes to moto unchanged.
    ``calls`` lists what the proxy answered, in order. Point the code under test at
    ``proxy.url`` (the ``proxy`` pytest fixture sets ``AWS_ENDPOINT_URL`` to it).
    """

    def __init__(self, upstream: str, host: str = "127.0.0.1", port: int = 0) -> None:
        parts = urllib.parse.urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname or not parts.port:
            raise ValueError(f"upstream must be http://host:port, not {upstream!r}")
        self.upstream = upstream
        self._upstream_addr = (parts.hostname, parts.port)
        self._host = host
        self._port = port
        self._hooks: dict[str, list[Hook]] = {}
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the proxy is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Proxy:
        if self._server is not None:
            return self
        server = ThreadingHTTPServer((self._host, self._port), _handler_class(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"proxy-{self._port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> Proxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- hooks

    def on(self, action: str, hook: Hook) -> Hook:
        """Route `action` (or ``"*"``: every request) through `hook`; returns the hook."""
        with self._lock:
            self._hooks.setdefault(action, []).append(hook)
        return hook

    def off(self, action: str | None = None, hook: Hook | None = None) -> None:
        """Remove one hook, every hook of `action`, or (no arguments) every hook."""
        with self._lock:
            if action is None:
                self._hooks.clear()
            elif hook is None:
                self._hooks.pop(action, None)
            else:
                self._hooks.get(action, []).remove(hook)

    # -- record

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def actions(self) -> list[str | None]:
        """The actions answered so far, in order."""
        return [call.action for call in self.calls]

    def clear_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    # -- the work

    def forward(self, request: Request) -> Response:
        """Send `request` to the upstream as it is, with no hook, and return its answer."""
        headers = {k: v for k, v in request.headers.items() if k not in _HOP_BY_HOP}
        headers["content-length"] = str(len(request.body))
        conn = http.client.HTTPConnection(*self._upstream_addr, timeout=60)
        try:
            conn.request(request.method, request.path, body=request.body, headers=headers)
            raw = conn.getresponse()
            body = raw.read()
            out = {k.lower(): v for k, v in raw.getheaders() if k.lower() not in _HOP_BY_HOP}
            return Response(raw.status, out, body)
        finally:
            conn.close()

    def handle(self, request: Request) -> Response:
        """Answer `request` through the hooks of its action, then the ``"*"`` hooks."""
        with self._lock:
            chain = list(self._hooks.get("*", ())) + list(self._hooks.get(request.action or "", ()))
        respond: Forward = self.forward
        for hook in chain:
            respond = _bind(hook, respond)
        response = respond(request)
        with self._lock:
            self._calls.append(
                Call(request.action, response.status, response.error_code(), request, response)
            )
        return response


_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "content-length",
    }
)


def _bind(hook: Hook, forward: Forward) -> Forward:
    def respond(request: Request) -> Response:
        return hook(request, forward)

    return respond


def _handler_class(proxy: Proxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; without TCP_NODELAY each answer waits for
        # the client's delayed ACK (about 40 ms).
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            request = Request(
                method=self.command,
                path=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self._read_body(),
            )
            try:
                response = proxy.handle(request)
            except Exception as exc:  # a broken hook: tell the client, keep serving
                response = Response(
                    500, {"content-type": "text/plain"}, f"proxy hook failed: {exc!r}".encode()
                )
            self.send_response(response.status)
            for key, value in response.headers.items():
                if key not in _HOP_BY_HOP:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        def _read_body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks: list[bytes] = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: Proxy.calls is the record

    return Handler


# --------------------------------------------------------------------------- ready-made hooks


def ec2_error(code: str, message: str = "", status: int = 400) -> Response:
    """An EC2 error response, as EC2 sends it (botocore raises ClientError with `code`)."""
    root = ET.Element("Response")
    error = ET.SubElement(ET.SubElement(root, "Errors"), "Error")
    ET.SubElement(error, "Code").text = code
    ET.SubElement(error, "Message").text = message or code
    ET.SubElement(root, "RequestID").text = str(uuid.uuid4())
    body = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return Response(status, {"content-type": "text/xml;charset=UTF-8"}, body)


def fail(code: str, message: str = "", status: int = 400, times: int | None = None) -> Hook:
    """A hook answering with an EC2 error without asking moto (nothing changes there).

    ``times``: fail only the first so many requests, then pass them through.
    """
    remaining = [times]
    lock = threading.Lock()

    def hook(request: Request, forward: Forward) -> Response:
        with lock:
            if remaining[0] is not None:
                if remaining[0] <= 0:
                    return forward(request)
                remaining[0] -= 1
        return ec2_error(code, message, status)

    return hook


@dataclass(frozen=True)
class BucketSize:
    """One EC2 token bucket: `capacity` tokens, refilled at `refill` a second."""

    capacity: float
    refill: float


# EC2's request token buckets (the EC2 API reference, "Request throttling"): mutating
# actions 50 at 5 a second; non-mutating (Describe*, Get*, ...) 100 at 20 a second.
EC2_MUTATING = BucketSize(50, 5)
EC2_NON_MUTATING = BucketSize(100, 20)
_NON_MUTATING_PREFIXES = ("Describe", "Get", "List", "Search")


class Ec2Throttle:
    """A `Proxy` hook (for ``"*"``) that throttles EC2 requests as EC2 does.

    Each place (account and region) has a token bucket for mutating actions and one for
    non-mutating ones; a request takes a token from its bucket, or, when the bucket is
    empty, is answered ``RequestLimitExceeded`` (HTTP 503, EC2's XML error) without reaching
    moto. DryRun requests take tokens too (EC2 throttles before it checks permissions).
    Requests to other services pass untouched.

    The place is the request's access key id (moto gives each account its own keys; an
    assumed role's key stands for its account) and the region of its signature's credential
    scope; `place` replaces that. ``throttled`` counts the answers given per action, and
    ``served`` the requests let through; `reset` refills every bucket and zeroes both.
    Clock: real time (``time.monotonic``), or `clock`.

    Register it after any ``"*"`` hook that makes extra requests through ``forward`` (such
    as `add_revoked_security_group_rules` wrapped for ``"*"``), so that those are not
    charged: a ``"*"`` hook registered later runs outside the earlier ones. (A hook on one
    action always runs outside every ``"*"`` hook: its extra requests are charged.)
    """

    def __init__(
        self,
        mutating: BucketSize = EC2_MUTATING,
        non_mutating: BucketSize = EC2_NON_MUTATING,
        *,
        place: Callable[[Request], tuple[str, str]] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.mutating = mutating
        self.non_mutating = non_mutating
        self._place = place or _signed_place
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str, bool], tuple[float, float]] = {}
        self.throttled: dict[str, int] = {}
        self.served: dict[str, int] = {}

    @property
    def throttled_total(self) -> int:
        with self._lock:
            return sum(self.throttled.values())

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()
            self.throttled.clear()
            self.served.clear()

    def __call__(self, request: Request, forward: Forward) -> Response:
        action = request.action
        if action is None or not _is_ec2(request):
            return forward(request)
        mutating = not action.startswith(_NON_MUTATING_PREFIXES)
        size = self.mutating if mutating else self.non_mutating
        account, region = self._place(request)
        key = (account, region, mutating)
        with self._lock:
            now = self._clock()
            tokens, stamp = self._buckets.get(key, (size.capacity, now))
            tokens = min(size.capacity, tokens + (now - stamp) * size.refill)
            allowed = tokens >= 1
            self._buckets[key] = (tokens - 1 if allowed else tokens, now)
            counts = self.served if allowed else self.throttled
            counts[action] = counts.get(action, 0) + 1
        if not allowed:
            return ec2_error("RequestLimitExceeded", "Request limit exceeded.", 503)
        return forward(request)


def ec2_throttle_hook(
    mutating: BucketSize = EC2_MUTATING, non_mutating: BucketSize = EC2_NON_MUTATING, **kwargs: Any
) -> Ec2Throttle:
    """EC2's throttling as a ``"*"`` hook: ``proxy.on("*", ec2_throttle_hook())``."""
    return Ec2Throttle(mutating, non_mutating, **kwargs)


def _credential_scope(request: Request) -> list[str]:
    """access key, date, region, service of a SigV4 request ([] when unsigned)."""
    auth = request.headers.get("authorization", "")
    _, found, rest = auth.partition("Credential=")
    return rest.split(",", 1)[0].strip().split("/")[:4] if found else []


def _signed_place(request: Request) -> tuple[str, str]:
    scope = _credential_scope(request)
    return (scope[0], scope[2]) if len(scope) == 4 else ("", "")


def _is_ec2(request: Request) -> bool:
    scope = _credential_scope(request)
    if len(scope) == 4:
        return scope[3] == "ec2"
    return request.params.get("Version") == EC2_API_VERSION


# The DescribeSecurityGroupRules item fields that RevokedSecurityGroupRule also has.
_REVOKED_FIELDS = (
    "securityGroupRuleId",
    "groupId",
    "isEgress",
    "ipProtocol",
    "fromPort",
    "toPort",
    "cidrIpv4",
    "cidrIpv6",
    "prefixListId",
    "description",
)


def answer_prefix_list_associations(
    extra: tuple[tuple[str, str], ...] = (),
) -> Hook:
    """A hook answering GetManagedPrefixListAssociations as real EC2 does: every security
    group with a rule (either direction) to the list, with its owner, plus `extra`
    associations (route tables, other accounts' groups); one association per page."""

    def hook(request: Request, forward: Forward) -> Response:
        params = request.params
        prefix_list_id = params["PrefixListId"]
        listing = forward(
            request.with_params(
                {"Action": "DescribeSecurityGroupRules", "Version": EC2_API_VERSION}
            )
        )
        assert listing.status == 200, listing.text[:500]
        root = listing.xml()
        ns = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else ""
        tag = (lambda name: f"{{{ns}}}{name}") if ns else (lambda name: name)
        groups: dict[str, None] = {}
        for item in root.iter(tag("item")):
            if item.findtext(tag("prefixListId")) == prefix_list_id:
                groups[item.findtext(tag("groupId")) or ""] = None
        associations = [(g, ACCOUNT_ID) for g in groups] + list(extra)
        start = int(params.get("NextToken") or 0)
        root = ET.Element(f"{{{EC2_NS}}}GetManagedPrefixListAssociationsResponse")
        ET.SubElement(root, f"{{{EC2_NS}}}requestId").text = "assoc-1"
        found = ET.SubElement(root, f"{{{EC2_NS}}}prefixListAssociationSet")
        for resource_id, owner in associations[start : start + 1]:
            entry = ET.SubElement(found, f"{{{EC2_NS}}}item")
            ET.SubElement(entry, f"{{{EC2_NS}}}resourceId").text = resource_id
            ET.SubElement(entry, f"{{{EC2_NS}}}resourceOwner").text = owner
        if start + 1 < len(associations):
            ET.SubElement(root, f"{{{EC2_NS}}}nextToken").text = str(start + 1)
        return Response(200, {"content-type": "text/xml"}, b"").with_xml(root)

    return hook


def add_revoked_security_group_rules(request: Request, forward: Forward) -> Response:
    """Hook for RevokeSecurityGroupEgress/-Ingress: answer as real EC2 does.

    moto answers only ``<return>true</return>``; real EC2 also lists the rules it removed
    (``revokedSecurityGroupRuleSet``, boto3's ``RevokedSecurityGroupRules``). This hook reads
    the group's rules before and after the call (through moto, as the same caller) and
    lists those that disappeared, in the RevokedSecurityGroupRule shape.
    """
    params = request.params
    group_id = params.get("GroupId")
    if not group_id or params.get("DryRun", "").lower() == "true":
        return forward(request)
    before = _describe_rules(request, forward, group_id)
    response = forward(request)
    if response.status != 200:
        return response
    after = {
        _text(item, "securityGroupRuleId") for item in _describe_rules(request, forward, group_id)
    }
    gone = [item for item in before if _text(item, "securityGroupRuleId") not in after]

    root = response.xml()
    ns = _namespace(root)
    rule_set = ET.Element(_tag(ns, "revokedSecurityGroupRuleSet"))
    for rule in gone:
        entry = ET.SubElement(rule_set, _tag(ns, "item"))
        for name in _REVOKED_FIELDS:
            value = _text(rule, name)
            if value is not None:
                ET.SubElement(entry, _tag(ns, name)).text = value
        referenced = _text(rule, "referencedGroupInfo/groupId")
        if referenced is not None:
            ET.SubElement(entry, _tag(ns, "referencedGroupId")).text = referenced
    position = next(
        (i + 1 for i, child in enumerate(root) if _local(child.tag) == "return"), len(root)
    )
    root.insert(position, rule_set)
    return response.with_xml(root)


def _describe_rules(request: Request, forward: Forward, group_id: str) -> list[ET.Element]:
    describe = request.with_params(
        {
            "Action": "DescribeSecurityGroupRules",
            "Version": request.params.get("Version", EC2_API_VERSION),
            "Filter.1.Name": "group-id",
            "Filter.1.Value.1": group_id,
        }
    )
    response = forward(describe)
    if response.status != 200:
        raise RuntimeError(f"DescribeSecurityGroupRules failed: {response.text[:500]}")
    root = response.xml()
    ns = _namespace(root)
    rule_set = root.find(_tag(ns, "securityGroupRuleSet"))
    return [] if rule_set is None else list(rule_set)


class SecurityHubUpdates:
    """A hook (for ``"*"``) answering Security Hub's BatchUpdateFindings, which moto 5.2.5
    lacks (its server answers 404; see MOTO_NOTES.md). It records each request's JSON body
    in ``requests`` and answers as Security Hub does: every finding processed, except those
    whose Id is in ``unprocessed`` (listed with ``ErrorCode`` InvalidInput), or with the
    error ``fail_with`` (code, HTTP status) for the whole call. Anything else goes on.
    Security Hub is a REST API: the request has no ``Action`` (`Request.action` is None)."""

    PATH = "/findings/batchupdate"

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.unprocessed: set[str] = set()
        self.fail_with: tuple[str, int] | None = None

    def __call__(self, request: Request, forward: Forward) -> Response:
        if request.method != "PATCH" or urllib.parse.urlsplit(request.path).path != self.PATH:
            return forward(request)
        body = json.loads(request.body or b"{}")
        self.requests.append(body)
        headers = {"content-type": "application/json", "x-amzn-requestid": str(uuid.uuid4())}
        if self.fail_with is not None:
            code, status = self.fail_with
            error = {"__type": code, "message": code, "Code": code}
            return Response(
                status, {**headers, "x-amzn-errortype": code}, json.dumps(error).encode()
            )
        ids = body.get("FindingIdentifiers", [])
        answer = {
            "ProcessedFindings": [i for i in ids if i["Id"] not in self.unprocessed],
            "UnprocessedFindings": [
                {
                    "FindingIdentifier": i,
                    "ErrorCode": "InvalidInput",
                    "ErrorMessage": "no such finding",
                }
                for i in ids
                if i["Id"] in self.unprocessed
            ],
        }
        return Response(200, headers, json.dumps(answer).encode())


def _namespace(element: ET.Element) -> str:
    return element.tag[1:].split("}", 1)[0] if element.tag.startswith("{") else ""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _tag(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}" if ns else name


def _text(element: ET.Element, path: str) -> str | None:
    ns = _namespace(element)
    found = element.find("/".join(_tag(ns, part) for part in path.split("/")))
    return None if found is None else (found.text or "")


# --------------------------------------------------------------------------- test data


@dataclass(frozen=True)
class Group:
    """A security group made by `create_group`.

    ``rule_ids[i]`` is the id of the i-th egress rule asked for; ``default_rule_id`` is the
    all-traffic egress rule EC2 gives every new group (None when it was removed).
    """

    group_id: str
    vpc_id: str
    rule_ids: tuple[str, ...]
    default_rule_id: str | None
    ingress_rule_ids: tuple[str, ...] = ()

    @property
    def egress_rule_ids(self) -> tuple[str, ...]:
        """Every egress rule id of the group: the default rule (if kept), then the others."""
        head = (self.default_rule_id,) if self.default_rule_id else ()
        return head + self.rule_ids


def ip_permission(rule: Mapping[str, Any]) -> dict[str, Any]:
    """One rule in the flat SecurityGroupRule shape -> one IpPermission naming one target.

    ``rule``: ``IpProtocol`` (default ``"-1"``), ``FromPort``/``ToPort`` (default: from
    ``Port`` if given), exactly one of ``CidrIpv4``, ``CidrIpv6``, ``PrefixListId``,
    ``ReferencedGroupId``, and optionally ``Description``. (``Tags`` is read by
    `create_group`.)
    """
    known = {"IpProtocol", "FromPort", "ToPort", "Port", "Description", "Tags"} | set(_TARGETS)
    unknown = set(rule) - known
    if unknown:
        raise ValueError(f"unknown rule keys {sorted(unknown)}")
    permission: dict[str, Any] = {"IpProtocol": str(rule.get("IpProtocol", "-1"))}
    port = rule.get("Port")
    from_port, to_port = rule.get("FromPort", port), rule.get("ToPort", port)
    if from_port is not None:
        permission["FromPort"] = int(from_port)
    if to_port is not None:
        permission["ToPort"] = int(to_port)
    targets = [key for key in _TARGETS if key in rule]
    if len(targets) != 1:
        raise ValueError(f"a rule needs exactly one of {list(_TARGETS)}, got {targets}")
    (key,) = targets
    list_key, item_key = _TARGETS[key]
    item: dict[str, Any] = {item_key: rule[key]}
    if "Description" in rule:
        item["Description"] = rule["Description"]
    permission[list_key] = [item]
    return permission


_TARGETS = {
    "CidrIpv4": ("IpRanges", "CidrIp"),
    "CidrIpv6": ("Ipv6Ranges", "CidrIpv6"),
    "PrefixListId": ("PrefixListIds", "PrefixListId"),
    "ReferencedGroupId": ("UserIdGroupPairs", "GroupId"),
}


def create_vpc(ec2: Any, cidr: str = "10.0.0.0/16") -> str:
    """A new VPC; returns its id."""
    vpc_id: str = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    return vpc_id


def create_group(
    ec2: Any,
    egress: Sequence[Mapping[str, Any]] = (),
    *,
    ingress: Sequence[Mapping[str, Any]] = (),
    keep_default_egress: bool = True,
    vpc_id: str | None = None,
    name: str | None = None,
    description: str = "egress-guard test group",
    tags: Mapping[str, str] | None = None,
) -> Group:
    """Create a security group (in a new VPC unless `vpc_id`) with these rules.

    Each rule of `egress`/`ingress` is one rule in the flat shape of `ip_permission` (e.g.
    ``{"IpProtocol": "tcp", "Port": 25, "CidrIpv4": "0.0.0.0/0"}``), optionally with
    ``"Tags": {"key": "value"}`` for that rule. Rules are authorized one call each, so each
    id is known for certain; the ids are then checked against DescribeSecurityGroupRules.
    `keep_default_egress=False` revokes the all-traffic egress rule EC2 adds to new groups.
    """
    vpc_id = vpc_id or create_vpc(ec2)
    kwargs: dict[str, Any] = {}
    if tags:
        kwargs["TagSpecifications"] = [{"ResourceType": "security-group", "Tags": _tag_list(tags)}]
    group_id: str = ec2.create_security_group(
        GroupName=name or f"eg-test-{uuid.uuid4().hex[:10]}",
        Description=description,
        VpcId=vpc_id,
        **kwargs,
    )["GroupId"]
    initial = _group_rules(ec2, group_id)
    default_ids = [r["SecurityGroupRuleId"] for r in initial if r["IsEgress"]]
    default_rule_id = default_ids[0] if default_ids else None
    if default_rule_id and not keep_default_egress:
        ec2.revoke_security_group_egress(GroupId=group_id, SecurityGroupRuleIds=[default_rule_id])
        default_rule_id = None

    def authorize(call: Callable[..., Any], rule: Mapping[str, Any]) -> str:
        extra: dict[str, Any] = {}
        if rule.get("Tags"):
            extra["TagSpecifications"] = [
                {"ResourceType": "security-group-rule", "Tags": _tag_list(rule["Tags"])}
            ]
        answer = call(GroupId=group_id, IpPermissions=[ip_permission(rule)], **extra)
        rules = answer.get("SecurityGroupRules", [])
        if len(rules) != 1:
            raise RuntimeError(f"expected one new rule for {dict(rule)}, got {rules}")
        rule_id: str = rules[0]["SecurityGroupRuleId"]
        return rule_id

    rule_ids = tuple(authorize(ec2.authorize_security_group_egress, r) for r in egress)
    ingress_ids = tuple(authorize(ec2.authorize_security_group_ingress, r) for r in ingress)

    live = {r["SecurityGroupRuleId"] for r in _group_rules(ec2, group_id)}
    expected = set(rule_ids) | set(ingress_ids)
    if default_rule_id:
        expected.add(default_rule_id)
    if live != expected:
        raise RuntimeError(f"group {group_id}: rules {sorted(live)} != {sorted(expected)}")
    return Group(group_id, vpc_id, rule_ids, default_rule_id, ingress_ids)


def _group_rules(ec2: Any, group_id: str) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for page in ec2.get_paginator("describe_security_group_rules").paginate(
        Filters=[{"Name": "group-id", "Values": [group_id]}]
    ):
        rules.extend(page["SecurityGroupRules"])
    return rules


def _tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


# --------------------------------------------------------------------------- AWS CLI


class AwsCliError(RuntimeError):
    """The AWS CLI exited non-zero; ``stderr`` holds its message."""

    def __init__(self, argv: Sequence[str], returncode: int, stderr: str) -> None:
        super().__init__(f"{' '.join(argv)} exited {returncode}:\n{stderr.strip()}")
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr = stderr


def aws_executable() -> str:
    """The AWS CLI installed beside this Python (the dev pins' awscli), else the PATH's."""
    beside = Path(sys.executable).parent / "aws"
    if beside.exists():
        return str(beside)
    found = shutil.which("aws")
    if not found:
        raise RuntimeError("no AWS CLI: install the dev extras (`make .venv`)")
    return found


def run_aws_cli(
    *args: str,
    endpoint_url: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> Any:
    """Run ``aws ARGS --endpoint-url URL --output json``; return its parsed JSON (or None).

    `env`: the CLI's environment (default: this process's). Raises `AwsCliError`.
    """
    argv = [aws_executable(), *args, "--endpoint-url", endpoint_url, "--output", "json"]
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
        env={**(os.environ if env is None else env), "AWS_PAGER": ""},
        check=False,
    )
    if done.returncode != 0:
        raise AwsCliError(argv, done.returncode, done.stderr)
    return json.loads(done.stdout) if done.stdout.strip() else None


# --------------------------------------------------------------------------- Lambda


@dataclass
class FakeLambdaContext:
    """The attributes and method of Lambda's context object that a handler may use."""

    function_name: str = "egress-guard"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    account_id: str = ACCOUNT_ID
    region: str = REGION
    timeout_seconds: float = 60.0
    log_group_name: str = "/aws/lambda/egress-guard"
    log_stream_name: str = "2024/01/01/[$LATEST]00000000000000000000000000000000"
    _started: float = field(default_factory=time.monotonic, repr=False)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        left = self.timeout_seconds - (time.monotonic() - self._started)
        return max(0, int(left * 1000))


@contextlib.contextmanager
def running_moto(**kwargs: Any) -> Iterator[MotoServer]:
    """``with running_moto() as moto:`` — a started MotoServer, stopped on leaving."""
    server = MotoServer(**kwargs)
    try:
        yield server.start()
    finally:
        server.stop()
