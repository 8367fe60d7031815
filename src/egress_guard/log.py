"""What every logger of the package shares: the Powertools service name and the stream.

Child loggers attach to the handler's logger by service name, so all must agree on it,
whether or not POWERTOOLS_SERVICE_NAME is set.
"""

import io
import os
import sys
from typing import IO, cast

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
