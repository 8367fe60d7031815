"""Remediation over an in-memory EC2: sweeps that act while reading, and exemption tags.

The fake (support.fake_aws) logs the calls in order, so the tests can say *when* something
happened.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from support.fake_aws import AS_USUAL, Answer, FakeEc2, Lost, client_error, throttled
from support.rules import SMTP_JUDGE, smtp

from egress_guard.denylist import parse_denylist
from egress_guard.judge import Judge
from egress_guard.remediate import GroupNotFound, Remediator
from egress_guard.result import Result
from egress_guard.rules import Rule
from egress_guard.settings import Settings
from egress_guard.targets import GroupTarget, Targets

# Blast-radius limits off: sweeps act on groups while later pages are still read.
NO_LIMIT: dict[str, Any] = {"max_revocations": 0, "max_revocations_percent": 0}
SWEEP = Targets("schedule", sweep=True)


def sweep(ec2: FakeEc2) -> Result:
    result = Result("schedule", None, None, "us-east-1", "enforce", False)
    settings = Settings(sweep_concurrency=1, **NO_LIMIT)  # acting while reading: no limit
    remediator = Remediator(ec2, SMTP_JUDGE, settings, dry_run=False)
    return remediator.run(SWEEP, result)


def test_sweep_revokes_a_group_before_reading_the_next_page() -> None:
    ec2 = FakeEc2(
        pages=[[smtp("sg-aaaaaaaa", 1), smtp("sg-bbbbbbbb", 2)], [smtp("sg-cccccccc", 3)]]
    )

    sweep(ec2)

    assert ec2.calls.index("revoke sg-aaaaaaaa 1") < ec2.calls.index("page 2")


def test_sweep_holds_back_a_group_that_may_go_on_in_the_next_page() -> None:
    ec2 = FakeEc2(
        pages=[[smtp("sg-aaaaaaaa", 1), smtp("sg-bbbbbbbb", 2)], [smtp("sg-bbbbbbbb", 3)]]
    )

    result = sweep(ec2)

    assert ec2.made("revoke sg-bbbbbbbb") == ["revoke sg-bbbbbbbb 2"]
    assert sorted(f.action for f in result.findings) == ["revoked"] * 3


def test_sweep_with_nothing_offending_reads_no_tags() -> None:
    ec2 = FakeEc2()

    sweep(ec2)

    assert ec2.calls == ["page 1"]


def test_unreadable_group_tags_make_offending_rules_failed_not_exempt() -> None:
    ec2 = FakeEc2([smtp("sg-aaaaaaaa", 1)])
    ec2.fail(
        "group_tags", client_error("RequestLimitExceeded", "", operation="DescribeSecurityGroups")
    )
    result = Result("cloudtrail", None, None, "us-east-1", "enforce", False)
    remediator = Remediator(ec2, SMTP_JUDGE, Settings(), dry_run=False)

    remediator.run(Targets("cloudtrail", groups=(GroupTarget("sg-aaaaaaaa"),)), result)

    assert [(f.action, f.error) for f in result.findings] == [
        ("failed", "group tags not read: RequestLimitExceeded")
    ]
    assert not ec2.made("revoke")


@pytest.mark.parametrize("concurrency", [1, 4])
def test_sweep_of_many_groups_revokes_each_once(concurrency: int) -> None:
    rules = [smtp(f"sg-{n:08x}", n) for n in range(1, 41)]
    ec2 = FakeEc2(rules, page_size=7)
    result = Result("schedule", None, None, "us-east-1", "enforce", False)
    settings = Settings(sweep_concurrency=concurrency, **NO_LIMIT)

    Remediator(ec2, SMTP_JUDGE, settings, dry_run=False).run(SWEEP, result)

    assert len(ec2.made("revoke")) == 40
    assert len(result.revoked) == 40


# --- issue 8: exact under attack ------------------------------------------------------------

PL_JUDGE = Judge(
    parse_denylist(
        '{"version": 1, "deny": [{"id": "bad-range", "protocol": "udp",'
        ' "cidr": ["203.0.113.0/24"]}]}'
    )
)
BAD_LIST = "pl-0123456789abcdef0"
MISSING = "sg-0fffffffffffffff0"


def to_list(group: str, number: int, protocol: str = "udp") -> Rule:
    return Rule(
        rule_id=f"sgr-{number:017x}",
        group_id=group,
        is_egress=True,
        ip_protocol=protocol,
        from_port=500,
        to_port=500,
        prefix_list_id=BAD_LIST,
    )


def estate(rules: Sequence[Rule], groups: Sequence[str] = ()) -> FakeEc2:
    """The rules (one page), in their groups and `groups` (empty ones); BAD_LIST's entries."""
    lists = {BAD_LIST: ["203.0.113.0/26"]}
    return FakeEc2(rules, tags={group: {} for group in groups}, prefix_lists=lists)


def run_on(ec2: FakeEc2, *targets: GroupTarget, judge: Judge = SMTP_JUDGE) -> Result:
    result = Result("manual", None, None, "us-east-1", "enforce", False)
    remediator = Remediator(ec2, judge, Settings(sweep_concurrency=1), dry_run=False)
    return remediator.run(Targets("manual", groups=targets), result)


def test_a_prefix_list_that_cannot_be_read_fails_its_rule_never_clean() -> None:
    ec2 = estate([to_list("sg-aaaaaaaa", 1)])
    ec2.fail("prefix_list_cidrs", throttled("GetManagedPrefixListEntries"))

    result = run_on(ec2, GroupTarget("sg-aaaaaaaa"), judge=PL_JUDGE)

    assert [(f.action, f.entry_id, f.error) for f in result.findings] == [
        ("failed", "bad-range", f"prefix list {BAD_LIST} not read: RequestLimitExceeded: slow down")
    ]
    assert not result.ok  # the invocation raises: Lambda retries
    assert result.to_dict()["Return"] is False
    assert not ec2.made("revoke")


def test_an_unread_prefix_list_is_read_once_per_invocation() -> None:
    ec2 = estate([to_list("sg-aaaaaaaa", 1), to_list("sg-aaaaaaaa", 2)])
    ec2.fail("prefix_list_cidrs", throttled("GetManagedPrefixListEntries"))

    result = run_on(ec2, GroupTarget("sg-aaaaaaaa"), judge=PL_JUDGE)

    assert ec2.made(f"list {BAD_LIST}") == [f"list {BAD_LIST}"]
    assert [f.action for f in result.findings] == ["failed", "failed"]


def test_a_rule_no_list_content_could_make_offending_stays_clean_when_the_list_is_unread() -> None:
    ec2 = estate([to_list("sg-aaaaaaaa", 1, protocol="tcp")])  # the deny entry is udp only
    ec2.fail("prefix_list_cidrs", throttled("GetManagedPrefixListEntries"))

    result = run_on(ec2, GroupTarget("sg-aaaaaaaa"), judge=PL_JUDGE)

    assert result.findings == []
    assert result.ok


def test_a_readable_prefix_list_judges_its_rule_by_its_entries() -> None:
    ec2 = estate([to_list("sg-aaaaaaaa", 1)])

    result = run_on(ec2, GroupTarget("sg-aaaaaaaa"), judge=PL_JUDGE)

    assert [(f.action, f.entry_id) for f in result.findings] == [("revoked", "bad-range")]


def test_a_revoke_ec2_answered_with_its_list_stands_however_the_reads_after_it_fail() -> None:
    """Return: true to a revoke by rule ids means every rule named is gone, even one the
    answer's list leaves out: no read-back, and a failing one could not undo it."""
    rules = [smtp("sg-aaaaaaaa", 1), smtp("sg-aaaaaaaa", 2)]
    ec2 = estate(rules)
    listed = [{**rules[0].to_revoked(), "Description": "from EC2"}]
    ec2.script("revoke", Answer({"Return": True, "RevokedSecurityGroupRules": listed}))
    ec2.script("rules_of_group", AS_USUAL, throttled("DescribeSecurityGroupRules"))

    result = run_on(ec2, GroupTarget("sg-aaaaaaaa"))

    assert [f.action for f in result.findings] == ["revoked", "revoked"]
    assert [r["SecurityGroupRuleId"] for r in result.revoked] == [r.rule_id for r in rules]
    assert result.revoked[0]["Description"] == "from EC2"
    assert result.ok
    assert ec2.calls[-1] == "revoke sg-aaaaaaaa 2"  # nothing read after the revoke


def test_a_return_only_answer_is_a_confirmed_revoke_with_nothing_read_back() -> None:
    """`Return: true` to a revoke by rule ids means every rule is gone (EC2 fails the whole
    call when one id is unknown): a read-back that would fail is never made."""
    ec2 = estate([smtp("sg-aaaaaaaa", 1)])
    ec2.script("rules_of_group", AS_USUAL, throttled("DescribeSecurityGroupRules"))

    result = run_on(ec2, GroupTarget("sg-aaaaaaaa"))

    assert [f.action for f in result.findings] == ["revoked"]
    assert result.revoked == [smtp("sg-aaaaaaaa", 1).to_revoked()]
    assert result.ok
    assert ec2.calls[-1].startswith("revoke sg-aaaaaaaa")


def test_a_lost_answer_that_cannot_be_read_back_is_failed_and_maybe_revoked() -> None:
    ec2 = estate([smtp("sg-aaaaaaaa", 1)])
    ec2.script("revoke", Lost(throttled("RevokeSecurityGroupEgress", retried=2)))
    ec2.script("rules_of_group", AS_USUAL, throttled("DescribeSecurityGroupRules"))

    result = run_on(ec2, GroupTarget("sg-aaaaaaaa"))

    (finding,) = result.to_dict()["Findings"]
    assert (finding["Action"], finding.get("MaybeRevoked")) == ("failed", True)


def test_a_refused_revoke_is_failed_and_not_maybe_revoked() -> None:
    ec2 = estate([smtp("sg-aaaaaaaa", 1)])
    ec2.script("revoke", throttled("RevokeSecurityGroupEgress"))

    result = run_on(ec2, GroupTarget("sg-aaaaaaaa"))

    (finding,) = result.to_dict()["Findings"]
    assert finding["Action"] == "failed"
    assert "MaybeRevoked" not in finding


def test_a_missing_group_the_operator_named_is_an_error_and_nothing_is_written() -> None:
    ec2 = estate([smtp("sg-aaaaaaaa", 1)])

    with pytest.raises(GroupNotFound) as raised:
        run_on(
            ec2, GroupTarget("sg-aaaaaaaa", must_exist=True), GroupTarget(MISSING, must_exist=True)
        )

    assert str(raised.value) == (
        f"InvalidGroup.NotFound: the security group '{MISSING}' does not exist"
    )
    assert not ec2.made("revoke")


def test_a_missing_group_an_event_names_is_a_no_op() -> None:
    result = run_on(estate([]), GroupTarget(MISSING))

    assert (result.findings, result.errors, result.ok) == ([], [], True)


def test_an_operator_named_group_without_rules_exists_and_says_so() -> None:
    result = run_on(estate([], groups=["sg-aaaaaaaa"]), GroupTarget("sg-aaaaaaaa", must_exist=True))

    assert result.notes == ["sg-aaaaaaaa: the group has no egress rules"]
    assert result.ok


def test_operator_named_rule_ids_that_match_nothing_are_named_in_notes() -> None:
    mine, other = smtp("sg-aaaaaaaa", 1), smtp("sg-bbbbbbbb", 2)
    ingress = Rule("sgr-00000000000000003", "sg-aaaaaaaa", False, "tcp", 22, 22, "0.0.0.0/0")
    unknown = "sgr-0000000000000ffff"
    ec2 = estate([mine, other, ingress])

    result = run_on(
        ec2,
        GroupTarget(
            "sg-aaaaaaaa",
            rule_ids=(unknown, other.rule_id, ingress.rule_id),
            must_exist=True,
        ),
    )

    assert result.findings == []
    assert result.notes == [
        f"{unknown}: no rule of sg-aaaaaaaa has this id (unknown, or another group's rule);"
        " nothing done for it",
        f"{other.rule_id}: no rule of sg-aaaaaaaa has this id (unknown, or another group's"
        " rule); nothing done for it",
        f"{ingress.rule_id}: an ingress rule; only egress rules are judged",
    ]
    assert ec2.live_ids() == {mine.rule_id, other.rule_id, ingress.rule_id}
