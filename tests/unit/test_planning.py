"""Planning a denylist change: the rules whose verdict differs, with the deciding entry."""

from __future__ import annotations

from egress_guard.planning import plan
from egress_guard.rules import Rule


def rule(number: int, port: int, *, egress: bool = True) -> Rule:
    return Rule(
        rule_id=f"sgr-{number:017x}",
        group_id="sg-0123456789abcdef0",
        is_egress=egress,
        ip_protocol="tcp",
        from_port=port,
        to_port=port,
        cidr_ipv4="0.0.0.0/0",
    )


def smtp(r: Rule) -> str | None:
    return "smtp" if r.from_port == 25 else None


def smtp_and_ssh(r: Rule) -> str | None:
    return {25: "smtp-new", 22: "ssh"}.get(r.from_port or 0)


def test_the_same_denylist_changes_nothing() -> None:
    assert plan([rule(1, 25), rule(2, 443)], smtp, smtp).changes == ()


def test_a_rule_only_new_makes_offending_is_newly_revoked_by_news_entry() -> None:
    found = plan([rule(1, 22)], new=smtp_and_ssh, current=smtp)
    assert [(c.change, c.entry_id) for c in found.changes] == [("newly-revoked", "ssh")]


def test_a_rule_only_current_makes_offending_is_newly_spared_by_currents_entry() -> None:
    found = plan([rule(1, 25)], new=lambda _r: None, current=smtp)
    assert [(c.change, c.entry_id) for c in found.changes] == [("newly-spared", "smtp")]


def test_a_rule_both_make_offending_is_no_change_whatever_the_entry() -> None:
    assert plan([rule(1, 25)], new=smtp_and_ssh, current=smtp).changes == ()


def test_ingress_rules_are_never_judged() -> None:
    assert plan([rule(1, 22, egress=False)], new=smtp_and_ssh, current=smtp).rules_judged == 0


def test_due_counts_every_rule_new_would_revoke() -> None:
    found = plan([rule(1, 25), rule(2, 22), rule(3, 443)], new=smtp_and_ssh, current=smtp)
    assert (found.rules_judged, found.due_under_new) == (3, 2)


def test_changes_carry_the_findings_shape() -> None:
    change = plan([rule(1, 22)], new=smtp_and_ssh, current=smtp).changes[0].to_dict()
    assert change["Action"] == "newly-revoked"
    assert change["Rule"]["SecurityGroupRuleId"] == "sgr-00000000000000001"


def test_an_exempt_rule_whose_verdicts_differ_is_left_out_and_counted() -> None:
    found = plan(
        [rule(1, 22), rule(2, 22)], smtp_and_ssh, smtp, exempt=lambda r: r.rule_id.endswith("1")
    )
    assert [c.rule.rule_id for c in found.changes] == ["sgr-00000000000000002"]
    assert found.exempt_left_out == 1


def test_exempt_rules_are_not_due_under_either_denylist() -> None:
    found = plan([rule(1, 25), rule(2, 25)], smtp_and_ssh, smtp, exempt=lambda r: r.from_port == 25)
    assert (found.due_under_new, found.due_under_current, found.exempt_left_out) == (0, 0, 0)


def test_exemptions_are_asked_only_for_rules_some_denylist_makes_offending() -> None:
    asked: list[int | None] = []

    def exempt(r: Rule) -> bool:
        asked.append(r.from_port)
        return False

    plan([rule(1, 25), rule(2, 443), rule(3, 22)], smtp_and_ssh, smtp, exempt=exempt)
    assert asked == [25, 22]


def test_due_under_current_counts_what_current_would_revoke() -> None:
    found = plan([rule(1, 25), rule(2, 22)], new=lambda _r: None, current=smtp_and_ssh)
    assert (found.due_under_new, found.due_under_current) == (0, 2)
