"""The proxy in front of the emulator: hooks that edit, fake or record EC2's answers.

- `Proxy` is a small threaded HTTP proxy in front of moto (`support.emulator`). Hooks
  registered per API action (``"RevokeSecurityGroupEgress"``, or ``"*"`` for every request)
  see each request and a ``forward`` function, and decide what the client gets: moto's
  answer, an edited answer, or one made up without asking moto (fault injection). It
  records every call it served.
- `add_revoked_security_group_rules` is a hook that makes moto's RevokeSecurityGroupEgress
  answer like real EC2 (with ``RevokedSecurityGroupRules``); `fail` injects an EC2 error.
- `ec2_throttle_hook` (an `Ec2Throttle`) is EC2's request throttling: token buckets per
  account and region that answer ``RequestLimitExceeded`` when empty (moto never throttles).
- `SecurityHubUpdates` answers Security Hub's BatchUpdateFindings (moto has none) and
  records each request.

Like the emulator, nothing here imports egress_guard or pytest (the demo uses it too).

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
import threading
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from support.emulator import ACCOUNT_ID, EC2_API_VERSION, EC2_NS

__all__ = [
    "EC2_MUTATING",
    "EC2_NON_MUTATING",
    "BucketSize",
    "Call",
    "Ec2Throttle",
    "Forward",
    "Hook",
    "Proxy",
    "Request",
    "Response",
    "SecurityHubUpdates",
    "add_revoked_security_group_rules",
    "answer_prefix_list_associations",
    "ec2_error",
    "ec2_throttle_hook",
    "fail",
]


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
        ns = namespace(root)
        body = ET.tostring(root, encoding="utf-8", xml_declaration=True, default_namespace=ns)
        return replace(self, body=body)

    def error_code(self) -> str | None:
        """The AWS error code of an error response (XML or JSON), else None."""
        if self.status < 400:
            return None
        with contextlib.suppress(ET.ParseError):
            for node in self.xml().iter():
                if local_name(node.tag) == "Code" and node.text:
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
    ns = namespace(root)
    rule_set = ET.Element(qualified(ns, "revokedSecurityGroupRuleSet"))
    for rule in gone:
        entry = ET.SubElement(rule_set, qualified(ns, "item"))
        for name in _REVOKED_FIELDS:
            value = _text(rule, name)
            if value is not None:
                ET.SubElement(entry, qualified(ns, name)).text = value
        referenced = _text(rule, "referencedGroupInfo/groupId")
        if referenced is not None:
            ET.SubElement(entry, qualified(ns, "referencedGroupId")).text = referenced
    position = next(
        (i + 1 for i, child in enumerate(root) if local_name(child.tag) == "return"), len(root)
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
    ns = namespace(root)
    rule_set = root.find(qualified(ns, "securityGroupRuleSet"))
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


def namespace(element: ET.Element) -> str:
    """The XML namespace of an element (EC2 answers in one), for writing it back alike."""
    return element.tag[1:].split("}", 1)[0] if element.tag.startswith("{") else ""


def local_name(tag: str) -> str:
    """A tag without its namespace."""
    return tag.rsplit("}", 1)[-1]


def qualified(ns: str, name: str) -> str:
    """A tag in namespace `ns` (none: as it is)."""
    return f"{{{ns}}}{name}" if ns else name


def _text(element: ET.Element, path: str) -> str | None:
    ns = namespace(element)
    found = element.find("/".join(qualified(ns, part) for part in path.split("/")))
    return None if found is None else (found.text or "")
