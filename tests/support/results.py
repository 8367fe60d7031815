"""Results built for a test: the findings given, the revoked ones listed as revoked too."""

from __future__ import annotations

from typing import Any

from egress_guard.result import Finding, Result

ACCOUNT = "123456789012"
REGION = "us-east-1"


def result_of(*findings: Finding, **fields: Any) -> Result:
    """An enforcing, scheduled run in ACCOUNT/REGION (`fields` override any of that) that
    judged one rule per finding and revoked the rules of its "revoked" findings."""
    values: dict[str, Any] = {
        "source": "schedule",
        "event_id": "evt-1",
        "account": ACCOUNT,
        "region": REGION,
        "mode": "enforce",
        "dry_run": False,
        "findings": list(findings),
        "revoked": [f.rule.to_revoked() for f in findings if f.action == "revoked"],
        "rules_judged": len(findings),
    }
    return Result(**(values | fields))
