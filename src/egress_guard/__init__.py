"""egress-guard: revoke the outbound security-group rules that a denylist forbids."""

__version__ = "0.1.0"
