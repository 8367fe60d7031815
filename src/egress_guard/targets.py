"""What an event asks for: the output of event parsing and the input of remediation.

Event parsing (egress_guard.events) turns any supported event into `Targets`; nothing in
it is trusted beyond naming *where* to look. Remediation reads the live rules there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from egress_guard.ids import (
    AccountId,
    AwsId,
    GroupId,
    IdError,
    PrefixListId,
    Region,
    RuleId,
    VpcId,
)
from egress_guard.rules import RuleSpec

if TYPE_CHECKING:  # events imports this module: a runtime import would be circular
    from egress_guard.events.actor import Actor


class EventError(ValueError):
    """The event is not one egress-guard understands; the message names what was wrong."""


@dataclass(frozen=True, slots=True)
class GroupTarget:
    """One security group to judge, optionally narrowed to some of its rules.

    rule_ids: judge only these rules (CloudTrail rule ids, manual SecurityGroupRuleIds).
    specs: judge only live rules matching these properties (old CloudTrail records without
        rule ids, manual IpPermissions).
    With neither, every egress rule of the group is judged.
    must_exist: the group was named by an operator (manual request, `scan --group-id`): if
        it does not exist, that is an error naming it (as EC2's InvalidGroup.NotFound), not
        the no-op it is for an event about a group deleted since.
    """

    group_id: str
    rule_ids: tuple[str, ...] = ()
    specs: tuple[RuleSpec, ...] = ()
    must_exist: bool = False

    @property
    def narrowed(self) -> bool:
        return bool(self.rule_ids or self.specs)


@dataclass(frozen=True, slots=True)
class ConfigInvocation:
    """A Config custom-rule invocation, to answer with PutEvaluations afterwards."""

    result_token: str
    rule_name: str
    ordering_timestamp: str
    left_scope: bool = False
    # The resource a change invocation is about (None for a periodic one): a resource of
    # another type, or one that left the rule's scope, is answered NOT_APPLICABLE.
    resource: ConfigResource | None = None


@dataclass(frozen=True, slots=True)
class ConfigResource:
    """The resource of a Config change invocation: its type and id, as Config names them."""

    type: str | None
    id: str | None


@dataclass(frozen=True, slots=True)
class HubFinding:
    """One Security Hub finding of the event, to update with BatchUpdateFindings afterwards.

    `group_ids`: the security groups it names (empty: none, so nothing to act on).
    `workflow_status` and the note are the finding's own, as the event carried them.
    """

    finding_id: str
    product_arn: str
    group_ids: tuple[str, ...] = ()
    workflow_status: str | None = None
    note_text: str | None = None
    note_by: str | None = None


@dataclass(frozen=True, slots=True)
class HubFindings:
    """The findings of a Security Hub event and where it came from (account, region)."""

    account: str | None
    region: str | None
    findings: tuple[HubFinding, ...] = ()


@dataclass(frozen=True, slots=True)
class Targets:
    """Where to look, as told by one event.

    `groups` empty, `sweep` false and nothing to look up means a no-op, with `reason`
    saying why. Two events name no group but a place to find them, which remediation looks
    up in EC2 (event parsing makes no AWS call):
    `new_vpc`: a new VPC, whose `default` group is judged whole (CreateVpc).
    `prefix_list`: a managed prefix list whose entries changed; every egress rule of the
        account and region that references it is judged (ModifyManagedPrefixList).
    `actor`: who made the change, for CloudTrail events (information, never a decision).
    """

    source: str
    event_id: str | None = None
    account: str | None = None
    region: str | None = None
    groups: tuple[GroupTarget, ...] = ()
    sweep: bool = False
    dry_run: bool = False
    reason: str | None = None
    config: ConfigInvocation | None = None
    securityhub: HubFindings | None = None
    notes: tuple[str, ...] = ()
    new_vpc: str | None = None
    prefix_list: str | None = None
    actor: Actor | None = None
    # An event spanning several places (a Security Hub batch): one Targets per place, run
    # one after another and answered with one merged result (egress_guard.places).
    split: tuple[Targets, ...] = ()

    @property
    def is_noop(self) -> bool:
        return (
            not self.groups
            and not self.sweep
            and self.new_vpc is None
            and self.prefix_list is None
            and not self.split
        )


def _checker(kind: type[AwsId]) -> Callable[[Any, str], str]:
    """A check for event parsers: the id as given, or an EventError naming `where`."""

    def check(value: Any, where: str) -> str:
        try:
            return kind(value, where)
        except IdError as exc:
            raise EventError(str(exc)) from None

    check.__name__ = f"check_{kind.__name__}"
    return check


check_group_id = _checker(GroupId)
check_rule_id = _checker(RuleId)
check_account = _checker(AccountId)
check_region = _checker(Region)
check_vpc_id = _checker(VpcId)
check_prefix_list_id = _checker(PrefixListId)
