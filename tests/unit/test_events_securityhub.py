"""docs/event-sources.md, Security Hub: findings over EventBridge (Imported, Custom Action)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from support.event_samples import GROUP, assert_rejected, reference, sample

from egress_guard.events import parse_event
from egress_guard.targets import EventError, GroupTarget

OTHER = "sg-0123456789abcdef0"


def imported(*findings: Any) -> dict[str, Any]:
    """Bare ASFF findings as EventBridge delivers them."""
    return {
        "version": "0",
        "id": "1622bd23-7237-fdec-8fb0-a019cccfd3cb",
        "detail-type": "Security Hub Findings - Imported",
        "source": "aws.securityhub",
        "account": "111111111111",
        "time": "2022-04-19T13:49:06Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {"findings": list(findings)},
    }


def finding() -> dict[str, Any]:
    event = sample("securityhub-finding-imported.json")
    return copy.deepcopy(event["detail"]["findings"][0])


def sg_resource(group_id: str, region: str = "us-east-1", account: str = "123456789012") -> Any:
    return {
        "Type": "AwsEc2SecurityGroup",
        "Id": f"arn:aws:ec2:{region}:{account}:security-group/{group_id}",
        "Partition": "aws",
        "Region": region,
    }


# --- samples ----------------------------------------------------------------------------------


# --- which findings and resources count -----------------------------------------------------


def test_group_id_comes_from_the_arn_when_details_are_absent() -> None:
    one = finding()
    del one["Resources"][0]["Details"]
    assert parse_event(imported(one)).groups == (GroupTarget(GROUP),)


def test_each_security_group_resource_is_a_target_once() -> None:
    one, two = finding(), finding()
    two["Id"] += "-2"
    two["Resources"].append(sg_resource(OTHER))
    assert parse_event(imported(one, two)).groups == (GroupTarget(GROUP), GroupTarget(OTHER))


def test_resources_of_other_types_are_ignored() -> None:
    one = finding()
    one["Resources"].insert(0, {"Type": "AwsAccount", "Id": "AWS::::Account:123456789012"})
    assert parse_event(imported(one)).groups == (GroupTarget(GROUP),)


@pytest.mark.parametrize(
    ("path", "value", "note"),
    [
        (("RecordState",), "ARCHIVED", "RecordState ARCHIVED"),
        (("Workflow", "Status"), "SUPPRESSED", "Workflow.Status SUPPRESSED"),
        (("Workflow", "Status"), "RESOLVED", "Workflow.Status RESOLVED"),
        (("Compliance", "Status"), "PASSED", "Compliance.Status PASSED"),
    ],
)
def test_finding_that_needs_no_action_is_skipped_with_a_note(
    path: tuple[str, ...], value: str, note: str
) -> None:
    one = finding()
    node = one
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    targets = parse_event(imported(one))
    assert (targets.is_noop, targets.notes) == (True, (f"finding {one['Id']} skipped: {note}",))


def test_archived_single_finding_is_the_reason() -> None:
    one = finding()
    one["RecordState"] = "ARCHIVED"
    assert parse_event(imported(one)).reason == f"finding {one['Id']} skipped: RecordState ARCHIVED"


def test_skipped_finding_does_not_hide_an_active_one() -> None:
    archived, active = finding(), finding()
    archived.update(Id="archived", RecordState="ARCHIVED", Resources=[sg_resource(OTHER)])
    targets = parse_event(imported(archived, active))
    assert (targets.groups, targets.notes) == (
        (GroupTarget(GROUP),),
        ("finding archived skipped: RecordState ARCHIVED",),
    )


def test_findings_in_several_accounts_are_split_per_place() -> None:
    one, two = finding(), finding()
    two.update(
        Id="two",
        AwsAccountId="210987654321",
        Resources=[sg_resource(OTHER, account="210987654321")],
    )
    targets = parse_event(imported(one, two))
    places = [(t.account, t.region, t.groups) for t in targets.split]
    assert places == [
        ("123456789012", "us-east-1", (GroupTarget(GROUP),)),
        ("210987654321", "us-east-1", (GroupTarget(OTHER),)),
    ]


def test_each_place_of_a_split_event_updates_only_its_own_findings_there() -> None:
    one, two = finding(), finding()
    two.update(Id="two", Region="eu-west-1", Resources=[sg_resource(OTHER, region="eu-west-1")])
    targets = parse_event(imported(one, two))
    hubs = [
        (
            t.securityhub.account,
            t.securityhub.region,
            [f.finding_id for f in t.securityhub.findings],
        )
        for t in targets.split
        if t.securityhub is not None
    ]
    assert hubs == [
        ("123456789012", "eu-west-1", ["two"]),
        ("123456789012", "us-east-1", [one["Id"]]),
    ]


def test_a_split_event_is_no_no_op_and_keeps_its_notes_whole() -> None:
    one, two, archived = finding(), finding(), finding()
    two.update(Id="two", Resources=[sg_resource(OTHER, region="eu-west-1")])
    archived.update(Id="archived", RecordState="ARCHIVED")
    targets = parse_event(imported(one, two, archived))
    assert (targets.is_noop, targets.notes, targets.account, targets.region) == (
        False,
        ("finding archived skipped: RecordState ARCHIVED",),
        None,
        None,
    )


def test_one_finding_naming_groups_in_several_places_is_rejected() -> None:
    one = finding()
    one["Resources"] = [sg_resource(GROUP), sg_resource(OTHER, region="eu-west-1")]
    with pytest.raises(EventError, match="one finding names groups in several accounts/regions"):
        parse_event(imported(one))


# --- reference events wrapped or corrected (as published: test_events_references.py) -------


@pytest.mark.parametrize(
    ("name", "group_id"),
    [
        ("securityhub-finding-cis-4.1-sg.asr-simdata.json", "sg-47dddc34c51b4be58"),
        ("securityhub-finding-fsbp-ec2.2-default-sg-no-perms.asr-simdata.json", "sg-1234123f"),
    ],
)
def test_reference_bare_finding_in_an_envelope_targets_its_group(name: str, group_id: str) -> None:
    assert parse_event(imported(reference(name))).groups == (GroupTarget(group_id),)


def test_reference_get_findings_output_in_an_envelope_targets_its_group() -> None:
    name = "securityhub-getfindings-ec2.18-consolidated-sg.mrredhu-aws-cloud-security-baseline.json"
    findings = reference(name)["Findings"]
    targets = parse_event(imported(*findings))
    assert (targets.groups, targets.account) == (
        (GroupTarget("sg-02b31fdeef63dde30"),),
        "176087999560",
    )


# --- malformed events -----------------------------------------------------------------------


def resource_with(**fields: Any) -> dict[str, Any]:
    one = finding()
    one["Resources"][0].update(fields)
    return imported(one)


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({**imported(), "detail": {}}, "detail.findings: no findings"),
        ({**imported(), "detail": {"findings": {"0": {}}}}, "detail.findings: expected an array"),
        (imported("finding"), "detail.findings[0]: expected an object, got string"),
        (imported(*[finding()] * 1001), "detail.findings: more than 1000 items"),
        (
            resource_with(Id="arn:aws:ec2:us-east-1:123456789012:security-group/sg-../../x"),
            "Resources[0].Id: 'sg-../../x' is not a security group id",
        ),
        (
            resource_with(Details={"AwsEc2SecurityGroup": {"GroupId": OTHER}}),
            f"Details GroupId {OTHER} differs from Id {GROUP}",
        ),
        (
            resource_with(Id="arn:aws:ec2:us-east-1:210987654321:security-group/" + GROUP),
            "account 210987654321 is not the finding's AwsAccountId 123456789012",
        ),
        (resource_with(Region=["us-east-1"]), "Resources[0].Region: expected a string, got array"),
        (resource_with(Type=None), "detail.findings[0].Resources[0].Type: missing"),
        (
            {**imported(), "detail-type": "Security Hub Findings - Imported V2"},
            "is not a supported aws.securityhub event",
        ),
    ],
)
def test_malformed_security_hub_event_is_rejected_naming_the_field(
    event: dict[str, Any], message: str
) -> None:
    assert_rejected(event, message)
