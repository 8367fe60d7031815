"""Sweep wall time and sweep calls: a scheduled sweep of many groups, emulator 50 ms away.

Data: N security groups of 10 egress rules each (default egress rules removed, so that the
offending share is exact); 20% of the groups hold 2 offending rules (tcp/25 and tcp/445 to
0.0.0.0/0, both named by the packaged default denylist), the rest only rules to private
address space. Every call the code under test makes goes through the emulator's proxy,
which adds 50 ms to it and answers like EC2 (paged DescribeSecurityGroupRules, revokes that
list the rules they removed: see `_bench.Ec2Like`).

The same sweep runs with SWEEP_CONCURRENCY=1 (one call at a time) and with the default,
alternately, several times; between runs the revoked rules are put back. Figures are the
medians, and the ratio of the medians.
"""

from __future__ import annotations

import json
import math
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import (
    ACCOUNT_ID,
    EVENTS,
    REGION,
    Row,
    aws_env,
    count_calls,
    ec2_client,
    emulator,
    environment,
    median,
    module_main,
    proxy_process,
    reads_writes,
    timed,
)

LATENCY = 0.050
RULES_PER_GROUP = 10
OFFENDING_SHARE = 0.2
OFFENDING = [
    {"IpProtocol": "tcp", "FromPort": 25, "ToPort": 25, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
    {"IpProtocol": "tcp", "FromPort": 445, "ToPort": 445, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
]
ALL_OUT = [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]


def clean_permissions(count: int) -> list[dict[str, Any]]:
    return [
        {
            "IpProtocol": "tcp",
            "FromPort": 1000 + j,
            "ToPort": 1000 + j,
            "IpRanges": [{"CidrIp": f"10.{j}.0.0/16"}],
        }
        for j in range(count)
    ]


def build(ec2: Any, groups: int) -> tuple[list[str], int]:
    """Creates the groups; returns the ids of the offending ones and the rule count."""
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    offending_every = round(1 / OFFENDING_SHARE)

    def make(i: int) -> str | None:
        group_id = ec2.create_security_group(
            GroupName=f"bench-{i}", Description="egress-guard benchmark", VpcId=vpc
        )["GroupId"]
        ec2.revoke_security_group_egress(GroupId=group_id, IpPermissions=ALL_OUT)
        bad = i % offending_every == 0
        perms = clean_permissions(RULES_PER_GROUP - (len(OFFENDING) if bad else 0))
        ec2.authorize_security_group_egress(
            GroupId=group_id, IpPermissions=perms + (OFFENDING if bad else [])
        )
        return group_id if bad else None

    with ThreadPoolExecutor(8) as pool:
        made = list(pool.map(make, range(groups)))
    # The VPCs' default groups come with an all-traffic egress rule: take it away too, so
    # that exactly the groups above are offending.
    for page in ec2.get_paginator("describe_security_groups").paginate():
        for group in page["SecurityGroups"]:
            if group["GroupName"] == "default" and group.get("IpPermissionsEgress"):
                ec2.revoke_security_group_egress(
                    GroupId=group["GroupId"], IpPermissions=group["IpPermissionsEgress"]
                )
    rules = len(ec2.describe_security_group_rules()["SecurityGroupRules"])
    return [g for g in made if g], rules


def restore(ec2: Any, offending: list[str]) -> None:
    with ThreadPoolExecutor(8) as pool:
        list(
            pool.map(
                lambda gid: ec2.authorize_security_group_egress(
                    GroupId=gid, IpPermissions=OFFENDING
                ),
                offending,
            )
        )


def sweep_once(concurrency: int) -> tuple[float, dict[str, int], dict[str, Any]]:
    """One scheduled sweep through the handler's own wiring; returns (seconds, calls, result)."""
    from aws_lambda_powertools import Metrics

    import egress_guard.handler  # noqa: F401  (the parent logger, as in Lambda)
    from egress_guard.aws import Clients
    from egress_guard.service import handle
    from egress_guard.settings import Settings

    event = json.loads((EVENTS / "scheduled-event.json").read_text())
    clients = Clients()
    clients.set_own_account(ACCOUNT_ID)  # as the handler does from the Lambda context
    counts = count_calls(clients.ec2(ACCOUNT_ID, REGION, None).client)
    metrics = Metrics(namespace="EgressGuardBench", service="bench")
    settings = Settings.from_env()
    if concurrency:
        settings = Settings(**{**_fields(settings), "sweep_concurrency": concurrency})
    result: dict[str, Any] = {}

    def run() -> None:
        result.update(handle(event, clients, metrics, settings=settings))

    seconds = timed(run)
    metrics.clear_metrics()
    return seconds, counts, result


def _fields(settings: Any) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in settings.__slots__}


def measure(quick: bool) -> list[Row]:
    groups = 300 if quick else 2000
    repeats = 2 if quick else 3
    # The proxy in a process of its own: its XML work must not take the GIL from the sweep.
    with emulator.MotoServer() as moto, proxy_process(moto.url, LATENCY) as proxy_url:
        setup = ec2_client(moto.url)
        offending, rules = build(setup, groups)
        through_proxy = ec2_client(proxy_url)
        env = aws_env(proxy_url)
        env.pop("SWEEP_CONCURRENCY", None)
        # Unpaced: this figure is the sweep's own speed; paced_sweep.py measures the pace.
        env["REVOKE_RATE"] = "0"
        timings: dict[int, list[float]] = {1: [], 0: []}
        calls: dict[str, int] = {}
        result: dict[str, Any] = {}
        listing: list[float] = []
        with environment(env):
            for _ in range(repeats):
                for concurrency in (1, 0):  # 0: the default (SWEEP_CONCURRENCY unset)
                    # A first page before the clock starts: moto lists every rule at once
                    # and slowly; that is the emulator's cost, not the sweep's.
                    listing.append(
                        timed(lambda: through_proxy.describe_security_group_rules(MaxResults=5))
                    )
                    seconds, counts, result = sweep_once(concurrency)
                    timings[concurrency].append(seconds)
                    if concurrency == 0:
                        calls = counts
                    revoked = len(result["RevokedSecurityGroupRules"])
                    if revoked != 2 * len(offending):
                        raise RuntimeError(f"sweep revoked {revoked}, not {2 * len(offending)}")
                    restore(setup, offending)
        from egress_guard.settings import Settings

        default = Settings.from_env({}).sweep_concurrency
    one, many = median(timings[1]), median(timings[0])
    ratio = many / one
    pages = calls.get("DescribeSecurityGroupRules", 0)
    tags = calls.get("DescribeSecurityGroups", 0)
    revokes = calls.get("RevokeSecurityGroupEgress", 0)
    other = sum(calls.values()) - pages - tags - revokes
    expected_pages = math.ceil(rules / 1000)
    reads, writes = reads_writes(calls)
    size = f"{groups:,} groups x {RULES_PER_GROUP} rules"
    scaled = "" if groups == 2000 else " (scaled down from 2,000 groups: --quick)"
    return [
        Row(
            figure=f"sweep wall time, {size}, {len(offending)} groups offending, +50 ms/call",
            value=(
                f"{many:.1f} s at concurrency {default} vs {one:.1f} s one call at a time: "
                f"ratio {ratio:.2f}"
            ),
            target="<= 0.20",
            met=ratio <= 0.20,
            note=(
                f"median of {repeats}; moto's own un-paged listing of {rules:,} rules "
                f"(median {median(listing):.1f} s) is taken before the clock starts{scaled}"
            ),
            data={"concurrent_s": timings[0], "sequential_s": timings[1], "ratio": ratio},
        ),
        Row(
            figure=f"sweep calls, {size} ({rules:,} rules), {len(offending)} offending groups",
            value=(
                f"{pages} DescribeSecurityGroupRules pages + {tags} DescribeSecurityGroups "
                f"(exempt tags) + {revokes} revokes"
                + (f" + {other} other" if other else "")
                + f" = {reads} reads, {writes} writes"
            ),
            target=(f"{expected_pages} pages + tags + {len(offending)} revokes"),
            met=pages == expected_pages and revokes == len(offending) and other == 0,
            note="counted with botocore before-call hooks on the handler's own EC2 client",
            data={"calls": calls, "rules": rules},
        ),
    ]


if __name__ == "__main__":
    module_main(measure)
