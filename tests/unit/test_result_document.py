"""The result document (docs/result.md) read back as it was written: write -> read -> write
gives the same document, key for key and in the same order, for every kind of finding."""

from __future__ import annotations

import json
from typing import Any

import pytest

from egress_guard.events.actor import Actor
from egress_guard.result import Finding, PermissionCheck, Result
from egress_guard.result_document import read, write
from egress_guard.rules import Rule
from egress_guard.sinks.split import log_text, split_result

ACCOUNT = "123456789012"
GROUP = "sg-0123456789abcdef0"
ACTOR = Actor(arn="arn:aws:iam::123456789012:user/ops", identity_type="IAMUser")


def rule(number: int, **fields: Any) -> Rule:
    values: dict[str, Any] = {"cidr_ipv4": "0.0.0.0/0", "tags": (("team", "web"),)}
    values.update(fields)
    return Rule(f"sgr-{number:017d}", GROUP, True, "tcp", number, number, **values)


FINDINGS = [
    Finding(rule(25), "smtp", "revoked"),
    Finding(rule(26), "smtp", "would-revoke"),
    Finding(rule(27), "smtp", "exempt", exempt_until="2030-01-01T00:00:00Z"),
    Finding(rule(28), "smtp", "gone"),
    Finding(rule(29), "smtp", "held"),
    Finding(rule(30), "smtp", "failed", "RequestLimitExceeded: slow down"),
    Finding(rule(31), "smtp", "failed", "revoke not confirmed", maybe_revoked=True),
    Finding(
        rule(
            32,
            cidr_ipv4=None,
            referenced_group_id="sg-0fedcba9876543210",
            referenced_user_id="210987654321",
            group_owner_id=ACCOUNT,
        ),
        "no-peers",
        "revoked",
    ),
    Finding(rule(33, cidr_ipv4=None, prefix_list_id="pl-0123456789abcdef0"), "pl", "revoked"),
]


def full_result(*, actor: Actor | None = ACTOR) -> Result:
    result = Result(
        source="cloudtrail:AuthorizeSecurityGroupEgress",
        event_id="evt-1",
        account=ACCOUNT,
        region="us-east-1",
        mode="enforce",
        dry_run=False,
        findings=list(FINDINGS),
        revoked=[f.rule.to_revoked() for f in FINDINGS if f.action == "revoked"],
        unknown_permissions=[{"IpProtocol": "udp", "FromPort": 53, "ToPort": 53}],
        permission_checks=[PermissionCheck(GROUP, False, "UnauthorizedOperation")],
        errors=["group sg-0aaaaaaaaaaaaaaaa could not be read"],
        notes=["no action needed for sg-0bbbbbbbbbbbbbbbb"],
        rules_judged=40,
        actor=actor,
    )
    return result


def same(document: dict[str, Any]) -> None:
    again = write(read(document))
    assert again == document
    assert json.dumps(again) == json.dumps(document)  # the same keys in the same order


@pytest.mark.parametrize("finding", FINDINGS, ids=lambda f: f"{f.action}-{f.rule.rule_id[-2:]}")
def test_each_kind_of_finding_reads_back_as_written(finding: Finding) -> None:
    result = full_result()
    result.findings = [finding]
    same(result.to_dict())


def test_a_whole_result_reads_back_as_written() -> None:
    same(full_result().to_dict())


def test_a_result_without_actor_checks_errors_or_notes_reads_back_as_written() -> None:
    result = Result("schedule", None, None, None, "report", True)
    same(result.to_dict())
    same(full_result(actor=None).to_dict())


def test_the_typed_values_are_those_of_the_result() -> None:
    document = read(full_result().to_dict())
    failed = document.findings[6]
    assert (failed.action, failed.maybe_revoked, failed.restorable) == ("failed", True, True)
    assert failed.rule == FINDINGS[6].rule.to_revoked()
    assert failed.tags == (("team", "web"),)
    peer = document.findings[7].referenced
    assert peer is not None
    assert (peer.group_id, peer.owner) == ("sg-0fedcba9876543210", "210987654321")
    assert document.findings[2].exempt_until == "2030-01-01T00:00:00Z"
    assert document.findings[0].actor == ACTOR
    assert [c.permitted for c in document.permission_checks] == [False]
    assert (document.account, document.rules_judged, document.ok) == (ACCOUNT, 40, False)


def test_the_parts_of_a_split_result_read_back_as_written() -> None:
    document = full_result().to_dict()
    parts = split_result(document, len(log_text(document)) // 3, log_text)
    assert len(parts) > 1
    for part in parts:
        same(part)
        assert (read(part).part, read(part).parts) == (part["Part"], part["Parts"])


def test_keys_it_does_not_know_are_kept_after_the_others() -> None:
    document = {**full_result().to_dict(), "ExpiringExemptions": [{"GroupId": GROUP}]}
    assert read(document).extra == {"ExpiringExemptions": [{"GroupId": GROUP}]}
    same(document)
