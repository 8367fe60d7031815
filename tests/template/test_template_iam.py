"""The function's permissions, pinned: a new permission must be a deliberate change here.

The role is the template's only IAM resource and carries one inline policy; permissions
that depend on a parameter sit in ``Fn::If`` statements on the same Condition that sets the
matching environment variable.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

NO_VALUE = {"Ref": "AWS::NoValue"}

# Condition (None: always) -> actions it grants.
EXPECTED_ACTIONS: dict[str | None, set[str]] = {
    None: {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSecurityGroupRules",
        "ec2:GetManagedPrefixListEntries",
        "ec2:GetManagedPrefixListAssociations",
        "ec2:RevokeSecurityGroupEgress",
        "sqs:SendMessage",
    },
    "HasDenylistParameter": {"ssm:GetParameter"},
    "HasDenylistKmsKey": {"kms:Decrypt"},
    "HasMemberRole": {"sts:AssumeRole"},
    "HasNotifyTopic": {"sns:Publish"},
    "ConfigRuleEnabled": {"config:PutEvaluations"},
    "SecurityHubEnabled": {"securityhub:BatchUpdateFindings"},
    "TracingActive": {"xray:PutTraceSegments", "xray:PutTelemetryRecords"},
}

# Actions that IAM lets be granted only on "*" (no resource type in the Service
# Authorization Reference). Nothing else may be.
STAR_ONLY = {
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSecurityGroupRules",
    "config:PutEvaluations",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
}

# Environment variable -> the Condition under which it is set and its permission granted.
OPTIONAL_VARIABLES = {
    "DENYLIST_PARAMETER": "HasDenylistParameter",
    "MEMBER_ROLE_NAME": "HasMemberRole",
    "NOTIFY_TOPIC_ARN": "HasNotifyTopic",
}


def _role(template: dict[str, Any]) -> dict[str, Any]:
    role: dict[str, Any] = template["Resources"]["FunctionRole"]
    return role


def _statements(template: dict[str, Any]) -> Iterator[tuple[str | None, dict[str, Any]]]:
    """(condition or None, statement) for every statement of the role's policies."""
    for policy in _role(template)["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            if "Fn::If" in statement:
                condition, then, otherwise = statement["Fn::If"]
                assert otherwise == NO_VALUE, f"{condition}: the else branch must grant nothing"
                yield condition, then
            else:
                yield None, statement


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)


def _resources(statement: dict[str, Any]) -> list[Any]:
    resources = statement["Resource"]
    return resources if isinstance(resources, list) else [resources]


def test_action_set_is_the_expected_one(template: dict[str, Any]) -> None:
    granted: dict[str | None, set[str]] = {}
    for condition, statement in _statements(template):
        granted.setdefault(condition, set()).update(_actions(statement))
    assert granted == EXPECTED_ACTIONS


def test_statements_are_plain_allows(template: dict[str, Any]) -> None:
    for _, statement in _statements(template):
        assert statement["Effect"] == "Allow"
        assert not {"NotAction", "NotResource", "NotPrincipal"} & statement.keys()
        assert all("*" not in action for action in _actions(statement)), statement["Sid"]


def test_star_resource_only_where_iam_offers_nothing_narrower(template: dict[str, Any]) -> None:
    for _, statement in _statements(template):
        if "*" in _resources(statement):
            assert set(_actions(statement)) <= STAR_ONLY, statement["Sid"]


def test_revoke_is_limited_to_this_accounts_security_groups(template: dict[str, Any]) -> None:
    [statement] = [
        s for _, s in _statements(template) if "ec2:RevokeSecurityGroupEgress" in _actions(s)
    ]
    assert _actions(statement) == ["ec2:RevokeSecurityGroupEgress"]
    [resource] = _resources(statement)
    assert resource != "*"
    assert resource == {"Fn::Sub": "arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:security-group/*"}


@pytest.mark.parametrize(
    ("action", "resource_fragment"),
    [
        ("ec2:GetManagedPrefixListEntries", ":prefix-list/"),
        ("ec2:GetManagedPrefixListAssociations", ":${AWS::AccountId}:prefix-list/"),
        ("ssm:GetParameter", ":parameter"),
        ("sts:AssumeRole", ":role/${MemberRoleName}"),
        ("securityhub:BatchUpdateFindings", ":securityhub:*:${AWS::AccountId}:hub/default"),
    ],
)
def test_scoped_actions(template: dict[str, Any], action: str, resource_fragment: str) -> None:
    [statement] = [s for _, s in _statements(template) if action in _actions(s)]
    assert resource_fragment in repr(_resources(statement))


def test_decrypt_is_only_with_the_named_key_through_ssm_for_the_denylist(
    template: dict[str, Any],
) -> None:
    [(condition, statement)] = [
        (c, s) for c, s in _statements(template) if "kms:Decrypt" in _actions(s)
    ]
    assert _actions(statement) == ["kms:Decrypt"]
    assert _resources(statement) == [{"Ref": "DenylistKmsKeyArn"}]
    conditions = statement["Condition"]["StringEquals"]
    assert conditions["kms:ViaService"] == {"Fn::Sub": "ssm.${AWS::Region}.amazonaws.com"}
    # The encryption context names the same parameter ARN that GetParameter is granted on.
    [read] = [s for _, s in _statements(template) if "ssm:GetParameter" in _actions(s)]
    assert conditions["kms:EncryptionContext:PARAMETER_ARN"] == read["Resource"]
    # No key grant without a parameter to decrypt, and none for an empty key ARN.
    both = template["Conditions"][condition]["Fn::And"]
    assert {"Condition": "HasDenylistParameter"} in both
    assert {"Fn::Not": [{"Fn::Equals": [{"Ref": "DenylistKmsKeyArn"}, ""]}]} in both


def test_log_sqs_and_sns_writes_name_their_one_resource(template: dict[str, Any]) -> None:
    by_action = {a: s for _, s in _statements(template) for a in _actions(s)}
    assert _resources(by_action["logs:PutLogEvents"]) == [
        {"Fn::GetAtt": ["FunctionLogGroup", "Arn"]}
    ]
    assert _resources(by_action["sqs:SendMessage"]) == [{"Fn::GetAtt": ["FailureQueue", "Arn"]}]
    assert _resources(by_action["sns:Publish"]) == [{"Ref": "NotifyTopicArn"}]


def test_role_has_no_managed_policy_and_trusts_only_lambda(template: dict[str, Any]) -> None:
    properties = _role(template)["Properties"]
    assert "ManagedPolicyArns" not in properties
    [trust] = properties["AssumeRolePolicyDocument"]["Statement"]
    assert trust == {
        "Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }


def test_role_is_the_only_iam_resource_and_the_functions(template: dict[str, Any]) -> None:
    iam = {n for n, r in template["Resources"].items() if r["Type"].startswith("AWS::IAM::")}
    # OrgSweepRole: the org sweep's state machine's (test_template_org.py).
    assert iam == {"FunctionRole", "OrgSweepRole"}
    function = template["Resources"]["Function"]["Properties"]
    assert function["Role"] == {"Fn::GetAtt": ["FunctionRole", "Arn"]}
    # With Role given, SAM would ignore these silently: keep them out to avoid confusion.
    assert not {"Policies", "PermissionsBoundary"} & function.keys()


def test_optional_permissions_follow_their_variables(template: dict[str, Any]) -> None:
    variables = template["Resources"]["Function"]["Properties"]["Environment"]["Variables"]
    for name, condition in OPTIONAL_VARIABLES.items():
        assert variables[name]["Fn::If"][0] == condition
        assert variables[name]["Fn::If"][2] == NO_VALUE
        assert condition in EXPECTED_ACTIONS


def test_security_hub_updates_come_with_either_security_hub_source(
    template: dict[str, Any],
) -> None:
    """Both the findings rule and the custom action lead to BatchUpdateFindings."""
    conditions = template["Conditions"]
    assert conditions["SecurityHubEnabled"] == {
        "Fn::Or": [
            {"Condition": "SecurityHubEventsEnabled"},
            {"Condition": "SecurityHubCustomActionEnabled"},
        ]
    }
