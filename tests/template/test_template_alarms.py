"""Issue 11, items 5 and 6 in the template: the pacing parameters reach the function, and
four alarms tell the notify topic when something needs a person, only where one is set."""

from __future__ import annotations

import re
from typing import Any

import pytest
from support.template import REPO

from egress_guard.pacing import DEFAULT_BURST, DEFAULT_RATE

ALARMS = {
    "FailureQueueAlarm": ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
    "FunctionErrorsAlarm": ("AWS/Lambda", "Errors"),
    "RevocationsFailedAlarm": ("EgressGuard", "RevocationsFailed"),
    "RevocationsHeldAlarm": ("EgressGuard", "RevocationsHeld"),
}


def _alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }


def test_the_four_alarms_and_no_other(template: dict[str, Any]) -> None:
    found = {
        name: (r["Properties"]["Namespace"], r["Properties"]["MetricName"])
        for name, r in _alarms(template).items()
    }
    assert found == ALARMS


@pytest.mark.parametrize("name", sorted(ALARMS))
def test_each_alarm_tells_the_notify_topic_only_when_it_is_set(
    template: dict[str, Any], name: str
) -> None:
    alarm = template["Resources"][name]
    assert alarm["Condition"] == "HasNotifyTopic"
    assert template["Conditions"]["HasNotifyTopic"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "NotifyTopicArn"}, ""]}]
    }
    assert alarm["Properties"]["AlarmActions"] == [{"Ref": "NotifyTopicArn"}]


@pytest.mark.parametrize("name", sorted(ALARMS))
def test_each_alarm_fires_on_anything_above_zero_and_not_on_silence(
    template: dict[str, Any], name: str
) -> None:
    properties = template["Resources"][name]["Properties"]
    assert properties["Threshold"] == 0
    assert properties["ComparisonOperator"] == "GreaterThanThreshold"
    assert properties["TreatMissingData"] == "notBreaching"
    assert properties["EvaluationPeriods"] == 1


def test_the_queue_and_function_alarms_watch_this_stacks_own(template: dict[str, Any]) -> None:
    queue = template["Resources"]["FailureQueueAlarm"]["Properties"]
    assert queue["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["FailureQueue", "QueueName"]}}
    ]
    assert queue["Statistic"] == "Maximum"
    errors = template["Resources"]["FunctionErrorsAlarm"]["Properties"]
    assert errors["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "Function"}}]
    assert errors["Statistic"] == "Sum"


@pytest.mark.parametrize("name", ["RevocationsFailedAlarm", "RevocationsHeldAlarm"])
def test_metric_alarms_watch_the_functions_own_namespace_and_service(
    template: dict[str, Any], name: str
) -> None:
    """Powertools Metrics publishes under POWERTOOLS_METRICS_NAMESPACE with the dimension
    `service` = POWERTOOLS_SERVICE_NAME: the alarm must name both exactly."""
    variables = template["Resources"]["Function"]["Properties"]["Environment"]["Variables"]
    properties = template["Resources"][name]["Properties"]
    assert properties["Namespace"] == variables["POWERTOOLS_METRICS_NAMESPACE"]
    assert properties["Dimensions"] == [
        {"Name": "service", "Value": variables["POWERTOOLS_SERVICE_NAME"]}
    ]
    assert properties["Statistic"] == "Sum"


def test_revocations_failed_is_a_metric_the_function_records() -> None:
    source = (REPO / "src" / "egress_guard" / "sinks" / "metrics.py").read_text()
    assert re.search(r'add_metric\(\s*"RevocationsFailed"', source)


def test_pacing_parameters_reach_the_function_with_the_codes_defaults(
    template: dict[str, Any],
) -> None:
    variables = template["Resources"]["Function"]["Properties"]["Environment"]["Variables"]
    assert variables["REVOKE_RATE"] == {"Ref": "RevokeRate"}
    assert variables["REVOKE_BURST"] == {"Ref": "RevokeBurst"}
    rate, burst = template["Parameters"]["RevokeRate"], template["Parameters"]["RevokeBurst"]
    assert (float(rate["Default"]), int(burst["Default"])) == (DEFAULT_RATE, DEFAULT_BURST)
    # The same bounds as the code's (settings.py): a stack cannot deploy what it refuses.
    assert (rate["Type"], rate["MinValue"], rate["MaxValue"]) == ("Number", 0, 100)
    assert (burst["Type"], burst["MinValue"], burst["MaxValue"]) == ("Number", 1, 1000)
