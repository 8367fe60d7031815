"""The AWS layer's one translation: each kind of botocore failure becomes the shell's own
error, with the line results and logs print and whether the call may have taken effect."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)
from botocore.parsers import ResponseParserError

from egress_guard.aws import (
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
    error_text,
    place_problem,
    setup_problem,
    translate,
)
from egress_guard.aws.errors import DeadlineReached

REVOKE = "RevokeSecurityGroupEgress"


def answered(code: str, message: str, *, operation: str = REVOKE, retried: int = 0) -> ClientError:
    """AWS's error answer; `retried`: it came to a retry of boto3's (RetryAttempts)."""
    response: Any = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"RetryAttempts": retried},
    }
    return ClientError(response, operation)


def raised_by_a_call(exc: Exception) -> AwsError:
    """What a public call of the AWS layer raises when botocore raises `exc` inside it."""

    @aws_call
    def call() -> None:
        raise exc

    with pytest.raises(AwsError) as raised:
        call()
    assert raised.value.__cause__ is exc  # the botocore error kept, for a traceback
    return raised.value


def test_an_error_answer_keeps_its_operation_code_and_line() -> None:
    error = raised_by_a_call(answered("UnauthorizedOperation", "not allowed"))

    assert type(error) is AwsCallFailed
    assert (error.operation, error.code) == (REVOKE, "UnauthorizedOperation")
    assert error_text(error) == "UnauthorizedOperation: not allowed"
    assert not error.may_have_applied
    assert setup_problem(error) is None


def test_an_answer_to_a_retry_may_have_applied() -> None:
    error = raised_by_a_call(answered("InternalError", "oops", retried=2))

    assert error.may_have_applied


def test_throttling_after_the_retries_is_throttled() -> None:
    error = raised_by_a_call(answered("RequestLimitExceeded", "slow down", retried=6))

    assert isinstance(error, Throttled)
    assert isinstance(error, AwsCallFailed)
    assert error_text(error) == "RequestLimitExceeded: slow down"
    assert error.may_have_applied


@pytest.mark.parametrize("code", ["InvalidSecurityGroupRuleId.NotFound", "InvalidGroup.NotFound"])
def test_a_rule_or_group_gone_is_not_found(code: str) -> None:
    error = raised_by_a_call(answered(code, "gone", retried=1))

    assert isinstance(error, NotFound)
    assert str(error) == error_text(error) == f"{code}: gone"
    assert error.retried
    assert error.may_have_applied


def test_a_rule_the_group_has_already_is_duplicate() -> None:
    error = raised_by_a_call(answered("InvalidPermission.Duplicate", "already exists"))

    assert isinstance(error, Duplicate)
    assert error_text(error) == "InvalidPermission.Duplicate: already exists"


def test_credentials_refused_by_aws_are_a_set_up_problem() -> None:
    error = raised_by_a_call(answered("AuthFailure", "bad key", operation="DescribeRegions"))

    assert isinstance(error, SetupProblem)
    assert setup_problem(error) == "AWS refused the credentials: AuthFailure: bad key"


def test_the_member_role_refused_is_named_as_such_for_a_place() -> None:
    error = raised_by_a_call(answered("AccessDenied", "no trust", operation="AssumeRole"))

    assert place_problem(error) == "cannot assume the member role: AccessDenied: no trust"


def test_an_endpoint_not_reached_is_a_set_up_problem_that_may_have_applied() -> None:
    error = raised_by_a_call(EndpointConnectionError(endpoint_url="https://ec2.example/"))

    assert isinstance(error, SetupProblem)
    assert setup_problem(error) == (
        'cannot reach the AWS endpoint: Could not connect to the endpoint URL: "https://ec2.example/"'
    )
    assert error_text(error) == (
        'EndpointConnectionError: Could not connect to the endpoint URL: "https://ec2.example/"'
    )


def test_no_credentials_is_a_set_up_problem() -> None:
    error = raised_by_a_call(NoCredentialsError())

    assert isinstance(error, SetupProblem)
    assert setup_problem(error) == "no usable AWS credentials: Unable to locate credentials"


def test_a_read_timeout_after_sending_may_have_applied() -> None:
    error = raised_by_a_call(ReadTimeoutError(endpoint_url="https://ec2.example/"))

    assert type(error) is AwsCallFailed
    assert error.may_have_applied
    assert setup_problem(error) is None
    assert (
        error_text(error)
        == 'ReadTimeoutError: Read timeout on endpoint URL: "https://ec2.example/"'
    )


def test_an_answer_that_is_not_aws_is_malformed_and_not_a_failed_call() -> None:
    parser = ResponseParserError("Unable to parse response, invalid XML received:\nb'<html>'")
    error = raised_by_a_call(parser)

    assert isinstance(error, MalformedAnswer)
    assert not isinstance(error, AwsCallFailed)  # a run's own handlers do not take it
    assert answer_text(error) == str(parser)
    assert error_text(error) == f"ResponseParserError: {parser}"
    assert setup_problem(error) == (
        "malformed answer from the AWS endpoint: Unable to parse response, invalid XML received:"
    )


def test_a_retry_refused_for_want_of_time_is_out_of_time_and_may_have_applied() -> None:
    error = raised_by_a_call(DeadlineReached(left=3.0, needed=21.0))

    assert isinstance(error, OutOfTime)
    assert str(error) == "not sent: 3.0 s left in the invocation, an attempt may take 21.0 s"
    assert error_text(error) == f"OutOfTime: {error}"
    assert error.may_have_applied


def test_a_call_refused_before_sending_did_not_apply() -> None:
    assert not OutOfTime(left=3.0, needed=21.0, unsent=True).may_have_applied


def test_the_shells_own_errors_pass_through_unchanged() -> None:
    own = NotFound("InvalidGroup.NotFound: gone")

    @aws_call
    def call() -> None:
        raise own

    with pytest.raises(NotFound) as raised:
        call()
    assert raised.value is own


def test_other_errors_are_not_translated() -> None:
    assert translate(ValueError("x")) is None

    @aws_call
    def call() -> None:
        raise KeyError("x")

    with pytest.raises(KeyError):
        call()


def test_pages_read_lazily_are_translated_while_they_are_read() -> None:
    @aws_call
    def pages() -> Iterator[int]:
        yield 1
        raise answered("RequestLimitExceeded", "slow down", operation="DescribeSecurityGroupRules")

    read = pages()
    assert next(read) == 1
    with pytest.raises(Throttled):
        next(read)
