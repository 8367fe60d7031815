"""docs/event-sources.md, Config: item and compliance changes, custom-rule invocations."""

from __future__ import annotations

import json
from typing import Any

import pytest
from support.event_samples import (
    DELETE,
    GROUP,
    Refused,
    changed,
    reference,
    sample,
)

from egress_guard.events import parse_event
from egress_guard.targets import ConfigInvocation, ConfigResource, EventError, GroupTarget


def invoking(event: dict[str, Any]) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(event["invokingEvent"])
    return decoded


def with_invoking(event: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    return {**event, "invokingEvent": json.dumps(payload)}


def eventbridge(detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6",
        "detail-type": detail_type,
        "source": "aws.config",
        "account": "123456789012",
        "time": "2017-01-09T22:50:16Z",
        "region": "us-east-2",
        "resources": [],
        "detail": detail,
    }


# --- EventBridge "Config Configuration Item Change" ------------------------------------------


@pytest.mark.parametrize(
    ("name", "path", "value", "reason"),
    [
        pytest.param(
            "config-configuration-item-change.json",
            ("detail", "configurationItem", "resourceType"),
            "AWS::EC2::VPC",
            "resource type AWS::EC2::VPC is not a security group",
            id="item-change-for-another-resource-type",
        ),
        pytest.param(
            "config-compliance-change-noncompliant.json",
            ("detail", "newEvaluationResult", "complianceType"),
            "NOT_APPLICABLE",
            "compliance type NOT_APPLICABLE",
            id="compliance-change-not-applicable",
        ),
    ],
)
def test_a_change_not_about_a_noncompliant_group_is_a_noop_saying_why(
    name: str, path: tuple[str, ...], value: str, reason: str
) -> None:
    assert parse_event(changed(sample(name), path, value)).reason == reason


@pytest.mark.parametrize("status", ["ResourceDeleted", "ResourceDeletedNotRecorded"])
def test_item_change_for_a_deleted_group_is_a_noop(status: str) -> None:
    event = sample("config-configuration-item-change.json")
    item = event["detail"]["configurationItem"]
    item.update(configurationItemStatus=status, configuration=None)
    assert parse_event(event).reason == f"group {GROUP} deleted ({status})"


def test_oversized_item_change_targets_the_group_from_the_summary() -> None:
    event = sample("config-configuration-item-change.json")
    detail = event["detail"]
    summary = {k: v for k, v in detail.pop("configurationItem").items() if k != "configuration"}
    detail.update(
        messageType="OversizedConfigurationItemChangeNotification",
        configurationItemSummary=summary,
    )
    assert parse_event(event).groups == (GroupTarget(GROUP),)


def test_reference_docs_sg_created_message_as_eventbridge_detail_targets_the_group() -> None:
    # The SNS Message is the same object as the EventBridge detail (FORMATS.md section 4).
    sns = reference("config-sns-configuration-item-change-sg-created.aws-docs.json")
    targets = parse_event(eventbridge("Config Configuration Item Change", sns["Message"]))
    assert (targets.groups, targets.region) == ((GroupTarget("sg-3f1fef43"),), "us-east-2")


# --- EventBridge "Config Rules Compliance Change" --------------------------------------------


def test_compliant_group_is_a_noop() -> None:
    targets = parse_event(sample("config-compliance-change-compliant.json"))
    assert (targets.is_noop, targets.reason) == (True, "compliant")


def test_compliance_change_takes_the_group_from_the_qualifier_when_detail_has_none() -> None:
    event = changed(
        sample("config-compliance-change-noncompliant.json"), ("detail", "resourceId"), DELETE
    )
    assert parse_event(event).groups == (GroupTarget(GROUP),)


def test_reference_docs_account_compliance_as_eventbridge_detail_is_a_noop() -> None:
    sns = reference("config-sns-compliance-change-account.aws-docs.json")
    targets = parse_event(eventbridge("Config Rules Compliance Change", sns["Message"]))
    assert targets.reason == "resource type AWS::::Account is not a security group"


# --- Config custom-rule invocations --------------------------------------------------------


def test_change_invocation_carries_what_put_evaluations_needs() -> None:
    event = sample("config-rule-invocation-change.json")
    assert parse_event(event).config == ConfigInvocation(
        result_token=event["resultToken"],
        rule_name="egress-guard",
        ordering_timestamp="2025-03-04T09:15:43.000Z",
        left_scope=False,
        resource=ConfigResource("AWS::EC2::SecurityGroup", GROUP),
    )


def test_scheduled_invocation_orders_evaluations_by_the_notification_time() -> None:
    targets = parse_event(sample("config-rule-invocation-scheduled.json"))
    assert targets.config is not None
    assert targets.config.ordering_timestamp == "2025-03-04T12:00:00.741Z"


def test_invocation_for_a_resource_that_left_scope_is_a_noop_to_report() -> None:
    event = changed(sample("config-rule-invocation-change.json"), ("eventLeftScope",), True)
    targets = parse_event(event)
    assert (targets.is_noop, targets.config and targets.config.left_scope) == (True, True)


def test_invocation_for_a_deleted_group_is_a_noop_to_report() -> None:
    event = sample("config-rule-invocation-change.json")
    payload = invoking(event)
    payload["configurationItem"].update(
        configurationItemStatus="ResourceDeleted", configuration=None
    )
    targets = parse_event(with_invoking(event, payload))
    assert (targets.is_noop, targets.config is not None) == (True, True)


def test_invocation_without_rule_parameters_is_accepted() -> None:
    event = changed(sample("config-rule-invocation-change.json"), ("ruleParameters",), DELETE)
    assert parse_event(event).groups == (GroupTarget(GROUP),)


def test_invocation_takes_the_region_from_the_rule_arn_when_the_item_has_none() -> None:
    event = sample("config-rule-invocation-change.json")
    payload = invoking(event)
    del payload["configurationItem"]["awsRegion"]
    event["configRuleArn"] = "arn:aws:config:eu-west-3:123456789012:config-rule/config-rule-x"
    assert parse_event(with_invoking(event, payload)).region == "eu-west-3"


def test_reference_powertools_scheduled_invocation_with_a_real_account_sweeps() -> None:
    event = reference("config-rule-invocation-scheduled-2023.powertools.json")
    text = json.dumps(event).replace("0123456789012", "123456789012")
    targets = parse_event(json.loads(text))
    assert (targets.sweep, targets.config and targets.config.rule_name) == (True, "rule-ec2-test")


def test_reference_powertools_instance_invocation_with_a_real_account_is_a_noop() -> None:
    event = reference("config-rule-invocation-change-instance-2023.powertools.json")
    text = json.dumps(event).replace("0123456789012", "123456789012")
    config = parse_event(json.loads(text)).config
    assert getattr(config, "resource", None) == ConfigResource(
        "AWS::EC2::Instance", "i-042dd005362091826"
    )


def test_reference_aws_config_rules_invoking_event_is_rejected_for_its_group_id() -> None:
    # Only an invokingEvent payload, hand-edited in the test it came from ("sg-01").
    payload = reference("config-rule-invokingEvent-sg-ci-v1.3.aws-config-rules-test.json")
    event = with_invoking(sample("config-rule-invocation-change.json"), payload)
    with pytest.raises(EventError, match=r"invokingEvent\.configurationItem\.resourceId: 'sg-01'"):
        parse_event(event)


def test_reference_aws_config_rules_invoking_event_with_a_real_id_targets_the_group() -> None:
    payload = reference("config-rule-invokingEvent-sg-ci-v1.3.aws-config-rules-test.json")
    payload["configurationItem"]["resourceId"] = "sg-005ce5b72094fba04"
    targets = parse_event(with_invoking(sample("config-rule-invocation-change.json"), payload))
    assert (targets.groups, targets.region) == (
        (GroupTarget("sg-005ce5b72094fba04"),),
        "ap-south-1",
    )


# --- malformed events -----------------------------------------------------------------------

INVOCATION = "config-rule-invocation-change.json"
ITEM = "config-configuration-item-change.json"
NONCOMPLIANT = "config-compliance-change-noncompliant.json"


CHANGED = [
    Refused(INVOCATION, ("invokingEvent",), "{not json", "invokingEvent: not valid JSON"),
    Refused(
        INVOCATION, ("invokingEvent",), "[1, 2]", "invokingEvent: expected an object, got array"
    ),
    Refused(
        INVOCATION,
        ("invokingEvent",),
        "[" * 100_000 + "]" * 100_000,
        "invokingEvent: not valid JSON",
    ),
    Refused(
        INVOCATION, ("invokingEvent",), {"messageType": "x"}, "invokingEvent: expected a string"
    ),
    Refused(INVOCATION, ("resultToken",), DELETE, "resultToken: missing"),
    Refused(INVOCATION, ("configRuleName",), 7, "configRuleName: expected a string, got number"),
    Refused(INVOCATION, ("eventLeftScope",), "false", "eventLeftScope: expected true or false"),
    Refused(
        INVOCATION, ("accountId",), "12345678901x", "accountId: '12345678901x' is not a 12-digit"
    ),
    Refused(ITEM, ("detail", "configurationItem"), None, "detail.configurationItem: missing"),
    Refused(
        ITEM,
        ("detail", "configurationItem", "resourceId"),
        "sg-../../x",
        "detail.configurationItem.resourceId: 'sg-../../x' is not a security group id",
    ),
    Refused(
        ITEM,
        ("detail", "configurationItem", "resourceType"),
        ["AWS::EC2::SecurityGroup"],
        "detail.configurationItem.resourceType: expected a string, got array",
    ),
    Refused(
        ITEM,
        ("detail", "configurationItem", "configurationItemCaptureTime"),
        "yesterday",
        "configurationItemCaptureTime: 'yesterday' is not an ISO 8601 timestamp",
    ),
    Refused(ITEM, ("detail-type",), "Config Something Else", "not a supported aws.config event"),
    Refused(
        NONCOMPLIANT,
        ("detail", "newEvaluationResult"),
        DELETE,
        "detail.newEvaluationResult: missing",
    ),
    Refused(
        NONCOMPLIANT,
        ("detail", "resourceId"),
        "vpc-00daeeb328891ac24",
        "detail.resourceId: 'vpc-00daeeb328891ac24' is not a security group id",
    ),
]


@pytest.mark.parametrize("refused", CHANGED, ids=str)
def test_malformed_config_event_is_rejected_naming_the_field(refused: Refused) -> None:
    refused.check()


def test_invocation_of_an_unknown_message_type_is_rejected() -> None:
    event = sample(INVOCATION)
    payload = {**invoking(event), "messageType": "SomethingNew"}
    with pytest.raises(EventError, match=r"invokingEvent\.messageType: 'SomethingNew' is not one"):
        parse_event(with_invoking(event, payload))


def test_invocation_without_any_timestamp_is_rejected() -> None:
    event = sample("config-rule-invocation-scheduled.json")
    payload = invoking(event)
    del payload["notificationCreationTime"]
    with pytest.raises(EventError, match=r"invokingEvent\.notificationCreationTime: missing"):
        parse_event(with_invoking(event, payload))
