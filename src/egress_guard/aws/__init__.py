"""The one thin layer that talks to AWS: EC2, SSM, STS, Config, SNS, SQS and Organizations.

Everything here is a direct call whose errors are the shell's own (errors.py: `AwsError` and
its kinds; no botocore exception leaves this package); decisions live elsewhere. One job per module:

- errors: the error family and its translations (not found, refused, out of time, set-up);
- clients: the container's clients (sessions, member-role credentials, deadline, pacing);
- ec2: every EC2 call, for one account and region (Ec2);
- org: the organisation's accounts and the account's regions (the command line's org scan);
- calls: the other services' calls (Config evaluations, SNS notices, the SQS failure queue).

Every name is re-exported here, so `from egress_guard.aws import X` keeps working.
"""

from egress_guard.aws.calls import (
    FailureQueue,
    QueueCalls,
    QueueMessage,
    batch_update_findings,
    publish,
    put_evaluations,
)
from egress_guard.aws.client_config import (
    CLIENT_CONFIG,
    CONNECT_TIMEOUT,
    MAX_ATTEMPTS,
    MAX_BACKOFF,
    READ_TIMEOUT,
    client_config,
    configured_region,
    partition,
)
from egress_guard.aws.clients import ROLE_SESSION_NAME, ROLE_SESSION_SECONDS, Clients
from egress_guard.aws.ec2 import (
    ASSOCIATIONS_PAGE_SIZE,
    ASSOCIATIONS_UNAVAILABLE,
    PAGE_SIZE,
    DryRunAnswer,
    Ec2,
    Ec2Calls,
)
from egress_guard.aws.errors import (
    CREDENTIAL_ERROR_CODES,
    DEADLINE_MARGIN,
    DUPLICATE,
    NOT_FOUND,
    REFUSED_CODES,
    REGION_DISABLED_CODES,
    THROTTLING_CODES,
    AwsCallFailed,
    AwsError,
    Duplicate,
    MalformedAnswer,
    NotFound,
    OutOfTime,
    SetupProblem,
    Throttled,
    answer_text,
    aws_call,
    error_code,
    error_text,
    may_have_applied,
    place_problem,
    quiet_credential_warnings,
    setup_problem,
    translate,
    translated,
)
from egress_guard.aws.org import (
    ACTIVE,
    ENABLED_REGIONS,
    organization_accounts,
    region_states,
    unit_accounts,
)
from egress_guard.rules import GroupInfo  # what group_info answers: a core value

__all__ = [
    "ACTIVE",
    "ASSOCIATIONS_PAGE_SIZE",
    "ASSOCIATIONS_UNAVAILABLE",
    "CLIENT_CONFIG",
    "CONNECT_TIMEOUT",
    "CREDENTIAL_ERROR_CODES",
    "DEADLINE_MARGIN",
    "DUPLICATE",
    "ENABLED_REGIONS",
    "MAX_ATTEMPTS",
    "MAX_BACKOFF",
    "NOT_FOUND",
    "PAGE_SIZE",
    "READ_TIMEOUT",
    "REFUSED_CODES",
    "REGION_DISABLED_CODES",
    "ROLE_SESSION_NAME",
    "ROLE_SESSION_SECONDS",
    "THROTTLING_CODES",
    "AwsCallFailed",
    "AwsError",
    "Clients",
    "DryRunAnswer",
    "Duplicate",
    "Ec2",
    "Ec2Calls",
    "FailureQueue",
    "GroupInfo",
    "MalformedAnswer",
    "NotFound",
    "OutOfTime",
    "QueueCalls",
    "QueueMessage",
    "SetupProblem",
    "Throttled",
    "answer_text",
    "aws_call",
    "batch_update_findings",
    "client_config",
    "configured_region",
    "error_code",
    "error_text",
    "may_have_applied",
    "organization_accounts",
    "partition",
    "place_problem",
    "publish",
    "put_evaluations",
    "quiet_credential_warnings",
    "region_states",
    "setup_problem",
    "translate",
    "translated",
    "unit_accounts",
]
