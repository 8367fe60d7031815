"""template.yaml lints clean, passes scripts/check-template.sh, and keeps the settings the
contract (docs/) and the operators rely on; samconfig.toml deploys report mode unless told
otherwise."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint_file
from support.template import REPO, SAMCONFIG, TEMPLATE, function_properties

NO_VALUE = {"Ref": "AWS::NoValue"}


# -- linters ----------------------------------------------------------------------------


def test_cfn_lint_is_clean() -> None:
    matches = lint_file(TEMPLATE)
    assert not matches, "\n".join(str(m) for m in matches)


def _tool(variable: str, default: Path) -> str | None:
    path = os.environ.get(variable) or str(default)
    return path if (Path(path).is_file() or shutil.which(path)) else None


def check_template(timeout: float, **tools: str) -> subprocess.CompletedProcess[str]:
    """scripts/check-template.sh run with `tools` (SAM, CHECKOV, CFN_LINT) in its environment."""
    return subprocess.run(
        ["bash", str(REPO / "scripts/check-template.sh")],
        env=dict(os.environ, **tools),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.slow  # sam validate, cfn-lint and checkov: `make template` runs them too
def test_check_template_script() -> None:
    """scripts/check-template.sh (cfn-lint, sam validate, checkov) passes.

    sam and checkov live in the tools virtualenv (`make tools`); where they are missing
    the test is skipped, unless EGRESS_GUARD_REQUIRE_TOOLS=1 makes that a failure (CI)."""
    cfn_lint = _tool("CFN_LINT", Path(sys.executable).parent / "cfn-lint")
    sam = _tool("SAM", REPO / ".venv-tools/bin/sam")
    checkov = _tool("CHECKOV", REPO / ".venv-tools/bin/checkov")
    missing = [n for n, p in (("cfn-lint", cfn_lint), ("sam", sam), ("checkov", checkov)) if not p]
    if missing:
        reason = f"{', '.join(missing)} not installed: run make tools (or set SAM/CHECKOV/CFN_LINT)"
        if os.environ.get("EGRESS_GUARD_REQUIRE_TOOLS") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    done = check_template(timeout=300, SAM=str(sam), CHECKOV=str(checkov), CFN_LINT=str(cfn_lint))
    assert done.returncode == 0, done.stdout + done.stderr


def test_check_template_script_names_a_missing_tool(tmp_path: Path) -> None:
    done = check_template(
        timeout=60, SAM=str(tmp_path / "no-sam"), CHECKOV=str(tmp_path / "no-checkov")
    )
    assert done.returncode != 0
    assert f"sam not found at {tmp_path / 'no-sam'}: run make tools" in done.stderr
    assert f"checkov not found at {tmp_path / 'no-checkov'}: run make tools" in done.stderr


# -- the function -----------------------------------------------------------------------


def test_function_settings(template: dict[str, Any]) -> None:
    function = function_properties(template)
    assert function["CodeUri"] == "src/"
    assert function["Runtime"] == "python3.13"
    assert function["Architectures"] == ["arm64"]
    assert function["MemorySize"] == 256
    assert function["Timeout"] == 60
    assert function["LoggingConfig"]["LogGroup"] == {"Ref": "FunctionLogGroup"}


def test_handler_exists() -> None:
    """The Handler names a function that src/ defines (read, not imported)."""
    handler = TEMPLATE.read_text().split("Handler: ", 1)[1].split()[0]
    module, _, name = handler.rpartition(".")
    source = REPO / "src" / (module.replace(".", "/") + ".py")
    assert source.is_file(), f"Handler {handler}: {source} does not exist"
    tree = ast.parse(source.read_text())
    defined = (
        {
            node.name
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        | {
            target.id
            for node in tree.body
            if isinstance(node, ast.Assign)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        | {
            alias.asname or alias.name
            for node in tree.body
            if isinstance(node, ast.ImportFrom)
            for alias in node.names
        }
    )
    assert name in defined, f"Handler {handler}: {source} defines no {name}"


def test_environment(template: dict[str, Any]) -> None:
    variables = function_properties(template)["Environment"]["Variables"]
    assert variables["MODE"] == {"Ref": "Mode"}
    assert variables["EXEMPT_TAG"] == {"Ref": "ExemptTagKey"}
    assert variables["POWERTOOLS_SERVICE_NAME"] == "egress-guard"
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "EgressGuard"
    assert variables["POWERTOOLS_LOG_LEVEL"] == {"Ref": "LogLevel"}
    # Unset parameters leave their variable out (the code also treats empty as unset).
    for name, parameter in [
        ("DENYLIST_PARAMETER", "DenylistParameterName"),
        ("MEMBER_ROLE_NAME", "MemberRoleName"),
        ("NOTIFY_TOPIC_ARN", "NotifyTopicArn"),
    ]:
        condition, then, otherwise = variables[name]["Fn::If"]
        assert then == {"Ref": parameter}
        assert otherwise == NO_VALUE
        assert template["Conditions"][condition] == {
            "Fn::Not": [{"Fn::Equals": [{"Ref": parameter}, ""]}]
        }
        assert template["Parameters"][parameter]["Default"] == ""
    # Nothing docs/configuration.md does not define (its table and the Powertools variables).
    assert set(variables) == {
        "MODE",
        "EXEMPT_TAG",
        "MAX_REVOCATIONS",
        "MAX_REVOCATIONS_PERCENT",
        "DENYLIST_PARAMETER",
        "MEMBER_ROLE_NAME",
        "NOTIFY_TOPIC_ARN",
        "REVOKE_RATE",
        "REVOKE_BURST",
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_METRICS_NAMESPACE",
        "POWERTOOLS_LOG_LEVEL",
    }


def test_first_deploy_is_report_mode(template: dict[str, Any]) -> None:
    mode = template["Parameters"]["Mode"]
    assert mode["Default"] == "report"
    assert mode["AllowedValues"] == ["report", "enforce"]
    assert template["Parameters"]["ExemptTagKey"]["Default"] == "egress-guard:exempt"


def test_optional_sources_are_off_by_default(template: dict[str, Any]) -> None:
    parameters = template["Parameters"]
    for name in (
        "EnableConfigRule",
        "EnableConfigEvents",
        "EnableSecurityHubEvents",
        "EnableSecurityHubCustomAction",
    ):
        assert parameters[name]["Default"] == "false"
    assert parameters["SweepSchedule"]["Default"] == ""


def test_asynchronous_failures_are_kept(template: dict[str, Any]) -> None:
    config = function_properties(template)["EventInvokeConfig"]
    assert config["MaximumRetryAttempts"] == 2
    assert config["DestinationConfig"]["OnFailure"] == {
        "Type": "SQS",
        "Destination": {"Fn::GetAtt": ["FailureQueue", "Arn"]},
    }
    queue = template["Resources"]["FailureQueue"]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600


# -- event rules ------------------------------------------------------------------------


def _rules(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: r for n, r in template["Resources"].items() if r["Type"] == "AWS::Events::Rule"}


def test_every_rule_targets_the_function_with_the_failure_queue(template: dict[str, Any]) -> None:
    for name, rule in _rules(template).items():
        [target] = rule["Properties"]["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": ["Function", "Arn"]}, name
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["FailureQueue", "Arn"]}}, name
        assert "RetryPolicy" in target, name


def test_every_rule_has_its_permission_under_its_condition(template: dict[str, Any]) -> None:
    permissions = {
        r["Properties"]["SourceArn"]["Fn::GetAtt"][0]: r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Permission" and "SourceArn" in r["Properties"]
    }
    for name, rule in _rules(template).items():
        permission = permissions.pop(name)
        assert permission["Properties"]["Principal"] == "events.amazonaws.com"
        assert permission.get("Condition") == rule.get("Condition"), name
    assert not permissions


def test_queue_admits_exactly_the_rules_of_this_stack(template: dict[str, Any]) -> None:
    statements = template["Resources"]["FailureQueuePolicy"]["Properties"]["PolicyDocument"][
        "Statement"
    ]
    [allow] = [s for s in statements if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "events.amazonaws.com"}
    admitted = {}
    for arn in allow["Condition"]["ArnEquals"]["aws:SourceArn"]:
        if "Fn::If" in arn:
            condition, then, otherwise = arn["Fn::If"]
            assert otherwise == NO_VALUE
            admitted[then["Fn::GetAtt"][0]] = condition
        else:
            admitted[arn["Fn::GetAtt"][0]] = None
    assert admitted == {name: rule.get("Condition") for name, rule in _rules(template).items()}


def test_sweep_rule(template: dict[str, Any]) -> None:
    rule = template["Resources"]["SweepRule"]
    assert rule["Condition"] == "HasSweepSchedule"
    assert rule["Properties"]["ScheduleExpression"] == {"Ref": "SweepSchedule"}


def test_config_rule(template: dict[str, Any]) -> None:
    rule = template["Resources"]["ConfigRule"]
    assert rule["Condition"] == "ConfigRuleEnabled"
    assert rule["Properties"]["Scope"] == {"ComplianceResourceTypes": ["AWS::EC2::SecurityGroup"]}
    assert rule["Properties"]["Source"]["Owner"] == "CUSTOM_LAMBDA"
    permission = template["Resources"]["ConfigRulePermission"]
    assert permission["Condition"] == "ConfigRuleEnabled"
    assert permission["Properties"]["Principal"] == "config.amazonaws.com"
    assert permission["Properties"]["SourceAccount"] == {"Ref": "AWS::AccountId"}


def test_security_hub_custom_action(template: dict[str, Any]) -> None:
    """The action the sample event names (events/securityhub-custom-action.json), wired to
    the function by a rule on its ARN, all under one condition."""
    resources = template["Resources"]
    action = resources["SecurityHubActionTarget"]
    assert action["Type"] == "AWS::SecurityHub::ActionTarget"
    assert action["Properties"]["Id"] == "EgressGuard"
    assert len(action["Properties"]["Name"]) <= 20  # Security Hub's limit
    rule = resources["SecurityHubCustomActionRule"]
    assert rule["Properties"]["EventPattern"] == {
        "source": ["aws.securityhub"],
        "detail-type": ["Security Hub Findings - Custom Action"],
        "resources": [{"Fn::GetAtt": ["SecurityHubActionTarget", "ActionTargetArn"]}],
    }
    assert {action["Condition"], rule["Condition"]} == {"SecurityHubCustomActionEnabled"}
    sample = json.loads((REPO / "events" / "securityhub-custom-action.json").read_text())
    assert sample["resources"][0].endswith(":action/custom/EgressGuard")


def test_log_group(template: dict[str, Any]) -> None:
    group = template["Resources"]["FunctionLogGroup"]
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert template["Parameters"]["LogRetentionDays"]["Default"] == 90
    assert group["DeletionPolicy"] == "Retain"


def test_outputs(template: dict[str, Any]) -> None:
    assert {"FunctionArn", "FailureQueueUrl", "FunctionRoleArn"} <= set(template["Outputs"])


# -- samconfig.toml ---------------------------------------------------------------------


def _overrides(value: str | list[str]) -> dict[str, str]:
    items = value.split() if isinstance(value, str) else value
    return dict(item.split("=", 1) for item in items)


def test_samconfig() -> None:
    config = tomllib.loads(SAMCONFIG.read_text())
    assert config["version"] == 0.1
    default = config["default"]
    assert default["global"]["parameters"]["stack_name"] == "egress-guard"
    deploy = default["deploy"]["parameters"]
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    assert deploy["confirm_changeset"] is True
    assert deploy["resolve_s3"] is True
    assert _overrides(deploy["parameter_overrides"]) == {"Mode": "report"}
    assert default["validate"]["parameters"]["lint"] is True
    enforce = config["enforce"]["deploy"]["parameters"]
    assert _overrides(enforce["parameter_overrides"]) == {"Mode": "enforce"}
    assert config["enforce"]["global"]["parameters"]["stack_name"] == "egress-guard"
