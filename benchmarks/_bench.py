"""Shared pieces of the benchmark suite: paths, timing, the emulator, the result rows.

Every figure module (cold_start.py, sweep.py, ...) exposes ``measure(quick) -> list[Row]``
and can be run on its own: ``python benchmarks/sweep.py [--quick]`` prints its rows as JSON.
`run.py` runs each module in a fresh subprocess (so imports, memory and log output of one
figure never colour another) and prints one table.

The emulator is moto's server mode (tests/support/emulator.py, reused here), reached
only through ``AWS_ENDPOINT_URL``, usually behind the tests' `Proxy` (tests/support/proxy.py)
with the `ec2_like` hook below.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
TESTS = ROOT / "tests"
EVENTS = ROOT / "events"

for _path in (str(SRC), str(TESTS)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from support import emulator  # noqa: E402  (tests/support/emulator.py, after the path tweak)
from support import proxy as emulator_proxy  # noqa: E402

REGION = emulator.REGION
ACCOUNT_ID = emulator.ACCOUNT_ID

# The start of a fresh-process script that runs the handler as Lambda would: a minimal
# Lambda context (what Powertools' inject_lambda_context reads) and lambda_handler.
HANDLER_SCRIPT = """
import json, sys
from egress_guard.handler import lambda_handler

class Context:
    function_name = "egress-guard"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:egress-guard"
    def get_remaining_time_in_millis(self):
        return 600000
"""


@dataclass
class Row:
    """One line of the table. `value` and `target` are text as printed; `met` is None where
    the issue names no target (or the figure could not be measured)."""

    figure: str
    value: str
    target: str = ""
    met: bool | None = None
    note: str = ""
    data: dict[str, Any] = field(default_factory=dict)


def median(values: list[float]) -> float:
    return statistics.median(values)


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def aws_env(endpoint: str, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """An environment like a Lambda's whose AWS is the emulator at `endpoint`, with the
    blast-radius limits off: the figures measure sweeps that revoke hundreds of rules, and
    act on groups while later pages are still read (as with no limit)."""
    env = emulator.emulator_environment(endpoint, os.environ if base is None else base)
    return {**env, **NO_LIMITS}


NO_LIMITS = {"MAX_REVOCATIONS": "0", "MAX_REVOCATIONS_PERCENT": "0"}


@contextmanager
def environment(env: Mapping[str, str]) -> Iterator[None]:
    """This process's os.environ replaced by `env` for the block."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def ec2_client(endpoint: str) -> Any:
    """A plain boto3 EC2 client for setting up data (not the code under test's)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "ec2",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(max_pool_connections=32, retries={"mode": "standard", "max_attempts": 5}),
    )


# --------------------------------------------------------------------------- EC2-like proxy


class Ec2Like:
    """A `Proxy` "*" hook that makes moto answer like EC2 where the benchmark depends on it.

    - every request the client makes costs `latency` seconds (once, however the hook
      answers it), as a far-away region would;
    - DescribeSecurityGroupRules without filters or ids is paged by MaxResults/NextToken as
      EC2 pages it (moto 5.2.5 ignores MaxResults and returns every rule at once). The full
      listing is read from moto once, on the first page request, then served a page at a
      time; a caller can ask for a first page before a timed sweep so that moto's own
      listing time (not a property of the code under test) falls outside it;
    - RevokeSecurityGroupEgress answers with ``RevokedSecurityGroupRules`` naming the rules
      revoked, as current EC2 does (moto answers only ``Return``), so the code under test
      has no reason to read a group back.
    """

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self._lock = threading.Lock()
        self._listing: list[ET.Element] | None = None
        self._template: ET.Element | None = None
        self.moto_listing_seconds = 0.0

    def __call__(
        self, request: emulator_proxy.Request, forward: emulator_proxy.Forward
    ) -> emulator_proxy.Response:
        if self.latency:
            time.sleep(self.latency)
        params = request.params
        action = params.get("Action")
        if action == "DescribeSecurityGroupRules" and not any(
            k.startswith(("Filter.", "SecurityGroupRuleId.")) for k in params
        ):
            return self._page(request, forward, params)
        if action == "RevokeSecurityGroupEgress" and params.get("DryRun", "").lower() != "true":
            return _list_revoked(request, forward, params)
        return forward(request)

    def forget(self) -> None:
        with self._lock:
            self._listing = None

    def _load(self, request: emulator_proxy.Request, forward: emulator_proxy.Forward) -> None:
        start = time.perf_counter()
        full = {k: v for k, v in request.params.items() if k not in ("MaxResults", "NextToken")}
        response = forward(request.with_params(full))
        if response.status != 200:
            raise RuntimeError(f"DescribeSecurityGroupRules: {response.text[:300]}")
        root = response.xml()
        ns = emulator_proxy.namespace(root)
        rule_set = root.find(emulator_proxy.qualified(ns, "securityGroupRuleSet"))
        items = [] if rule_set is None else list(rule_set)
        if rule_set is not None:
            for item in items:
                rule_set.remove(item)
        self._listing, self._template = items, root
        self.moto_listing_seconds = time.perf_counter() - start

    def _page(
        self,
        request: emulator_proxy.Request,
        forward: emulator_proxy.Forward,
        params: dict[str, str],
    ) -> emulator_proxy.Response:
        with self._lock:
            token = params.get("NextToken")
            if token is None and self._listing is None:
                self._load(request, forward)
            listing, template = self._listing, self._template
            assert listing is not None
            assert template is not None
            size = int(params.get("MaxResults") or 1000)
            start = int(token or 0)
            items = listing[start : start + size]
            root = ET.Element(template.tag, template.attrib)
            ns = emulator_proxy.namespace(template)
            for child in template:
                if emulator_proxy.local_name(child.tag) == "securityGroupRuleSet":
                    rule_set = ET.SubElement(root, child.tag)
                    rule_set.extend(items)
                elif emulator_proxy.local_name(child.tag) != "nextToken":
                    root.append(child)
            if start + size < len(listing):
                ET.SubElement(root, emulator_proxy.qualified(ns, "nextToken")).text = str(
                    start + size
                )
            else:
                self._listing = None  # the next sweep reads moto afresh
            body = ET.tostring(root, encoding="utf-8", xml_declaration=True, default_namespace=ns)
        return emulator_proxy.Response(200, {"content-type": "text/xml;charset=UTF-8"}, body)


def _list_revoked(
    request: emulator_proxy.Request, forward: emulator_proxy.Forward, params: dict[str, str]
) -> emulator_proxy.Response:
    response = forward(request)
    if response.status != 200:
        return response
    ids = [v for k, v in sorted(params.items()) if k.startswith("SecurityGroupRuleId.")]
    root = response.xml()
    ns = emulator_proxy.namespace(root)
    rule_set = ET.SubElement(root, emulator_proxy.qualified(ns, "revokedSecurityGroupRuleSet"))
    for rule_id in ids:
        item = ET.SubElement(rule_set, emulator_proxy.qualified(ns, "item"))
        ET.SubElement(item, emulator_proxy.qualified(ns, "securityGroupRuleId")).text = rule_id
        ET.SubElement(item, emulator_proxy.qualified(ns, "groupId")).text = params.get(
            "GroupId", ""
        )
        ET.SubElement(item, emulator_proxy.qualified(ns, "isEgress")).text = "true"
    return response.with_xml(root)


@contextmanager
def emulator_stack(
    latency: float = 0.0,
) -> Iterator[tuple[emulator.MotoServer, emulator_proxy.Proxy, Ec2Like]]:
    """moto's server, and a Proxy in front of it with the `Ec2Like` hook."""
    with emulator.MotoServer() as moto:
        proxy = emulator_proxy.Proxy(moto.url)
        shim = Ec2Like(latency)
        proxy.on("*", shim)
        with proxy:
            yield moto, proxy, shim


@contextmanager
def proxy_process(upstream: str, latency: float) -> Iterator[str]:
    """`Ec2Like` behind a Proxy in a separate process (see _proxy_process.py); yields its URL."""
    import subprocess

    script = Path(__file__).with_name("_proxy_process.py")
    process = subprocess.Popen(
        [sys.executable, str(script), upstream, str(latency)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError("the proxy process did not start")
        yield url
    finally:
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def count_calls(client: Any) -> dict[str, int]:
    """EC2 operations made through `client`, counted with botocore's event hooks
    (retries are not new calls: ``before-call`` fires once per API call)."""
    counts: dict[str, int] = {}
    lock = threading.Lock()

    def hook(event_name: str, **_: Any) -> None:
        operation = event_name.rsplit(".", 1)[-1]
        with lock:
            counts[operation] = counts.get(operation, 0) + 1

    client.meta.events.register("before-call.ec2.*", hook)
    return counts


READS = ("Describe", "Get")
WRITES = ("Revoke", "Authorize", "Modify")


def reads_writes(counts: Mapping[str, int]) -> tuple[int, int]:
    reads = sum(n for op, n in counts.items() if op.startswith(READS))
    writes = sum(n for op, n in counts.items() if op.startswith(WRITES))
    return reads, writes


# --------------------------------------------------------------------------- the machine


def machine() -> dict[str, str]:
    facts = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": str(os.cpu_count()),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                facts["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                facts["memory"] = f"{int(line.split()[1]) // 1024} MB"
                break
    except OSError:
        pass
    try:
        from importlib.metadata import version

        facts["boto3"] = version("boto3")
        facts["moto"] = version("moto")
        facts["aws-lambda-powertools"] = version("aws-lambda-powertools")
    except Exception:  # a missing package only loses a fact
        pass
    return facts


def module_main(measure: Callable[[bool], list[Row]]) -> None:
    """The entry of a figure module run on its own: rows as JSON on the last stdout line."""
    quick = "--quick" in sys.argv
    out = None
    if "--out" in sys.argv:
        out = sys.argv[sys.argv.index("--out") + 1]
    rows = measure(quick)
    text = json.dumps([asdict(row) for row in rows])
    if out:
        Path(out).write_text(text)
    else:
        print(text)
