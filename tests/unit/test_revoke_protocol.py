"""The revoke-confirm-settle protocol for one group (revoke.py), one outcome per test.

docs/invocation.md, steps 4 and 5, and docs/invariants.md 3, 4 and 6: `Return: true` to a
revoke by rule ids confirms it with nothing read back; an answer that was lost (the call
raised after it may have taken effect) is settled by reading the group back, and a rule
whose fate stays unknown is `failed` with `MaybeRevoked`; a not-found is settled by reading
the group again (gone, changed, retried once); what there is no time for is `failed`.

EC2 is `support.fake_aws.FakeEc2`: its call log shows what was read back and when.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from support.cases import named
from support.fake_aws import Answer, FakeEc2, Lost, Scripted, client_error, throttled
from support.rules import SMTP_JUDGE, smtp

from egress_guard.aws import NotFound, OutOfTime
from egress_guard.remediate import Remediator
from egress_guard.revoke import GroupOutcome, Offence, act_on_group
from egress_guard.rules import Rule
from egress_guard.settings import Settings

GROUP = "sg-aaaaaaaa"
FIRST, SECOND = smtp(GROUP, 1), smtp(GROUP, 2)
REVOKE = "RevokeSecurityGroupEgress"
READ = "DescribeSecurityGroupRules"
# boto3 retried the call: an earlier attempt whose answer was lost may have done the work.
RETRIED = 2


def due(*rules: Rule) -> list[Offence]:
    return [(rule, "smtp") for rule in rules]


def act(ec2: FakeEc2, *rules: Rule, dry_run: bool = False) -> GroupOutcome:
    """Acts on the rules as read before the revoke (`ec2` holds them as they are now)."""
    return act_on_group(
        ec2, GROUP, due(*rules), judge=SMTP_JUDGE, prefix_lists={}, dry_run=dry_run, who={}
    )


def actions(outcome: GroupOutcome) -> list[tuple[str, str, bool]]:
    return [(f.rule.rule_id, f.action, f.maybe_revoked) for f in outcome.findings]


# --- EC2 answered -------------------------------------------------------------------------


def test_return_true_confirms_the_revoke_with_nothing_read_back() -> None:
    ec2 = FakeEc2([FIRST, SECOND])

    outcome = act(ec2, FIRST, SECOND)

    assert actions(outcome) == [
        (FIRST.rule_id, "revoked", False),
        (SECOND.rule_id, "revoked", False),
    ]
    assert outcome.revoked == [FIRST.to_revoked(), SECOND.to_revoked()]
    assert ec2.calls == [f"revoke {GROUP} 2"]


def test_the_rules_ec2_lists_as_revoked_are_reported_as_ec2_gives_them() -> None:
    ec2 = FakeEc2([FIRST])
    listed = {**FIRST.to_revoked(), "Description": "as EC2 lists it"}
    ec2.script("revoke", Answer({"Return": True, "RevokedSecurityGroupRules": [listed]}))

    outcome = act(ec2, FIRST)

    assert outcome.revoked == [listed]


# An answer that says the revoke was not done: failed, not maybe revoked, nothing read back.
REFUSALS = [
    ("Return: false", Answer({"Return": False}, applies=False), "EC2 answered Return: false"),
    ("a refused revoke", client_error("UnauthorizedOperation", "not allowed"),
     "UnauthorizedOperation: not allowed"),
]  # fmt: skip


@pytest.mark.parametrize(("answer", "error"), named(REFUSALS))
def test_a_revoke_ec2_refuses_is_failed_not_maybe_revoked_and_not_read_back(
    answer: Scripted, error: str
) -> None:
    ec2 = FakeEc2([FIRST])
    ec2.script("revoke", answer)

    outcome = act(ec2, FIRST)

    assert (actions(outcome), outcome.findings[0].error, ec2.calls) == (
        [(FIRST.rule_id, "failed", False)],
        error,
        [f"revoke {GROUP} 1"],
    )


# --- throttling ---------------------------------------------------------------------------


def test_a_revoke_that_succeeds_after_throttled_attempts_is_confirmed_by_its_answer() -> None:
    ec2 = FakeEc2([FIRST])
    answer = {"Return": True, "ResponseMetadata": {"RetryAttempts": RETRIED}}
    ec2.script("revoke", Answer(answer))

    outcome = act(ec2, FIRST)

    assert actions(outcome) == [(FIRST.rule_id, "revoked", False)]
    assert ec2.calls == [f"revoke {GROUP} 1"]


def test_a_revoke_throttled_to_the_end_is_read_back_and_failed_when_the_rule_is_there() -> None:
    ec2 = FakeEc2([FIRST])
    ec2.script("revoke", throttled(REVOKE, retried=RETRIED))

    outcome = act(ec2, FIRST)

    assert actions(outcome) == [(FIRST.rule_id, "failed", False)]
    assert outcome.findings[0].error == "RequestLimitExceeded: slow down"
    assert ec2.calls == [f"revoke {GROUP} 1", f"read {GROUP}"]


# --- the answer lost ----------------------------------------------------------------------


def test_a_lost_answer_read_back_with_the_rules_gone_is_revoked() -> None:
    ec2 = FakeEc2([FIRST, SECOND])
    ec2.script("revoke", Lost(throttled(REVOKE, retried=RETRIED)))

    outcome = act(ec2, FIRST, SECOND)

    assert actions(outcome) == [
        (FIRST.rule_id, "revoked", False),
        (SECOND.rule_id, "revoked", False),
    ]
    assert ec2.calls == [f"revoke {GROUP} 2", f"read {GROUP}"]


def test_no_answer_at_all_is_read_back_too() -> None:
    ec2 = FakeEc2([FIRST])
    ec2.script("revoke", Lost(OutOfTime(left=3.0, needed=21.0)))  # a retry not sent

    outcome = act(ec2, FIRST)

    assert actions(outcome) == [(FIRST.rule_id, "revoked", False)]


def test_a_lost_answer_that_cannot_be_read_back_is_failed_and_maybe_revoked() -> None:
    ec2 = FakeEc2([FIRST])
    ec2.script("revoke", Lost(throttled(REVOKE, retried=RETRIED)))
    ec2.script("rules_of_group", throttled(READ))

    outcome = act(ec2, FIRST)

    assert actions(outcome) == [(FIRST.rule_id, "failed", True)]
    assert outcome.findings[0].error == (
        "RequestLimitExceeded: slow down; not read back: RequestLimitExceeded: slow down"
    )
    assert outcome.revoked == []


# --- not found ----------------------------------------------------------------------------


def test_a_rule_revoked_first_by_another_delivery_is_gone_and_not_revoked_again() -> None:
    ec2 = FakeEc2([])  # another delivery revoked it since it was read

    outcome = act(ec2, FIRST)

    assert actions(outcome) == [(FIRST.rule_id, "gone", False)]
    assert outcome.revoked == []
    assert ec2.calls == [f"revoke {GROUP} 1", f"read {GROUP}"]


def test_after_a_not_found_the_rules_still_there_are_revoked_in_one_more_call() -> None:
    ec2 = FakeEc2([SECOND])  # FIRST vanished since it was read

    outcome = act(ec2, FIRST, SECOND)

    assert actions(outcome) == [(FIRST.rule_id, "gone", False), (SECOND.rule_id, "revoked", False)]
    assert ec2.calls == [f"revoke {GROUP} 2", f"read {GROUP}", f"revoke {GROUP} 1"]


def test_a_not_found_answering_a_retry_of_a_revoke_that_took_effect_is_revoked() -> None:
    ec2 = FakeEc2([FIRST])
    retry_answer = NotFound("InvalidSecurityGroupRuleId.NotFound", retried=True)
    ec2.script("revoke", Lost(retry_answer))

    outcome = act(ec2, FIRST)

    assert actions(outcome) == [(FIRST.rule_id, "revoked", False)]
    assert outcome.revoked == [FIRST.to_revoked()]


def test_a_rule_changed_to_clean_before_the_revoke_is_left_alone() -> None:
    ec2 = FakeEc2([replace(FIRST, from_port=443, to_port=443)])
    ec2.script("revoke", NotFound("InvalidSecurityGroupRuleId.NotFound"))

    outcome = act(ec2, FIRST)

    assert outcome.findings == []
    assert ec2.made("revoke") == [f"revoke {GROUP} 1"]


def test_not_found_twice_is_failed() -> None:
    ec2 = FakeEc2([FIRST])
    not_found = NotFound("InvalidSecurityGroupRuleId.NotFound")
    ec2.script("revoke", not_found, not_found)

    outcome = act(ec2, FIRST)

    assert actions(outcome) == [(FIRST.rule_id, "failed", False)]
    assert outcome.findings[0].error == "not found twice: InvalidSecurityGroupRuleId.NotFound"
    assert len(ec2.made("revoke")) == 2


# --- out of time --------------------------------------------------------------------------


def test_a_revoke_not_sent_for_want_of_time_is_failed_not_maybe_revoked() -> None:
    ec2 = FakeEc2([FIRST])
    ec2.script("revoke", OutOfTime(left=3.0, needed=21.0, unsent=True))  # pacing's refusal

    outcome = act(ec2, FIRST)

    assert actions(outcome) == [(FIRST.rule_id, "failed", False)]
    assert ec2.calls == [f"revoke {GROUP} 1"]
    assert ec2.live_ids() == {FIRST.rule_id}


def test_a_group_reached_out_of_time_is_failed_without_a_call() -> None:
    ec2 = FakeEc2([FIRST])
    remediator = Remediator(ec2, SMTP_JUDGE, Settings(), dry_run=False, time_left=lambda: 1.0)

    outcome = remediator.act_on_group(GROUP, due(FIRST))

    assert [(f.action, f.error) for f in outcome.findings] == [("failed", "ran out of time")]
    assert ec2.calls == []


# --- a dry run ------------------------------------------------------------------------------


def test_a_dry_run_asks_ec2_once_and_revokes_nothing() -> None:
    ec2 = FakeEc2([FIRST, SECOND])

    outcome = act(ec2, FIRST, SECOND, dry_run=True)

    assert [f.action for f in outcome.findings] == ["would-revoke", "would-revoke"]
    assert outcome.check is not None
    assert (outcome.check.group_id, outcome.check.permitted) == (GROUP, True)
    assert ec2.calls == [f"dry-run {GROUP} 2"]
    assert ec2.live_ids() == {FIRST.rule_id, SECOND.rule_id}
