"""The shell's error family: the exceptions of AWS calls and their translations.

What an error means for the caller (gone already, refused, out of time, a set-up problem,
may have taken effect) and the one line that names it; no AWS calls here.
"""

from __future__ import annotations

import logging

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConfigParseError,
    CredentialRetrievalError,
    EndpointConnectionError,
    InvalidConfigError,
    InvalidRegionError,
    NoAuthTokenError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ProxyConnectionError,
    SSLError,
    TokenRetrievalError,
    UnknownEndpointError,
    UnknownRegionError,
)
from botocore.parsers import ResponseParserError

# Rule-id and group not-found codes: moto answers InvalidPermission.NotFound where AWS
# answers InvalidSecurityGroupRuleId.NotFound; both mean "already gone".
NOT_FOUND = frozenset(
    {"InvalidSecurityGroupRuleId.NotFound", "InvalidPermission.NotFound", "InvalidGroup.NotFound"}
)

AwsErrors = (ClientError, BotoCoreError)
# Every error an AWS call may raise: AwsErrors, and an answer that is not AWS's at all (an
# HTML page from a proxy, a truncated body), which botocore raises outside BotoCoreError.
# The one family code outside this package catches: no botocore import there.
CallErrors = (ClientError, BotoCoreError, ResponseParserError)

# No attempt (first or retry) is sent that could end, at its connect and read timeouts
# and the longest backoff boto3 may sleep after it, within this many seconds of the
# invocation's end (Clients.set_time_left).
DEADLINE_MARGIN = 2.0


class OutOfTime(BotoCoreError):
    """An attempt not sent: it could outlast the invocation (Lambda's timeout - margin)."""

    fmt = "not sent: {left:.1f} s left in the invocation, an attempt may take {needed:.1f} s"


class NotFound(Exception):
    """EC2 says the group or one of the rules no longer exists.

    `retried`: the answer came to a retry (boto3's), so an earlier attempt whose answer
    was lost may have done the work itself (see `may_have_applied`).
    """

    def __init__(self, message: str, *, retried: bool = False) -> None:
        super().__init__(message)
        self.retried = retried


class Duplicate(Exception):
    """EC2 refuses to create a rule that the group already has (InvalidPermission.Duplicate)."""


DUPLICATE = "InvalidPermission.Duplicate"


class DryRunResult(Exception):
    """EC2's answer to a DryRun request: `permitted` tells whether it would have succeeded."""

    def __init__(self, permitted: bool, message: str) -> None:
        super().__init__(message)
        self.permitted = permitted


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "Unknown"))


def may_have_applied(exc: Exception) -> bool:
    """Whether a write that raised `exc` may have taken effect all the same: its answer
    came to a retry (an earlier attempt's answer was lost: a timeout, a reset, a 5xx),
    or no answer came at all."""
    if isinstance(exc, ClientError):
        return int(exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0) or 0) > 0
    if isinstance(exc, OutOfTime) and exc.kwargs.get("unsent"):
        return False  # refused before any attempt was sent (waiting for a pacing token)
    return isinstance(exc, BotoCoreError)


def error_text(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        message = exc.response.get("Error", {}).get("Message", "")
        return f"{error_code(exc)}: {message}".rstrip(": ")
    return f"{type(exc).__name__}: {exc}"


def answer_text(exc: Exception) -> str:
    """`error_text`, except for an answer that is not AWS's: its own words (the parser
    names what it could not read)."""
    return str(exc) if isinstance(exc, ResponseParserError) else error_text(exc)


def quiet_credential_warnings() -> None:
    """botocore's own warning (with a traceback) when a member role cannot be assumed
    silenced: the command line reports such a place in one line of its own."""
    logging.getLogger("botocore.credentials").setLevel(logging.ERROR)


# --- a place that could not be worked in (the command line's org scan) ------------------------

# Codes with which EC2 refuses a call because the region is not enabled for the account.
REGION_DISABLED_CODES = frozenset({"AuthFailure", "OptInRequired", "UnrecognizedClientException"})
REFUSED_CODES = frozenset(
    {"UnauthorizedOperation", "AccessDenied", "AccessDeniedException", "InvalidAction"}
)


def place_problem(exc: BaseException) -> str:
    """One line saying why a place (an account and region) could not be worked in: the
    member role refused or missing, the region not enabled, credentials or endpoint."""
    if isinstance(exc, ClientError):
        code = error_code(exc)
        if exc.operation_name == "AssumeRole":
            return f"cannot assume the member role: {error_text(exc)}"
        if code in REGION_DISABLED_CODES:
            return f"the region is not enabled for the account, or refused it: {error_text(exc)}"
        if code in REFUSED_CODES:
            return f"access denied: {error_text(exc)}"
        return f"AWS error: {error_text(exc)}"
    if isinstance(exc, Exception):
        return setup_problem(exc) or error_text(exc)
    return str(exc)


# --- set-up problems ---------------------------------------------------------------------------

# Errors that say the caller's set-up is wrong (credentials, profile, region, endpoint) or
# that what answered is not AWS, rather than that one call failed: the command line exits 2
# on them with one line naming the cause, before any result could claim the estate clean.
_SETUP_ERRORS: tuple[tuple[tuple[type[Exception], ...], str], ...] = (
    (
        (
            NoCredentialsError,
            PartialCredentialsError,
            CredentialRetrievalError,
            NoAuthTokenError,
            TokenRetrievalError,
        ),
        "no usable AWS credentials",
    ),
    ((ProfileNotFound, ConfigParseError, InvalidConfigError), "AWS configuration"),
    ((NoRegionError, InvalidRegionError, UnknownRegionError), "AWS region"),
    (
        (EndpointConnectionError, UnknownEndpointError, SSLError, ProxyConnectionError),
        "cannot reach the AWS endpoint",
    ),
    ((ResponseParserError,), "malformed answer from the AWS endpoint"),
)
# Codes with which AWS refuses the credentials themselves (EC2 says AuthFailure).
CREDENTIAL_ERROR_CODES = frozenset(
    {
        "AuthFailure",
        "ExpiredToken",
        "ExpiredTokenException",
        "IncompleteSignature",
        "InvalidAccessKeyId",
        "InvalidClientTokenId",
        "MissingAuthenticationToken",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
    }
)


def setup_problem(exc: BaseException) -> str | None:
    """One line naming the set-up problem behind `exc`, or None if it is not one."""
    if isinstance(exc, ClientError):
        if error_code(exc) in CREDENTIAL_ERROR_CODES:
            return f"AWS refused the credentials: {error_text(exc)}"
        return None
    for kinds, cause in _SETUP_ERRORS:
        if isinstance(exc, kinds):
            # A parser error quotes the whole answer (an HTML page): its first line will do.
            detail = " ".join(str(exc).split("\n", 1)[0].split())
            return f"{cause}: {detail[:300]}"
    return None
