"""Org scan: `egress-guard scan --organization` over 20 accounts x 3 regions, 50 ms away,
each account-region behind EC2's own throttle.

Data: a moto organisation of 20 accounts (the management account and 19 members); in each
of 3 regions of each account, 6 security groups of 5 egress rules, 2 of them offending
(tcp/25 and tcp/445 to ::/0, under an inline denylist of those two). One place is busy: 70
offending groups, more revokes than EC2's burst allows, so its throttle makes it the
slowest unit. Every call goes through a proxy (in a process of its own) that adds 50 ms,
answers revokes as EC2 does (with RevokedSecurityGroupRules) and keeps one token bucket per
account and region, as EC2 throttles per account and region: 50 mutating calls refilled at
5 a second, 100 reads refilled at 20 a second; an empty bucket answers RequestLimitExceeded
(boto3's adaptive retries then wait). moto's member roles are not checked by moto; the
scan assumes egress-guard-member in each member as it would in AWS.

Figures: the scan's wall time (enforce, --concurrency 60: every place at once) against the
slowest unit's time when it runs alone (`scan --accounts A --regions R`, its rules put
back first), and the calls the scan made against the floor: one rule listing per place and
one revoke per offending group.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import (
    ACCOUNT_ID,
    Row,
    _list_revoked,
    aws_env,
    emulator,
    emulator_proxy,
    environment,
    median,
)

LATENCY = 0.050
ACCOUNTS = 20
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
GROUPS_PER_PLACE = 6
OFFENDING_PER_PLACE = 2
BUSY_OFFENDING = 70
RULES_PER_GROUP = 5
CONCURRENCY = 60
MUTATING = (50, 5.0)  # EC2's bucket for mutating calls: capacity, refill per second
READS = (100, 20.0)
OFFENDING = [
    {"IpProtocol": "tcp", "FromPort": 25, "ToPort": 25, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
    {"IpProtocol": "tcp", "FromPort": 445, "ToPort": 445, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
]
ALL_OUT = [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
# Over IPv6 only: the all-traffic IPv4 rule of every default group stays allowed.
DENYLIST = {
    "version": 1,
    "deny": [
        {"id": "smtp-out", "protocol": "tcp", "ports": "25", "cidr": ["::/0"]},
        {"id": "smb-out", "protocol": "tcp", "ports": "445", "cidr": ["::/0"]},
    ],
}
WRITE_PREFIXES = ("Revoke", "Authorize", "Create", "Delete", "Modify")


# --------------------------------------------------------------------------- the proxy


class TokenBucket:
    def __init__(self, capacity: int, rate: float) -> None:
        self.capacity, self.rate = capacity, rate
        self.tokens = float(capacity)
        self.last = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
            self.last = now
            if self.tokens < 1:
                return False
            self.tokens -= 1
            return True


def _scope(request: emulator_proxy.Request) -> tuple[str, str, str]:
    """(access key, region, service) of a SigV4-signed request."""
    credential = request.headers.get("authorization", "").split("Credential=", 1)[-1]
    parts = credential.split(",", 1)[0].split("/")
    return (parts[0], parts[2], parts[3]) if len(parts) >= 4 else ("", "", "")


def ec2_throttle_hook(
    account_of: Callable[[str], str],
    mutating: tuple[int, float] = MUTATING,
    reads: tuple[int, float] = READS,
) -> emulator_proxy.Hook:
    """EC2's request throttling, one token bucket per account, region and kind of call:
    an empty bucket answers RequestLimitExceeded (HTTP 503) without asking moto.

    A minimal stand-in: tests/support/proxy.py is getting an `ec2_throttle_hook` of
    the same shape (a Proxy hook); the merge makes this one use it."""
    buckets: dict[tuple[str, str, bool], TokenBucket] = {}
    lock = threading.Lock()

    def hook(
        request: emulator_proxy.Request, forward: emulator_proxy.Forward
    ) -> emulator_proxy.Response:
        key, region, service = _scope(request)
        if service != "ec2":
            return forward(request)
        write = (request.action or "").startswith(WRITE_PREFIXES)
        where = (account_of(key), region, write)
        with lock:
            bucket = buckets.get(where)
            if bucket is None:
                bucket = buckets[where] = TokenBucket(*(mutating if write else reads))
        if not bucket.take():
            return emulator_proxy.ec2_error("RequestLimitExceeded", "Request limit exceeded.", 503)
        return forward(request)

    return hook


class OrgProxyShim:
    """The proxy's one "*" hook: latency, call counts, the throttle, EC2's revoke answer."""

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.lock = threading.Lock()
        self.calls: dict[str, int] = {}
        self.throttled: dict[str, int] = {}
        self.keys: dict[str, str] = {"testing": ACCOUNT_ID}
        self.throttle = ec2_throttle_hook(lambda key: self.keys.get(key, ACCOUNT_ID))

    def __call__(
        self, request: emulator_proxy.Request, forward: emulator_proxy.Forward
    ) -> emulator_proxy.Response:
        time.sleep(self.latency)
        action = f"{_scope(request)[2]}:{request.action or request.path}"
        response = self.throttle(request, lambda r: self._answer(r, forward))
        with self.lock:
            self.calls[action] = self.calls.get(action, 0) + 1
            if response.error_code() == "RequestLimitExceeded":
                self.throttled[action] = self.throttled.get(action, 0) + 1
        return response

    def _answer(
        self, request: emulator_proxy.Request, forward: emulator_proxy.Forward
    ) -> emulator_proxy.Response:
        params = request.params
        action = params.get("Action")
        if action == "RevokeSecurityGroupEgress" and params.get("DryRun", "").lower() != "true":
            return _list_revoked(request, forward, params)
        response = forward(request)
        if action == "AssumeRole" and response.status == 200:
            self._learn(response)
        return response

    def _learn(self, response: emulator_proxy.Response) -> None:
        """Access key -> account, from an AssumeRole answer (for the throttle's buckets)."""
        root = response.xml()
        key = arn = None
        for node in root.iter():
            tag = node.tag.rsplit("}", 1)[-1]
            if tag == "AccessKeyId":
                key = node.text
            elif tag == "Arn" and node.text and ":assumed-role/" in node.text:
                arn = node.text
        if key and arn:
            with self.lock:
                self.keys[key] = arn.split(":")[4]


def serve_proxy(upstream: str, latency: float) -> None:
    """The proxy process: prints its URL, serves until stdin closes, prints the counts."""
    proxy = emulator_proxy.Proxy(upstream)
    shim = OrgProxyShim(latency)

    def hook(
        request: emulator_proxy.Request, forward: emulator_proxy.Forward
    ) -> emulator_proxy.Response:
        proxy.clear_calls()  # nobody reads them here; keep the process small
        return shim(request, forward)

    proxy.on("*", hook)
    with proxy:
        print(proxy.url, flush=True)
        for line in sys.stdin:
            if line.strip() == "counts":
                with shim.lock:
                    print(json.dumps({"calls": shim.calls, "throttled": shim.throttled}))
                    shim.calls, shim.throttled = {}, {}
                sys.stdout.flush()


@contextlib.contextmanager
def proxy_process(upstream: str) -> Iterator[tuple[str, Callable[[], dict[str, Any]]]]:
    process = subprocess.Popen(
        [sys.executable, __file__, "--proxy", upstream, str(LATENCY)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None
    assert process.stdout is not None

    def counts() -> dict[str, Any]:
        assert process.stdin is not None
        assert process.stdout is not None
        process.stdin.write("counts\n")
        process.stdin.flush()
        return dict(json.loads(process.stdout.readline()))

    try:
        url = process.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError("the proxy process did not start")
        yield url, counts
    finally:
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --------------------------------------------------------------------------- the data


def client(url: str, service: str, region: str, creds: dict[str, str] | None = None) -> Any:
    import boto3
    from botocore.config import Config

    keys = creds or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    return boto3.client(
        service,
        endpoint_url=url,
        region_name=region,
        config=Config(max_pool_connections=32, retries={"mode": "standard", "max_attempts": 5}),
        **keys,
    )


def build(url: str) -> dict[tuple[str, str], list[str]]:
    """The organisation and its groups; returns the offending groups of each place."""
    from concurrent.futures import ThreadPoolExecutor

    org = client(url, "organizations", REGIONS[0])
    org.create_organization(FeatureSet="ALL")
    accounts = [ACCOUNT_ID]
    for i in range(ACCOUNTS - 1):
        status = org.create_account(Email=f"m{i}@example.com", AccountName=f"member-{i}")
        accounts.append(status["CreateAccountStatus"]["AccountId"])
    sts = client(url, "sts", REGIONS[0])
    creds: dict[str, dict[str, str] | None] = {ACCOUNT_ID: None}
    for account in accounts[1:]:
        c = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
            RoleSessionName="setup",
        )["Credentials"]
        creds[account] = {
            "aws_access_key_id": c["AccessKeyId"],
            "aws_secret_access_key": c["SecretAccessKey"],
            "aws_session_token": c["SessionToken"],
        }
    places = [(a, r) for a in accounts for r in REGIONS]
    busy = places[len(places) // 2]

    def make(place: tuple[str, str]) -> tuple[tuple[str, str], list[str]]:
        account, region = place
        ec2 = client(url, "ec2", region, creds[account])
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        bad = BUSY_OFFENDING if place == busy else OFFENDING_PER_PLACE
        offending = []
        for i in range(max(GROUPS_PER_PLACE, bad)):
            group = ec2.create_security_group(
                GroupName=f"bench-{i}", Description="egress-guard org bench", VpcId=vpc
            )["GroupId"]
            ec2.revoke_security_group_egress(GroupId=group, IpPermissions=ALL_OUT)
            clean = [
                {
                    "IpProtocol": "tcp",
                    "FromPort": 1000 + j,
                    "ToPort": 1000 + j,
                    "IpRanges": [{"CidrIp": f"10.{j}.0.0/16"}],
                }
                for j in range(RULES_PER_GROUP - (2 if i < bad else 0))
            ]
            ec2.authorize_security_group_egress(
                GroupId=group, IpPermissions=clean + (OFFENDING if i < bad else [])
            )
            if i < bad:
                offending.append(group)
        return place, offending

    with ThreadPoolExecutor(8) as pool:
        made = dict(pool.map(make, places))
    build.creds = creds  # type: ignore[attr-defined]
    return made


def put_back(url: str, offending: dict[tuple[str, str], list[str]]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    creds = build.creds  # type: ignore[attr-defined]

    def again(item: tuple[tuple[str, str], list[str]]) -> None:
        (account, region), groups = item
        ec2 = client(url, "ec2", region, creds[account])
        for group in groups:
            ec2.authorize_security_group_egress(GroupId=group, IpPermissions=OFFENDING)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(again, offending.items()))


# --------------------------------------------------------------------------- the figure


def scan(*args: str) -> tuple[float, int, dict[str, Any]]:
    """`egress-guard scan ARGS` in this process; (seconds, exit status, merged result)."""
    from egress_guard import cli

    out = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out):
        status = cli.main(["scan", *args, "--no-progress"])
    seconds = time.perf_counter() - start
    return seconds, status, json.loads(out.getvalue())


def measure(quick: bool) -> list[Row]:
    repeats = 1 if quick else 3
    with emulator.MotoServer() as moto:
        offending = build(moto.url)
        groups = sum(len(g) for g in offending.values())
        with proxy_process(moto.url) as (url, counts):
            env = aws_env(url)
            env["DENYLIST"] = json.dumps(DENYLIST)
            env.pop("MEMBER_ROLE_NAME", None)
            walls: list[float] = []
            alone: list[float] = []
            in_run: list[float] = []
            calls: dict[str, Any] = {}
            merged: dict[str, Any] = {}
            slowest = ("", "")
            with environment(env):
                for number in range(repeats):
                    counts()  # set-up's calls are not the scan's
                    wall, status, merged = scan(
                        "--organization",
                        "--regions",
                        ",".join(REGIONS),
                        "--concurrency",
                        str(CONCURRENCY),
                    )
                    if number == 0:
                        calls = counts()
                    revoked = merged["Totals"]["RulesRevoked"]
                    if status != 0 or revoked != 2 * groups:
                        raise RuntimeError(
                            f"scan exit {status}, revoked {revoked} of {2 * groups}: "
                            f"{merged.get('Errors', [])[:3]}"
                        )
                    walls.append(wall)
                    put_back(moto.url, offending)
                    top = max(merged["Places"], key=lambda p: p["Seconds"])
                    in_run.append(top["Seconds"])
                    slowest = (top["Account"], top["Region"])
                    _, status, single = scan("--accounts", slowest[0], "--regions", slowest[1])
                    alone.append(single["Places"][0]["Seconds"])
                    put_back(moto.url, {slowest: offending[slowest]})
    wall, unit = median(walls), median(alone)
    ratio = wall / unit
    places = len(offending)
    ec2 = {k[4:]: v for k, v in calls["calls"].items() if k.startswith("ec2:")}
    throttled_revokes = calls["throttled"].get("ec2:RevokeSecurityGroupEgress", 0)
    listings = ec2.get("DescribeSecurityGroupRules", 0)
    revokes = ec2.get("RevokeSecurityGroupEgress", 0)
    throttled = sum(calls["throttled"].values())
    total = sum(ec2.values())
    floor = places + groups
    other = ", ".join(f"{k} {v}" for k, v in sorted(ec2.items()) if k not in (
        "DescribeSecurityGroupRules", "RevokeSecurityGroupEgress"))  # fmt: skip
    return [
        Row(
            figure=(
                f"org scan wall time, {ACCOUNTS} accounts x {len(REGIONS)} regions, "
                f"+50 ms/call, EC2 throttle per account-region"
            ),
            value=(
                f"{wall:.2f} s for {places} places vs {unit:.2f} s for the slowest place "
                f"alone: ratio {ratio:.2f}"
            ),
            target="<= 1.5",
            met=ratio <= 1.5,
            note=(
                f"median of {repeats}; enforce, --concurrency {CONCURRENCY}; the slowest place "
                f"({slowest[0]}/{slowest[1]}, {BUSY_OFFENDING} offending groups) outruns "
                f"EC2's burst of {MUTATING[0]} revokes and waits for its refill"
            ),
            data={
                "wall_s": walls,
                "slowest_alone_s": alone,
                "slowest_in_run_s": in_run,
                "ratio": ratio,
            },
        ),
        Row(
            figure=f"org scan calls, {places} places, {groups} offending groups",
            value=(
                f"{total} calls (incl. {throttled} answered RequestLimitExceeded): "
                f"{listings} rule listings + {revokes} revokes + {other}"
            ),
            target=f"floor {floor}: {places} listings + {groups} revokes",
            met=listings == places and revokes - throttled_revokes == groups,
            note=(
                "counted at the proxy (every HTTP request, retries included); other calls "
                "than EC2's (STS AssumeRole, Organizations, GetCallerIdentity): "
                + ", ".join(
                    f"{k} {v}"
                    for k, v in sorted(calls["calls"].items())
                    if not k.startswith("ec2:")
                )
            ),
            data=calls,
        ),
    ]


if __name__ == "__main__":
    if sys.argv[1:2] == ["--proxy"]:
        serve_proxy(sys.argv[2], float(sys.argv[3]))
    else:
        from _bench import module_main

        module_main(measure)
