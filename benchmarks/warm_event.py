"""Warm event: the time one offending CloudTrail event spends inside the handler of a warm
container, at a 50-entry denylist, with the emulator's round trips excluded.

EC2 is answered from memory by botocore's `Stubber` on the handler's own EC2 client (no
HTTP at all), with the answers real EC2 gives: the rule read by id, the group's tags, and
a revoke that lists the rule it removed. The calls are counted rather than timed against
an emulator. Reported: the whole `lambda_handler` call (logging and the metrics flush
included, written to /dev/null), and the part of it spent outside botocore (egress-guard's
own code: event parsing, judging, the result). Median over many events after a warm-up.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workload
from _bench import (
    ACCOUNT_ID,
    EVENTS,
    REGION,
    Row,
    aws_env,
    emulator,
    environment,
    median,
    module_main,
)

GROUP = "sg-0f1e2d3c4b5a69780"
ENTRIES = 50


def rule_item(rule_id: str) -> dict[str, Any]:
    return {
        "SecurityGroupRuleId": rule_id,
        "GroupId": GROUP,
        "GroupOwnerId": ACCOUNT_ID,
        "IsEgress": True,
        "IpProtocol": "tcp",
        "FromPort": 25,
        "ToPort": 25,
        "CidrIpv4": "0.0.0.0/0",
    }


def revoked_item(rule_id: str) -> dict[str, Any]:
    item = rule_item(rule_id)
    del item["GroupOwnerId"]
    return item


def measure(quick: bool) -> list[Row]:  # noqa: PLR0915  (one straight experiment)
    events = 300 if quick else 2000
    warmup = 50
    env = aws_env("http://127.0.0.1:9")  # never reached: every call is stubbed
    env["DENYLIST"] = workload.denylist_json(ENTRIES)
    # Unpaced: pacing (REVOKE_RATE) waits on purpose between revokes of one account and
    # region; this figure is the code's own cost per event (paced_sweep measures pacing).
    env["REVOKE_RATE"] = "0"
    template = json.loads((EVENTS / "cloudtrail-authorize-egress.json").read_text())
    sink = open(os.devnull, "w")  # noqa: SIM115
    saved_stderr = sys.stderr
    with environment(env), contextlib.redirect_stdout(sink):
        sys.stderr = sink  # the handler's Logger writes to the stderr of import time
        try:
            from botocore.stub import Stubber

            from egress_guard import handler
        finally:
            sys.stderr = saved_stderr
        client = handler.clients.ec2(None, REGION, None).client
        in_botocore = [0.0]
        started: list[float] = []
        calls: dict[str, int] = {}

        def before(event_name: str, **_: Any) -> None:
            started.append(time.perf_counter())
            op = event_name.rsplit(".", 1)[-1]
            calls[op] = calls.get(op, 0) + 1

        def after(**_: Any) -> None:
            in_botocore[0] += time.perf_counter() - started.pop()

        client.meta.events.register_first("before-parameter-build.ec2.*", before)
        client.meta.events.register_last("after-call.ec2.*", after)
        stubber = Stubber(client)
        stubber.activate()
        totals: list[float] = []
        own: list[float] = []
        for i in range(warmup + events):
            rule_id = f"sgr-{i:017x}"
            event = copy.deepcopy(template)
            event["detail"]["responseElements"]["securityGroupRuleSet"]["items"][0][
                "securityGroupRuleId"
            ] = rule_id
            stubber.add_response(
                "describe_security_group_rules", {"SecurityGroupRules": [rule_item(rule_id)]}
            )
            stubber.add_response(
                "describe_security_groups",
                {"SecurityGroups": [{"GroupId": GROUP, "Tags": [{"Key": "team", "Value": "a"}]}]},
            )
            stubber.add_response(
                "revoke_security_group_egress",
                {"Return": True, "RevokedSecurityGroupRules": [revoked_item(rule_id)]},
            )
            if i == warmup:
                calls.clear()
            context = emulator.FakeLambdaContext()  # each invocation gets its own, as in Lambda
            in_botocore[0] = 0.0
            start = time.perf_counter()
            result = handler.lambda_handler(event, context)
            total = time.perf_counter() - start
            if len(result["RevokedSecurityGroupRules"]) != 1:
                raise RuntimeError(f"unexpected result {result}")
            if i >= warmup:
                totals.append(total)
                own.append(total - in_botocore[0])
        stubber.assert_no_pending_responses()
    sink.close()
    t, o = median(totals) * 1000, median(own) * 1000
    per_event = {op: n // events for op, n in calls.items()}
    return [
        Row(
            figure=f"warm event: offending CloudTrail event, {ENTRIES}-entry denylist",
            value=f"{t:.2f} ms in the handler, of which egress-guard's own {o:.2f} ms",
            target="<= 1 ms",
            met=t <= 1.0,
            note=(
                f"median of {events}; EC2 answered in memory by botocore's Stubber "
                f"(no round trips; the rest is botocore building requests and answers); "
                f"calls per event: {', '.join(f'{k} {v}' for k, v in sorted(per_event.items()))}"
            ),
            data={"total_ms": t, "own_ms": o},
        )
    ]


if __name__ == "__main__":
    module_main(measure)
