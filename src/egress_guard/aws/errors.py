"""The shell's error family: the exceptions of AWS calls and their one translation.

Every public call of the AWS layer raises only these (never botocore's): `AwsError` and its
kinds, each keeping what the logic needs (the operation, EC2's error code, the one line
that names the error, whether the call may have taken effect, the set-up problem behind
it). `aws_call` (a decorator) and `translated` (a context manager) are the one place that
turns botocore's exceptions into them. No AWS calls here.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar, cast

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
DUPLICATE = "InvalidPermission.Duplicate"
# Codes with which AWS says "slow down" (after boto3's own retries gave up).
THROTTLING_CODES = frozenset(
    {
        "RequestLimitExceeded",
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
    }
)

# No attempt (first or retry) is sent that could end, at its connect and read timeouts
# and the longest backoff boto3 may sleep after it, within this many seconds of the
# invocation's end (Clients.set_time_left).
DEADLINE_MARGIN = 2.0

_UNSENT = "not sent: {left:.1f} s left in the invocation, an attempt may take {needed:.1f} s"


# --- the family ------------------------------------------------------------------------------


class AwsError(Exception):
    """An AWS call that failed. `str()` is the error's own words; `text` the one line that
    names it in results and logs (`error_text`); `answer` the words of an answer that is
    not AWS's (`answer_text`); `setup` the set-up problem behind it, if it is one.

    `may_have_applied`: a write that raised this may have taken effect all the same (its
    answer came to a retry of boto3's, or no answer came at all)."""

    def __init__(
        self,
        message: str,
        *,
        operation: str = "",
        code: str = "",
        may_have_applied: bool = False,
        text: str | None = None,
        answer: str | None = None,
        setup: str | None = None,
    ) -> None:
        super().__init__(message)
        self.operation = operation
        self.code = code
        self.may_have_applied = may_have_applied
        self.text = message if text is None else text
        self.answer = self.text if answer is None else answer
        self.setup = setup


class AwsCallFailed(AwsError):
    """AWS refused the call or it could not be made (an error answer, a timeout, a reset):
    what the logic records as a failed read or write and goes on."""


class Throttled(AwsCallFailed):
    """AWS kept saying "slow down" until boto3's retries gave up."""


class SetupProblem(AwsCallFailed):
    """The caller's set-up is wrong (credentials, profile, region, endpoint), not one call:
    the command line exits 2 on it with `setup`, one line naming the cause."""


class NotFound(AwsCallFailed):
    """EC2 says the group or one of the rules no longer exists.

    `retried`: the answer came to a retry (boto3's), so an earlier attempt whose answer
    was lost may have done the work itself (see `may_have_applied`).
    """

    def __init__(self, message: str, *, retried: bool = False, operation: str = "") -> None:
        code = message.split(":", 1)[0]
        super().__init__(message, operation=operation, code=code, may_have_applied=retried)
        self.retried = retried


class Duplicate(AwsCallFailed):
    """EC2 refuses to create a rule that the group already has (InvalidPermission.Duplicate)."""

    def __init__(self, message: str, *, operation: str = "") -> None:
        super().__init__(message, operation=operation, code=DUPLICATE)


class OutOfTime(AwsCallFailed):
    """An attempt not sent: it could outlast the invocation (Lambda's timeout - margin).

    `unsent`: refused before any attempt was sent (waiting for a pacing token), so nothing
    can have taken effect; otherwise a retry was refused, after an attempt whose answer
    was lost."""

    def __init__(self, *, left: float, needed: float, unsent: bool = False) -> None:
        message = _UNSENT.format(left=left, needed=needed)
        super().__init__(message, may_have_applied=not unsent, text=f"OutOfTime: {message}")
        self.left, self.needed, self.unsent = left, needed, unsent


class MalformedAnswer(AwsError):
    """What answered is not AWS (an HTML page from a proxy, a truncated body). Not an
    `AwsCallFailed`: a run cannot trust what it read, so only the command line's and the
    plan's outer handlers catch it, as a set-up problem."""


class DeadlineReached(BotoCoreError):
    """Raised inside botocore (before-send) when an attempt could outlast the invocation;
    translated to `OutOfTime`. A BotoCoreError so that botocore neither retries nor wraps it."""

    fmt = _UNSENT


# --- the one translation -------------------------------------------------------------------

# What botocore raises: an error answer, a failure of its own (timeouts, connections,
# set-up), and an answer that is not AWS's at all, which it raises outside BotoCoreError.
_BOTOCORE = (ClientError, BotoCoreError, ResponseParserError)

P = ParamSpec("P")
R = TypeVar("R")


def translate(exc: BaseException) -> AwsError | None:
    """The shell's error for `exc` (itself if it is one already); None if `exc` is not an
    AWS call's error at all."""
    if isinstance(exc, AwsError):
        return exc
    if isinstance(exc, ClientError):
        return _answered(exc)
    if isinstance(exc, DeadlineReached):
        return OutOfTime(left=exc.kwargs["left"], needed=exc.kwargs["needed"])
    if isinstance(exc, ResponseParserError):
        return MalformedAnswer(
            str(exc), text=error_text(exc), answer=str(exc), setup=_setup_line(exc)
        )
    if isinstance(exc, BotoCoreError):
        setup = _setup_line(exc)
        kind = AwsCallFailed if setup is None else SetupProblem
        return kind(str(exc), text=error_text(exc), may_have_applied=True, setup=setup)
    return None


def _answered(exc: ClientError) -> AwsError:
    """An error answer from AWS, by its code."""
    code, text, operation = error_code(exc), error_text(exc), exc.operation_name
    retried = int(exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0) or 0) > 0
    if code in NOT_FOUND:
        return NotFound(text, retried=retried, operation=operation)
    if code == DUPLICATE:
        return Duplicate(text, operation=operation)
    kind: type[AwsCallFailed] = AwsCallFailed
    setup = None
    if code in CREDENTIAL_ERROR_CODES:
        kind, setup = SetupProblem, f"AWS refused the credentials: {text}"
    elif code in THROTTLING_CODES:
        kind = Throttled
    return kind(text, operation=operation, code=code, may_have_applied=retried, setup=setup)


@contextmanager
def translated() -> Iterator[None]:
    """Raises the shell's error for any botocore error raised in the block."""
    try:
        yield
    except _BOTOCORE as exc:
        raise cast(AwsError, translate(exc)) from exc


def aws_call(func: Callable[P, R]) -> Callable[P, R]:
    """A public call of the AWS layer: botocore's errors raised as the shell's. A generator
    (pages read lazily) is translated while it is iterated."""
    if inspect.isgeneratorfunction(func):

        @functools.wraps(func)
        def pages(*args: Any, **kwargs: Any) -> Any:
            with translated():
                yield from func(*args, **kwargs)

        return cast(Callable[P, R], pages)

    @functools.wraps(func)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        with translated():
            return func(*args, **kwargs)

    return call


# --- the lines that name an error ------------------------------------------------------------


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "Unknown"))


def may_have_applied(exc: BaseException) -> bool:
    """Whether a write that raised `exc` may have taken effect all the same: its answer
    came to a retry (an earlier attempt's answer was lost: a timeout, a reset, a 5xx),
    or no answer came at all."""
    error = translate(exc)
    return error is not None and error.may_have_applied


def error_text(exc: BaseException) -> str:
    if isinstance(exc, AwsError):
        return exc.text
    if isinstance(exc, ClientError):
        message = exc.response.get("Error", {}).get("Message", "")
        return f"{error_code(exc)}: {message}".rstrip(": ")
    return f"{type(exc).__name__}: {exc}"


def answer_text(exc: BaseException) -> str:
    """`error_text`, except for an answer that is not AWS's: its own words (the parser
    names what it could not read)."""
    error = translate(exc)
    return error_text(exc) if error is None else error.answer


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
    error = translate(exc)
    if error is not None and error.code:  # an error answer of AWS's
        if error.operation == "AssumeRole":
            return f"cannot assume the member role: {error.text}"
        if error.code in REGION_DISABLED_CODES:
            return f"the region is not enabled for the account, or refused it: {error.text}"
        if error.code in REFUSED_CODES:
            return f"access denied: {error.text}"
        return f"AWS error: {error.text}"
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


def _setup_line(exc: Exception) -> str | None:
    for kinds, cause in _SETUP_ERRORS:
        if isinstance(exc, kinds):
            # A parser error quotes the whole answer (an HTML page): its first line will do.
            detail = " ".join(str(exc).split("\n", 1)[0].split())
            return f"{cause}: {detail[:300]}"
    return None


def setup_problem(exc: BaseException) -> str | None:
    """One line naming the set-up problem behind `exc`, or None if it is not one."""
    error = translate(exc)
    return None if error is None else error.setup
