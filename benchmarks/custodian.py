"""Cloud Custodian, the peer: remove the egress rules open to 0.0.0.0/0 of 200 groups x 5
rules, end to end, against the same emulator, vs. egress-guard doing the same.

Data: 200 groups, each with its default all-traffic egress rule to 0.0.0.0/0, tcp/25 and
tcp/445 to 0.0.0.0/0, and two rules to private space: 600 open rules in all, which both
tools remove (egress-guard with its packaged default denylist, which names exactly these).

Custodian: ``custodian run`` of a policy (security-group, egress filter on Cidr 0.0.0.0/0,
remove-permissions egress: matched) in a fresh process. egress-guard: a fresh process
that imports the handler and handles one scheduled event (a sweep). Both reach the
emulator only through AWS_ENDPOINT_URL; both are timed end to end from the parent,
alternately, with the open rules put back between runs. c7n is never a dependency of the
project: it is installed, if pip can, into .bench/c7n (a throwaway venv); when it cannot
be installed or run, the row says so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import (
    EVENTS,
    HANDLER_SCRIPT,
    ROOT,
    SRC,
    Row,
    aws_env,
    ec2_client,
    emulator_stack,
    median,
    module_main,
)

GROUPS = 200
OPEN = [
    {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
    {"IpProtocol": "tcp", "FromPort": 25, "ToPort": 25, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
    {"IpProtocol": "tcp", "FromPort": 445, "ToPort": 445, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
]
PRIVATE = [
    {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.1.0.0/16"}]},
    {"IpProtocol": "udp", "FromPort": 53, "ToPort": 53, "IpRanges": [{"CidrIp": "10.0.0.2/32"}]},
]
POLICY = """policies:
  - name: remove-open-egress
    resource: aws.security-group
    filters:
      - type: egress
        Cidr:
          value: "0.0.0.0/0"
    actions:
      - type: remove-permissions
        egress: matched
"""
HANDLER = (
    HANDLER_SCRIPT
    + """
with open(sys.argv[1]) as f:
    result = lambda_handler(json.load(f), Context())
print(len(result["RevokedSecurityGroupRules"]))
"""
)
C7N_VENV = ROOT / ".bench" / "c7n"


def custodian_executable(install: bool) -> tuple[str | None, str]:
    """The custodian command, installing c7n into a throwaway venv if allowed."""
    found = os.environ.get("CUSTODIAN") or shutil.which("custodian")
    if found:
        return found, ""
    exe = C7N_VENV / "bin" / "custodian"
    if exe.exists():
        return str(exe), ""
    if not install:
        return None, "c7n not installed (--quick does not install it)"
    try:
        subprocess.run([sys.executable, "-m", "venv", str(C7N_VENV)], check=True, timeout=120)
        subprocess.run(
            [str(C7N_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet",
             "--disable-pip-version-check", "c7n"],
            check=True, timeout=300, capture_output=True,
        )  # fmt: skip
    except (subprocess.SubprocessError, OSError) as exc:
        shutil.rmtree(C7N_VENV, ignore_errors=True)
        return None, f"pip could not install c7n: {exc}"
    return (str(exe), "") if exe.exists() else (None, "c7n installed no custodian command")


def build(ec2: Any) -> list[str]:
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]

    def make(i: int) -> str:
        group_id: str = ec2.create_security_group(
            GroupName=f"peer-{i}", Description="custodian comparison", VpcId=vpc
        )["GroupId"]
        ec2.authorize_security_group_egress(GroupId=group_id, IpPermissions=OPEN[1:] + PRIVATE)
        return group_id

    with ThreadPoolExecutor(8) as pool:
        groups = list(pool.map(make, range(GROUPS)))
    # Only the groups above: the VPCs' default groups lose their open rule beforehand.
    for page in ec2.get_paginator("describe_security_groups").paginate():
        for group in page["SecurityGroups"]:
            if group["GroupId"] not in groups and group.get("IpPermissionsEgress"):
                ec2.revoke_security_group_egress(
                    GroupId=group["GroupId"], IpPermissions=group["IpPermissionsEgress"]
                )
    return groups


def restore(ec2: Any, groups: list[str]) -> None:
    def put_back(group_id: str) -> None:
        ec2.authorize_security_group_egress(GroupId=group_id, IpPermissions=OPEN)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put_back, groups))


def open_rules(ec2: Any) -> int:
    rules = ec2.describe_security_group_rules()["SecurityGroupRules"]
    return sum(1 for r in rules if r["IsEgress"] and r.get("CidrIpv4") == "0.0.0.0/0")


def run(argv: list[str], env: dict[str, str], cwd: str) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        argv, env=env, cwd=cwd, capture_output=True, text=True, check=False, timeout=600
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed:\n{done.stderr[-3000:]}")
    return seconds


def measure(quick: bool) -> list[Row]:
    figure = f"Cloud Custodian: remove open egress, {GROUPS} groups x 5 rules, end to end"
    custodian, why = custodian_executable(install=not quick)
    if custodian is None:
        return [Row(figure, "skipped", "ratio (no target)", note=why)]
    repeats = 2 if quick else 3
    times: dict[str, list[float]] = {"custodian": [], "egress-guard": []}
    with emulator_stack() as (moto, proxy, _shim), tempfile.TemporaryDirectory() as tmp:
        setup = ec2_client(moto.url)
        groups = build(setup)
        policy = Path(tmp) / "policy.yml"
        policy.write_text(POLICY)
        env = aws_env(proxy.url)
        env["PYTHONPATH"] = str(SRC)
        env.pop("DENYLIST", None)
        env.pop("SWEEP_CONCURRENCY", None)
        env["REVOKE_RATE"] = "0"  # unpaced, as Custodian is (paced_sweep.py measures the pace)
        commands = {
            "custodian": [custodian, "run", "-s", str(Path(tmp) / "out"), "--region",
                          "us-east-1", "--cache-period", "0", str(policy)],
            "egress-guard": [sys.executable, "-c", HANDLER, str(EVENTS / "scheduled-event.json")],
        }  # fmt: skip
        try:
            for _ in range(repeats):
                for tool, argv in commands.items():
                    before = open_rules(setup)
                    seconds = run(argv, env, tmp)
                    left = open_rules(setup)
                    if before != 3 * GROUPS or left:
                        raise RuntimeError(f"{tool}: {before} open rules before, {left} after")
                    times[tool].append(seconds)
                    restore(setup, groups)
        except (RuntimeError, subprocess.SubprocessError) as exc:
            return [Row(figure, "skipped", "ratio (no target)", note=f"could not run: {exc}"[:300])]
    c7n, eg = median(times["custodian"]), median(times["egress-guard"])
    return [
        Row(
            figure,
            f"egress-guard {eg:.2f} s vs custodian {c7n:.2f} s: ratio {eg / c7n:.2f}",
            "ratio (no target; issue: custodian ~2.0 s)",
            note=(
                f"fresh processes, median of {repeats}, both through the same emulator proxy; "
                f"each removed all {3 * GROUPS} open rules"
            ),
            data=times,
        )
    ]


if __name__ == "__main__":
    module_main(measure)
