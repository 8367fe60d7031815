"""The groups and rules an event names indirectly: a new VPC's default group, a prefix list's.

docs/event-sources.md: a new VPC's `default` group is judged whole; a changed prefix list
has every egress rule that references it judged. Reading only: judging and acting are the
caller's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from aws_lambda_powertools import Logger

from egress_guard.aws import AwsCallFailed, Ec2Calls, error_text
from egress_guard.result import Result
from egress_guard.rules import Rule
from egress_guard.targets import GroupTarget
from egress_guard.telemetry import SERVICE

logger = Logger(service=SERVICE, child=True)


def new_vpc_group(ec2: Ec2Calls, vpc_id: str | None, result: Result) -> tuple[GroupTarget, ...]:
    """A new VPC's `default` group, judged whole (its all-traffic egress rule)."""
    if vpc_id is None:
        return ()
    try:
        group_id = ec2.default_group_of_vpc(vpc_id)
    except AwsCallFailed as exc:
        result.errors.append(f"{vpc_id}: could not find its default group: {error_text(exc)}")
        return ()
    if group_id is None:
        reason = f"{vpc_id} or its default group no longer exists"
        logger.info("no action", vpc_id=vpc_id, reason=reason)
        result.notes.append(f"no action: {reason}")
        return ()
    logger.info("new VPC: judging its default group", vpc_id=vpc_id, group_id=group_id)
    return (GroupTarget(group_id),)


def referencing(
    ec2: Ec2Calls, prefix_list_id: str, result: Result, out_of_time: Callable[[], bool]
) -> list[Rule]:
    """Every egress rule of this account and region whose destination is the list.

    EC2 names the groups that reference it (GetManagedPrefixListAssociations); where it
    will not, every rule of the region is listed and filtered here instead.
    """
    try:
        associations = ec2.prefix_list_associations(prefix_list_id)
    except AwsCallFailed as exc:
        result.errors.append(
            f"{prefix_list_id}: could not find what references it: {error_text(exc)}"
        )
        return []
    if associations is None:
        logger.info(
            "prefix list associations not available: listing every rule",
            prefix_list_id=prefix_list_id,
        )
        rules = _listed_referencing(ec2, prefix_list_id, result, out_of_time)
    else:
        rules = _associated_referencing(ec2, prefix_list_id, associations, result, out_of_time)
    logger.info(
        "prefix list changed: judging the egress rules that reference it",
        prefix_list_id=prefix_list_id,
        groups=sorted({r.group_id for r in rules}),
        rules=len(rules),
    )
    return rules


def _associated_referencing(
    ec2: Ec2Calls,
    prefix_list_id: str,
    associations: list[tuple[str, str]],
    result: Result,
    out_of_time: Callable[[], bool],
) -> list[Rule]:
    rules: list[Rule] = []
    own = ec2.account
    for resource_id, owner in associations:
        if not resource_id.startswith("sg-"):
            continue  # route tables and other resources: not egress rules
        if own and owner and owner != own:
            # A list shared through RAM: that account's own events judge its groups.
            result.notes.append(
                f"{resource_id} (account {owner}) references {prefix_list_id}: not judged here"
            )
            continue
        if out_of_time():
            result.errors.append(f"{resource_id}: not read, the invocation ran out of time")
            continue
        try:
            group_rules = ec2.rules_of_group(resource_id)
        except AwsCallFailed as exc:
            result.errors.append(f"{resource_id}: could not read its rules: {error_text(exc)}")
            continue
        result.groups_judged.add(resource_id)
        rules.extend(_to_list(group_rules, prefix_list_id))
    return rules


def _listed_referencing(
    ec2: Ec2Calls, prefix_list_id: str, result: Result, out_of_time: Callable[[], bool]
) -> list[Rule]:
    rules: list[Rule] = []
    try:
        for page in ec2.all_rule_pages():
            rules.extend(_to_list(page, prefix_list_id))
            if out_of_time():
                result.errors.append(
                    f"{prefix_list_id}: rules not all listed, the invocation ran out of time"
                )
                break
    except AwsCallFailed as exc:
        result.errors.append(f"{prefix_list_id}: rules not all listed: {error_text(exc)}")
    result.groups_judged.update(r.group_id for r in rules)
    return rules


def _to_list(rules: Iterable[Rule], prefix_list_id: str) -> list[Rule]:
    """The egress rules among these whose destination is the prefix list."""
    return [r for r in rules if r.is_egress and r.prefix_list_id == prefix_list_id]
