"""The Lambda entry point: egress_guard.handler.lambda_handler."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from egress_guard.aws import Clients
from egress_guard.log import NAMESPACE, SERVICE, current_stderr
from egress_guard.service import handle

logger = Logger(service=SERVICE, stream=current_stderr())
metrics = Metrics(service=SERVICE, namespace=NAMESPACE)
clients = Clients()  # once per container, reused by warm invocations


# Every log line carries the request id and whether the container was cold; the event id
# becomes the correlation id once the event is parsed (service.handle).
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    clients.set_own_account(_account_of(context))

    def time_left() -> float:
        return context.get_remaining_time_in_millis() / 1000

    clients.set_time_left(time_left)  # boto3's retries, too, end before Lambda's timeout
    try:
        return handle(event, clients, metrics, time_left=time_left)
    finally:
        flush_metrics()


def flush_metrics() -> None:
    """What `@metrics.log_metrics` does after each invocation, less its plain-text
    "No application metrics to publish" warning on stderr after a no-op invocation (every
    log line must be one JSON object; Powertools has no setting to silence it)."""
    if metrics.metric_set:
        metrics.flush_metrics()
    # Flushing keeps the set when POWERTOOLS_METRICS_DISABLED is true; never carry it over.
    metrics.clear_metrics()


def _account_of(context: LambdaContext) -> str | None:
    arn = getattr(context, "invoked_function_arn", "") or ""
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 and parts[4] else None
