"""`egress-guard replay --queue URL` end to end (issue 11, item 6): moto's SQS holds the
failure queue, Lambda's on-failure records in it hold real sample events, and the command
line runs as a user runs it (a subprocess, test_command_line's `egress_cli`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from support.cli import cli_lines, egress_cli
from support.egress import SMTP, egress_rules
from support.emulator import REGION, Group
from support.proxy import Forward, Proxy, Request, Response, ec2_error
from support.samples import authorize_egress

pytestmark = pytest.mark.integration

MakeGroup = Callable[..., Group]


def on_failure_record(event: dict[str, Any], error: str = "1 revocation(s) failed") -> str:
    """Lambda's on-failure destination record for an asynchronous invocation, as SQS holds it."""
    return json.dumps(
        {
            "version": "1.0",
            "timestamp": "2025-03-04T09:21:13.000Z",
            "requestContext": {
                "requestId": "7f1c2a9e-0000-4000-8000-000000000000",
                "functionArn": f"arn:aws:lambda:{REGION}:123456789012:function:egress-guard",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": 3,
            },
            "requestPayload": event,
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "responsePayload": {"errorMessage": error, "errorType": "RemediationFailed"},
        }
    )


@pytest.fixture
def sqs(aws_env: str) -> Any:
    return boto3.client("sqs", endpoint_url=aws_env, region_name=REGION)


@pytest.fixture
def queue(sqs: Any) -> str:
    url: str = sqs.create_queue(QueueName="egress-guard-failures")["QueueUrl"]
    return url


def queue_bodies(sqs: Any, url: str) -> list[str]:
    """Every visible message's body (hiding them from then on)."""
    bodies: list[str] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=300)
        if not got.get("Messages"):
            return bodies
        bodies += [m["Body"] for m in got["Messages"]]


def refuse_revokes_of(group_id: str) -> Callable[[Request, Forward], Response]:
    def hook(request: Request, forward: Forward) -> Response:
        if request.params.get("GroupId") == group_id:
            return ec2_error("UnauthorizedOperation", "not for you", 403)
        return forward(request)

    return hook


def test_a_record_that_now_succeeds_is_deleted_and_one_that_fails_stays(
    proxy: Proxy, ec2: Any, sqs: Any, queue: str, make_group: MakeGroup
) -> None:
    fixed = make_group(egress=[SMTP], keep_default_egress=False)
    broken = make_group(egress=[SMTP], keep_default_egress=False)
    proxy.on("RevokeSecurityGroupEgress", refuse_revokes_of(broken.group_id))
    stays = on_failure_record(authorize_egress(broken.group_id, *broken.rule_ids, event_id="b"))
    sqs.send_message(QueueUrl=queue, MessageBody=on_failure_record(
        authorize_egress(fixed.group_id, *fixed.rule_ids, event_id="a")))  # fmt: skip
    sqs.send_message(QueueUrl=queue, MessageBody=stays)

    done = egress_cli("replay", "--queue", queue)

    assert done.returncode == 1, done.stderr
    assert cli_lines(done.stderr) == ["egress-guard: replay: 1 message(s) stayed in the queue"]
    report = json.loads(done.stdout)
    assert (report["Received"], report["Deleted"], report["Stayed"]) == (2, 1, 1)
    outcomes = {m["EventId"]: m for m in report["Messages"]}
    assert (outcomes["a"]["Outcome"], outcomes["a"]["Deleted"]) == ("replayed", True)
    assert outcomes["a"]["Result"]["Findings"] == {"revoked": 1}
    assert (outcomes["b"]["Outcome"], outcomes["b"]["Deleted"]) == ("failed", False)
    assert outcomes["b"]["Error"] == "1 revocation(s) failed"
    assert egress_rules(ec2, fixed.group_id) == []  # revoked
    assert len(egress_rules(ec2, broken.group_id)) == 1
    # What stayed is visible again at once, for the next replay: only the failed record.
    assert queue_bodies(sqs, queue) == [stays]


def test_a_dry_run_revokes_nothing_and_deletes_nothing(
    aws_env: str, ec2: Any, sqs: Any, queue: str, make_group: MakeGroup
) -> None:
    group = make_group(egress=[SMTP], keep_default_egress=False)
    body = on_failure_record(authorize_egress(group.group_id, *group.rule_ids))
    sqs.send_message(QueueUrl=queue, MessageBody=body)

    done = egress_cli("replay", "--queue", queue, "--dry-run", "--output", "table")

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[1].split()[1:4] == [
        "would-replay",
        "no",
        "cloudtrail:AuthorizeSecurityGroupEgress",
    ]
    assert lines[2].endswith("(dry run: nothing deleted)")
    assert len(egress_rules(ec2, group.group_id)) == 1
    assert queue_bodies(sqs, queue) == [body]


def test_an_unreadable_message_stays_and_is_reported(aws_env: str, sqs: Any, queue: str) -> None:
    sqs.send_message(QueueUrl=queue, MessageBody="this is not an event")

    done = egress_cli("replay", "--queue", queue)

    assert done.returncode == 1
    (message,) = json.loads(done.stdout)["Messages"]
    assert message["Outcome"] == "unreadable"
    assert message["Error"].startswith("the body is not JSON")
    assert queue_bodies(sqs, queue) == ["this is not an event"]


def test_an_empty_queue_is_success(aws_env: str, queue: str) -> None:
    done = egress_cli("replay", "--queue", queue, "-o", "table")

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("0 message(s) received, 0 replayed and deleted, 0 stayed")


def test_a_queue_that_does_not_exist_is_a_set_up_problem(aws_env: str, queue: str) -> None:
    missing = queue.rsplit("/", 1)[0] + "/no-such-queue"

    done = egress_cli("replay", "--queue", missing)

    assert done.returncode == 2
    (line,) = cli_lines(done.stderr)
    assert line.startswith(f"egress-guard: cannot read the queue {missing}: ")
    assert done.stdout == ""


def test_invoke_accepts_an_on_failure_record(
    aws_env: str, ec2: Any, make_group: MakeGroup, tmp_path: Path
) -> None:
    group = make_group(egress=[SMTP], keep_default_egress=False)
    record = tmp_path / "record.json"
    record.write_text(on_failure_record(authorize_egress(group.group_id, *group.rule_ids)))

    done = egress_cli("invoke", str(record))

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert [r["SecurityGroupRuleId"] for r in result["RevokedSecurityGroupRules"]] == list(
        group.rule_ids
    )
    assert result["Notes"][-1].startswith("replayed from a Lambda on-failure record")
    assert egress_rules(ec2, group.group_id) == []
