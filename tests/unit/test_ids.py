"""AWS ids and CIDRs are parsed whole: the exact text EC2 writes, or an error naming the field.

Issue 9: ids were checked with `.match`, so "sg-01234567\\n" passed as a group id that no
rule could ever have.
"""

from __future__ import annotations

import pytest

from egress_guard.ids import (
    AccountId,
    AwsId,
    GroupId,
    IdError,
    PrefixListId,
    Region,
    RuleId,
    VpcId,
    canonical_cidr,
)

GOOD: list[tuple[type[AwsId], str]] = [
    (GroupId, "sg-01234567"),
    (GroupId, "sg-0123456789abcdef0"),
    (RuleId, "sgr-0123456789abcdef0"),
    (VpcId, "vpc-0123456789abcdef0"),
    (PrefixListId, "pl-63a5400a"),  # AWS-managed lists: 8 hex digits
    (PrefixListId, "pl-0123456789abcdef0"),
    (AccountId, "123456789012"),
    (Region, "us-east-1"),
    (Region, "us-gov-west-1"),
]
IDS = [f"{kind.__name__}:{text}" for kind, text in GOOD]


@pytest.mark.parametrize(("kind", "text"), GOOD, ids=IDS)
def test_a_good_id_is_its_own_canonical_text(kind: type[AwsId], text: str) -> None:
    parsed = kind(text, "field")
    assert parsed == text
    assert str(parsed) == text


@pytest.mark.parametrize("spoil", ["\n", " ", "upper"])
@pytest.mark.parametrize(("kind", "text"), GOOD, ids=IDS)
def test_a_spoilt_id_is_refused_naming_the_field_and_value(
    kind: type[AwsId], text: str, spoil: str
) -> None:
    bad = text.upper() if spoil == "upper" else text + spoil
    if bad == text:  # an account id has no letters to upper-case
        bad = " " + text
    with pytest.raises(IdError) as caught:
        kind(bad, "detail.groupId")
    assert str(caught.value).startswith(f"detail.groupId: {bad!r} is not ")
    assert (caught.value.field, caught.value.value) == ("detail.groupId", bad)


@pytest.mark.parametrize(
    "text", ["pl-0123456", "pl-0123456789", "pl-0123456789abcdef01", "sg-01234567", ""]
)
def test_a_prefix_list_id_has_8_or_17_hex_digits(text: str) -> None:
    with pytest.raises(IdError, match="is not a prefix list id"):
        PrefixListId(text, "prefix_list")


@pytest.mark.parametrize("value", [None, 12, ["sg-01234567"]])
def test_an_id_that_is_not_text_is_refused(value: object) -> None:
    with pytest.raises(IdError, match="is not a security group id"):
        GroupId(value, "group")


def test_an_id_error_is_a_value_error() -> None:
    assert issubclass(IdError, ValueError)


@pytest.mark.parametrize(
    ("text", "version", "canonical"),
    [
        ("10.0.0.18/16", None, "10.0.0.0/16"),
        ("2001:DB8::1/32", None, "2001:db8::/32"),
        ("0.0.0.0/0", 4, "0.0.0.0/0"),
        ("::/0", 6, "::/0"),
    ],
)
def test_a_cidr_is_written_as_ec2_stores_it(text: str, version: int | None, canonical: str) -> None:
    assert canonical_cidr(text, "cidr", version) == canonical


@pytest.mark.parametrize(
    ("text", "version", "problem"),
    [
        ("10.0.0.300/8", None, "is not an IPv4 or IPv6 CIDR"),
        ("10.0.0.1", None, "has no prefix length (write 10.0.0.1/32)"),
        ("fe80::%eth0/64", None, "has a zone index"),
        ("10.0.0.0/8\n", None, "is not an IPv4 or IPv6 CIDR"),
        ("0.0.0.0/0", 6, "is not an IPv6 CIDR"),
        ("10.0.0.1", 4, "is not an IPv4 CIDR"),
        ("fe80::%eth0/64", 6, "is not an IPv6 CIDR"),
    ],
)
def test_a_bad_cidr_is_refused_naming_the_field(
    text: str, version: int | None, problem: str
) -> None:
    with pytest.raises(IdError) as caught:
        canonical_cidr(text, "CidrIp", version)
    assert str(caught.value).startswith(f"CidrIp: {text!r} {problem}")
