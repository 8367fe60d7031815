"""Polite sweeps: a sweep of 500 offending groups under EC2's emulated request throttling,
paced (the defaults: 2 revokes a second, bursts of 10) and unpaced, side by side.

EC2 throttles mutating calls per account and region with a token bucket of 50 refilled at
5 a second, shared with everything else the account does. The emulator's proxy carries
`emulator_proxy.ec2_throttle_hook` (tests/support/proxy.py) with exactly those sizes, in
front of `_bench.Ec2Like` (revokes answered as EC2 does). Each group has one offending rule
(tcp/25 to ::/0, under a denylist of that one entry, so the all-traffic IPv4 rule of every
new group stays compliant), so the sweep makes one revoke per group.

The pacing floor is the least time the pace allows: (groups - burst) / rate, the burst
going at once and the rest at the rate. The paced sweep should take no more than 1.2 times
that and meet no RequestLimitExceeded. The unpaced sweep (REVOKE_RATE=0) drains the bucket
and relies on boto3's adaptive retry mode, which slows the client down after throttling:
its time, throttled answers and failures are printed beside, with no target. Between the
two runs the revoked rules are put back and the emulated bucket refilled (an idle account).
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import (
    ACCOUNT_ID,
    EVENTS,
    Ec2Like,
    Row,
    aws_env,
    ec2_client,
    emulator,
    emulator_proxy,
    environment,
    module_main,
    timed,
)

RATE, BURST = 2.0, 10  # the defaults (settings.py), set explicitly
SMTP_V6 = {"IpProtocol": "tcp", "FromPort": 25, "ToPort": 25, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}
DENYLIST = {
    "version": 1,
    "deny": [{"id": "smtp-out-v6", "protocol": "tcp", "ports": "25", "cidr": ["::/0"]}],
}


def build(ec2: Any, groups: int) -> list[str]:
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]

    def make(i: int) -> str:
        group_id: str = ec2.create_security_group(
            GroupName=f"paced-{i}", Description="egress-guard pacing benchmark", VpcId=vpc
        )["GroupId"]
        ec2.authorize_security_group_egress(GroupId=group_id, IpPermissions=[SMTP_V6])
        return group_id

    # One at a time: moto 5.2.5 sometimes answers concurrent CreateSecurityGroup calls
    # with an HTML 500 page.
    return [make(i) for i in range(groups)]


def put_back(ec2: Any, group_ids: list[str]) -> None:
    def authorize(group_id: str) -> None:
        ec2.authorize_security_group_egress(GroupId=group_id, IpPermissions=[SMTP_V6])

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(authorize, group_ids))


def sweep_once() -> tuple[float, dict[str, Any]]:
    """One scheduled sweep through the handler's wiring, in a fresh container."""
    from aws_lambda_powertools import Metrics

    import egress_guard.handler  # noqa: F401  (the parent logger, as in Lambda)
    from egress_guard.aws import Clients
    from egress_guard.service import RemediationFailed, handle

    event = json.loads((EVENTS / "scheduled-event.json").read_text())
    clients = Clients()
    clients.set_own_account(ACCOUNT_ID)
    metrics = Metrics(namespace="EgressGuardBench", service="bench")
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result.update(handle(event, clients, metrics))
        except RemediationFailed as exc:  # unpaced: revokes whose retries ran out
            result.update(exc.result.to_dict())

    seconds = timed(run)
    metrics.clear_metrics()
    return seconds, result


def counts(result: dict[str, Any]) -> tuple[int, int]:
    actions = [f.get("Action") for f in result.get("Findings") or ()]
    return actions.count("revoked"), actions.count("failed")


def measure(quick: bool) -> list[Row]:
    groups = 100 if quick else 500
    floor = (groups - BURST) / RATE
    with emulator.MotoServer() as moto:
        proxy = emulator_proxy.Proxy(moto.url)
        proxy.on("*", Ec2Like())
        # Outermost: the shim's own reads of moto are not EC2 calls of the code under test.
        throttle = emulator_proxy.ec2_throttle_hook()
        proxy.on("*", throttle)
        with proxy:
            setup = ec2_client(moto.url)
            offending = build(setup, groups)
            env = aws_env(proxy.url)
            env.update(
                DENYLIST=json.dumps(DENYLIST),
                MAX_REVOCATIONS="0",  # the blast-radius limit would hold a sweep this size
                MAX_REVOCATIONS_PERCENT="0",
                POWERTOOLS_LOG_LEVEL="WARNING",
                POWERTOOLS_METRICS_DISABLED="true",
            )
            env.pop("MODE", None)
            runs: dict[str, tuple[float, dict[str, Any], dict[str, int], int]] = {}
            for name, rate in (("unpaced", "0"), ("paced", str(RATE))):
                throttle.reset()  # an idle account: a full bucket
                proxy.clear_calls()
                with environment({**env, "REVOKE_RATE": rate, "REVOKE_BURST": str(BURST)}):
                    seconds, result = sweep_once()
                writes = sum(
                    n for action, n in throttle.served.items() if not action.startswith("Describe")
                )
                runs[name] = (seconds, result, dict(throttle.throttled), writes)
                put_back(setup, [g for g in offending if g in _revoked_groups(result)])
    paced_s, paced, paced_throttled, paced_writes = runs["paced"]
    unpaced_s, unpaced, unpaced_throttled, unpaced_writes = runs["unpaced"]
    paced_revoked, paced_failed = counts(paced)
    unpaced_revoked, unpaced_failed = counts(unpaced)
    paced_429 = sum(paced_throttled.values())
    unpaced_429 = sum(unpaced_throttled.values())
    ratio = paced_s / floor
    scaled = "" if groups == 500 else " (scaled down from 500 groups: --quick)"
    where = f"{groups} offending groups, emulated EC2 bucket 50 at 5/s"
    return [
        Row(
            figure=f"paced sweep, {where}, pace {RATE:g}/s burst {BURST}",
            value=(
                f"{paced_s:.1f} s = {ratio:.2f} x the pacing floor ({floor:.0f} s); "
                f"{paced_429} RequestLimitExceeded; {paced_revoked} revoked, "
                f"{paced_failed} failed; {_share(paced_writes, paced_s)} of the account's "
                "write tokens"
            ),
            target="<= 1.2 x floor, 0 RequestLimitExceeded, all revoked",
            met=ratio <= 1.2 and paced_429 == 0 and paced_revoked == groups,
            note=f"floor = (groups - burst) / rate; one run{scaled}",
            data={"seconds": paced_s, "floor": floor, "throttled": paced_throttled},
        ),
        Row(
            figure=f"unpaced sweep (REVOKE_RATE=0), {where}",
            value=(
                f"{unpaced_s:.1f} s = {unpaced_s / floor:.2f} x the paced floor; "
                f"{unpaced_429} RequestLimitExceeded; {unpaced_revoked} revoked, "
                f"{unpaced_failed} failed; {_share(unpaced_writes, unpaced_s)} of the account's "
                "write tokens"
            ),
            target="(beside the paced run; no target)",
            met=None,
            note=(
                "boto3's adaptive retry mode slows the client after each throttled answer "
                "and retries (7 attempts): done sooner, but by taking nearly every token EC2 "
                "refilled meanwhile, so the account's own deployments were throttled "
                "throughout. Share of write tokens: the sweep's mutating calls / (50 + 5 x "
                "its seconds)"
            ),
            data={"seconds": unpaced_s, "throttled": unpaced_throttled},
        ),
    ]


def _share(writes: int, seconds: float) -> str:
    """The share of EC2's mutating tokens of the run's time that the sweep took: what it
    left the account's own deployments is the rest."""
    size = emulator_proxy.EC2_MUTATING
    return f"{writes / (size.capacity + size.refill * seconds):.0%}"


def _revoked_groups(result: dict[str, Any]) -> set[str]:
    return {str(r["GroupId"]) for r in result.get("RevokedSecurityGroupRules") or ()}


if __name__ == "__main__":
    module_main(measure)
