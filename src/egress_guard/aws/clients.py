"""The boto3 clients of a container: sessions, member-role credentials, deadline, pacing.

Clients are created once per container (per account and region), configured as
client_config.py says.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, cast, overload

import botocore.session
from botocore.credentials import Credentials, DeferredRefreshableCredentials

from egress_guard.aws.client_config import MAX_BACKOFF, client_config, partition
from egress_guard.aws.ec2 import Ec2
from egress_guard.aws.errors import DEADLINE_MARGIN, DeadlineReached, aws_call
from egress_guard.pacing import Pace, Pacers, TokenBucket
from egress_guard.rules import GroupInfo
from egress_guard.settings import AwsTimeouts, pace_from_env

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SSMProvider
    from botocore.client import BaseClient
    from mypy_boto3_config.client import ConfigServiceClient
    from mypy_boto3_ec2.client import EC2Client
    from mypy_boto3_sns.client import SNSClient
    from mypy_boto3_ssm.client import SSMClient

ROLE_SESSION_SECONDS = 3600
ROLE_SESSION_NAME = "egress-guard"


class _Fixed:
    """A credential provider for a botocore session: always the same credentials object."""

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials

    def load_credentials(self) -> Credentials:
        return self._credentials


class Clients:
    """boto3 clients, created once per container and shared by every invocation.

    Another account's clients come from one botocore session per member account, whose
    credentials are the member role's: one AssumeRole per account, shared by every client
    of that account in every region, and refreshed by botocore before they expire
    (`DeferredRefreshableCredentials`: first assumed when a client first signs a request).
    `own_account` comes from the Lambda context when there is one (free), else from STS
    once. `clock` (tests only) is the time the member credentials' expiry is judged by.
    `timeouts`: the settings' (AWS_CONNECT_TIMEOUT, AWS_READ_TIMEOUT, AWS_MAX_ATTEMPTS).
    """

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] | None = None,
        timeouts: AwsTimeouts | None = None,
    ) -> None:
        # Reentrant: a member client's first request assumes the role through the STS
        # client that `_client` hands out.
        self._lock = threading.RLock()
        self._cache: dict[tuple[str, str, str], Any] = {}
        # botocore's own session, as boto3.client() would use underneath: boto3 adds only
        # S3 and resource customisations, and importing it costs a cold start ~70 ms
        # (s3transfer). Created on first use, under the lock.
        self._session: botocore.session.Session | None = None
        self._members: dict[str, botocore.session.Session] = {}  # role ARN -> its session
        self._clock = clock
        self._timeouts = timeouts  # None: the environment's, when the first client is made
        self._own_account: str | None = None
        self._time_left: Callable[[], float] | None = None
        self._parameters: SSMProvider | None = None
        # Name and VPC of the groups read, kept only when set to a dict (the command line).
        self.groups_seen: dict[str, GroupInfo] | None = None
        # Token buckets of mutating EC2 calls, one per account and region, kept for the
        # container; one Pacers per pace (in Lambda the environment, so one in all).
        self._pacers: dict[Pace, Pacers] = {}

    def pacer(self, account: str | None, region: str, pace: Pace) -> TokenBucket:
        """The token bucket of `account` (None: this function's own) in `region`."""
        with self._lock:
            pacers = self._pacers.setdefault(pace, Pacers(pace))
            # The own account by id when known, so that an event naming it and a request
            # naming no account share one bucket.
            return pacers.bucket(account or self._own_account, region)

    def seconds_left(self) -> float | None:
        """This invocation's remaining seconds (None: no deadline)."""
        time_left = self._time_left
        return None if time_left is None else time_left()

    def set_time_left(self, time_left: Callable[[], float] | None) -> None:
        """This invocation's remaining seconds (None: unlimited). Every client then refuses
        to send an attempt, first or retry, that could end within DEADLINE_MARGIN of the
        deadline (`OutOfTime`, not retried): boto3's retries stay bounded by the Lambda
        timeout, and the invocation can still report and raise before it is killed."""
        self._time_left = time_left

    def _watch_deadline(self, client: Any) -> Any:
        config = client.meta.config
        timeouts = float(config.connect_timeout or 0) + float(config.read_timeout or 0)

        def before_send(request: Any = None, **_: Any) -> None:
            time_left = self._time_left
            if time_left is None:
                return
            context = getattr(request, "context", None) or {}
            attempt = int(context.get("retries", {}).get("attempt", 1))
            # This attempt at its timeouts, then at most boto3's backoff for it (1 s x
            # 2^(attempt-1) after throttling, capped): the next attempt is refused here,
            # so the call ends before the margin whatever boto3 decides.
            needed = timeouts + min(2.0 ** (attempt - 1), MAX_BACKOFF)
            left = time_left()
            if left < needed + DEADLINE_MARGIN:
                raise DeadlineReached(left=left, needed=needed)

        # Before and after boto3's own before-send handlers: the adaptive rate limiter
        # may hold an attempt there, waiting for its token bucket.
        client.meta.events.register_first("before-send", before_send)
        client.meta.events.register_last("before-send", before_send)
        return client

    def set_own_account(self, account: str | None) -> None:
        if account:
            self._own_account = account

    @aws_call
    def own_account(self) -> str:
        if self._own_account is None:
            identity = self._client("sts", None, None).get_caller_identity()
            self._own_account = str(identity["Account"])
        return self._own_account

    @aws_call
    def ec2(
        self,
        account: str | None,
        region: str | None,
        role_name: str | None,
        *,
        pace: Pace | None = None,
    ) -> Ec2:
        """EC2 in a place; its mutating calls paced by `pace` (default: REVOKE_RATE and
        REVOKE_BURST, settings.py) with the place's bucket of this container."""
        region = region or self.default_region()
        if pace is None:
            pace = pace_from_env()
        return Ec2(
            self.client_in("ec2", account, region, role_name),
            account,
            region,
            self.groups_seen,
            pacer=None if pace.unpaced else self.pacer(account, region, pace),
            seconds_left=self.seconds_left,
        )

    @overload
    def client_in(
        self,
        service: Literal["config"],
        account: str | None,
        region: str | None,
        role_name: str | None,
    ) -> ConfigServiceClient: ...

    @overload
    def client_in(
        self,
        service: Literal["ec2"],
        account: str | None,
        region: str | None,
        role_name: str | None,
    ) -> EC2Client: ...

    @overload
    def client_in(
        self, service: str, account: str | None, region: str | None, role_name: str | None
    ) -> BaseClient: ...

    @aws_call
    def client_in(
        self, service: str, account: str | None, region: str | None, role_name: str | None
    ) -> BaseClient:
        """A client acting in `account`: through the member role `role_name` when that is
        another account than this function's, else with the function's own credentials."""
        region = region or self.default_region()
        role_arn = None
        if account is not None and role_name and account != self.own_account():
            role_arn = f"arn:{self.partition(region)}:iam::{account}:role/{role_name}"
        return cast("BaseClient", self._client(service, region, role_arn))

    @overload
    def client(self, service: Literal["sns"], region: str | None = None) -> SNSClient: ...

    @overload
    def client(self, service: Literal["ssm"], region: str | None = None) -> SSMClient: ...

    @overload
    def client(self, service: Literal["ec2"], region: str | None = None) -> EC2Client: ...

    @overload
    def client(self, service: str, region: str | None = None) -> BaseClient: ...

    @aws_call
    def client(self, service: str, region: str | None = None) -> BaseClient:
        """This function's own client of `service` in `region` (None: the default one).
        Typed for the services with stubs; the others' calls are made in aws/ only."""
        return cast("BaseClient", self._client(service, region, None))

    @aws_call
    def assume_now(self, account: str, region: str | None, role_name: str | None) -> None:
        """Assumes the member role for `account` now, when acting there needs it (another
        account than this function's), rather than at the first call made there: a refusal
        (the role missing, its trust not matching) then raises as what it is, AssumeRole's
        error answer (an AwsCallFailed). The credentials are kept for every later client of
        the account."""
        region = region or self.default_region()
        if not role_name or account == self.own_account():
            return
        role_arn = f"arn:{self.partition(region)}:iam::{account}:role/{role_name}"
        with self._lock:
            session = self._member(role_arn, region)
        credentials = session.get_credentials()
        if credentials is not None:
            credentials.get_frozen_credentials()

    def parameters(self) -> SSMProvider:
        """Powertools' SSM parameter provider on this container's SSM client: its cache
        lives as long as the container, and its calls get the same retries and deadline."""
        with self._lock:
            provider = self._parameters
        if provider is None:
            # Imported here: only deployments that keep the denylist in SSM pay for it.
            from aws_lambda_powertools.utilities.parameters import SSMProvider

            provider = SSMProvider(boto3_client=self.client("ssm"))
            with self._lock:
                self._parameters = self._parameters or provider
                provider = self._parameters
        return provider

    @aws_call
    def default_region(self) -> str:
        region = botocore.session.get_session().get_config_variable("region")
        return str(region or "us-east-1")

    def partition(self, region: str) -> str:
        """The partition of `region` (aws, aws-cn, aws-us-gov, aws-iso, ...), from botocore."""
        with self._lock:
            session = self._botocore()
        return partition(region, session)

    def _client(self, service: str, region: str | None, role_arn: str | None) -> Any:
        # Any: botocore creates a service's client class at run time; the public
        # `client`/`client_in` type it (boto3-stubs) for the services the logic names.
        key = (service, region or "", role_arn or "")
        with self._lock:
            client = self._cache.get(key)
            if client is None:
                session = self._botocore() if role_arn is None else self._member(role_arn, region)
                config = client_config(self._timeouts)
                client = session.create_client(service, region_name=region, config=config)
                self._cache[key] = client = self._watch_deadline(client)
            return client

    def _member(self, role_arn: str, region: str | None) -> botocore.session.Session:
        """The session acting through `role_arn`, one per member account (lock held)."""
        session = self._members.get(role_arn)
        if session is None:
            session = botocore.session.Session()
            # Service models are read from disk once per container, not once per account.
            session.register_component("data_loader", self._botocore().get_component("data_loader"))
            clock = {"time_fetcher": self._clock} if self._clock else {}
            credentials = DeferredRefreshableCredentials(
                refresh_using=lambda: self._assume(role_arn, region),
                method="assume-role",
                **clock,
            )
            session.register_component("credential_provider", _Fixed(credentials))
            self._members[role_arn] = session
        return session

    def _assume(self, role_arn: str, region: str | None) -> dict[str, str]:
        """One AssumeRole, in botocore's refresh shape; botocore calls it when the member
        credentials are first used and again 15 minutes before they expire."""
        sts = self._client("sts", region, None)
        credentials = sts.assume_role(
            RoleArn=role_arn,
            RoleSessionName=ROLE_SESSION_NAME,
            DurationSeconds=ROLE_SESSION_SECONDS,
        )["Credentials"]
        return {
            "access_key": credentials["AccessKeyId"],
            "secret_key": credentials["SecretAccessKey"],
            "token": credentials["SessionToken"],
            "expiry_time": credentials["Expiration"].isoformat(),
        }

    def _botocore(self) -> botocore.session.Session:
        """The botocore session every own-account client comes from (lock held)."""
        if self._session is None:
            self._session = botocore.session.get_session()
        return self._session
