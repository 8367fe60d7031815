"""SQS queue URLs for `egress-guard replay --queue`: check one, and find its region.

A queue is read in the region its URL names, whatever the command's working region.
"""

from __future__ import annotations

import re

# https://sqs.<region>.amazonaws.com[.cn]/<account>/<name>, and the legacy
# https://<region>.queue.amazonaws.com/<account>/<name>.
_QUEUE_HOST = re.compile(
    r"^https?://(?:sqs\.(?P<a>[a-z0-9-]+)|(?P<b>[a-z0-9-]+)\.queue)\.amazonaws\.com(?:\.cn)?/",
    re.IGNORECASE,
)
_QUEUE_URL = re.compile(r"^https?://[^/\s]+/[0-9]{12}/[A-Za-z0-9_-]{1,80}(?:\.fifo)?/?$")


def check_queue_url(url: str) -> str:
    """The URL if it looks like an SQS queue URL (scheme://host/account/name); else ValueError."""
    if not _QUEUE_URL.match(url.strip()):
        raise ValueError(
            f"--queue {url!r}: expected a queue URL, e.g. "
            "https://sqs.eu-west-1.amazonaws.com/123456789012/egress-guard-FailureQueue-abc "
            "(the stack's FailureQueueUrl output)"
        )
    return url.strip()


def queue_region(url: str) -> str | None:
    """The region an AWS queue URL names; None for other endpoints (an emulator)."""
    found = _QUEUE_HOST.match(url)
    if found is None:
        return None
    return (found.group("a") or found.group("b")).lower()
