"""The plan's runner on one place: what it reads, what it refuses to guess, what it reports.

EC2 is the in-memory `FakeEc2` (support.fake_aws), logging the reads the plan makes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import NoCredentialsError
from support.cases import named
from support.fake_aws import FakeEc2, aws_error, client_error
from support.rules import GROUP, OTHER_GROUP, tcp

from egress_guard.aws import SetupProblem
from egress_guard.denylist import parse_denylist
from egress_guard.judge import Judge
from egress_guard.limits import Limits
from egress_guard.plan_run import PlaceEc2, PlanFailed, Planner, configured_limits, plan_document
from egress_guard.rules import Rule
from egress_guard.settings import SettingsError

ACCOUNT = "123456789012"
REGION = "us-east-1"
TAG = "egress-guard:exempt"
NOW = datetime(2026, 6, 1, tzinfo=UTC)
PL = "pl-0123456789abcdef0"
DEFAULT_LIMITS = Limits()  # 25 rules, 10 %


def judge(*deny: dict[str, Any]) -> Judge:
    return Judge(parse_denylist(json.dumps({"version": 1, "deny": list(deny)})))


SMTP_OUT = {"id": "smtp-out", "protocol": "tcp", "ports": "25", "cidr": ["0.0.0.0/0"]}
SSH_OUT = {"id": "ssh-out", "protocol": "tcp", "ports": "22", "cidr": ["0.0.0.0/0"]}
SMB_OUT = {"id": "smb-out", "protocol": "tcp", "ports": "445", "cidr": ["0.0.0.0/0"]}
SMB_INTERNET = {**SMB_OUT, "id": "smb-internet", "match": "covers"}  # all of the internet only
SSH_ANYWHERE = {"id": "ssh-anywhere", "protocol": "tcp", "ports": "22"}  # no CIDR entry


def rule(n: int, port: int, group: str = GROUP, **fields: Any) -> Rule:
    """Rule number n of the group: TCP on one port, to the internet unless `to` says."""
    return tcp(port, group, n, **fields)


def estate(rules: Sequence[Rule]) -> FakeEc2:
    """The rules, in GROUP and OTHER_GROUP (both untagged)."""
    return FakeEc2(rules, tags={GROUP: {}, OTHER_GROUP: {}})


def planner(new: Judge, current: Judge, limits: Limits = DEFAULT_LIMITS) -> Planner:
    return Planner(new, current, TAG, limits, NOW)


def run(ec2: FakeEc2, p: Planner, group_ids: Sequence[str] = ()) -> Any:
    return p.place(PlaceEc2(None, REGION, ec2), ACCOUNT, group_ids)


def changes(planned: Any) -> list[tuple[str, str, str]]:
    return [(c.rule.rule_id, c.change, c.entry_id) for c in planned.plan.changes]


# --- changes ------------------------------------------------------------------------------


def test_an_added_entry_newly_revokes_with_news_entry_and_a_dropped_one_spares() -> None:
    ec2 = estate([rule(1, 25), rule(2, 22), rule(3, 443)])
    planned = run(ec2, planner(new=judge(SSH_OUT), current=judge(SMTP_OUT)))
    assert changes(planned) == [
        ("sgr-00000000000000001", "newly-spared", "smtp-out"),
        ("sgr-00000000000000002", "newly-revoked", "ssh-out"),
    ]
    assert (planned.account, planned.region, planned.plan.rules_judged) == (ACCOUNT, REGION, 3)


def test_a_prefix_list_rule_is_judged_through_its_entries_read_once() -> None:
    ec2 = estate([rule(1, 445, to=PL), rule(2, 445, to=PL)])
    ec2.lists[PL] = ["10.0.0.0/8", "0.0.0.0/0"]
    planned = run(ec2, planner(new=judge(SMB_INTERNET), current=judge(SMTP_OUT)))
    assert [c[1:] for c in changes(planned)] == [("newly-revoked", "smb-internet")] * 2
    assert ec2.made("list ") == [f"list {PL}"]


def test_a_prefix_list_of_private_ranges_is_not_revoked_by_an_internet_entry() -> None:
    ec2 = estate([rule(1, 445, to=PL)])
    ec2.lists[PL] = ["10.0.0.0/8"]
    assert changes(run(ec2, planner(new=judge(SMB_INTERNET), current=judge(SMTP_OUT)))) == []


def test_lists_are_not_read_when_no_denylist_judges_cidrs() -> None:
    ec2 = estate([rule(1, 22, to=PL)])
    planned = run(
        ec2, planner(new=judge(SSH_ANYWHERE), current=judge({**SSH_ANYWHERE, "ports": "23"}))
    )
    assert [c[1] for c in changes(planned)] == ["newly-revoked"]
    assert ec2.made("list ") == []


# --- reads that fail: the plan refuses to guess ------------------------------------------

# (the estate's one rule, the read that fails, how, the new denylist's entry, what the
# failure names); the current denylist is SMTP_OUT throughout.
FAILED_READS = [
    ("an unreadable prefix list, named", rule(1, 445, to=PL), "prefix_list_cidrs",
     client_error("UnauthorizedOperation", "no"), SMB_OUT,
     f"prefix list {PL} could not be read: UnauthorizedOp"),
    ("rules that cannot be read", rule(1, 25), "all_rule_pages",
     client_error("RequestLimitExceeded", "slow down"), SSH_OUT,
     "the rules of the region could not be read"),
    ("group tags that cannot be read", rule(1, 22), "group_tags",
     client_error("UnauthorizedOperation", "no"), SSH_OUT, "group tags"),
]  # fmt: skip


@pytest.mark.parametrize(("live", "read", "error", "new", "message"), named(FAILED_READS))
def test_a_read_that_fails_fails_the_plan(
    live: Rule, read: str, error: Exception, new: dict[str, Any], message: str
) -> None:
    ec2 = estate([live])
    ec2.fail(read, error)
    with pytest.raises(PlanFailed, match=message):
        run(ec2, planner(new=judge(new), current=judge(SMTP_OUT)))


def test_a_set_up_problem_is_raised_as_itself_for_the_command_line_to_name() -> None:
    ec2 = estate([rule(1, 25)])
    ec2.fail("all_rule_pages", aws_error(NoCredentialsError()))
    with pytest.raises(SetupProblem, match="Unable to locate credentials"):
        run(ec2, planner(judge(SSH_OUT), judge(SMTP_OUT)))


def test_a_named_group_that_does_not_exist_fails_the_plan() -> None:
    ec2 = estate([rule(1, 25)])
    with pytest.raises(PlanFailed, match="'sg-0aaaaaaaaaaaaaaaa' does not exist"):
        run(ec2, planner(judge(SSH_OUT), judge(SMTP_OUT)), ["sg-0aaaaaaaaaaaaaaaa"])


def test_named_groups_are_the_only_ones_read() -> None:
    ec2 = estate([rule(1, 22), rule(2, 22, OTHER_GROUP)])
    planned = run(ec2, planner(judge(SSH_OUT), judge(SMTP_OUT)), [OTHER_GROUP])
    assert changes(planned) == [("sgr-00000000000000002", "newly-revoked", "ssh-out")]
    assert ec2.made("page ") == []


# --- exemptions ---------------------------------------------------------------------------


def test_a_rule_of_an_exempt_group_is_left_out_and_counted() -> None:
    ec2 = estate([rule(1, 22), rule(2, 22, OTHER_GROUP)])
    ec2.tags[GROUP] = {TAG: "true"}
    planned = run(ec2, planner(judge(SSH_OUT), judge(SMTP_OUT)))
    assert changes(planned) == [("sgr-00000000000000002", "newly-revoked", "ssh-out")]
    assert (planned.plan.exempt_left_out, planned.plan.due_under_new) == (1, 1)


def test_a_rule_exempt_until_a_later_date_is_left_out_an_expired_one_is_not() -> None:
    ec2 = estate(
        [
            rule(1, 22, tags=((f"{TAG}-until", "2026-07-01"),)),
            rule(2, 22, tags=((f"{TAG}-until", "2026-05-01"),)),
        ]
    )
    planned = run(ec2, planner(judge(SSH_OUT), judge(SMTP_OUT)))
    assert [c[0] for c in changes(planned)] == ["sgr-00000000000000002"]


def test_a_malformed_until_exempts_nothing_and_is_noted() -> None:
    ec2 = estate([rule(1, 22)])
    ec2.tags[GROUP] = {f"{TAG}-until": "next week"}
    planned = run(ec2, planner(judge(SSH_OUT), judge(SMTP_OUT)))
    assert len(planned.plan.changes) == 1
    assert "is not an ISO 8601 date" in planned.notes[0]


def test_group_tags_are_read_only_for_groups_with_an_offending_rule() -> None:
    ec2 = estate([rule(1, 22), rule(2, 443, OTHER_GROUP)])
    run(ec2, planner(judge(SSH_OUT), judge(SMTP_OUT)))
    assert ec2.made("tags") == [f"tags {GROUP}"]


def test_no_tags_are_read_when_nothing_is_offending() -> None:
    ec2 = estate([rule(1, 443)])
    run(ec2, planner(judge(SSH_OUT), judge(SMTP_OUT)))
    assert ec2.made("tags") == []


# --- limits -------------------------------------------------------------------------------


def many(port: int, count: int, start: int = 1) -> list[Rule]:
    return [rule(n, port) for n in range(start, start + count)]


def test_a_sweep_with_more_due_than_max_revocations_names_the_limit() -> None:
    ec2 = estate(many(22, 30) + many(443, 1000, start=100))
    planned = run(ec2, planner(judge(SSH_OUT), judge(SMTP_OUT)))
    (held,) = planned.held
    assert (held.limit, held.setting, held.due, held.invocation) == (
        "MAX_REVOCATIONS",
        25,
        30,
        "sweep",
    )
    assert not held.tripped_by_current


def test_a_sweep_over_the_share_names_max_revocations_percent() -> None:
    ec2 = estate(many(22, 20) + many(443, 80, start=100))
    planned = run(ec2, planner(judge(SSH_OUT), judge(SMTP_OUT)))
    assert [(h.limit, h.setting) for h in planned.held] == [("MAX_REVOCATIONS_PERCENT", 10)]
    assert "20 of 100 judged egress rules (20%)" in planned.held[0].reason


def test_both_limits_are_named_when_both_trip() -> None:
    ec2 = estate(many(22, 30))
    planned = run(ec2, planner(judge(SSH_OUT), judge(SMTP_OUT)))
    assert [h.limit for h in planned.held] == ["MAX_REVOCATIONS", "MAX_REVOCATIONS_PERCENT"]


def test_named_groups_are_one_invocation_checked_against_max_revocations_only() -> None:
    ec2 = estate(many(22, 20))
    planned = run(ec2, planner(judge(SSH_OUT), judge(SMTP_OUT), Limits(10, 10)), [GROUP])
    assert [(h.limit, h.invocation, h.due) for h in planned.held] == [
        ("MAX_REVOCATIONS", "groups", 20)
    ]


def test_a_limit_current_trips_already_says_so() -> None:
    ec2 = estate(many(22, 30))
    planned = run(ec2, planner(judge(SSH_OUT), judge(SSH_OUT, SMTP_OUT), Limits(25, 0)))
    assert [(h.limit, h.tripped_by_current) for h in planned.held] == [("MAX_REVOCATIONS", True)]


def test_exempt_rules_do_not_count_towards_the_limits() -> None:
    ec2 = estate(many(22, 30))
    ec2.tags[GROUP] = {TAG: "true"}
    assert run(ec2, planner(judge(SSH_OUT), judge(SMTP_OUT))).held == ()


def test_zero_limits_hold_nothing() -> None:
    ec2 = estate(many(22, 30))
    assert run(ec2, planner(judge(SSH_OUT), judge(SMTP_OUT), Limits(0, 0))).held == ()


def test_limits_come_from_the_environment_with_the_functions_defaults() -> None:
    assert configured_limits({}) == Limits(25, 10)
    env = {"MAX_REVOCATIONS": "100", "MAX_REVOCATIONS_PERCENT": "0"}
    assert configured_limits(env) == Limits(100, 0)


@pytest.mark.parametrize(
    ("name", "value"),
    [("MAX_REVOCATIONS", "-1"), ("MAX_REVOCATIONS", "ten"), ("MAX_REVOCATIONS_PERCENT", "101")],
)
def test_a_limit_that_is_not_a_number_in_range_is_refused_naming_it(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        configured_limits({name: value})


# --- the document -------------------------------------------------------------------------


def test_the_document_has_changes_in_the_findings_shape_places_and_totals() -> None:
    ec2 = estate([rule(1, 25), rule(2, 22)])
    planned = run(ec2, planner(judge(SSH_OUT), judge(SMTP_OUT)))
    doc = plan_document([planned], new_source="new.yaml", current_source="DENYLIST")
    first = doc["Changes"][0]
    assert set(first) == {
        "Account", "Region", "GroupId", "SecurityGroupRuleId", "DenylistEntry", "Action",
        "Traffic", "Rule",
    }  # fmt: skip
    assert first["Rule"]["SecurityGroupRuleId"] == first["SecurityGroupRuleId"]
    assert doc["Places"][0]["Account"] == ACCOUNT
    assert doc["Places"][0]["HeldLimits"] == []
    assert doc["Summary"]["NewlyRevoked"] == doc["Summary"]["NewlySpared"] == 1
    assert (doc["Summary"]["NewDenylist"], doc["Summary"]["CurrentDenylist"]) == (
        "new.yaml",
        "DENYLIST",
    )
