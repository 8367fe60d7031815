"""docs/event-sources.md: every sample is recognised; anything else is an EventError.

Also the robustness promise of the event layer: whatever arrives (nulls, wrong types,
huge or deeply nested values), parse_event returns Targets or raises EventError, never
anything else.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.event_samples import EVENTS, REFERENCE, sample

from egress_guard.events import parse_event
from egress_guard.targets import EventError, Targets

# Every sample in events/ and the source it is recognised as (the per-source test files
# check what each one targets).
SAMPLES = {
    "cloudtrail-authorize-egress.json": "cloudtrail:AuthorizeSecurityGroupEgress",
    "cloudtrail-authorize-egress-legacy-2020.json": "cloudtrail:AuthorizeSecurityGroupEgress",
    "cloudtrail-modify-security-group-rules.json": "cloudtrail:ModifySecurityGroupRules",
    "cloudtrail-create-security-group.json": "cloudtrail:CreateSecurityGroup",
    "cloudtrail-create-vpc.json": "cloudtrail:CreateVpc",
    "cloudtrail-modify-managed-prefix-list.json": "cloudtrail:ModifyManagedPrefixList",
    "cloudtrail-failed-call.json": "cloudtrail:AuthorizeSecurityGroupEgress",
    "cloudtrail-authorize-ingress.json": "cloudtrail:AuthorizeSecurityGroupIngress",
    "config-configuration-item-change.json": "config:ConfigurationItemChange",
    "config-compliance-change-noncompliant.json": "config:ComplianceChange",
    "config-compliance-change-compliant.json": "config:ComplianceChange",
    "config-rule-invocation-change.json": "config-rule:ConfigurationItemChangeNotification",
    "config-rule-invocation-oversized.json": (
        "config-rule:OversizedConfigurationItemChangeNotification"
    ),
    "config-rule-invocation-scheduled.json": "config-rule:ScheduledNotification",
    "securityhub-finding-imported.json": "securityhub:Imported",
    "securityhub-custom-action.json": "securityhub:CustomAction",
    "scheduled-event.json": "schedule",
    "manual-revoke.json": "manual",
    "manual-revoke-ip-permissions.json": "manual",
    "sweep-place.json": "org-sweep",
}

# Every published reference event, parsed as-is: "targets", "sweep", "noop", or "rejected"
# (not an event of a supported kind, or a published fixture with a malformed id; the
# per-source tests show those parse once wrapped or corrected).
REFERENCES = {
    "cloudtrail-eventbridge-authorize-ingress-sgref.kuali-cloudformation.json": "noop",
    "cloudtrail-record-authorize-egress-terraform-2020.panther-analysis.json": "targets",
    "cloudtrail-record-authorize-egress.elastic-integrations.json": "rejected",
    "cloudtrail-record-authorize-ingress.elastic-integrations.json": "rejected",
    "cloudtrail-record-create-security-group-terraform-2020.panther-analysis.json": "targets",
    "config-rule-invocation-change-instance-2023.powertools.json": "rejected",
    "config-rule-invocation-change-triggered-instance.aws-docs.json": "noop",
    "config-rule-invocation-oversized.aws-docs.json": "noop",
    "config-rule-invocation-scheduled-2023.powertools.json": "rejected",
    "config-rule-invocation-scheduled.aws-docs.json": "sweep",
    "config-rule-invocation-sg-change.cloud-custodian.json": "targets",
    "config-rule-invocation-snapshot-delivery-completed.aws-lambda-go.json": "sweep",
    "config-rule-invokingEvent-sg-ci-v1.3.aws-config-rules-test.json": "rejected",
    "config-rules-compliance-change-noncompliant-vpc.servian-aws-auto-remediate.json": "noop",
    "config-sns-compliance-change-account.aws-docs.json": "rejected",
    "config-sns-configuration-item-change-sg-created.aws-docs.json": "rejected",
    "scheduled-event.aws-docs.json": "sweep",
    "securityhub-custom-action-fsbp-ec2.2-sg.asr.json": "targets",
    "securityhub-finding-cis-4.1-sg.asr-simdata.json": "rejected",
    "securityhub-finding-fsbp-ec2.2-default-sg-no-perms.asr-simdata.json": "rejected",
    "securityhub-getfindings-ec2.18-consolidated-sg.mrredhu-aws-cloud-security-baseline.json": (
        "rejected"
    ),
    "securityhub-imported-envelope-fsbp-ec2.7-account.asr.json": "noop",
}


def outcome(event: Any) -> str:
    try:
        targets = parse_event(event)
    except EventError:
        return "rejected"
    if targets.sweep:
        return "sweep"
    return "targets" if targets.groups else "noop"


# --- every sample, every reference event ----------------------------------------------------


def test_every_sample_in_events_is_listed_here() -> None:
    assert sorted(p.name for p in EVENTS.glob("*.json")) == sorted(SAMPLES)


@pytest.mark.parametrize(("name", "source"), sorted(SAMPLES.items()))
def test_sample_is_recognised_as_its_source(name: str, source: str) -> None:
    assert parse_event(sample(name)).source == source


def test_every_reference_event_is_listed_here() -> None:
    assert sorted(p.name for p in REFERENCE.glob("*.json")) == sorted(REFERENCES)


@pytest.mark.parametrize(("name", "expected"), sorted(REFERENCES.items()))
def test_reference_event_as_published(name: str, expected: str) -> None:
    assert outcome(json.loads((REFERENCE / name).read_text())) == expected


# --- unrecognised shapes --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (
            {},
            "unrecognised event: expected an EventBridge event (source, detail-type, detail), a "
            "CloudTrail record (eventSource, eventName), a Config rule invocation",
        ),
        ({"Records": []}, "got keys ['Records']"),
        ({1: 2, None: 3}, "got keys [1, None]"),
        ([], "unrecognised event"),
        (None, "unrecognised event"),
        ("{}", "unrecognised event"),
        ({"Type": "Notification", "Message": "{}"}, "an SNS notification is not supported"),
        (
            {"source": "aws.s3", "detail-type": "Object Created", "detail": {}},
            "unsupported EventBridge event: source 'aws.s3', detail-type 'Object Created'",
        ),
        (
            {"source": "aws.ec2", "detail-type": "EC2 Instance State-change", "detail": {}},
            "unsupported EventBridge event: source 'aws.ec2'",
        ),
        (
            {"source": "aws.events", "detail-type": 5, "detail": {}},
            "detail-type: expected a string",
        ),
        ({"source": "aws.events", "detail-type": "Scheduled Event"}, "detail: missing"),
        (
            {"eventSource": "iam.amazonaws.com", "eventName": "CreateUser"},
            "eventSource: 'iam.amazonaws.com', expected 'ec2.amazonaws.com'",
        ),
    ],
)
def test_unrecognised_event_is_rejected_saying_what_was_expected(event: Any, message: str) -> None:
    with pytest.raises(EventError) as raised:
        parse_event(event)
    assert message in str(raised.value)


def test_error_lists_only_the_first_keys_of_a_huge_object() -> None:
    event = {f"k{i}": i for i in range(10_000)}
    with pytest.raises(EventError) as raised:
        parse_event(event)
    assert len(str(raised.value)) < 1000


def test_error_quoting_a_huge_value_stays_short() -> None:
    event = sample("cloudtrail-authorize-egress.json")
    event["detail"]["requestParameters"]["groupId"] = "sg-" + "x" * 1_000_000
    with pytest.raises(EventError) as raised:
        parse_event(event)
    assert len(str(raised.value)) < 300


# --- robustness: only Targets or EventError ever comes out -------------------------------

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.sampled_from(["", "sg-0f1e2d3c4b5a69780", "sgr-0aa11bb22cc33dd44", "-1", "tcp", "{}"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path into a JSON value, the root included."""
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from paths(child, (*prefix, index))


def replaced(event: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    out = copy.deepcopy(event)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


def mutations(event: Any) -> st.SearchStrategy[Any]:
    return st.tuples(st.sampled_from(list(paths(event))), JSON).map(
        lambda pv: replaced(event, pv[0], pv[1])
    )


def invocation_mutations(event: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Mutations inside a Config invocation's invokingEvent string."""
    payload = json.loads(event["invokingEvent"])
    return mutations(payload).map(lambda p: {**event, "invokingEvent": json.dumps(p)})


def assert_targets_or_event_error(event: Any) -> None:
    try:
        targets = parse_event(event)
    except EventError:
        return
    assert isinstance(targets, Targets)
    # A no-op always says why; a target never carries a no-op reason.
    assert (targets.reason is not None) == targets.is_noop


FUZZ = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)


@pytest.mark.parametrize("name", sorted(SAMPLES))
@FUZZ
@given(data=st.data())
def test_mutated_sample_gives_targets_or_event_error(name: str, data: st.DataObject) -> None:
    assert_targets_or_event_error(data.draw(mutations(sample(name))))


@pytest.mark.parametrize(
    "name",
    [
        "config-rule-invocation-change.json",
        "config-rule-invocation-oversized.json",
        "config-rule-invocation-scheduled.json",
    ],
)
@FUZZ
@given(data=st.data())
def test_mutated_invoking_event_gives_targets_or_event_error(
    name: str, data: st.DataObject
) -> None:
    assert_targets_or_event_error(data.draw(invocation_mutations(sample(name))))


KEYS = st.sampled_from(
    [
        "source",
        "detail-type",
        "detail",
        "account",
        "region",
        "id",
        "eventSource",
        "eventName",
        "invokingEvent",
        "resultToken",
        "GroupId",
        "SecurityGroupRuleIds",
        "IpPermissions",
        "DryRun",
        "Type",
        "Message",
    ]
)


@FUZZ
@given(event=st.dictionaries(KEYS, JSON) | JSON)
def test_arbitrary_json_gives_targets_or_event_error(event: Any) -> None:
    assert_targets_or_event_error(event)


@pytest.mark.parametrize(
    "value",
    [
        [[[[[[[[[[]]]]]]]]]],
        {"a": {"a": {"a": {"a": {"a": {}}}}}},
        ["x"] * 100_000,
        "x" * 10_000_000,
        2**200,
        float("inf"),
    ],
    ids=["nested-list", "nested-object", "huge-list", "huge-string", "huge-int", "inf"],
)
def test_hostile_value_anywhere_in_a_sample_gives_targets_or_event_error(value: Any) -> None:
    for name in sorted(SAMPLES):
        event = sample(name)
        for path in list(paths(event))[1:]:
            assert_targets_or_event_error(replaced(event, path, value))
