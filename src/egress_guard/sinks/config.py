"""AWS Config told the compliance of every group judged: PutEvaluations with the result token.

Failure policy: a PutEvaluations that fails is recorded in the result's `Errors` (the
invocation then fails, so Lambda retries it); the remediation stands, and Config
re-evaluates on its next trigger. Only a Config-invoked run that writes reports.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger

from egress_guard.aws import AwsCallFailed, error_text, put_evaluations
from egress_guard.result import Result
from egress_guard.sinks.base import AwsClients, Delivery
from egress_guard.targets import ConfigInvocation, ConfigResource, Targets
from egress_guard.telemetry import SERVICE

logger = Logger(service=SERVICE, child=True)
SECURITY_GROUP = "AWS::EC2::SecurityGroup"


class ConfigSink:
    """The sink: `report_to_config` when the run writes."""

    def deliver(self, result: Result, run: Delivery) -> None:
        if run.writes:
            report_to_config(
                run.clients, run.targets, result, role_name=run.settings.member_role_name
            )


def config_evaluations(
    targets: Targets, invocation: ConfigInvocation, result: Result
) -> list[dict[str, Any]]:
    """The compliance of every group judged: NON_COMPLIANT while an offending rule remains."""
    stamp = _timestamp(invocation.ordering_timestamp)
    resource = invocation.resource or ConfigResource(None, None)
    resource_type = resource.type
    if invocation.left_scope or (resource_type and resource_type != SECURITY_GROUP):
        resource_id = resource.id
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


def report_to_config(
    clients: AwsClients, targets: Targets, result: Result, *, role_name: str | None = None
) -> None:
    """PutEvaluations with the invocation's result token, in the account and region whose
    rule invoked the function: a member account's (an organisation Config rule runs in
    each member and invokes the central function) through the member role `role_name`,
    the function's own with its own credentials. AWS answers a token with the credentials
    of the account where the rule runs; those of the account that owns the function do not
    do (README "Config and Security Hub across accounts")."""
    invocation = targets.config
    if invocation is None:
        return
    evaluations = config_evaluations(targets, invocation, result)
    if not evaluations:
        return
    try:
        config = clients.client_in("config", result.account, result.region, role_name)
        put_evaluations(config, invocation.result_token, evaluations)
        logger.info("compliance reported to Config", evaluations=len(evaluations))
    except AwsCallFailed as exc:
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
