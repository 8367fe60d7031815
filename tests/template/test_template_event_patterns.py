"""The EventBridge patterns of template.yaml, run against sample events by real pattern
matchers, not by code written here.

Two matchers from moto (a pinned dev dependency), each with known limits, so that every case
runs on at least one of them:

- ``moto-events``: ``moto.events.models.EventPattern``, the matcher behind moto's EventBridge
  emulation. Handles exact values, ``exists``, ``prefix``, ``anything-but``, ``numeric`` and
  ``$or``, but does not descend into arrays of objects, so it cannot judge the Security Hub
  pattern (``detail.findings[].Resources[].Type``). (moto's public ``TestEventPattern`` API
  is a stub and is not used.)
- ``moto-sns``: ``moto.sns.utils.FilterPolicyMatcher`` on the message body. SNS payload
  filter policies share EventBridge's pattern language and its array rule (a field inside an
  array matches when any element matches), and this matcher descends into arrays of
  objects; it does not know ``$or``, so it cannot judge the Config item-change pattern.

``event-ruler`` (PyPI; Go's quamina behind a Python binding, 0.3.0 of 2023) was tried and
dropped: it rejects ``$or`` and raises on ordinary payloads (a Security Hub finding with
``FindingProviderFields``), and its only wheel is CPython 3.11 on Linux x86_64.

Sample events come from tests/reference_events (published, real events); the shapes for
which no genuine sample exists (ModifySecurityGroupRules, the function's own
RevokeSecurityGroupEgress) are derived from a real AuthorizeSecurityGroupEgress record,
changing only what the call changes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from moto.events.models import EventPattern
from moto.sns.utils import FilterPolicyMatcher

Event = dict[str, Any]
Matcher = Callable[[dict[str, Any], Event], bool]

CLOUDTRAIL = "AWS API Call via CloudTrail"
IMPORTED = "Security Hub Findings - Imported"
# What the template's own resources resolve to in a deployed stack (account 111111111111,
# that of the reference events): the custom action's ARN is made of its Id.
OWN_ACTION = "arn:aws:securityhub:us-east-1:111111111111:action/custom/EgressGuard"
RESOLVED = {("SecurityHubActionTarget", "ActionTargetArn"): OWN_ACTION}


def _moto_events(pattern: dict[str, Any], event: Event) -> bool:
    return bool(EventPattern.load(json.dumps(pattern)).matches_event(event))


def _moto_sns(pattern: dict[str, Any], event: Event) -> bool:
    return FilterPolicyMatcher(pattern, "MessageBody").matches(None, json.dumps(event))


MATCHERS: dict[str, Matcher] = {"moto-events": _moto_events, "moto-sns": _moto_sns}

# What each matcher cannot judge, by rule: those combinations are not generated.
LIMITS = {
    (
        "SecurityHubRule",
        "moto-events",
    ): "moto's EventPattern does not descend into arrays of objects",
    ("ConfigItemChangeRule", "moto-sns"): "moto's SNS filter-policy matcher does not know $or",
}


class Samples:
    """Builds the events of the cases below; one method per case id."""

    def __init__(self, load: Callable[[str], Event], envelope: Callable[..., Event]) -> None:
        self.load = load
        self.envelope = envelope

    # -- CloudTrail via EventBridge -------------------------------------------------------

    def _cloudtrail(self, record: dict[str, Any], source: str = "aws.ec2") -> Event:
        return self.envelope(
            source,
            CLOUDTRAIL,
            record,
            account=record["recipientAccountId"],
            region=record["awsRegion"],
            time=record["eventTime"],
        )

    def _egress_record(self) -> dict[str, Any]:
        return self.load("cloudtrail-record-authorize-egress.elastic-integrations.json")

    @staticmethod
    def _failed(record: dict[str, Any]) -> dict[str, Any]:
        record["errorCode"] = "Client.UnauthorizedOperation"
        record["errorMessage"] = "You are not authorized to perform this operation."
        record["responseElements"] = None
        return record

    def authorize_egress(self) -> Event:
        return self._cloudtrail(self._egress_record())

    def _trail(self, name: str) -> Event:
        """The CloudTrail record in file `name`, as EventBridge carries it."""
        return self._cloudtrail(self.load(name))

    def authorize_egress_2020(self) -> Event:
        return self._trail(
            "cloudtrail-record-authorize-egress-terraform-2020.panther-analysis.json"
        )

    def create_group(self) -> Event:
        return self._trail(
            "cloudtrail-record-create-security-group-terraform-2020.panther-analysis.json"
        )

    def _modify_record(self) -> dict[str, Any]:
        # No genuine sample exists; the request shape is the one FORMATS.md section 2c cites.
        record = self._egress_record()
        rule = record["responseElements"]["securityGroupRuleSet"]["items"][0]
        record["eventName"] = "ModifySecurityGroupRules"
        record["requestParameters"] = {
            "ModifySecurityGroupRulesRequest": {
                "GroupId": rule["groupId"],
                "SecurityGroupRule": {
                    "SecurityGroupRuleId": rule["securityGroupRuleId"],
                    "SecurityGroupRule": {
                        "IpProtocol": "tcp",
                        "FromPort": 25,
                        "ToPort": 25,
                        "CidrIpv4": "0.0.0.0/0",
                    },
                    "tag": 1,
                },
            }
        }
        record["responseElements"] = {
            "ModifySecurityGroupRulesResponse": {
                "requestId": record["requestID"],
                "return": True,
            }
        }
        return record

    def modify_rules(self) -> Event:
        return self._cloudtrail(self._modify_record())

    def _create_vpc_record(self) -> dict[str, Any]:
        # No genuine sample in shared/; the response shape is the one published CreateVpc
        # records show (responseElements.vpc.vpcId).
        record = self._egress_record()
        record["eventName"] = "CreateVpc"
        record["requestParameters"] = {"cidrBlock": "10.20.0.0/16", "instanceTenancy": "default"}
        record["responseElements"] = {
            "requestId": record["requestID"],
            "vpc": {
                "vpcId": "vpc-0a1b2c3d4e5f67890",
                "state": "pending",
                "cidrBlock": "10.20.0.0/16",
                "isDefault": False,
            },
        }
        return record

    def create_vpc(self) -> Event:
        return self._cloudtrail(self._create_vpc_record())

    def create_vpc_failed(self) -> Event:
        return self._cloudtrail(self._failed(self._create_vpc_record()))

    def _modify_prefix_list_record(self) -> dict[str, Any]:
        # No genuine sample exists: newer EC2 calls are recorded with the request wrapped,
        # as ModifySecurityGroupRules is.
        record = self._egress_record()
        record["eventName"] = "ModifyManagedPrefixList"
        record["requestParameters"] = {
            "ModifyManagedPrefixListRequest": {
                "PrefixListId": "pl-0123456789abcdef0",
                "CurrentVersion": 3,
                "AddEntry": {"Cidr": "0.0.0.0/0", "tag": 1},
            }
        }
        record["responseElements"] = {
            "ModifyManagedPrefixListResponse": {
                "requestId": record["requestID"],
                "prefixList": {"prefixListId": "pl-0123456789abcdef0", "version": 3},
            }
        }
        return record

    def modify_prefix_list(self) -> Event:
        return self._cloudtrail(self._modify_prefix_list_record())

    def modify_prefix_list_failed(self) -> Event:
        return self._cloudtrail(self._failed(self._modify_prefix_list_record()))

    def _own_read(self, name: str, request: dict[str, Any]) -> Event:
        """A read the function makes, as CloudTrail records it (if reads reach EventBridge)."""
        record = self._egress_record()
        record["eventName"] = name
        record["readOnly"] = True
        record["requestParameters"] = request
        record["responseElements"] = None
        return self._cloudtrail(record)

    def prefix_list_associations_own_call(self) -> Event:
        return self._own_read(
            "GetManagedPrefixListAssociations", {"PrefixListId": "pl-0123456789abcdef0"}
        )

    def describe_groups_own_call(self) -> Event:
        return self._own_read(
            "DescribeSecurityGroups",
            {"filterSet": {"items": [{"name": "vpc-id"}, {"name": "group-name"}]}},
        )

    def _renamed(self, record: dict[str, Any], event_name: str) -> Event:
        """`record` as if the call had been `event_name` (same request shape)."""
        record["eventName"] = event_name
        return self._cloudtrail(record)

    def create_default_vpc(self) -> Event:
        return self._renamed(self._create_vpc_record(), "CreateDefaultVpc")

    def create_prefix_list(self) -> Event:
        return self._renamed(self._modify_prefix_list_record(), "CreateManagedPrefixList")

    def authorize_egress_failed(self) -> Event:
        return self._cloudtrail(self._failed(self._egress_record()))

    def modify_rules_failed(self) -> Event:
        return self._cloudtrail(self._failed(self._modify_record()))

    def create_group_failed(self) -> Event:
        record = self.load(
            "cloudtrail-record-create-security-group-terraform-2020.panther-analysis.json"
        )
        return self._cloudtrail(self._failed(record))

    def authorize_ingress(self) -> Event:
        return self._trail("cloudtrail-record-authorize-ingress.elastic-integrations.json")

    def authorize_ingress_eventbridge(self) -> Event:
        # A genuine EventBridge delivery (envelope included).
        return self.load("cloudtrail-eventbridge-authorize-ingress-sgref.kuali-cloudformation.json")

    def revoke_egress_own_call(self) -> Event:
        """What CloudTrail records for the function's own revocation of the egress rule."""
        record = self._egress_record()
        rule = record["responseElements"]["securityGroupRuleSet"]["items"][0]
        record["eventName"] = "RevokeSecurityGroupEgress"
        record["userIdentity"] = {
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLE:egress-guard-Function-abc123",
            "arn": f"arn:aws:sts::{record['recipientAccountId']}:assumed-role/"
            "egress-guard-FunctionRole-abc123/egress-guard-Function-abc123",
            "accountId": record["recipientAccountId"],
        }
        record["userAgent"] = (
            "Boto3/1.44.8 md/Botocore#1.44.8 ua/2.1 os/linux exec-env/AWS_Lambda_python3.13"
        )
        record["requestParameters"] = {
            "groupId": rule["groupId"],
            "securityGroupRuleIds": {
                "items": [{"securityGroupRuleId": rule["securityGroupRuleId"]}]
            },
        }
        record["responseElements"] = {
            "requestId": record["requestID"],
            "_return": True,
            "revokedSecurityGroupRuleSet": {"items": [rule]},
        }
        return self._cloudtrail(record)

    def delete_group(self) -> Event:
        record = self.load(
            "cloudtrail-record-create-security-group-terraform-2020.panther-analysis.json"
        )
        record["eventName"] = "DeleteSecurityGroup"
        record["requestParameters"] = {"groupId": record["responseElements"]["groupId"]}
        record["responseElements"] = {"requestId": record["requestID"], "_return": True}
        return self._cloudtrail(record)

    def authorize_egress_custom_source(self) -> Event:
        # PutEvents cannot use an aws.* source, so this is what a forged event looks like.
        return self._cloudtrail(self._egress_record(), source="custom.egress-guard")

    def scheduled(self) -> Event:
        return self.load("scheduled-event.aws-docs.json")

    # -- AWS Config via EventBridge -------------------------------------------------------

    def _item_change(self, detail: dict[str, Any]) -> Event:
        return self.envelope("aws.config", "Config Configuration Item Change", detail)

    def _invoking_event(self, name: str) -> dict[str, Any]:
        invoking: dict[str, Any] = json.loads(self.load(name)["invokingEvent"])
        return invoking

    def config_item_sg_created(self) -> Event:
        # The docs print the SNS Message as an object; it is the EventBridge detail.
        return self._item_change(
            self.load("config-sns-configuration-item-change-sg-created.aws-docs.json")["Message"]
        )

    def config_item_sg_v13(self) -> Event:
        return self._item_change(
            self.load("config-rule-invokingEvent-sg-ci-v1.3.aws-config-rules-test.json")
        )

    def _invoked(self, name: str) -> Event:
        """The configuration item of a Config rule invocation, as EventBridge carries it."""
        return self._item_change(self._invoking_event(name))

    def config_item_sg_custodian(self) -> Event:
        return self._invoked("config-rule-invocation-sg-change.cloud-custodian.json")

    def config_item_instance(self) -> Event:
        return self._invoked("config-rule-invocation-change-triggered-instance.aws-docs.json")

    def config_oversized_instance(self) -> Event:
        return self._invoked("config-rule-invocation-oversized.aws-docs.json")

    def config_oversized_sg(self) -> Event:
        detail = self._invoking_event("config-rule-invocation-oversized.aws-docs.json")
        summary = detail["configurationItemSummary"]
        summary["resourceType"] = "AWS::EC2::SecurityGroup"
        summary["resourceId"] = "sg-038ccc3a1f7b05f42"
        return self._item_change(detail)

    def _compliance(self, resource_type: str, compliance: str) -> Event:
        event: Event = self.load(
            "config-rules-compliance-change-noncompliant-vpc.servian-aws-auto-remediate.json"
        )
        detail = event["detail"]
        detail["resourceType"] = resource_type
        detail["newEvaluationResult"]["evaluationResultIdentifier"]["evaluationResultQualifier"][
            "resourceType"
        ] = resource_type
        detail["newEvaluationResult"]["complianceType"] = compliance
        return event

    def compliance_vpc_noncompliant(self) -> Event:
        return self._compliance("AWS::EC2::VPC", "NON_COMPLIANT")

    def compliance_sg_noncompliant(self) -> Event:
        return self._compliance("AWS::EC2::SecurityGroup", "NON_COMPLIANT")

    def compliance_sg_compliant(self) -> Event:
        return self._compliance("AWS::EC2::SecurityGroup", "COMPLIANT")

    def compliance_account_docs(self) -> Event:
        message = self.load("config-sns-compliance-change-account.aws-docs.json")["Message"]
        return self.envelope("aws.config", "Config Rules Compliance Change", message)

    # -- Security Hub via EventBridge -----------------------------------------------------

    def _imported(self, finding: dict[str, Any]) -> Event:
        event: Event = self.load("securityhub-imported-envelope-fsbp-ec2.7-account.asr.json")
        event["detail"]["findings"] = [finding]
        return event

    def _sg_finding(self) -> dict[str, Any]:
        return self.load("securityhub-finding-cis-4.1-sg.asr-simdata.json")

    def securityhub_account_finding(self) -> Event:
        return self.load("securityhub-imported-envelope-fsbp-ec2.7-account.asr.json")

    def securityhub_sg_cis(self) -> Event:
        return self._imported(self._sg_finding())

    def securityhub_sg_fsbp_no_permissions(self) -> Event:
        return self._imported(
            self.load("securityhub-finding-fsbp-ec2.2-default-sg-no-perms.asr-simdata.json")
        )

    def securityhub_sg_consolidated(self) -> Event:
        findings = self.load(
            "securityhub-getfindings-ec2.18-consolidated-sg.mrredhu-aws-cloud-security-baseline.json"
        )["Findings"]
        return self._imported(findings[0])

    def securityhub_custom_action(self) -> Event:
        return self.load("securityhub-custom-action-fsbp-ec2.2-sg.asr.json")

    def securityhub_custom_action_as_imported(self) -> Event:
        event = self.securityhub_custom_action()
        event["detail-type"] = IMPORTED
        del event["detail"]["actionName"], event["detail"]["actionDescription"]
        return event

    def securityhub_custom_action_ours(self) -> Event:
        event = self.securityhub_custom_action()
        event["resources"] = [OWN_ACTION]
        return event

    def securityhub_custom_action_ours_as_imported(self) -> Event:
        event = self.securityhub_custom_action_as_imported()
        event["resources"] = [OWN_ACTION]
        return event

    def _sg_in_workflow(self, status: str) -> Event:
        finding = self._sg_finding()
        finding["Workflow"]["Status"] = status
        return self._imported(finding)

    def securityhub_sg_resolved(self) -> Event:
        return self._sg_in_workflow("RESOLVED")

    def securityhub_sg_suppressed(self) -> Event:
        return self._sg_in_workflow("SUPPRESSED")

    def securityhub_sg_archived(self) -> Event:
        finding = self._sg_finding()
        finding["RecordState"] = "ARCHIVED"
        return self._imported(finding)

    def securityhub_sg_passed(self) -> Event:
        finding = self._sg_finding()
        finding["Compliance"]["Status"] = "PASSED"
        return self._imported(finding)


# (rule, case, matches)
CASES = [
    # The three changes that can add or widen an egress rule.
    ("CloudTrailRule", "authorize_egress", True),
    ("CloudTrailRule", "authorize_egress_2020", True),
    ("CloudTrailRule", "modify_rules", True),
    ("CloudTrailRule", "create_group", True),
    ("CloudTrailRule", "create_vpc", True),
    ("CloudTrailRule", "modify_prefix_list", True),
    # Failed calls changed nothing.
    ("CloudTrailRule", "authorize_egress_failed", False),
    ("CloudTrailRule", "modify_rules_failed", False),
    ("CloudTrailRule", "create_group_failed", False),
    ("CloudTrailRule", "create_vpc_failed", False),
    ("CloudTrailRule", "modify_prefix_list_failed", False),
    # Neighbours of the new names that add no egress rule: no invocation.
    ("CloudTrailRule", "create_default_vpc", False),
    ("CloudTrailRule", "create_prefix_list", False),
    # Ingress is never the function's business.
    ("CloudTrailRule", "authorize_ingress", False),
    ("CloudTrailRule", "authorize_ingress_eventbridge", False),
    # The function's own writes must never trigger it again (docs/invariants.md).
    ("CloudTrailRule", "revoke_egress_own_call", False),
    ("CloudTrailRule", "delete_group", False),
    ("CloudTrailRule", "prefix_list_associations_own_call", False),
    ("CloudTrailRule", "describe_groups_own_call", False),
    # Other sources.
    ("CloudTrailRule", "authorize_egress_custom_source", False),
    ("CloudTrailRule", "scheduled", False),
    ("CloudTrailRule", "config_item_sg_created", False),
    ("CloudTrailRule", "securityhub_sg_cis", False),
    # Config configuration items.
    ("ConfigItemChangeRule", "config_item_sg_created", True),
    ("ConfigItemChangeRule", "config_item_sg_v13", True),
    ("ConfigItemChangeRule", "config_item_sg_custodian", True),
    ("ConfigItemChangeRule", "config_oversized_sg", True),
    ("ConfigItemChangeRule", "config_item_instance", False),
    ("ConfigItemChangeRule", "config_oversized_instance", False),
    ("ConfigItemChangeRule", "compliance_sg_noncompliant", False),
    ("ConfigItemChangeRule", "authorize_egress", False),
    # Config compliance changes.
    ("ConfigComplianceRule", "compliance_sg_noncompliant", True),
    ("ConfigComplianceRule", "compliance_sg_compliant", False),
    ("ConfigComplianceRule", "compliance_vpc_noncompliant", False),
    ("ConfigComplianceRule", "compliance_account_docs", False),
    ("ConfigComplianceRule", "config_item_sg_created", False),
    # Security Hub.
    ("SecurityHubRule", "securityhub_sg_cis", True),
    ("SecurityHubRule", "securityhub_sg_fsbp_no_permissions", True),
    ("SecurityHubRule", "securityhub_sg_consolidated", True),
    ("SecurityHubRule", "securityhub_custom_action_as_imported", True),
    ("SecurityHubRule", "securityhub_custom_action", False),
    ("SecurityHubRule", "securityhub_account_finding", False),
    ("SecurityHubRule", "securityhub_sg_resolved", False),
    ("SecurityHubRule", "securityhub_sg_suppressed", False),
    ("SecurityHubRule", "securityhub_sg_archived", False),
    ("SecurityHubRule", "securityhub_sg_passed", False),
    ("SecurityHubRule", "authorize_egress", False),
    # Only findings sent to this stack's custom action, whatever their state: the operator
    # chose them (the function still skips archived, suppressed, resolved and passed ones).
    ("SecurityHubCustomActionRule", "securityhub_custom_action_ours", True),
    ("SecurityHubCustomActionRule", "securityhub_custom_action", False),
    ("SecurityHubCustomActionRule", "securityhub_custom_action_ours_as_imported", False),
    ("SecurityHubCustomActionRule", "securityhub_sg_cis", False),
    ("SecurityHubCustomActionRule", "authorize_egress", False),
]


@pytest.fixture(scope="module")
def samples(reference_event: Callable[[str], Any], eventbridge: Callable[..., Event]) -> Samples:
    return Samples(reference_event, eventbridge)


def _pattern(template: dict[str, Any], rule: str) -> dict[str, Any]:
    pattern: dict[str, Any] = template["Resources"][rule]["Properties"]["EventPattern"]
    return _resolved(pattern)


def _resolved(value: Any) -> Any:
    """The pattern with the template's references replaced by their deployed values."""
    if isinstance(value, dict):
        if set(value) == {"Fn::GetAtt"}:
            return RESOLVED[tuple(value["Fn::GetAtt"])]
        return {key: _resolved(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolved(item) for item in value]
    return value


RUNS = [
    pytest.param((rule, case, expected, matcher), id=f"{rule}-{case}-{matcher}")
    for rule, case, expected in CASES
    for matcher in MATCHERS
    if (rule, matcher) not in LIMITS
]


@pytest.mark.parametrize("run", RUNS)
def test_pattern(
    template: dict[str, Any], samples: Samples, run: tuple[str, str, bool, str]
) -> None:
    rule, case, expected, matcher = run
    event = getattr(samples, case)()
    assert MATCHERS[matcher](_pattern(template, rule), event) is expected


def test_every_rule_has_a_matcher_that_can_judge_it() -> None:
    for rule in {rule for rule, _, _ in CASES}:
        assert any((rule, matcher) not in LIMITS for matcher in MATCHERS), rule


def test_every_case_names_a_sample() -> None:
    assert {case for _, case, _ in CASES} <= set(dir(Samples))


def test_every_event_rule_is_tested(template: dict[str, Any]) -> None:
    with_pattern = {
        name
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Events::Rule"
        and "EventPattern" in resource["Properties"]
        # The organisation bus's rules repeat these patterns (test_template_org.py).
        and not name.startswith("Org")
    }
    assert with_pattern == {rule for rule, _, _ in CASES}
    for rule in with_pattern:
        expectations = {expected for r, _, expected in CASES if r == rule}
        assert expectations == {True, False}, f"{rule} needs cases that match and cases that do not"


@pytest.mark.parametrize("matcher", MATCHERS)
def test_matcher_treats_exists_false_as_eventbridge_does(matcher: str) -> None:
    """The CloudTrail rule relies on {"exists": false}: a matcher that got it wrong would make
    the failed-call cases above pass or fail for the wrong reason."""
    pattern = {"detail": {"eventName": ["A"], "errorCode": [{"exists": False}]}}
    match = MATCHERS[matcher]
    assert match(pattern, {"detail": {"eventName": "A"}}) is True
    assert match(pattern, {"detail": {"eventName": "A", "errorCode": "AccessDenied"}}) is False
    assert match(pattern, {"detail": {"eventName": "B"}}) is False


def test_cloudtrail_rule_cannot_see_the_functions_own_calls(template: dict[str, Any]) -> None:
    """Whatever the matcher: the function writes only RevokeSecurityGroupEgress (the template
    grants it no other EC2 write), and that name is not in the pattern."""
    names = _pattern(template, "CloudTrailRule")["detail"]["eventName"]
    assert "RevokeSecurityGroupEgress" not in names
    assert set(names) == {
        "AuthorizeSecurityGroupEgress",
        "ModifySecurityGroupRules",
        "CreateSecurityGroup",
        "CreateVpc",
        "ModifyManagedPrefixList",
    }


def test_cloudtrail_rule_names_no_ec2_call_the_function_may_make(template: dict[str, Any]) -> None:
    """Whatever the matcher: no EC2 action the function's role grants (its reads and its one
    write) is an eventName of the pattern, so none of its own calls can invoke it."""
    names = set(_pattern(template, "CloudTrailRule")["detail"]["eventName"])
    granted: set[str] = set()
    for policy in template["Resources"]["FunctionRole"]["Properties"]["Policies"]:
        for written in policy["PolicyDocument"]["Statement"]:
            statement = written["Fn::If"][1] if "Fn::If" in written else written
            actions = statement["Action"]
            granted.update([actions] if isinstance(actions, str) else actions)
    ec2_calls = {a.split(":", 1)[1] for a in granted if a.startswith("ec2:")}
    assert "GetManagedPrefixListAssociations" in ec2_calls
    assert not names & ec2_calls
