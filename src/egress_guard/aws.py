"""The one thin layer that talks to AWS: EC2, SSM, STS, Config and SNS.

Everything here is a direct call with its errors mapped to a few meaningful exceptions;
decisions live elsewhere. Clients are created once per container (per account and
region) with boto3's adaptive retry mode, and reach a local emulator through boto3's
own AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_EC2 like any other boto3 program.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import botocore.session
from botocore.config import Config
from botocore.credentials import Credentials, DeferredRefreshableCredentials
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

from egress_guard import __version__
from egress_guard.pacing import Pace, Pacers, TokenBucket, WaitTooLong
from egress_guard.rules import Rule
from egress_guard.settings import pace_from_env

if TYPE_CHECKING:
    from mypy_boto3_ec2.client import EC2Client

# Rule-id and group not-found codes: moto answers InvalidPermission.NotFound where AWS
# answers InvalidSecurityGroupRuleId.NotFound; both mean "already gone".
NOT_FOUND = frozenset(
    {"InvalidSecurityGroupRuleId.NotFound", "InvalidPermission.NotFound", "InvalidGroup.NotFound"}
)
PAGE_SIZE = 1000  # DescribeSecurityGroupRules' maximum MaxResults
ASSOCIATIONS_PAGE_SIZE = 255  # GetManagedPrefixListAssociations' maximum MaxResults
# GetManagedPrefixListAssociations refused (no permission: member roles made before the
# call was needed) or not offered (an endpoint without it): the caller lists rules instead.
ASSOCIATIONS_UNAVAILABLE = frozenset(
    {
        "UnauthorizedOperation",
        "AccessDenied",
        "AccessDeniedException",
        "InvalidAction",
        "UnsupportedOperation",
        "NotImplemented",
    }
)
ROLE_SESSION_SECONDS = 3600
ROLE_SESSION_NAME = "egress-guard"

CONNECT_TIMEOUT = 5.0  # seconds; AWS_CONNECT_TIMEOUT overrides
READ_TIMEOUT = 15.0  # seconds; AWS_READ_TIMEOUT overrides
MAX_ATTEMPTS = 7  # total attempts (6 retries); boto3's own AWS_MAX_ATTEMPTS overrides

CLIENT_CONFIG = Config(
    retries={"mode": "adaptive", "total_max_attempts": MAX_ATTEMPTS},
    connect_timeout=CONNECT_TIMEOUT,
    read_timeout=READ_TIMEOUT,
    user_agent_extra=f"egress-guard/{__version__}",
    max_pool_connections=16,
)


def client_config(env: Mapping[str, str] | None = None) -> Config:
    """`CLIENT_CONFIG`, with the timeouts and attempts the environment asks for.

    Retries stay boto3's own adaptive mode. ``AWS_MAX_ATTEMPTS`` is boto3's standard
    variable (total attempts, the first included); ``AWS_CONNECT_TIMEOUT`` and
    ``AWS_READ_TIMEOUT`` (seconds, per attempt) are egress-guard's, as botocore reads no
    variable for them. The worst case of one call is about attempts x (connect + read)
    plus backoff, so lower them together with the Lambda timeout. Read when a client is
    created, i.e. once per container.
    """
    env = os.environ if env is None else env
    overrides: dict[str, Any] = {}
    for name, key in (
        ("AWS_CONNECT_TIMEOUT", "connect_timeout"),
        ("AWS_READ_TIMEOUT", "read_timeout"),
    ):
        seconds = _number(env, name, float, 0.001)
        if seconds is not None:
            overrides[key] = seconds
    attempts = _number(env, "AWS_MAX_ATTEMPTS", int, 1)
    if attempts is not None:
        overrides["retries"] = {"mode": "adaptive", "total_max_attempts": attempts}
    return CLIENT_CONFIG.merge(Config(**overrides)) if overrides else CLIENT_CONFIG


def _number(
    env: Mapping[str, str], name: str, kind: type[int] | type[float], minimum: float
) -> float | None:
    text = env.get(name, "").strip()
    if not text:
        return None
    try:
        value = kind(text)
    except ValueError:
        raise ValueError(f"{name}: {text!r} is not a number") from None
    if not value >= minimum:  # also refuses nan
        raise ValueError(f"{name}: {text!r} is below {minimum}")
    return value


AwsErrors = (ClientError, BotoCoreError)

# No attempt (first or retry) is sent that could end, at its connect and read timeouts
# and the longest backoff boto3 may sleep after it, within this many seconds of the
# invocation's end (Clients.set_time_left).
DEADLINE_MARGIN = 2.0
MAX_BACKOFF = 20.0  # botocore's cap on one backoff (standard and adaptive modes)


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


@dataclass(frozen=True)
class GroupInfo:
    """A security group's name and VPC, for the command line's tables."""

    name: str
    vpc_id: str | None


class Ec2:
    """The EC2 calls egress-guard makes, for one account and region."""

    def __init__(
        self,
        client: EC2Client,
        account: str | None,
        region: str,
        groups_seen: dict[str, GroupInfo] | None = None,
        *,
        pacer: TokenBucket | None = None,
        seconds_left: Callable[[], float | None] | None = None,
    ) -> None:
        self.client = client
        self.account = account
        self.region = region
        # Name and VPC of each group described so far (for the notice; the command line
        # shares its own for its tables): `group_info` then reads only the groups not seen.
        self.groups_seen = groups_seen if groups_seen is not None else {}
        # The account-region's token bucket for mutating calls (pacing.py), shared by every
        # Ec2 of that place in the container; None: unpaced.
        self.pacer = pacer
        self.seconds_left = seconds_left or (lambda: None)

    def _wait_for_token(self) -> None:
        """Before a mutating call: a token from the place's bucket, waiting if need be, but
        never past the invocation's deadline. When the token would come too late to send
        the call and hear its answer in time, OutOfTime at once (nothing sent, nothing
        taken) rather than a sleep the invocation cannot afford."""
        if self.pacer is None:
            return
        left = self.seconds_left()
        limit = first_attempt = None
        if left is not None:
            config: Any = self.client.meta.config
            # As the deadline watcher counts a first attempt: its timeouts, then a backoff.
            first_attempt = float(config.connect_timeout or 0) + float(config.read_timeout or 0)
            first_attempt += 1.0
            limit = left - DEADLINE_MARGIN - first_attempt
        try:
            self.pacer.acquire(limit)
        except WaitTooLong as exc:
            raise OutOfTime(
                left=left, needed=exc.wait + (first_attempt or 0), unsent=True
            ) from None

    def rules_by_ids(self, group_id: str, rule_ids: Sequence[str]) -> list[Rule]:
        """The named rules of the group, live; rules that no longer exist are left out."""
        try:
            response = self.client.describe_security_group_rules(
                SecurityGroupRuleIds=list(rule_ids)
            )
            items = [Rule.from_ec2(item) for item in response["SecurityGroupRules"]]
        except ClientError as exc:
            if error_code(exc) not in NOT_FOUND:
                raise
            # One unknown id fails the whole call: read the group and keep what is left.
            wanted = set(rule_ids)
            items = [r for r in self.rules_of_group(group_id) if r.rule_id in wanted]
        # A rule id from another group is never judged as part of this one.
        return [r for r in items if r.group_id == group_id]

    def rules_of_group(self, group_id: str) -> list[Rule]:
        """Every rule of the group (empty when the group does not exist)."""
        return [
            rule
            for page in self._rule_pages([{"Name": "group-id", "Values": [group_id]}])
            for rule in page
        ]

    def all_rule_pages(self) -> Iterator[list[Rule]]:
        """Every rule in the region, a page at a time, so a sweep never holds them all."""
        return self._rule_pages([])

    def _rule_pages(self, filters: list[Any]) -> Iterator[list[Rule]]:
        paginator = self.client.get_paginator("describe_security_group_rules")
        kwargs: dict[str, Any] = {"PaginationConfig": {"PageSize": PAGE_SIZE}}
        if filters:
            kwargs["Filters"] = filters
        for page in paginator.paginate(**kwargs):
            yield [Rule.from_ec2(item) for item in page.get("SecurityGroupRules", [])]

    def group_tags(self, group_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        """Tags of the groups that exist (a filter, so a missing group is no error)."""
        paginator = self.client.get_paginator("describe_security_groups")
        tags: dict[str, dict[str, str]] = {}
        for start in range(0, len(group_ids), 200):
            chunk = list(group_ids[start : start + 200])
            for page in paginator.paginate(Filters=[{"Name": "group-id", "Values": chunk}]):
                for group in page.get("SecurityGroups", []):
                    self._seen(group)
                    tags[group["GroupId"]] = {
                        t["Key"]: t.get("Value", "") for t in group.get("Tags") or ()
                    }
        return tags

    def groups_tagged(self, keys: Sequence[str]) -> dict[str, dict[str, str]]:
        """Group id -> tags of every group carrying any of the tag keys (for sweeps): the
        filter's values are alternatives, so one listing serves every key."""
        paginator = self.client.get_paginator("describe_security_groups")
        found: dict[str, dict[str, str]] = {}
        for page in paginator.paginate(Filters=[{"Name": "tag-key", "Values": list(keys)}]):
            for group in page.get("SecurityGroups", []):
                self._seen(group)
                tags = {t["Key"]: t.get("Value", "") for t in group.get("Tags") or ()}
                found[group["GroupId"]] = tags
        return found

    def group_info(self, group_ids: Sequence[str]) -> dict[str, GroupInfo]:
        """Name and VPC of the groups that exist, reading only those not seen before."""
        if self.groups_seen is None:
            self.groups_seen = {}
        seen = self.groups_seen
        missing = [g for g in dict.fromkeys(group_ids) if g not in seen]
        if missing:
            self.group_tags(missing)  # records each group it reads
        return {g: seen[g] for g in group_ids if g in seen}

    def _seen(self, group: Mapping[str, Any]) -> None:
        if self.groups_seen is not None:
            self.groups_seen[group["GroupId"]] = GroupInfo(
                str(group.get("GroupName") or ""), group.get("VpcId") or None
            )

    def prefix_list_cidrs(self, prefix_list_id: str) -> list[str]:
        paginator = self.client.get_paginator("get_managed_prefix_list_entries")
        return [
            entry["Cidr"]
            for page in paginator.paginate(PrefixListId=prefix_list_id)
            for entry in page.get("Entries", [])
        ]

    def default_group_of_vpc(self, vpc_id: str) -> str | None:
        """The id of the VPC's `default` group; None when the VPC (or the group) is gone.

        Filters, not GroupNames: a filter that matches nothing is an empty answer, no error.
        """
        response = self.client.describe_security_groups(
            Filters=[
                {"Name": "vpc-id", "Values": [vpc_id]},
                {"Name": "group-name", "Values": ["default"]},
            ]
        )
        groups = response.get("SecurityGroups") or []
        return str(groups[0]["GroupId"]) if groups else None

    def prefix_list_associations(self, prefix_list_id: str) -> list[tuple[str, str]] | None:
        """(resource id, owner account) of every resource that references the list: security
        groups, route tables and others. Empty when the list no longer exists (a list that
        is referenced cannot be deleted); None where EC2 refuses or lacks the call."""
        paginator = self.client.get_paginator("get_managed_prefix_list_associations")
        try:
            return [
                (str(item["ResourceId"]), str(item.get("ResourceOwner") or ""))
                for page in paginator.paginate(
                    PrefixListId=prefix_list_id,
                    PaginationConfig={"PageSize": ASSOCIATIONS_PAGE_SIZE},
                )
                for item in page.get("PrefixListAssociations", [])
                if item.get("ResourceId")
            ]
        except ClientError as exc:
            code = error_code(exc)
            if code in ASSOCIATIONS_UNAVAILABLE:
                return None
            if code.lower() == "invalidprefixlistid.notfound":
                return []
            raise

    def revoke(self, group_id: str, rule_ids: Sequence[str]) -> dict[str, Any]:
        """One RevokeSecurityGroupEgress by rule ids; NotFound if any of them is gone.

        No splitting: a group holds at most 1,000 rules (the highest quota), and the call
        takes them all at once.
        """
        self._wait_for_token()
        try:
            response = self.client.revoke_security_group_egress(
                GroupId=group_id, SecurityGroupRuleIds=list(rule_ids)
            )
        except ClientError as exc:
            if error_code(exc) in NOT_FOUND:
                raise NotFound(error_text(exc), retried=may_have_applied(exc)) from exc
            raise
        return dict(response)

    def revoke_dry_run(self, group_id: str, rule_ids: Sequence[str]) -> DryRunResult:
        """Asks EC2 whether the revoke would be permitted, changing nothing.

        Paced like a revoke: EC2 answers a DryRun only after its throttling check, so the
        probe spends a token of the same bucket, and a report-mode sweep must not drain it
        any more than an enforcing one."""
        self._wait_for_token()
        try:
            self.client.revoke_security_group_egress(
                GroupId=group_id, SecurityGroupRuleIds=list(rule_ids), DryRun=True
            )
        except ClientError as exc:
            code = error_code(exc)
            if code == "DryRunOperation":
                return DryRunResult(True, "DryRunOperation")
            if code in ("UnauthorizedOperation", "AccessDenied", "AccessDeniedException"):
                return DryRunResult(False, error_text(exc))
            if code in NOT_FOUND:
                raise NotFound(error_text(exc)) from exc
            raise
        # An endpoint that ignores DryRun would have revoked: say so rather than hide it.
        return DryRunResult(True, "the endpoint ignored DryRun")

    def authorize(self, group_id: str, permission: dict[str, Any], tags: dict[str, str]) -> str:
        """Re-creates one egress rule (restore); returns its new rule id."""
        kwargs: dict[str, Any] = {"GroupId": group_id, "IpPermissions": [permission]}
        if tags:
            kwargs["TagSpecifications"] = [
                {
                    "ResourceType": "security-group-rule",
                    "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
                }
            ]
        self._wait_for_token()
        response = self.client.authorize_security_group_egress(**kwargs)
        rules = response.get("SecurityGroupRules") or []
        return str(rules[-1]["SecurityGroupRuleId"]) if rules else ""


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
    """

    def __init__(self, *, clock: Callable[[], datetime] | None = None) -> None:
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
        self._own_account: str | None = None
        self._time_left: Callable[[], float] | None = None
        self._parameters: Any = None
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
                raise OutOfTime(left=left, needed=needed)

        # Before and after boto3's own before-send handlers: the adaptive rate limiter
        # may hold an attempt there, waiting for its token bucket.
        client.meta.events.register_first("before-send", before_send)
        client.meta.events.register_last("before-send", before_send)
        return client

    def set_own_account(self, account: str | None) -> None:
        if account:
            self._own_account = account

    def own_account(self) -> str:
        if self._own_account is None:
            identity = self._client("sts", None, None).get_caller_identity()
            self._own_account = str(identity["Account"])
        return self._own_account

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

    def client_in(
        self, service: str, account: str | None, region: str | None, role_name: str | None
    ) -> Any:
        """A client acting in `account`: through the member role `role_name` when that is
        another account than this function's, else with the function's own credentials."""
        region = region or self.default_region()
        role_arn = None
        if account is not None and role_name and account != self.own_account():
            role_arn = f"arn:{self.partition(region)}:iam::{account}:role/{role_name}"
        return self._client(service, region, role_arn)

    def client(self, service: str, region: str | None = None) -> Any:
        return self._client(service, region, None)

    def assume_now(self, account: str, region: str | None, role_name: str | None) -> None:
        """Assumes the member role for `account` now, when acting there needs it (another
        account than this function's), rather than at the first call made there: a refusal
        (the role missing, its trust not matching) then raises as what it is, a ClientError
        of AssumeRole. The credentials are kept for every later client of the account."""
        region = region or self.default_region()
        if not role_name or account == self.own_account():
            return
        role_arn = f"arn:{self.partition(region)}:iam::{account}:role/{role_name}"
        with self._lock:
            session = self._member(role_arn, region)
        credentials = session.get_credentials()
        if credentials is not None:
            credentials.get_frozen_credentials()

    def parameters(self) -> Any:
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

    def default_region(self) -> str:
        region = botocore.session.get_session().get_config_variable("region")
        return str(region or "us-east-1")

    def partition(self, region: str) -> str:
        """The partition of `region` (aws, aws-cn, aws-us-gov, aws-iso, ...), from botocore."""
        with self._lock:
            session = self._botocore()
        return partition(region, session)

    def _client(self, service: str, region: str | None, role_arn: str | None) -> Any:
        key = (service, region or "", role_arn or "")
        with self._lock:
            client = self._cache.get(key)
            if client is None:
                session = self._botocore() if role_arn is None else self._member(role_arn, region)
                client = session.create_client(service, region_name=region, config=client_config())
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


def configured_region() -> str | None:
    """The region boto3 is configured with (AWS_DEFAULT_REGION, the profile's), if any.
    ProfileNotFound when AWS_PROFILE names no profile."""
    region = botocore.session.get_session().get_config_variable("region")
    return str(region) if region else None


def partition(region: str, session: botocore.session.Session | None = None) -> str:
    """The partition of `region`, from botocore's endpoint data (which names every region
    of every partition, and a pattern for new ones)."""
    try:
        return str((session or botocore.session.get_session()).get_partition_for_region(region))
    except BotoCoreError:
        raise ValueError(f"region {region!r}: no AWS partition known for it") from None


# --- organisation and regions (the command line's org scan) ----------------------------------

ACTIVE = "ACTIVE"
# DescribeRegions' OptInStatus of a region the account may use.
ENABLED_REGIONS = frozenset({"opt-in-not-required", "opted-in"})
# Codes with which EC2 refuses a call because the region is not enabled for the account.
REGION_DISABLED_CODES = frozenset({"AuthFailure", "OptInRequired", "UnrecognizedClientException"})
REFUSED_CODES = frozenset(
    {"UnauthorizedOperation", "AccessDenied", "AccessDeniedException", "InvalidAction"}
)


def _active(account: Mapping[str, Any]) -> bool:
    """ListAccounts' `State` (current) or `Status` (its older field), whichever is given."""
    return str(account.get("State") or account.get("Status") or "") == ACTIVE


def organization_accounts(org_client: Any) -> list[str]:
    """Every ACTIVE account of the organisation (ListAccounts, every page), sorted."""
    paginator = org_client.get_paginator("list_accounts")
    return sorted(
        str(account["Id"])
        for page in paginator.paginate()
        for account in page.get("Accounts", [])
        if _active(account)
    )


def unit_accounts(org_client: Any, unit_id: str) -> list[str]:
    """Every ACTIVE account in the organisational unit and, recursively, in its child
    units (ListAccountsForParent and ListOrganizationalUnitsForParent, every page)."""
    accounts: set[str] = set()
    pending, seen = [unit_id], {unit_id}
    listing = org_client.get_paginator("list_accounts_for_parent")
    children = org_client.get_paginator("list_organizational_units_for_parent")
    while pending:
        parent = pending.pop()
        for page in listing.paginate(ParentId=parent):
            accounts.update(str(a["Id"]) for a in page.get("Accounts", []) if _active(a))
        for page in children.paginate(ParentId=parent):
            for unit in page.get("OrganizationalUnits", []):
                if unit["Id"] not in seen:
                    seen.add(unit["Id"])
                    pending.append(str(unit["Id"]))
    return sorted(accounts)


def region_states(ec2_client: Any) -> dict[str, bool] | None:
    """Every region EC2 knows of, and whether it is enabled for the account
    (DescribeRegions, AllRegions). None when the credentials may not call it (a member role
    made before the call was needed): the caller then goes on without knowing."""
    try:
        regions = ec2_client.describe_regions(AllRegions=True).get("Regions", [])
    except ClientError as exc:
        if error_code(exc) in REFUSED_CODES:
            return None
        raise
    return {
        str(r["RegionName"]): str(r.get("OptInStatus") or "opt-in-not-required") in ENABLED_REGIONS
        for r in regions
    }


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


def put_evaluations(config_client: Any, token: str, evaluations: Sequence[dict[str, Any]]) -> None:
    """Reports compliance to AWS Config, 100 evaluations a call (the API's limit)."""
    for start in range(0, len(evaluations), 100):
        config_client.put_evaluations(
            Evaluations=list(evaluations[start : start + 100]), ResultToken=token
        )


def publish(
    sns_client: Any, topic_arn: str, subject: str, body: str, attributes: dict[str, str]
) -> str:
    response = sns_client.publish(
        TopicArn=topic_arn,
        Subject=subject[:100],
        Message=body,
        MessageAttributes={
            key: {"DataType": "String", "StringValue": value}
            for key, value in attributes.items()
            if value
        },
    )
    return str(response.get("MessageId", ""))


@dataclass(frozen=True)
class QueueMessage:
    """One message received from an SQS queue."""

    message_id: str
    receipt_handle: str
    body: str
    receive_count: int


class FailureQueue:
    """The failure queue's calls (egress-guard replay): receive, hide, delete, give back.

    Received messages stay hidden (VisibilityTimeout) while they are replayed; what is not
    deleted is given back (visible again at once) when the replay ends, so a second replay
    finds it, and a replay that dies leaves it hidden no longer than `hide_seconds`.
    """

    MAX_BATCH = 10  # ReceiveMessage's and the batch calls' maximum

    def __init__(self, sqs_client: Any, queue_url: str) -> None:
        self.client = sqs_client
        self.url = queue_url

    def receive(self, count: int, *, wait_seconds: int, hide_seconds: int) -> list[QueueMessage]:
        """Up to `count` (at most 10) messages, long-polling up to `wait_seconds`."""
        response = self.client.receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=max(1, min(count, self.MAX_BATCH)),
            WaitTimeSeconds=wait_seconds,
            VisibilityTimeout=hide_seconds,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        )
        return [
            QueueMessage(
                str(item["MessageId"]),
                str(item["ReceiptHandle"]),
                str(item.get("Body") or ""),
                int((item.get("Attributes") or {}).get("ApproximateReceiveCount") or 0),
            )
            for item in response.get("Messages") or ()
        ]

    def hide(self, message: QueueMessage, seconds: int) -> None:
        """Hides the message for `seconds` from now (before its replay starts)."""
        self.client.change_message_visibility(
            QueueUrl=self.url, ReceiptHandle=message.receipt_handle, VisibilityTimeout=seconds
        )

    def delete(self, message: QueueMessage) -> None:
        self.client.delete_message(QueueUrl=self.url, ReceiptHandle=message.receipt_handle)

    def give_back(self, messages: Sequence[QueueMessage]) -> list[str]:
        """Makes the messages visible again at once; returns the ids that could not be."""
        failed: list[str] = []
        for start in range(0, len(messages), self.MAX_BATCH):
            chunk = messages[start : start + self.MAX_BATCH]
            response = self.client.change_message_visibility_batch(
                QueueUrl=self.url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m.receipt_handle, "VisibilityTimeout": 0}
                    for i, m in enumerate(chunk)
                ],
            )
            failed += [chunk[int(item["Id"])].message_id for item in response.get("Failed") or ()]
        return failed


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
