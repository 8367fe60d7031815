"""Security Hub findings over EventBridge: "Findings - Imported" and "Findings - Custom Action".

Each finding (ASFF, `detail.findings[]`) names resources; every `AwsEc2SecurityGroup`
resource becomes a group target, whatever the control: the finding only says where to look,
and the denylist judges the live rules.

Findings that are archived, suppressed, resolved or passed are skipped, with a note each:
egress-guard's own revocations make Security Hub re-import findings as RESOLVED/PASSED, and
those must not start another round. The same rule holds for custom actions, so an operator
cannot act on a finding somebody already suppressed without unsuppressing it first.

Findings that span several accounts or regions (an administrator account's aggregated
findings, a custom action on findings of several accounts) are split per place: the
Targets returned then carry one Targets per place in `split`, each with its own groups and
its own findings, which are updated in that place through its credentials (the member
role in another account). service.handle runs the places one by one and answers with one
merged result (egress_guard.places). One finding whose own groups lie in several places is
still refused, naming it: it cannot be told one outcome.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

from egress_guard.events._access import MAX_ITEMS, Node
from egress_guard.events._envelope import Envelope, Route
from egress_guard.targets import (
    EventError,
    GroupTarget,
    HubFinding,
    HubFindings,
    Targets,
    check_account,
    check_group_id,
    check_region,
)

KINDS = {
    "Security Hub Findings - Imported": "Imported",
    "Security Hub Findings - Custom Action": "CustomAction",
}
SECURITY_GROUP = "AwsEc2SecurityGroup"
GROUP_ARN = re.compile(
    r"^arn:aws(?:-[a-z]+)*:ec2:(?P<region>[a-z0-9-]+):(?P<account>\d{12})"
    r":security-group/(?P<group>.+)$"
)
# (field path, values that mean "nothing to do"), checked in this order.
SKIP = (
    (("RecordState",), ("ARCHIVED",)),
    (("Workflow", "Status"), ("SUPPRESSED", "RESOLVED")),
    (("Compliance", "Status"), ("PASSED",)),
)

Located = tuple[str | None, str | None, str]  # account, region, group id


def parse_securityhub(envelope: Envelope) -> Targets:
    """Targets of a Security Hub findings event: each security group its findings name."""
    kind = KINDS.get(envelope.detail_type)
    if kind is None:
        raise EventError(
            f"detail-type: {envelope.detail_type!r} is not a supported aws.securityhub event "
            f"(expected one of {', '.join(map(repr, KINDS))})"
        )
    findings = envelope.detail.nodes("findings")
    if not findings:
        raise EventError(f"{envelope.detail.where('findings')}: no findings")
    notes: list[str] = []
    located: list[Located] = []
    to_update: list[HubFinding] = []
    # The findings of each place (account, region), for a split event.
    by_place: dict[Place, list[HubFinding]] = {}
    for index, finding in enumerate(findings):
        skip = _skip_reason(finding)
        if skip:
            # Never updated either: somebody (or egress-guard) already closed it.
            notes.append(f"finding {_label(finding, index)} skipped: {skip}")
            continue
        found = list(_groups(finding, envelope))
        located.extend(found)
        if len(located) > MAX_ITEMS:
            raise EventError(f"{finding.path}: more than {MAX_ITEMS} resources in all")
        hub_finding = _hub_finding(finding, tuple(dict.fromkeys(g for _, _, g in found)))
        place = _finding_place(finding, found, envelope)
        if hub_finding is not None:
            to_update.append(hub_finding)
            by_place.setdefault(place, []).append(hub_finding)
        else:
            by_place.setdefault(place, [])
    base = Targets(
        source=f"securityhub:{kind}",
        event_id=envelope.event_id,
        account=envelope.account,
        region=envelope.region,
        notes=tuple(notes),
        securityhub=HubFindings(envelope.account, envelope.region, tuple(to_update)),
    )
    if not located:
        return replace(base, reason=_why_none(notes, len(findings)))
    if len({(a, r) for a, r, _ in located}) > 1:
        # Also the places of findings that name no group: told so through their own.
        places = sorted({(a, r) for a, r, _ in located} | set(by_place), key=_place_order)
        return _split(base, places, located, by_place)
    account, region, _ = located[0]
    groups = tuple(GroupTarget(g) for g in dict.fromkeys(g for _, _, g in located))
    return replace(base, account=account, region=region, groups=groups)


Place = tuple[str | None, str | None]


def _place_order(place: Place) -> tuple[str, str]:
    return (place[0] or "", place[1] or "")


def _finding_place(finding: Node, found: list[Located], envelope: Envelope) -> Place:
    """The place of a finding: where its groups are (one place: refused otherwise), else
    its own AwsAccountId and Region, else the event's."""
    places = {(a, r) for a, r, _ in found}
    if len(places) > 1:
        listed = ", ".join(f"{a or '?'}/{r or '?'}" for a, r in sorted(places, key=_place_order))
        raise EventError(
            f"{finding.path}: one finding names groups in several accounts/regions ({listed})"
        )
    if places:
        return next(iter(places))
    account = finding.opt_id_text("AwsAccountId", check_account) or envelope.account
    region = finding.opt_id_text("Region", check_region) or envelope.region
    return (account, region)


def _split(
    base: Targets,
    places: list[Place],
    located: list[Located],
    by_place: dict[Place, list[HubFinding]],
) -> Targets:
    """One Targets per place, each with its groups and its findings (updated there)."""
    parts = []
    for place in places:
        account, region = place
        groups = tuple(
            GroupTarget(g) for g in dict.fromkeys(g for a, r, g in located if (a, r) == place)
        )
        part = replace(
            base,
            account=account,
            region=region,
            groups=groups,
            notes=(),
            securityhub=HubFindings(account, region, tuple(by_place.get(place, ()))),
        )
        if not groups:
            part = replace(part, reason=f"no {SECURITY_GROUP} resource in its findings")
        parts.append(part)
    # The event's own notes (skipped findings) stay with the whole.
    return replace(base, account=None, region=None, securityhub=None, split=tuple(parts))


def _skip_reason(finding: Node) -> str | None:
    for path, values in SKIP:
        node: Node | None = finding
        for key in path[:-1]:
            node = node.opt_node(key) if node else None
        value = node.opt_text(path[-1], limit=64) if node else None
        if value in values:
            return f"{'.'.join(path)} {value}"
    return None


def _hub_finding(finding: Node, group_ids: tuple[str, ...]) -> HubFinding | None:
    """What BatchUpdateFindings needs to know of the finding (None: it has no identifiers)."""
    finding_id = finding.opt_text("Id", limit=2048)
    product_arn = finding.opt_text("ProductArn", limit=2048)
    if finding_id is None or product_arn is None:
        return None
    workflow = finding.raw("Workflow")
    note = finding.raw("Note")
    return HubFinding(
        finding_id=finding_id,
        product_arn=product_arn,
        group_ids=group_ids,
        workflow_status=_string(workflow, "Status"),
        note_text=_string(note, "Text"),
        note_by=_string(note, "UpdatedBy"),
    )


def _string(value: object, key: str) -> str | None:
    """A string field of an optional object, else None (only ever compared, never trusted)."""
    item = value.get(key) if isinstance(value, dict) else None
    return item if isinstance(item, str) else None


def _label(finding: Node, index: int) -> str:
    return finding.opt_text("Id", limit=2048) or f"#{index}"


def _why_none(notes: list[str], count: int) -> str:
    if len(notes) == count:
        return notes[0] if count == 1 else f"all {count} findings skipped"
    return f"no {SECURITY_GROUP} resource in the findings"


def _groups(finding: Node, envelope: Envelope) -> Iterator[Located]:
    account = finding.opt_id_text("AwsAccountId", check_account) or envelope.account
    region = finding.opt_id_text("Region", check_region) or envelope.region
    for resource in finding.nodes("Resources"):
        if resource.text("Type", limit=256) != SECURITY_GROUP:
            continue
        group_id, arn = _group_id(resource)
        if arn and account and arn.group("account") != account:
            raise EventError(
                f"{resource.where('Id')}: account {arn.group('account')} is not the "
                f"finding's AwsAccountId {account}"
            )
        resource_region = resource.opt_id_text("Region", check_region) or (
            check_region(arn.group("region"), resource.where("Id")) if arn else region
        )
        yield (account or (arn.group("account") if arn else None), resource_region, group_id)


def _group_id(resource: Node) -> tuple[str, re.Match[str] | None]:
    """The group id from Details.AwsEc2SecurityGroup.GroupId or the resource's ARN (Id)."""
    details = resource.opt_node("Details")
    group = details.opt_node(SECURITY_GROUP) if details else None
    from_details = group.opt_id_text("GroupId", check_group_id) if group else None
    arn_text = resource.opt_text("Id", limit=2048)
    arn = GROUP_ARN.match(arn_text) if arn_text else None
    if arn is not None:
        from_arn = check_group_id(arn.group("group"), resource.where("Id"))
        if from_details is not None and from_details != from_arn:
            raise EventError(
                f"{resource.path}: Details GroupId {from_details} differs from Id {from_arn}"
            )
        return from_arn, arn
    if from_details is None:
        raise EventError(
            f"{resource.where('Id')}: no security group ARN "
            f"(arn:aws:ec2:<region>:<account>:security-group/sg-...) and no Details GroupId"
        )
    return from_details, None


ROUTES = tuple(
    Route("aws.securityhub", detail_type, lambda _, envelope: parse_securityhub(envelope))
    for detail_type in KINDS
)
