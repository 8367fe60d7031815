"""The variables egress-guard reads as its settings (docs/configuration.md's table).

tests/conftest.py clears them for every test, so that a test sees the documented defaults
unless it sets its own, whatever the caller's shell holds. (The AWS_ ones are cleared by
prefix there; Powertools' own are the library's.)
"""

from __future__ import annotations

SETTINGS_VARIABLES = (
    "DENYLIST",
    "DENYLIST_FILE",
    "DENYLIST_PARAMETER",
    "MODE",
    "EXEMPT_TAG",
    "MEMBER_ROLE_NAME",
    "NOTIFY_TOPIC_ARN",
    "MAX_REVOCATIONS",
    "MAX_REVOCATIONS_PERCENT",
    "SWEEP_CONCURRENCY",
    "REVOKE_RATE",
    "REVOKE_BURST",
)
