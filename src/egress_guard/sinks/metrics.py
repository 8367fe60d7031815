"""The result's counts as CloudWatch metrics (Powertools Metrics, flushed by the entry).

Failure policy: none can happen here; the counts are kept in memory and written (as the
Embedded Metric Format) when the entry flushes them. Counted for every run that acted,
dry runs included (RulesWouldRevoke); a run that needed no action counts nothing.
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from egress_guard.result import Result
from egress_guard.sinks.base import Delivery, MetricCounter


class MetricsSink:
    """The sink: `record_metrics` for every run that acted."""

    def deliver(self, result: Result, run: Delivery) -> None:
        if run.acted:
            record_metrics(run.metrics, result)


def record_metrics(metrics: MetricCounter, result: Result) -> None:
    metrics.add_metric("RulesJudged", MetricUnit.Count, result.rules_judged)
    metrics.add_metric("RulesOffending", MetricUnit.Count, len(result.findings))
    metrics.add_metric("RulesRevoked", MetricUnit.Count, result.count("revoked"))
    metrics.add_metric("RulesWouldRevoke", MetricUnit.Count, result.count("would-revoke"))
    metrics.add_metric("RulesExempt", MetricUnit.Count, result.count("exempt"))
    metrics.add_metric("RevocationsFailed", MetricUnit.Count, result.count("failed"))
    # Over the blast-radius limit: nothing was revoked; alarm on it (docs/configuration.md).
    metrics.add_metric("RevocationsHeld", MetricUnit.Count, result.count("held"))
