"""The Powertools service name every logger of the package shares.

Child loggers attach to the handler's logger by service name, so all must agree on it,
whether or not POWERTOOLS_SERVICE_NAME is set.
"""

import os

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or "egress-guard"
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "EgressGuard"
