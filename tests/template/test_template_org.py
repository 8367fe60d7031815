"""The organisation (README "Organization"): template.yaml's event bus, rules, fixed role name
and org sweep, and the member kit org/member.yaml that a StackSet rolls out.

The org sweep's definition (statemachine/org-sweep.asl.json) runs in moto's engine in
tests/integration/test_org_sweep.py; here only its wiring into the template is checked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from cfnlint.api import lint_file
from cfnlint.decode import cfn_yaml
from support.template import REPO

MEMBER = REPO / "org" / "member.yaml"
NO_VALUE = {"Ref": "AWS::NoValue"}
# Organisation-bus rule -> the default-bus rule whose pattern it repeats.
MIRRORS = {
    "OrgCloudTrailRule": "CloudTrailRule",
    "OrgConfigItemChangeRule": "ConfigItemChangeRule",
    "OrgConfigComplianceRule": "ConfigComplianceRule",
}
# Member forwarding rule -> the central rule it forwards to.
FORWARDS = {
    "ForwardCloudTrailRule": "OrgCloudTrailRule",
    "ForwardConfigItemChangeRule": "OrgConfigItemChangeRule",
    "ForwardConfigComplianceRule": "OrgConfigComplianceRule",
}
# What the central function does in a member account (the EC2 part of its own role).
MEMBER_ACTIONS = {
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSecurityGroupRules",
    "ec2:GetManagedPrefixListEntries",
    "ec2:GetManagedPrefixListAssociations",
    "securityhub:BatchUpdateFindings",
    "config:PutEvaluations",
    "ec2:RevokeSecurityGroupEgress",
}
ORG_SWEEP_ACTIONS: dict[str | None, set[str]] = {
    None: {
        "lambda:InvokeFunction",
        "organizations:ListAccounts",
        "organizations:ListAccountsForParent",
        "s3:PutObject",
        "states:StartExecution",
        "states:DescribeExecution",
        "states:StopExecution",
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
    },
    "HasNotifyTopic": {"sns:Publish"},
}


@pytest.fixture(scope="module")
def member() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(json.dumps(cfn_yaml.load(str(MEMBER))))
    return loaded


def _statements(role: dict[str, Any]) -> Iterator[tuple[str | None, dict[str, Any]]]:
    for policy in role["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            if "Fn::If" in statement:
                condition, then, otherwise = statement["Fn::If"]
                assert otherwise == NO_VALUE
                yield condition, then
            else:
                yield None, statement


def _actions(statement: dict[str, Any]) -> set[str]:
    actions = statement["Action"]
    return {actions} if isinstance(actions, str) else set(actions)


def _conditions_behind(template: dict[str, Any], condition: str) -> set[str]:
    """Every condition name that `condition` is built from, itself included."""
    found = {condition}
    text = json.dumps(template["Conditions"][condition])
    for name in re.findall(r'"Condition": "(\w+)"', text):
        found |= _conditions_behind(template, name)
    return found


# -- the central stack: off unless OrganizationId is set -------------------------------------


def test_organisation_is_off_by_default(template: dict[str, Any]) -> None:
    parameters = template["Parameters"]
    assert parameters["OrganizationId"]["Default"] == ""
    assert parameters["OrgSweepSchedule"]["Default"] == ""
    assert template["Conditions"]["HasOrganization"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "OrganizationId"}, ""]}]
    }
    org_resources = {
        name: resource for name, resource in template["Resources"].items() if name.startswith("Org")
    }
    assert len(org_resources) == 13  # bus, policy, 3 rules and their permissions, sweep: 5
    for name, resource in org_resources.items():
        assert "HasOrganization" in _conditions_behind(template, resource["Condition"]), name


def test_org_sweep_needs_both_a_schedule_and_the_organisation(template: dict[str, Any]) -> None:
    assert _conditions_behind(template, "HasOrgSweep") == {"HasOrgSweep", "HasOrganization"}
    assert "OrgSweepSchedule" in json.dumps(template["Conditions"]["HasOrgSweep"])


def test_deploy_refuses_an_organisation_without_member_role_or_a_sweep_without_organisation(
    template: dict[str, Any],
) -> None:
    rules = template["Rules"]
    needs_role = rules["OrganizationNeedsMemberRole"]
    assert needs_role["RuleCondition"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "OrganizationId"}, ""]}]
    }
    [assertion] = needs_role["Assertions"]
    assert assertion["Assert"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "MemberRoleName"}, ""]}]}
    needs_org = rules["OrgSweepNeedsOrganization"]
    [assertion] = needs_org["Assertions"]
    assert assertion["Assert"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "OrganizationId"}, ""]}]}


def test_bus_accepts_events_only_from_the_organisation(template: dict[str, Any]) -> None:
    policy = template["Resources"]["OrgEventBusPolicy"]["Properties"]
    assert policy["EventBusName"] == {"Ref": "OrgEventBus"}
    assert policy["Statement"] == {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "events:PutEvents",
        "Resource": {"Fn::GetAtt": ["OrgEventBus", "Arn"]},
        "Condition": {"StringEquals": {"aws:PrincipalOrgID": {"Ref": "OrganizationId"}}},
    }


@pytest.mark.parametrize(("org_rule", "default_rule"), sorted(MIRRORS.items()))
def test_bus_rules_repeat_the_default_bus_rules(
    template: dict[str, Any], org_rule: str, default_rule: str
) -> None:
    rules = template["Resources"]
    ours, theirs = rules[org_rule], rules[default_rule]
    assert ours["Properties"]["EventBusName"] == {"Ref": "OrgEventBus"}
    assert ours["Properties"]["EventPattern"] == theirs["Properties"]["EventPattern"]
    assert ours["Properties"]["Targets"] == theirs["Properties"]["Targets"]
    expected = "HasOrganization" if default_rule == "CloudTrailRule" else "OrgConfigEvents"
    assert ours["Condition"] == expected


def test_function_role_has_a_fixed_documented_name_in_an_organisation(
    template: dict[str, Any],
) -> None:
    role = template["Resources"]["FunctionRole"]["Properties"]
    assert role["RoleName"] == {
        "Fn::If": ["HasOrganization", {"Ref": "FunctionRoleName"}, NO_VALUE]
    }
    assert template["Parameters"]["FunctionRoleName"]["Default"] == "egress-guard-central"


def test_member_roles_are_assumed_only_inside_the_organisation(template: dict[str, Any]) -> None:
    [statement] = [
        s
        for _, s in _statements(template["Resources"]["FunctionRole"])
        if "sts:AssumeRole" in _actions(s)
    ]
    assert statement["Condition"] == {
        "Fn::If": [
            "HasOrganization",
            {"StringEquals": {"aws:ResourceOrgID": {"Ref": "OrganizationId"}}},
            NO_VALUE,
        ]
    }


# -- the org sweep ---------------------------------------------------------------------------


def _state_machine(template: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = template["Resources"]["OrgSweep"]["Properties"]
    return properties


def test_state_machine_runs_the_definition_file_with_every_placeholder_filled(
    template: dict[str, Any],
) -> None:
    machine = _state_machine(template)
    definition = REPO / machine["DefinitionUri"]
    placeholders = set(re.findall(r"\$\{(\w+)\}", definition.read_text()))
    assert placeholders == set(machine["DefinitionSubstitutions"])
    assert machine["DefinitionSubstitutions"]["FunctionArn"] == {"Fn::GetAtt": ["Function", "Arn"]}
    assert machine["Type"] == "STANDARD"
    assert template["Resources"]["OrgSweep"]["Condition"] == "HasOrgSweep"


def test_state_machine_is_scheduled_and_logs_its_summary(template: dict[str, Any]) -> None:
    machine = _state_machine(template)
    schedule = machine["Events"]["Schedule"]
    assert schedule["Type"] == "Schedule"
    assert schedule["Properties"]["Schedule"] == {"Ref": "OrgSweepSchedule"}
    assert machine["Logging"]["Level"] == "ALL"
    assert machine["Logging"]["IncludeExecutionData"] is True


def test_definition_fans_out_one_place_per_child_and_counts_coverage() -> None:
    definition = json.loads((REPO / "statemachine" / "org-sweep.asl.json").read_text())
    sweep = definition["States"]["Sweep"]
    assert sweep["ItemProcessor"]["ProcessorConfig"] == {
        "Mode": "DISTRIBUTED",
        "ExecutionType": "STANDARD",
    }
    assert "ItemBatcher" not in sweep
    invoke = sweep["ItemProcessor"]["States"]["Invoke"]
    assert invoke["Parameters"]["Payload"]["egress-guard"] == "sweep-place"
    assert invoke["Catch"][0]["ErrorEquals"] == ["States.ALL"]
    summary = definition["States"]["Summarise"]["Parameters"]["summary"]
    assert {"PlacesSwept.$", "PlacesFailed.$", "PlacesSkipped.$", "RulesRevoked.$"} <= set(summary)


def test_org_sweep_role_is_pinned(template: dict[str, Any]) -> None:
    role = template["Resources"]["OrgSweepRole"]
    granted: dict[str | None, set[str]] = {}
    for condition, statement in _statements(role):
        assert statement["Effect"] == "Allow"
        granted.setdefault(condition, set()).update(_actions(statement))
    assert granted == ORG_SWEEP_ACTIONS
    [trust] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "states.amazonaws.com"}
    by_action = {a: s for _, s in _statements(role) for a in _actions(s)}
    assert by_action["lambda:InvokeFunction"]["Resource"][0] == {"Fn::GetAtt": ["Function", "Arn"]}
    assert by_action["s3:PutObject"]["Resource"] == {"Fn::Sub": "${OrgSweepResultsBucket.Arn}/*"}


def test_results_bucket_is_private_and_encrypted(template: dict[str, Any]) -> None:
    bucket = template["Resources"]["OrgSweepResultsBucket"]["Properties"]
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    [rule] = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == {"Ref": "LogRetentionDays"}


# -- the member kit ----------------------------------------------------------------------------


def test_member_kit_lints_clean() -> None:
    matches = lint_file(MEMBER)
    assert not matches, "\n".join(str(m) for m in matches)


def test_member_kit_is_plain_cloudformation(member: dict[str, Any]) -> None:
    """StackSets run no transforms and no macros."""
    assert "Transform" not in member
    assert not [r for r in member["Resources"].values() if r["Type"].startswith("AWS::Serverless")]


def test_member_iam_is_created_once_per_account(member: dict[str, Any]) -> None:
    iam = {n: r for n, r in member["Resources"].items() if r["Type"].startswith("AWS::IAM::")}
    assert set(iam) == {"MemberRole", "ForwarderRole"}
    assert {r["Condition"] for r in iam.values()} == {"IsPrimaryRegion"}
    assert member["Conditions"]["IsPrimaryRegion"] == {
        "Fn::Equals": [{"Ref": "AWS::Region"}, {"Ref": "PrimaryRegion"}]
    }


def test_member_role_has_the_central_stacks_name_and_trusts_only_the_central_role(
    member: dict[str, Any],
) -> None:
    assert member["Parameters"]["MemberRoleName"]["Default"] == "egress-guard-member"
    assert member["Parameters"]["CentralRoleName"]["Default"] == "egress-guard-central"
    role = member["Resources"]["MemberRole"]["Properties"]
    assert role["RoleName"] == {"Ref": "MemberRoleName"}
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Principal"] == {
        "AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${CentralAccountId}:root"}
    }
    assert trust["Condition"]["ArnEquals"] == {
        "aws:PrincipalArn": {
            "Fn::Sub": "arn:${AWS::Partition}:iam::${CentralAccountId}:role/${CentralRoleName}"
        }
    }
    assert trust["Condition"]["StringEquals"] == {"aws:PrincipalOrgID": {"Ref": "OrganizationId"}}


def test_member_role_grants_only_what_the_function_does_there(
    member: dict[str, Any], template: dict[str, Any]
) -> None:
    granted = set()
    for condition, statement in _statements(member["Resources"]["MemberRole"]):
        assert condition is None
        granted |= _actions(statement)
    assert granted == MEMBER_ACTIONS
    central = {
        a for _, s in _statements(template["Resources"]["FunctionRole"]) for a in _actions(s)
    }
    assert granted <= central
    revoke = next(
        s
        for _, s in _statements(member["Resources"]["MemberRole"])
        if "ec2:RevokeSecurityGroupEgress" in _actions(s)
    )
    assert revoke["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:security-group/*"
    }


@pytest.mark.parametrize(("forward", "central"), sorted(FORWARDS.items()))
def test_member_forwards_exactly_what_the_central_bus_rules_match(
    member: dict[str, Any], template: dict[str, Any], forward: str, central: str
) -> None:
    rule = member["Resources"][forward]["Properties"]
    assert rule["EventPattern"] == template["Resources"][central]["Properties"]["EventPattern"]
    [target] = rule["Targets"]
    assert target["Arn"] == {"Ref": "CentralEventBusArn"}
    assert target["RoleArn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${ForwarderRoleName}"
    }
    assert "EventBusName" not in rule  # the account's default bus, where AWS events arrive


def test_member_forwards_config_events_only_when_asked(member: dict[str, Any]) -> None:
    resources = member["Resources"]
    assert resources["ForwardCloudTrailRule"]["Condition"] == "Forwards"
    assert resources["ForwardConfigItemChangeRule"]["Condition"] == "ForwardsConfig"
    assert resources["ForwardConfigComplianceRule"]["Condition"] == "ForwardsConfig"
    assert member["Parameters"]["ForwardConfigEvents"]["Default"] == "false"
