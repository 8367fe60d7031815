"""Every EC2 call egress-guard makes in one account and region: the Ec2 class.

Reads of rules, groups and prefix lists, and the paced writes (revoke, its DryRun probe,
authorize), each raising only the shell's errors (errors.py); `Ec2Calls` is the protocol of
the calls the logic makes, which the logic's annotations name (and the tests' fake keeps).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from egress_guard.aws.errors import (
    DEADLINE_MARGIN,
    AwsCallFailed,
    NotFound,
    OutOfTime,
    aws_call,
    translated,
)
from egress_guard.pacing import TokenBucket, WaitTooLong
from egress_guard.rules import GroupInfo, Rule

if TYPE_CHECKING:
    from mypy_boto3_ec2.client import EC2Client

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


# Codes with which EC2 refuses a DryRun the caller may not make.
_NOT_PERMITTED = frozenset({"UnauthorizedOperation", "AccessDenied", "AccessDeniedException"})


@dataclass(frozen=True)
class DryRunAnswer:
    """EC2's answer to a DryRun request: whether the call would have been permitted, in
    EC2's words (`str()`: the message the result's permission check prints)."""

    permitted: bool
    message: str

    def __str__(self) -> str:
        return self.message


@runtime_checkable
class Ec2Calls(Protocol):
    """The EC2 calls the logic makes in one account and region (`Ec2`; the tests' fake).

    Every call raises only the shell's errors (aws.errors): `NotFound` from `revoke` and
    `revoke_dry_run`, `Duplicate` from `authorize`, `AwsCallFailed` for any other failure.
    """

    account: str | None
    region: str

    def rules_by_ids(self, group_id: str, rule_ids: Sequence[str]) -> list[Rule]: ...

    def rules_of_group(self, group_id: str) -> list[Rule]: ...

    def all_rule_pages(self) -> Iterator[list[Rule]]: ...

    def group_tags(self, group_ids: Sequence[str]) -> dict[str, dict[str, str]]: ...

    def groups_tagged(self, keys: Sequence[str]) -> dict[str, dict[str, str]]: ...

    def group_info(self, group_ids: Sequence[str]) -> dict[str, GroupInfo]: ...

    def prefix_list_cidrs(self, prefix_list_id: str) -> list[str]: ...

    def default_group_of_vpc(self, vpc_id: str) -> str | None: ...

    def prefix_list_associations(self, prefix_list_id: str) -> list[tuple[str, str]] | None: ...

    def revoke(self, group_id: str, rule_ids: Sequence[str]) -> dict[str, Any]: ...

    def revoke_dry_run(self, group_id: str, rule_ids: Sequence[str]) -> DryRunAnswer: ...

    def authorize(self, group_id: str, permission: dict[str, Any], tags: dict[str, str]) -> str: ...


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
                left=left or 0.0, needed=exc.wait + (first_attempt or 0), unsent=True
            ) from None

    @aws_call
    def rules_by_ids(self, group_id: str, rule_ids: Sequence[str]) -> list[Rule]:
        """The named rules of the group, live; rules that no longer exist are left out."""
        try:
            with translated():
                response = self.client.describe_security_group_rules(
                    SecurityGroupRuleIds=list(rule_ids)
                )
            items = [Rule.from_ec2(item) for item in response["SecurityGroupRules"]]
        except NotFound:
            # One unknown id fails the whole call: read the group and keep what is left.
            wanted = set(rule_ids)
            items = [r for r in self.rules_of_group(group_id) if r.rule_id in wanted]
        # A rule id from another group is never judged as part of this one.
        return [r for r in items if r.group_id == group_id]

    @aws_call
    def rules_of_group(self, group_id: str) -> list[Rule]:
        """Every rule of the group (empty when the group does not exist)."""
        return [
            rule
            for page in self._rule_pages([{"Name": "group-id", "Values": [group_id]}])
            for rule in page
        ]

    @aws_call
    def all_rule_pages(self) -> Iterator[list[Rule]]:
        """Every rule in the region, a page at a time, so a sweep never holds them all."""
        return self._rule_pages([])

    @aws_call
    def _rule_pages(self, filters: list[Any]) -> Iterator[list[Rule]]:
        paginator = self.client.get_paginator("describe_security_group_rules")
        kwargs: dict[str, Any] = {"PaginationConfig": {"PageSize": PAGE_SIZE}}
        if filters:
            kwargs["Filters"] = filters
        for page in paginator.paginate(**kwargs):
            yield [Rule.from_ec2(item) for item in page.get("SecurityGroupRules", [])]

    @aws_call
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

    @aws_call
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

    @aws_call
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

    @aws_call
    def prefix_list_cidrs(self, prefix_list_id: str) -> list[str]:
        paginator = self.client.get_paginator("get_managed_prefix_list_entries")
        return [
            entry["Cidr"]
            for page in paginator.paginate(PrefixListId=prefix_list_id)
            for entry in page.get("Entries", [])
        ]

    @aws_call
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

    @aws_call
    def prefix_list_associations(self, prefix_list_id: str) -> list[tuple[str, str]] | None:
        """(resource id, owner account) of every resource that references the list: security
        groups, route tables and others. Empty when the list no longer exists (a list that
        is referenced cannot be deleted); None where EC2 refuses or lacks the call."""
        paginator = self.client.get_paginator("get_managed_prefix_list_associations")
        try:
            with translated():
                return [
                    (str(item["ResourceId"]), str(item.get("ResourceOwner") or ""))
                    for page in paginator.paginate(
                        PrefixListId=prefix_list_id,
                        PaginationConfig={"PageSize": ASSOCIATIONS_PAGE_SIZE},
                    )
                    for item in page.get("PrefixListAssociations", [])
                    if item.get("ResourceId")
                ]
        except AwsCallFailed as exc:
            if exc.code in ASSOCIATIONS_UNAVAILABLE:
                return None
            if exc.code.lower() == "invalidprefixlistid.notfound":
                return []
            raise

    @aws_call
    def revoke(self, group_id: str, rule_ids: Sequence[str]) -> dict[str, Any]:
        """One RevokeSecurityGroupEgress by rule ids; NotFound if any of them is gone.

        No splitting: a group holds at most 1,000 rules (the highest quota), and the call
        takes them all at once.
        """
        self._wait_for_token()
        response = self.client.revoke_security_group_egress(
            GroupId=group_id, SecurityGroupRuleIds=list(rule_ids)
        )
        return dict(response)

    @aws_call
    def revoke_dry_run(self, group_id: str, rule_ids: Sequence[str]) -> DryRunAnswer:
        """Asks EC2 whether the revoke would be permitted, changing nothing.

        Paced like a revoke: EC2 answers a DryRun only after its throttling check, so the
        probe spends a token of the same bucket, and a report-mode sweep must not drain it
        any more than an enforcing one."""
        self._wait_for_token()
        try:
            with translated():
                self.client.revoke_security_group_egress(
                    GroupId=group_id, SecurityGroupRuleIds=list(rule_ids), DryRun=True
                )
        except NotFound:
            raise
        except AwsCallFailed as exc:
            if exc.code == "DryRunOperation":
                return DryRunAnswer(True, "DryRunOperation")
            if exc.code in _NOT_PERMITTED:
                return DryRunAnswer(False, exc.text)
            raise
        # An endpoint that ignores DryRun would have revoked: say so rather than hide it.
        return DryRunAnswer(True, "the endpoint ignored DryRun")

    @aws_call
    def authorize(self, group_id: str, permission: dict[str, Any], tags: dict[str, str]) -> str:
        """Re-creates one egress rule (restore); returns its new rule id. Duplicate when
        the group has the rule already."""
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
