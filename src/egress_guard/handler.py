"""The Lambda entry point: egress_guard.handler.lambda_handler."""

from __future__ import annotations

import sys
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from egress_guard.aws import Clients
from egress_guard.log import NAMESPACE, SERVICE
from egress_guard.service import handle

# Lambda sends stderr to CloudWatch too; stdout stays free for the CLI's results.
logger = Logger(service=SERVICE, stream=sys.stderr)
metrics = Metrics(service=SERVICE, namespace=NAMESPACE)
clients = Clients()  # once per container, reused by warm invocations


@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    clients.set_own_account(_account_of(context))

    def time_left() -> float:
        return context.get_remaining_time_in_millis() / 1000

    clients.set_time_left(time_left)  # boto3's retries, too, end before Lambda's timeout
    return handle(event, clients, metrics, time_left=time_left)


def _account_of(context: LambdaContext) -> str | None:
    arn = getattr(context, "invoked_function_arn", "") or ""
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 and parts[4] else None
