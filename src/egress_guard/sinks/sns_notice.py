"""The SNS notice: the result told to a topic, in numbered parts when too large for one.

The notice is a message a person reads (notice.py: a text per rule, then the result's
JSON); its subject names the rule and group when there is one, else the counts
(notice_subject.py). SNS refuses a message over 262,144 bytes: a larger result goes in
parts, each a result document of its own (split.py) that restore can read by itself.

Failure policy: a notice that cannot be published is logged and counted (metric
NotifyFailed); every other part is still published, nothing is recorded in the result,
and the remediation stands. Sent only when the run writes, a topic is configured, and
something was (or in report mode would be) revoked, failed or held.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit

from egress_guard.aws import AwsCallFailed, GroupInfo, error_text, publish
from egress_guard.judge import Judge
from egress_guard.notice import ACTED, NoticeContext, descriptions_of, notice_body
from egress_guard.result import Result
from egress_guard.sinks.base import AwsClients, Delivery, GroupNames, MetricCounter
from egress_guard.sinks.notice_subject import notice_subject, part_subject
from egress_guard.sinks.split import Dumps, split_result, utf8_size
from egress_guard.telemetry import SERVICE

logger = Logger(service=SERVICE, child=True)

# SNS refuses a message over 262,144 bytes, counting body, subject and attributes
# together; the rest of the margin is theirs (a subject is at most 100 characters).
NOTICE_BODY_BUDGET = 240 * 1024
# A notice's text is not quite additive over its parts' items (its headline counts them);
# parts are cut this much below the budget, and checked against it once made.
NOTICE_TEXT_SLACK = 4 * 1024


class SnsNoticeSink:
    """The sink: `notify` when the run writes and a topic is configured."""

    def deliver(self, result: Result, run: Delivery) -> None:
        if not (run.acted and run.writes and run.settings.notify_topic_arn):
            return
        notify(
            run.clients,
            run.settings.notify_topic_arn,
            result,
            run.metrics,
            ec2=run.ec2,
            judge=run.judge,
            exempt_tag=run.settings.exempt_tag,
        )


@dataclass(frozen=True, slots=True)
class Notice:
    """One SNS message: a whole result, or part `part` of `parts`."""

    subject: str
    body: str
    attributes: dict[str, str]
    part: int | None = None
    parts: int | None = None


def notify(
    clients: AwsClients,
    topic_arn: str,
    result: Result,
    metrics: MetricCounter,
    *,
    ec2: GroupNames | None = None,
    judge: Judge | None = None,
    exempt_tag: str | None = None,
) -> None:
    """One SNS message when something was (or in a dry run would be) revoked; numbered
    parts when the result is too large for one. Each part is published even when another
    fails; each failure is logged and counted (NotifyFailed), and nothing is undone.

    `ec2` names the groups (names already read cost nothing), `judge` the deny entries'
    descriptions; without them the notice shows ids only."""
    acted = sum(1 for finding in result.findings if finding.action in ACTED)
    if not acted:
        return
    context = notice_context(result, ec2, judge, exempt_tag)
    sns = clients.client("sns", _topic_region(topic_arn))
    failed = sum(1 for notice in notices(result, context) if not _publish(sns, topic_arn, notice))
    if failed:
        metrics.add_metric("NotifyFailed", MetricUnit.Count, failed)


def notice_context(
    result: Result, ec2: GroupNames | None, judge: Judge | None, exempt_tag: str | None
) -> NoticeContext:
    """What the notice names beyond the result; a name that cannot be read is left out."""
    groups: Mapping[str, GroupInfo] = {}
    if ec2 is not None and result.findings:
        wanted = sorted({f.rule.group_id for f in result.findings})
        try:
            groups = ec2.group_info(wanted)
        except AwsCallFailed as exc:
            logger.warning("group names not read for the notice", error=error_text(exc))
    descriptions = descriptions_of(judge.denylist.document) if judge is not None else {}
    if exempt_tag is None:
        return NoticeContext(groups, descriptions)
    return NoticeContext(groups, descriptions, exempt_tag)


def notices(result: Result, context: NoticeContext | None = None) -> list[Notice]:
    """The result as it goes to SNS: one notice when it fits, else its parts."""
    context = context or NoticeContext()
    document = result.to_dict()
    common = {"account": result.account or "", "region": result.region or ""}
    common["mode"] = result.mode
    subject = notice_subject(result, context)

    def body(part: Mapping[str, Any]) -> str:
        return notice_body(part, context)

    parts = split_notice(document, body)
    if len(parts) == 1:
        groups = sorted({f.rule.group_id for f in result.findings})
        attributes = {**common, "group": _group_attribute(groups)}
        return [Notice(subject, body(document), attributes)]
    return [
        Notice(
            part_subject(subject, part["Part"], part["Parts"]),
            body(part),
            {
                **common,
                "group": _group_attribute(_groups_named(part)),
                "part": str(part["Part"]),
                "parts": str(part["Parts"]),
            },
            part["Part"],
            part["Parts"],
        )
        for part in parts
    ]


def split_notice(document: Mapping[str, Any], body: Dumps) -> list[dict[str, Any]]:
    """`split_result` for notices, whose text counts too: every part's body is checked
    against the budget, and the split made again with less room should one be over."""
    if utf8_size(body(document)) <= NOTICE_BODY_BUDGET:
        return [dict(document)]
    budget = NOTICE_BODY_BUDGET - NOTICE_TEXT_SLACK
    while True:
        parts = split_result(document, budget, body)
        over = max(utf8_size(body(part)) for part in parts) - NOTICE_BODY_BUDGET
        if over <= 0 or budget <= NOTICE_TEXT_SLACK:
            return parts
        budget -= max(over, NOTICE_TEXT_SLACK)


def _publish(sns: Any, topic_arn: str, notice: Notice) -> bool:
    """Publishes one notice; False (logged) when SNS would not take it."""
    numbering = {"part": notice.part, "parts": notice.parts} if notice.part else {}
    try:
        message_id = publish(
            sns, topic_arn, subject=notice.subject, body=notice.body, attributes=notice.attributes
        )
    except AwsCallFailed as exc:
        logger.error(
            "notice not published",
            extra={"topic_arn": topic_arn, "error": error_text(exc), **numbering},
        )
        return False
    logger.info(
        "notice published",
        extra={"topic_arn": topic_arn, "message_id": message_id, **numbering},
    )
    return True


def _groups_named(part: Mapping[str, Any]) -> list[str]:
    groups = {
        str(item["GroupId"])
        for key in ("Findings", "RevokedSecurityGroupRules", "PermissionChecks")
        for item in part.get(key) or []
        if isinstance(item, Mapping) and item.get("GroupId")
    }
    return sorted(groups)


def _group_attribute(groups: Sequence[str]) -> str:
    return ",".join(groups)[:256]


def _topic_region(topic_arn: str) -> str | None:
    parts = topic_arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else None
