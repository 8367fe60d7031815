"""The Lambda entry point, wired: egress_guard.handler.lambda_handler -> service.handle."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from egress_guard import telemetry
from egress_guard.aws import Clients
from egress_guard.service import handle
from egress_guard.settings import Settings, SettingsError

logger = telemetry.package_logger()
metrics = telemetry.package_metrics()
clients = Clients()  # once per container, reused by warm invocations


# Every log line carries the request id and whether the container was cold; the event id
# becomes the correlation id once the event is parsed (service.handle).
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        # One line naming the variable; raised bare, so the error is that line alone.
        logger.error("bad setting", error=str(exc))
        raise SettingsError(str(exc)) from None
    clients.set_own_account(_account_of(context))

    def time_left() -> float:
        return context.get_remaining_time_in_millis() / 1000

    clients.set_time_left(time_left)  # boto3's retries, too, end before Lambda's timeout
    try:
        return handle(event, clients, metrics, settings=settings, time_left=time_left)
    finally:
        telemetry.flush_metrics(metrics)


def _account_of(context: LambdaContext) -> str | None:
    arn = getattr(context, "invoked_function_arn", "") or ""
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 and parts[4] else None
