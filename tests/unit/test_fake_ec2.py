"""The unit tests' fake EC2 (support.fake_aws) stays the real `aws.Ec2`: it is an
`aws.Ec2Calls` (the protocol the logic's annotations name, so no cast and no ignore where a
test hands it over), with the real class's signatures, and EC2's all-or-nothing revoke by
rule ids."""

from __future__ import annotations

import inspect

import pytest
from support.fake_aws import AS_USUAL, FakeEc2, Lost, throttled
from support.rules import smtp

from egress_guard.aws import Ec2, Ec2Calls, NotFound

PROTOCOL = [name for name in dir(Ec2Calls) if not name.startswith("_")]

CALLS = [
    name
    for name, member in inspect.getmembers(FakeEc2, inspect.isfunction)
    if not name.startswith("_") and hasattr(Ec2, name)
]


def test_the_fake_answers_the_calls_the_code_makes() -> None:
    assert {"rules_by_ids", "rules_of_group", "all_rule_pages", "group_tags", "revoke"} <= set(
        CALLS
    )


def test_the_fake_and_the_real_class_are_the_protocol() -> None:
    ec2: Ec2Calls = FakeEc2()  # mypy holds the fake to the protocol here
    assert isinstance(ec2, Ec2Calls)
    assert set(PROTOCOL) <= set(dir(Ec2))


@pytest.mark.parametrize("name", [n for n in PROTOCOL if callable(getattr(Ec2Calls, n))])
def test_fake_ec2_has_the_signatures_of_the_protocol(name: str) -> None:
    fake = inspect.signature(getattr(FakeEc2, name))
    assert fake == inspect.signature(getattr(Ec2Calls, name))


@pytest.mark.parametrize("name", CALLS)
def test_fake_ec2_has_the_signatures_of_ec2(name: str) -> None:
    fake, real = inspect.signature(getattr(FakeEc2, name)), inspect.signature(getattr(Ec2, name))
    assert fake == real


def test_a_revoke_naming_an_unknown_rule_revokes_none_of_them() -> None:
    ec2 = FakeEc2([smtp("sg-aaaaaaaa", 1)])

    with pytest.raises(NotFound):
        ec2.revoke("sg-aaaaaaaa", [smtp("sg-aaaaaaaa", 1).rule_id, "sgr-0000000000000ffff"])

    assert ec2.live_ids() == {smtp("sg-aaaaaaaa", 1).rule_id}


def test_a_lost_answer_takes_effect_and_then_raises() -> None:
    ec2 = FakeEc2([smtp("sg-aaaaaaaa", 1)])
    ec2.script("revoke", Lost(throttled("RevokeSecurityGroupEgress", retried=1)))

    with pytest.raises(Exception, match="RequestLimitExceeded"):
        ec2.revoke("sg-aaaaaaaa", [smtp("sg-aaaaaaaa", 1).rule_id])

    assert ec2.live_ids() == set()


def test_as_usual_in_a_script_answers_from_the_estate() -> None:
    ec2 = FakeEc2([smtp("sg-aaaaaaaa", 1)])
    ec2.script("rules_of_group", AS_USUAL, throttled("DescribeSecurityGroupRules"))

    assert ec2.rules_of_group("sg-aaaaaaaa") == [smtp("sg-aaaaaaaa", 1)]
    with pytest.raises(Exception, match="RequestLimitExceeded"):
        ec2.rules_of_group("sg-aaaaaaaa")
