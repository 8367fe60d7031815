"""Findings as the result reports them (docs/result.md): what restore needs to put a rule back."""

from __future__ import annotations

from support.rules import egress

from egress_guard.result import Finding
from egress_guard.rules import Rule

PEER = "sg-0fedcba9876543210"


def peer_rule(owner: str, group_owner: str | None = "123456789012") -> Rule:
    """TCP 5432 to PEER, a group of account `owner`."""
    return egress(
        PEER,
        "tcp",
        5432,
        referenced_user_id=owner,
        group_owner_id=group_owner,
        tags=(("team", "db"),),
    )


def test_a_finding_keeps_the_owner_of_a_referenced_group_of_another_account() -> None:
    out = Finding(peer_rule("210987654321"), "no-peers", "revoked").to_dict()
    assert out["ReferencedGroupInfo"] == {"GroupId": PEER, "UserId": "210987654321"}


def test_a_finding_names_no_owner_for_a_group_of_the_rules_own_account() -> None:
    out = Finding(peer_rule("123456789012"), "no-peers", "revoked").to_dict()
    assert "ReferencedGroupInfo" not in out


def test_a_failed_finding_that_may_have_revoked_says_so_with_rule_and_tags() -> None:
    rule = peer_rule("210987654321")
    out = Finding(rule, "no-peers", "failed", "revoke not confirmed", maybe_revoked=True).to_dict()
    assert out["MaybeRevoked"] is True
    assert out["Rule"] == rule.to_revoked()
    assert out["Tags"] == [{"Key": "team", "Value": "db"}]


def test_a_failed_finding_that_did_not_revoke_is_not_maybe_revoked() -> None:
    out = Finding(peer_rule("210987654321"), "no-peers", "failed", "denied").to_dict()
    assert "MaybeRevoked" not in out
    assert "Tags" not in out
