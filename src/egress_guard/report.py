"""Telling the world: the result log line, metrics, the SNS notice and Config evaluations.

None of these may lose or undo a remediation: a notice that cannot be published is
logged and counted, and the result still stands.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from egress_guard.aws import AwsErrors, Clients, error_text, publish, put_evaluations
from egress_guard.log import SERVICE
from egress_guard.result import Result
from egress_guard.targets import ConfigInvocation, Targets

logger = Logger(service=SERVICE, child=True)
SECURITY_GROUP = "AWS::EC2::SecurityGroup"


def record_metrics(metrics: Metrics, result: Result) -> None:
    metrics.add_metric("RulesJudged", MetricUnit.Count, result.rules_judged)
    metrics.add_metric("RulesOffending", MetricUnit.Count, len(result.findings))
    metrics.add_metric("RulesRevoked", MetricUnit.Count, result.count("revoked"))
    metrics.add_metric("RulesWouldRevoke", MetricUnit.Count, result.count("would-revoke"))
    metrics.add_metric("RulesExempt", MetricUnit.Count, result.count("exempt"))
    metrics.add_metric("RevocationsFailed", MetricUnit.Count, result.count("failed"))


def notify(clients: Clients, topic_arn: str, result: Result, metrics: Metrics) -> None:
    """One SNS message when something was (or in a dry run would be) revoked."""
    acted = result.count("revoked") + result.count("would-revoke") + result.count("failed")
    if not acted:
        return
    groups = sorted({f.rule.group_id for f in result.findings})
    try:
        message_id = publish(
            clients.client("sns", _topic_region(topic_arn)),
            topic_arn,
            subject=notice_subject(result),
            body=json.dumps(result.to_dict(), indent=2, default=str),
            attributes={
                "account": result.account or "",
                "region": result.region or "",
                "group": ",".join(groups)[:256],
                "mode": result.mode,
            },
        )
        logger.info("notice published", topic_arn=topic_arn, message_id=message_id)
    except AwsErrors as exc:
        metrics.add_metric("NotifyFailed", MetricUnit.Count, 1)
        logger.error("notice not published", topic_arn=topic_arn, error=error_text(exc))


def notice_subject(result: Result) -> str:
    where = f"{result.account or 'this account'}/{result.region or '?'}"
    revoked, would = result.count("revoked"), result.count("would-revoke")
    failed = result.count("failed")
    parts = []
    if revoked:
        parts.append(f"revoked {revoked} egress rule{'s' * (revoked != 1)}")
    if would:
        parts.append(f"would revoke {would} egress rule{'s' * (would != 1)}")
    if failed:
        parts.append(f"FAILED on {failed}")
    return f"egress-guard {', '.join(parts)} in {where}"


def config_evaluations(
    targets: Targets, invocation: ConfigInvocation, result: Result
) -> list[dict[str, Any]]:
    """The compliance of every group judged: NON_COMPLIANT while an offending rule remains."""
    stamp = _timestamp(invocation.ordering_timestamp)
    resource_type = targets.extra.get("resource_type")
    if invocation.left_scope or (resource_type and resource_type != SECURITY_GROUP):
        resource_id = targets.extra.get("resource_id")
        if not resource_id:
            return []
        return [
            _evaluation(
                resource_type or SECURITY_GROUP,
                str(resource_id),
                "NOT_APPLICABLE",
                "out of scope",
                stamp,
            )
        ]
    out = []
    for group_id in sorted(result.groups_judged):
        if group_id in result.noncompliant_groups:
            entries = sorted({f.entry_id for f in result.findings if f.rule.group_id == group_id})
            annotation = "offending egress rules remain: " + ", ".join(entries)
            out.append(_evaluation(SECURITY_GROUP, group_id, "NON_COMPLIANT", annotation, stamp))
        else:
            out.append(
                _evaluation(
                    SECURITY_GROUP, group_id, "COMPLIANT", "no offending egress rule", stamp
                )
            )
    return out


def report_to_config(clients: Clients, targets: Targets, result: Result) -> None:
    invocation = targets.config
    if invocation is None:
        return
    evaluations = config_evaluations(targets, invocation, result)
    if not evaluations:
        return
    try:
        put_evaluations(
            clients.client("config", result.region), invocation.result_token, evaluations
        )
        logger.info("compliance reported to Config", evaluations=len(evaluations))
    except AwsErrors as exc:
        # The remediation stands; Config re-evaluates on its next trigger.
        result.errors.append(f"PutEvaluations failed: {error_text(exc)}")


def _evaluation(
    resource_type: str, resource_id: str, compliance: str, annotation: str, stamp: datetime
) -> dict[str, Any]:
    return {
        "ComplianceResourceType": resource_type,
        "ComplianceResourceId": resource_id,
        "ComplianceType": compliance,
        "Annotation": annotation[:256],
        "OrderingTimestamp": stamp,
    }


def _timestamp(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(UTC)


def _topic_region(topic_arn: str) -> str | None:
    parts = topic_arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else None
