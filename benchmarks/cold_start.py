"""Cold start: a fresh Python process that imports the handler module and handles one
offending CloudTrail event against the emulator, vs. a baseline process that imports boto3,
creates an EC2 client and makes one describe call against the same emulator.

Both are timed from the parent as the wall time of the whole process (interpreter start
included), alternately, several times; figures are medians and the ratio of the medians.
Each handler run gets a new offending rule (the previous run revoked its own). Also
reports the import time of `egress_guard.handler` and its largest imports beyond boto3's
(`python -X importtime`).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import (
    EVENTS,
    HANDLER_SCRIPT,
    SRC,
    Row,
    aws_env,
    ec2_client,
    emulator,
    emulator_stack,
    median,
    module_main,
)

SAMPLE_GROUP = "sg-0f1e2d3c4b5a69780"
SAMPLE_RULE = "sgr-0aa11bb22cc33dd44"

HANDLER = (
    HANDLER_SCRIPT
    + """
with open(sys.argv[1]) as f:
    event = json.load(f)
result = lambda_handler(event, Context())
assert len(result["RevokedSecurityGroupRules"]) == 1, result
"""
)

BASELINE = """
import boto3
ec2 = boto3.client("ec2")
ec2.describe_security_group_rules(SecurityGroupRuleIds=[__import__("sys").argv[1]])
"""


def run(code: str, arg: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, arg],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"cold-start process failed:\n{done.stderr.decode()[-2000:]}")
    return seconds


def import_profile(env: dict[str, str]) -> tuple[float, float, list[tuple[str, float]]]:
    """(handler import ms, boto3 import ms, top own/extra imports) from -X importtime."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import egress_guard.handler"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    cumulative: dict[str, float] = {}
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", line)
        if match:
            cumulative[match.group(3)] = int(match.group(1)) / 1000
    total = cumulative.get("egress_guard.handler", 0.0)
    boto = cumulative.get("boto3", 0.0)
    top = [
        (name, ms)
        for name, ms in cumulative.items()
        if (
            name.split(".")[0] not in ("boto3", "botocore", "s3transfer", "urllib3")
            and "." not in name.strip()
        )
        or name.startswith("egress_guard.")
    ]
    top.sort(key=lambda item: -item[1])
    return total, boto, top[:6]


def measure(quick: bool) -> list[Row]:
    repeats = 3 if quick else 7
    handler_s: list[float] = []
    baseline_s: list[float] = []
    with emulator_stack() as (moto, proxy, _shim), tempfile.TemporaryDirectory() as tmp:
        setup = ec2_client(moto.url)
        env = aws_env(proxy.url)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(SRC), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
        env.pop("POWERTOOLS_METRICS_DISABLED", None)
        group = emulator.create_group(setup, [], keep_default_egress=False)
        template = (EVENTS / "cloudtrail-authorize-egress.json").read_text()
        # One warm-up of each (pycache, page cache), not counted.
        for i in range(repeats + 1):
            rule = setup.authorize_security_group_egress(
                GroupId=group.group_id,
                IpPermissions=[
                    {
                        "IpProtocol": "tcp",
                        "FromPort": 25,
                        "ToPort": 25,
                        "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
                    }
                ],
            )["SecurityGroupRules"][0]["SecurityGroupRuleId"]
            path = Path(tmp) / f"event-{i}.json"
            path.write_text(
                template.replace(SAMPLE_GROUP, group.group_id).replace(SAMPLE_RULE, rule)
            )
            b = run(BASELINE, rule, env)
            h = run(HANDLER, str(path), env)
            if i:
                baseline_s.append(b)
                handler_s.append(h)
        total_ms, boto_ms, top = import_profile(env)
    h, b = median(handler_s), median(baseline_s)
    ratio = h / b
    extra = ", ".join(f"{name} {ms:.0f}" for name, ms in top)
    return [
        Row(
            figure="cold start: import handler + one offending CloudTrail event vs boto3 baseline",
            value=f"{h * 1000:.0f} ms vs {b * 1000:.0f} ms: ratio {ratio:.2f}",
            target="<= 1.20",
            met=ratio <= 1.20,
            note=(
                f"fresh processes, median of {repeats}; "
                f"`import egress_guard.handler` {total_ms:.0f} ms of which boto3 {boto_ms:.0f} ms;"
                f" largest other imports (ms, cumulative): {extra}"
            ),
            data={"handler_s": handler_s, "baseline_s": baseline_s, "imports": top},
        )
    ]


if __name__ == "__main__":
    module_main(measure)
