"""EC2 calls per event: CloudTrail AuthorizeSecurityGroupEgress events naming their rule
ids, handled by `egress_guard.handler.lambda_handler` against the emulator.

Calls are counted with botocore's ``before-call.ec2.*`` event hook on the EC2 client the
handler itself uses (`handler.clients`). The emulator sits behind the proxy's `Ec2Like`
hook, so RevokeSecurityGroupEgress lists the rules it removed as current EC2 does; the
count with moto's bare answer (no list: the code reads the group back) is in the note.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import (
    EVENTS,
    REGION,
    Row,
    aws_env,
    count_calls,
    ec2_client,
    emulator,
    emulator_stack,
    environment,
    module_main,
    reads_writes,
)

SAMPLE_GROUP = "sg-0f1e2d3c4b5a69780"
SMTP = {"IpProtocol": "tcp", "Port": 25, "CidrIpv4": "0.0.0.0/0"}
HTTPS = {"IpProtocol": "tcp", "Port": 443, "CidrIpv4": "0.0.0.0/0"}


def authorize_event(group_id: str, rule_id: str) -> dict[str, Any]:
    text = (EVENTS / "cloudtrail-authorize-egress.json").read_text()
    event: dict[str, Any] = json.loads(text.replace(SAMPLE_GROUP, group_id))
    items = event["detail"]["responseElements"]["securityGroupRuleSet"]["items"]
    items[:] = [{**copy.deepcopy(items[0]), "securityGroupRuleId": rule_id}]
    return event


def handle_counted(event: dict[str, Any]) -> tuple[dict[str, int], dict[str, Any]]:
    from egress_guard import handler
    from egress_guard.aws import Clients

    handler.clients = Clients()  # a cold container: its own clients
    counts = count_calls(handler.clients.ec2(None, REGION, None).client)
    result = handler.lambda_handler(event, emulator.FakeLambdaContext())
    return counts, result


def describe(counts: dict[str, int]) -> str:
    reads, writes = reads_writes(counts)
    ops = ", ".join(f"{op} {n}" for op, n in sorted(counts.items()))
    return f"{reads} read{'s' * (reads != 1)} + {writes} write{'s' * (writes != 1)} ({ops})"


def measure(quick: bool) -> list[Row]:
    rows: list[Row] = []
    with emulator_stack() as (moto, proxy, shim):
        setup = ec2_client(moto.url)
        env = aws_env(proxy.url)
        env["POWERTOOLS_METRICS_DISABLED"] = "true"
        with environment(env):
            # offending, by rule id
            group = emulator.create_group(setup, [SMTP, HTTPS], keep_default_egress=False)
            counts, result = handle_counted(authorize_event(group.group_id, group.rule_ids[0]))
            assert len(result["RevokedSecurityGroupRules"]) == 1, result
            reads, writes = reads_writes(counts)
            rows.append(
                Row(
                    "EC2 calls per event: CloudTrail, rule id, offending",
                    describe(counts),
                    "1 read + 1 write",
                    met=(reads, writes) == (1, 1),
                    data={"calls": counts},
                )
            )
            # compliant
            counts, result = handle_counted(authorize_event(group.group_id, group.rule_ids[1]))
            assert not result["RevokedSecurityGroupRules"], result
            reads, writes = reads_writes(counts)
            rows.append(
                Row(
                    "EC2 calls per event: CloudTrail, rule id, compliant",
                    describe(counts),
                    "1 read + 0 writes",
                    met=(reads, writes) == (1, 0),
                    data={"calls": counts},
                )
            )
            # a rule to a managed prefix list holding 0.0.0.0/0: the list must be read
            pl = setup.create_managed_prefix_list(
                PrefixListName="bench-internet",
                MaxEntries=5,
                AddressFamily="IPv4",
                Entries=[{"Cidr": "0.0.0.0/0"}],
            )["PrefixList"]["PrefixListId"]
            group = emulator.create_group(
                setup,
                [{"IpProtocol": "tcp", "Port": 25, "PrefixListId": pl}],
                keep_default_egress=False,
            )
            counts, result = handle_counted(authorize_event(group.group_id, group.rule_ids[0]))
            assert len(result["RevokedSecurityGroupRules"]) == 1, result
            reads, writes = reads_writes(counts)
            rows.append(
                Row(
                    "EC2 calls per event: same, rule to a prefix list",
                    describe(counts),
                    "1 read + 1 write + prefix-list reads",
                    met=writes == 1 and reads - counts.get("GetManagedPrefixListEntries", 0) == 1,
                    data={"calls": counts},
                )
            )
            # moto's bare revoke answer (no RevokedSecurityGroupRules): read back
            proxy.off("*", shim)
            group = emulator.create_group(setup, [SMTP], keep_default_egress=False)
            bare, result = handle_counted(authorize_event(group.group_id, group.rule_ids[0]))
            assert len(result["RevokedSecurityGroupRules"]) == 1, result
            rows[0].note = (
                "emulator answers revokes as EC2 does; against bare moto (no "
                f"RevokedSecurityGroupRules in the answer): {describe(bare)}"
            )
    return rows


if __name__ == "__main__":
    module_main(measure)
