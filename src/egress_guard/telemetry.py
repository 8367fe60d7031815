"""The package's logger and metrics: one Powertools service name, namespace and stream.

A module's logger is `Logger(service=SERVICE, child=True)` (Powertools names it after the
module that makes it); children attach to the package's logger by service name, so all
must agree on it,
whether or not POWERTOOLS_SERVICE_NAME is set (Powertools' own variables, like boto3's, are
read by the library; they are not egress-guard settings). Powertools is imported only when
a logger or the metrics are first asked for: the command line first sets the log level and
turns metrics off (their EMF lines would land on its stdout).
"""

from __future__ import annotations

import functools
import io
import os
import sys
from typing import IO, TYPE_CHECKING, cast

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or "egress-guard"
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "EgressGuard"


class CurrentStderr(io.TextIOBase):
    """Whatever sys.stderr is at the time of writing (the logger outlives a replaced one,
    as under the command line's or a test's redirection)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def current_stderr() -> IO[str]:
    """A stream for Logger: Lambda sends stderr to CloudWatch too, and the command line
    keeps stdout for its results."""
    return cast(IO[str], CurrentStderr())


@functools.cache
def package_logger() -> Logger:
    """The package's logger (the Lambda handler's; every child logger's parent), once per
    process, writing JSON lines to stderr."""
    from aws_lambda_powertools import Logger

    return Logger(service=SERVICE, stream=current_stderr())


@functools.cache
def package_metrics() -> Metrics:
    """The package's metrics (Powertools' instances share one metric set anyway)."""
    from aws_lambda_powertools import Metrics

    return Metrics(service=SERVICE, namespace=NAMESPACE)


def flush_metrics(metrics: Metrics | None = None) -> None:
    """What `@metrics.log_metrics` does after each invocation, less its plain-text
    "No application metrics to publish" warning on stderr after a no-op invocation (every
    log line must be one JSON object; Powertools has no setting to silence it)."""
    metrics = metrics or package_metrics()
    if metrics.metric_set:
        metrics.flush_metrics()
    # Flushing keeps the set when POWERTOOLS_METRICS_DISABLED is true; never carry it over.
    metrics.clear_metrics()


def publish_metrics(metrics: Metrics | None = None) -> None:
    """The metric set printed if it holds any (only when POWERTOOLS_METRICS_DISABLED is
    false), as the command line does after each run."""
    metrics = metrics or package_metrics()
    if metrics.metric_set:
        metrics.flush_metrics()
