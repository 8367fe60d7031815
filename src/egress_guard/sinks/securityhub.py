"""Security Hub told what became of its findings: the sink around securityhub_update.

Failure policy (securityhub_update): an update that fails is logged, counted (metric
SecurityHubUpdateFailed) and noted in the result's `Notes`; it never fails the invocation.
A run that does not write (a dry run asked for by hand) updates nothing; a run that needed
no action still tells its findings why.
"""

from __future__ import annotations

from egress_guard.result import Result
from egress_guard.sinks.base import Delivery


class SecurityHubSink:
    """The sink: BatchUpdateFindings for the findings of a Security Hub event."""

    def deliver(self, result: Result, run: Delivery) -> None:
        if run.targets.securityhub is None or not run.writes:
            return
        # Imported here: only Security Hub events pay for it.
        from egress_guard.securityhub_update import update_findings

        update_findings(
            run.clients,
            run.targets.securityhub,
            result,
            run.metrics,
            role_name=run.settings.member_role_name,
        )
