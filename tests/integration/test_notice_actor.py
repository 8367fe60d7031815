"""Who opened it, and the notice a person reads, against the emulator (README "Notices").

A CloudTrail event's actor is in the result, on each decision's log line and in the SNS
notice (read back through an SQS queue subscribed to the topic); a schedule or manual
event has none. The notice's commands are run as a reader would: the AWS CLI line under a
rule, and `egress-guard restore` on the notice saved as it came; the rule comes back.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest
from support.cli import egress_cli
from support.egress import SMTP, egress_rules, use_denylist, without_id
from support.emulator import ACCOUNT_ID, REGION, run_aws_cli
from support.logs import FunctionLog
from support.proxy import Proxy
from support.samples import authorize_egress, pointed
from support.sns import notified

from egress_guard import handler
from egress_guard.notice import RESULT_MARKER, result_in_notice

pytestmark = pytest.mark.integration

DESCRIPTION = "Mail leaves through the relay, never straight out"
DENY_SMTP = {
    "version": 1,
    "deny": [
        {
            "id": "smtp-out",
            "description": DESCRIPTION,
            "protocol": "tcp",
            "ports": "25",
            "cidr": ["0.0.0.0/0", "::/0"],
        }
    ],
}
# The sample event's caller (events/cloudtrail-authorize-egress.json).
ALICE = {
    "Arn": "arn:aws:sts::123456789012:assumed-role/Developer/alice",
    "Type": "AssumedRole",
    "SessionIssuer": "arn:aws:iam::123456789012:role/Developer",
    "SourceIPAddress": "198.51.100.23",
}
ALICE_SAYS = (
    "arn:aws:sts::123456789012:assumed-role/Developer/alice"
    " (role arn:aws:iam::123456789012:role/Developer) from 198.51.100.23, aws-cli/2.22.4 "
)


@pytest.fixture(autouse=True)
def _denylist(monkeypatch: pytest.MonkeyPatch, fresh_container: None) -> None:
    use_denylist(monkeypatch, DENY_SMTP)


@pytest.fixture
def queue(aws_env: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, str]:
    """An SQS queue subscribed to the notice topic (NOTIFY_TOPIC_ARN set to it)."""
    return notified(aws_env, monkeypatch)


def the_notice(queue: tuple[Any, str]) -> dict[str, Any]:
    """The one notice on the queue (its SNS envelope, parsed)."""
    sqs, url = queue
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert len(messages) == 1
    notice: dict[str, Any] = json.loads(messages[0]["Body"])
    return notice


def test_the_actor_of_a_cloudtrail_event_is_in_the_result_the_log_and_the_notice(
    make_group: Any,
    proxy: Proxy,
    queue: tuple[Any, str],
    lambda_context: Any,
    function_log: FunctionLog,
) -> None:
    group = make_group([SMTP], keep_default_egress=False, name="web")

    result = handler.lambda_handler(
        authorize_egress(group.group_id, *group.rule_ids), lambda_context
    )

    assert result["Actor"].items() >= ALICE.items()
    assert [f["Actor"] for f in result["Findings"]] == [result["Actor"]]
    [revoked] = function_log.messages("revoked")
    assert revoked["actor"] == result["Actor"]
    [logged] = function_log.messages("result")
    assert logged["result"]["Actor"] == result["Actor"]
    notice = the_notice(queue)
    assert notice["Subject"] == (
        f"egress-guard revoked tcp/25 -> 0.0.0.0/0 on {group.group_id} (web)"
        f" in {ACCOUNT_ID}/{REGION}"
    )
    text, _ = notice["Message"].split(RESULT_MARKER)
    assert f"- Group:      {group.group_id} (web) in {group.vpc_id}\n" in text
    assert f'  Rule:       {group.rule_ids[0]}: tcp/25 -> 0.0.0.0/0 ("mail relay")\n' in text
    assert f"  Denylist:   smtp-out: {DESCRIPTION}\n" in text
    assert f"  Changed by: {ALICE_SAYS}" in text
    assert "  Action:     revoked\n" in text
    assert result_in_notice(notice["Message"]) == result
    attributes = {k: v["Value"] for k, v in notice["MessageAttributes"].items()}
    assert attributes == {
        "account": ACCOUNT_ID,
        "region": REGION,
        "group": group.group_id,
        "mode": "enforce",
    }
    # The name came from the exemption check's read: the notice read no group itself.
    assert [c.action for c in proxy.calls].count("DescribeSecurityGroups") == 1


@pytest.mark.parametrize("name", ["scheduled-event.json", "manual-revoke.json"])
def test_a_schedule_or_manual_event_has_no_actor_anywhere(
    name: str,
    make_group: Any,
    queue: tuple[Any, str],
    lambda_context: Any,
    function_log: FunctionLog,
) -> None:
    group = make_group([SMTP], keep_default_egress=False)

    result = handler.lambda_handler(pointed(name, group.group_id, group.rule_ids), lambda_context)

    assert group.rule_ids[0] in {f["SecurityGroupRuleId"] for f in result["Findings"]}
    assert {f["Action"] for f in result["Findings"]} == {"revoked"}
    assert "Actor" not in result
    assert not [f for f in result["Findings"] if "Actor" in f]
    assert function_log.records()
    assert not [line for line in function_log.records() if "actor" in line]
    notice = the_notice(queue)
    assert "Changed by" not in notice["Message"]
    assert result_in_notice(notice["Message"]) == result


def test_the_aws_cli_command_in_the_notice_puts_the_rule_back(
    make_group: Any, ec2: Any, aws_env: str, queue: tuple[Any, str], lambda_context: Any
) -> None:
    group = make_group([{**SMTP, "Tags": {"team": "mail", "ticket": "OPS-1"}}])
    before = sorted(map(without_id, egress_rules(ec2, group.group_id)), key=repr)
    handler.lambda_handler(authorize_egress(group.group_id, *group.rule_ids), lambda_context)
    assert [r["SecurityGroupRuleId"] for r in egress_rules(ec2, group.group_id)] == [
        group.default_rule_id
    ]

    message = the_notice(queue)["Message"]
    [command] = [
        line.strip() for line in message.splitlines() if line.strip().startswith("aws ec2 ")
    ]
    words = shlex.split(command)
    assert words[:3] == ["aws", "ec2", "authorize-security-group-egress"]
    run_aws_cli(*words[1:], endpoint_url=aws_env)

    after = sorted(map(without_id, egress_rules(ec2, group.group_id)), key=repr)
    assert after == before


def test_egress_guard_restore_reads_the_notice_saved_as_it_came(
    make_group: Any, ec2: Any, queue: tuple[Any, str], lambda_context: Any, tmp_path: Path
) -> None:
    group = make_group([{**SMTP, "Tags": {"team": "mail"}}], keep_default_egress=False)
    before = [without_id(r) for r in egress_rules(ec2, group.group_id)]
    handler.lambda_handler(authorize_egress(group.group_id, *group.rule_ids), lambda_context)
    assert egress_rules(ec2, group.group_id) == []
    message = the_notice(queue)["Message"]
    assert f"  egress-guard restore notice.txt --region {REGION}\n" in message
    saved = tmp_path / "notice.txt"
    # As an e-mail subscription delivers it: the message, then SNS's footer.
    saved.write_text(message + "\n--\nIf you wish to stop receiving notifications ...\n")

    done = egress_cli("restore", str(saved), "--region", REGION)

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["Restored"] == 1
    assert [without_id(r) for r in egress_rules(ec2, group.group_id)] == before
