"""docs/event-sources.md against the published reference events of tests/reference_events/,
parsed as published: what each one targets, one row a file, and why some are refused.

A row names only the fields the case is about. The per-source files test the reference
events that parse once wrapped in an envelope or corrected (a sanitised account, a
hand-edited id); test_events_dispatch lists every reference event's outcome.
"""

from __future__ import annotations

from typing import Any

import pytest
from support.event_samples import assert_rejected, promised, reference

from egress_guard.events import parse_event
from egress_guard.targets import ConfigInvocation, ConfigResource, GroupTarget

REFERENCES: dict[str, dict[str, Any]] = {
    # --- CloudTrail
    "cloudtrail-eventbridge-authorize-ingress-sgref.kuali-cloudformation.json": {
        "reason": "ingress change (AuthorizeSecurityGroupIngress)",
    },
    "cloudtrail-record-create-security-group-terraform-2020.panther-analysis.json": {
        "groups": (GroupTarget("sg-04d018d184a18f647"),),
    },
    # --- Config: the place is the detail's, the item's, or the rule ARN's
    "config-rules-compliance-change-noncompliant-vpc.servian-aws-auto-remediate.json": {
        "reason": "resource type AWS::EC2::VPC is not a security group",
        "account": "914242778834",
        "region": "ap-southeast-2",
    },
    "config-rule-invocation-sg-change.cloud-custodian.json": {
        "groups": (GroupTarget("sg-e2fb6999"),),
        "account": "123456789012",
        "region": "eu-west-1",
    },
    # A no-op that still reports to Config, through the invocation.
    "config-rule-invocation-change-triggered-instance.aws-docs.json": {
        "reason": "resource type AWS::EC2::Instance is not a security group",
        "config": ConfigInvocation(
            "myResultToken",
            "change-triggered-config-rule",
            "2016-02-17T01:36:34.043Z",
            resource=ConfigResource("AWS::EC2::Instance", "i-00000000"),
        ),
    },
    "config-rule-invocation-oversized.aws-docs.json": {"is_noop": True, "region": "us-west-2"},
    "config-rule-invocation-scheduled.aws-docs.json": {"sweep": True, "region": "us-east-2"},
    "config-rule-invocation-snapshot-delivery-completed.aws-lambda-go.json": {
        "sweep": True,
        "account": "012345678912",
        "region": "us-east-1",
    },
    # --- Security Hub
    "securityhub-custom-action-fsbp-ec2.2-sg.asr.json": {
        "groups": (GroupTarget("sg-ab1e739b"),),
        "account": "111111111111",
        "region": "us-east-1",
    },
    "securityhub-imported-envelope-fsbp-ec2.7-account.asr.json": {
        "reason": "no AwsEc2SecurityGroup resource in the findings",
    },
    # --- schedule
    "scheduled-event.aws-docs.json": {"sweep": True},
}


@pytest.mark.parametrize(("name", "expected"), list(REFERENCES.items()), ids=list(REFERENCES))
def test_each_reference_event_targets_what_its_source_promises(
    name: str, expected: dict[str, Any]
) -> None:
    assert promised(parse_event(reference(name)), expected) == expected


REFUSED = {
    # Elastic replaced the account with 9 zeros; a real record always has 12 digits.
    "cloudtrail-record-authorize-egress.elastic-integrations.json": (
        "recipientAccountId: '000000000' is not a 12-digit"
    ),
    # The published fixtures spell the account "0123456789012"; real ones have 12 digits.
    "config-rule-invocation-change-instance-2023.powertools.json": (
        "'0123456789012' is not a 12-digit AWS account id"
    ),
    "config-rule-invocation-scheduled-2023.powertools.json": (
        "'0123456789012' is not a 12-digit AWS account id"
    ),
    # A bare ASFF finding, outside the EventBridge envelope that delivers it.
    "securityhub-finding-cis-4.1-sg.asr-simdata.json": "unrecognised event",
}


@pytest.mark.parametrize(("name", "message"), list(REFUSED.items()), ids=list(REFUSED))
def test_a_reference_event_refused_as_published_says_why(name: str, message: str) -> None:
    assert_rejected(reference(name), message)
