"""What restore accepts from a result (issue 8): only what its findings say was revoked.

`rules_to_restore` and `check_place` read a result; no EC2 here (tests/integration/
test_restore.py writes against the emulator).
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from egress_guard.restore import RestoreInputError, RestoreRefused, check_place, rules_to_restore
from egress_guard.result import Finding
from egress_guard.rules import Rule

ACCOUNT = "123456789012"
REGION = "us-east-1"
GROUP = "sg-0123456789abcdef0"
PEER = "sg-0fedcba9876543210"

SMTP = Rule("sgr-00000000000000001", GROUP, True, "tcp", 25, 25, "0.0.0.0/0", tags=(("t", "1"),))
PEERING = Rule(
    "sgr-00000000000000002",
    GROUP,
    True,
    "-1",
    referenced_group_id=PEER,
    referenced_user_id="210987654321",
    group_owner_id=ACCOUNT,
)


def result_of_findings(*findings: Finding) -> dict[str, Any]:
    """A result as the function writes it."""
    return {
        "Return": not any(f.action == "failed" for f in findings),
        "RevokedSecurityGroupRules": [
            f.rule.to_revoked() for f in findings if f.action == "revoked"
        ],
        "Findings": [f.to_dict() for f in findings],
        "Account": ACCOUNT,
        "Region": REGION,
    }


def test_revoked_rules_come_back_with_tags_and_the_referenced_groups_owner() -> None:
    result = result_of_findings(Finding(SMTP, "smtp", "revoked"), Finding(PEERING, "x", "revoked"))

    rules = rules_to_restore(result)

    assert [r.tags for r in rules] == [(("t", "1"),), ()]
    assert rules[1].to_ip_permission() == {
        "IpProtocol": "-1",
        "UserIdGroupPairs": [{"GroupId": PEER, "UserId": "210987654321"}],
    }


def test_an_item_no_revoked_finding_vouches_for_is_refused() -> None:
    result = result_of_findings(Finding(SMTP, "smtp", "revoked"))
    forged = {**SMTP.to_revoked(), "SecurityGroupRuleId": "sgr-00000000000000009"}
    result["RevokedSecurityGroupRules"].append(forged)

    with pytest.raises(RestoreInputError) as refused:
        rules_to_restore(result)

    assert str(refused.value).startswith(
        "RevokedSecurityGroupRules[1] (sgr-00000000000000009): no revoked finding names this rule"
    )
    assert "--force" in str(refused.value)


def test_an_item_edited_after_its_finding_is_refused() -> None:
    result = result_of_findings(Finding(SMTP, "smtp", "revoked"))
    result["RevokedSecurityGroupRules"][0].update(FromPort=0, ToPort=65535)

    with pytest.raises(
        RestoreInputError, match=re.escape("the finding says 'tcp/25 -> 0.0.0.0/0'")
    ):
        rules_to_restore(result)


def test_an_item_whose_finding_is_not_revoked_is_refused() -> None:
    result = result_of_findings(Finding(SMTP, "smtp", "exempt"))
    result["RevokedSecurityGroupRules"].append(SMTP.to_revoked())

    with pytest.raises(RestoreInputError, match="no revoked finding"):
        rules_to_restore(result)


def test_force_restores_unvouched_items_and_names_them() -> None:
    ec2_response = {"Return": True, "RevokedSecurityGroupRules": [SMTP.to_revoked()]}
    notes: list[str] = []

    rules = rules_to_restore(ec2_response, force=True, notes=notes)

    assert [r.rule_id for r in rules] == [SMTP.rule_id]
    assert notes == [
        "restored without a finding (--force): RevokedSecurityGroupRules[0] "
        f"({SMTP.rule_id}): no revoked finding names this rule"
    ]


def test_a_failed_finding_marked_maybe_revoked_is_restored_from_its_rule() -> None:
    unknown = Finding(PEERING, "x", "failed", "revoke not confirmed", maybe_revoked=True)
    result = result_of_findings(unknown, Finding(SMTP, "smtp", "failed", "denied"))

    rules = rules_to_restore(result)

    assert [r.rule_id for r in rules] == [PEERING.rule_id]  # not the surely-failed one
    assert rules[0].referenced_user_id == "210987654321"


def test_a_maybe_revoked_finding_whose_rule_names_another_rule_is_refused() -> None:
    result = result_of_findings(Finding(SMTP, "smtp", "failed", "lost", maybe_revoked=True))
    result["Findings"][0]["Rule"]["SecurityGroupRuleId"] = "sgr-00000000000000009"

    with pytest.raises(RestoreInputError, match=r"Findings\[0\].Rule"):
        rules_to_restore(result)


def test_a_referenced_groups_owner_must_be_an_account_id() -> None:
    result = result_of_findings(Finding(PEERING, "x", "revoked"))
    result["Findings"][0]["ReferencedGroupInfo"]["UserId"] = "amazon-elb"

    with pytest.raises(RestoreInputError, match="is not a 12-digit account id"):
        rules_to_restore(result)


@pytest.mark.parametrize("key", ["SecurityGroupRuleId", "GroupId"])
def test_an_id_with_a_trailing_newline_is_refused(key: str) -> None:
    result = result_of_findings(Finding(SMTP, "smtp", "revoked"))
    result["RevokedSecurityGroupRules"][0][key] += "\n"

    with pytest.raises(RestoreInputError, match=f"{key}: .* is not a security group"):
        rules_to_restore(result, force=True)


def test_a_result_without_account_is_refused_unless_forced() -> None:
    result = {**result_of_findings(Finding(SMTP, "smtp", "revoked")), "Account": None}

    with pytest.raises(RestoreRefused, match="names no Account"):
        check_place(result, ACCOUNT, REGION)
    check_place(copy.deepcopy(result), ACCOUNT, REGION, force=True)


def test_force_never_restores_into_another_account() -> None:
    result = {**result_of_findings(Finding(SMTP, "smtp", "revoked")), "Account": "999999999999"}

    with pytest.raises(RestoreRefused, match="from account 999999999999"):
        check_place(result, ACCOUNT, REGION, force=True)
