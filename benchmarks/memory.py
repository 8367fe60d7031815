"""Memory: peak RSS of a whole scheduled sweep at 1,000 vs 100,000 egress rules.

moto holds 100,000 rules only slowly (and answers them in one page), so the sweep reads
from a synthetic EC2 endpoint instead: a small HTTP server in this process that answers
DescribeSecurityGroupRules a page (MaxResults) at a time, generating each page's XML on
the fly from the rule's number, as EC2 pages a large region. 10 rules per group; 2% of the
groups hold one offending rule (tcp/25 to 0.0.0.0/0), which the sweep revokes.

The sweep runs in a fresh process (the handler's own wiring: `service.handle` with a
`Clients`, pointed at the endpoint by AWS_ENDPOINT_URL) that reports its own peak RSS
(``ru_maxrss``: interpreter, imports and all).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import SRC, Row, aws_env, median, module_main

NS = "http://ec2.amazonaws.com/doc/2016-11-15/"
RULES_PER_GROUP = 10
OFFENDING_EVERY = 50  # one group in 50 holds an offending rule

SWEEP = """
import json, resource, sys, time
import egress_guard.handler  # the parent logger, as in Lambda
from aws_lambda_powertools import Metrics
from egress_guard.aws import Clients
from egress_guard.service import handle

event = {"version": "0", "id": "bench-sweep", "detail-type": "Scheduled Event",
         "source": "aws.events", "account": "123456789012", "time": "2025-01-01T00:00:00Z",
         "region": "us-east-1", "resources": [], "detail": {}}
clients = Clients()
clients.set_own_account("123456789012")
start = time.perf_counter()
result = handle(event, clients, Metrics(namespace="Bench", service="bench"))
seconds = time.perf_counter() - start
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"peak_kb": peak_kb, "seconds": seconds,
                  "revoked": len(result["RevokedSecurityGroupRules"])}), file=sys.__stdout__)
"""


def rule_xml(i: int) -> str:
    group = i // RULES_PER_GROUP
    bad = group % OFFENDING_EVERY == 0 and i % RULES_PER_GROUP == 0
    port = 25 if bad else 1000 + i % RULES_PER_GROUP
    cidr = "0.0.0.0/0" if bad else f"10.{i % 256}.{(i // 256) % 256}.0/24"
    rule_id = f"sgr-{i:017x}"
    return (
        f"<item><securityGroupRuleId>{rule_id}</securityGroupRuleId>"
        f"<groupId>sg-{group:017x}</groupId><groupOwnerId>123456789012</groupOwnerId>"
        f"<isEgress>true</isEgress><ipProtocol>tcp</ipProtocol>"
        f"<fromPort>{port}</fromPort><toPort>{port}</toPort><cidrIpv4>{cidr}</cidrIpv4>"
        f"<description>benchmark rule {i}</description>"
        f"<securityGroupRuleArn>arn:aws:ec2:us-east-1:123456789012:security-group-rule/"
        f"{rule_id}</securityGroupRuleArn><tagSet/></item>"
    )


class SyntheticEc2:
    """Just enough of EC2's query API for a sweep, over `total` generated rules."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.calls: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> SyntheticEc2:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, params: dict[str, str]) -> str:
        action = params.get("Action", "")
        with self._lock:
            self.calls[action] = self.calls.get(action, 0) + 1
        head = f'<?xml version="1.0" encoding="UTF-8"?><{action}Response xmlns="{NS}">'
        head += "<requestId>bench</requestId>"
        tail = f"</{action}Response>"
        if action == "DescribeSecurityGroupRules":
            if any(k.startswith(("Filter.", "SecurityGroupRuleId.")) for k in params):
                return head + "<securityGroupRuleSet/>" + tail  # read back: gone
            start = int(params.get("NextToken") or 0)
            end = min(self.total, start + int(params.get("MaxResults") or 1000))
            items = "".join(rule_xml(i) for i in range(start, end))
            token = f"<nextToken>{end}</nextToken>" if end < self.total else ""
            return head + f"<securityGroupRuleSet>{items}</securityGroupRuleSet>{token}" + tail
        if action == "DescribeSecurityGroups":
            return head + "<securityGroupInfo/>" + tail
        if action == "RevokeSecurityGroupEgress":
            ids = [v for k, v in sorted(params.items()) if k.startswith("SecurityGroupRuleId.")]
            listed = "".join(
                f"<item><securityGroupRuleId>{r}</securityGroupRuleId>"
                f"<groupId>{params.get('GroupId', '')}</groupId><isEgress>true</isEgress></item>"
                for r in ids
            )
            return (
                head
                + f"<return>true</return><revokedSecurityGroupRuleSet>{listed}"
                + "</revokedSecurityGroupRuleSet>"
                + tail
            )
        raise ValueError(f"unexpected action {action}")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                params = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
                try:
                    data, status = owner.answer(params).encode(), 200
                except ValueError as exc:
                    data, status = str(exc).encode(), 400
                self.send_response(status)
                self.send_header("Content-Type", "text/xml;charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def sweep(total: int) -> dict[str, Any]:
    with SyntheticEc2(total) as ec2:
        env = aws_env(ec2.url)
        env["PYTHONPATH"] = os.pathsep.join([str(SRC), *filter(None, [env.get("PYTHONPATH")])])
        env["POWERTOOLS_METRICS_DISABLED"] = "true"
        env["REVOKE_RATE"] = "0"  # memory, not the pace (paced_sweep.py), is measured here
        done = subprocess.run(
            [sys.executable, "-c", SWEEP],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"sweep failed:\n{done.stderr[-3000:]}")
        out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        out["calls"] = dict(ec2.calls)
    groups = total // RULES_PER_GROUP
    expected = len(range(0, groups, OFFENDING_EVERY))
    if out["revoked"] != expected:
        raise RuntimeError(f"sweep of {total} rules revoked {out['revoked']}, not {expected}")
    return out


def measure(quick: bool) -> list[Row]:
    sizes = (1_000, 100_000)
    repeats = 1 if quick else 2
    peaks: dict[int, list[float]] = {size: [] for size in sizes}
    seconds: dict[int, list[float]] = {size: [] for size in sizes}
    calls: dict[int, dict[str, int]] = {}
    for _ in range(repeats):
        for size in sizes:
            out = sweep(size)
            peaks[size].append(out["peak_kb"] / 1024)
            seconds[size].append(out["seconds"])
            calls[size] = out["calls"]
    small, big = median(peaks[sizes[0]]), median(peaks[sizes[1]])
    pages = calls[sizes[1]].get("DescribeSecurityGroupRules", 0)
    ratio = big / small
    return [
        Row(
            figure="memory: peak RSS of a sweep, 1,000 vs 100,000 rules",
            value=f"{small:.0f} MB vs {big:.0f} MB: ratio {ratio:.2f}",
            target="<= 1.5x and <= 256 MB",
            met=ratio <= 1.5 and big <= 256,
            note=(
                f"synthetic paged EC2 endpoint (not moto), fresh process each, median of "
                f"{repeats}; the 100,000-rule sweep read {pages}"
                f" pages and took {median(seconds[sizes[1]]):.1f} s"
            ),
            data={"peak_mb": peaks, "seconds": seconds, "calls": calls},
        )
    ]


if __name__ == "__main__":
    module_main(measure)
