"""Moved to egress_guard.telemetry; kept for the modules that still import it from here."""

from egress_guard.telemetry import NAMESPACE, SERVICE, CurrentStderr, current_stderr

__all__ = ["NAMESPACE", "SERVICE", "CurrentStderr", "current_stderr"]
