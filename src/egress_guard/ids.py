"""AWS ids and CIDRs as checked values: one pattern, one canonical text, one error family.

Every id egress-guard reads (from an event, a denylist, the command line) is parsed here,
by the type's constructor, against the whole string: `GroupId("sg-01234567\\n")` is
refused, as are a trailing space and upper-case hex, which EC2 never writes and a rule
could never match. The types are `str` subclasses, so a parsed id goes anywhere text does
(boto3 parameters, JSON) and compares equal to the text EC2 returns.

A bad value raises `IdError` (a ValueError) whose message names the field and the value:
"detail.requestParameters.groupId: 'sg-1' is not a security group id (sg-xxxxxxxx)".
"""

from __future__ import annotations

import ipaddress
import re
from typing import ClassVar, Self

__all__ = [
    "SECURITY_GROUP",
    "AccountId",
    "AwsId",
    "GroupId",
    "IdError",
    "Network",
    "PrefixListId",
    "Region",
    "RuleId",
    "VpcId",
    "canonical_cidr",
    "parse_cidr",
]

# The CloudFormation/Config resource type of a security group.
SECURITY_GROUP = "AWS::EC2::SecurityGroup"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class IdError(ValueError):
    """A value that is not what its field needs; `field` and `value` say which and what."""

    def __init__(self, field: str, value: object, problem: str) -> None:
        self.field = field
        self.value = value
        self.problem = problem
        super().__init__(f"{field}: {value!r} {problem}")


class AwsId(str):
    """Text that matched the type's pattern whole; each subclass names its pattern and what
    it is, for messages ("is not a security group id (sg-xxxxxxxx)")."""

    __slots__ = ()
    PATTERN: ClassVar[re.Pattern[str]]
    WHAT: ClassVar[str]

    def __init_subclass__(cls, *, pattern: str, what: str) -> None:
        super().__init_subclass__()
        cls.PATTERN = re.compile(pattern)
        cls.WHAT = what

    def __new__(cls, value: object, field: str = "value") -> Self:
        if not isinstance(value, str) or not cls.PATTERN.fullmatch(value):
            raise IdError(field, value, f"is not {cls.WHAT}")
        return super().__new__(cls, value)


# Resource ids: 8 hex digits (the older form) or 17; prefix lists too (AWS-managed ones
# such as pl-63a5400a have 8, customer-managed ones 17). Rule ids: EC2 documents no fixed
# length. ASCII digits only: \d takes any script's.
_HEX_ID = "[0-9a-f]{8}(?:[0-9a-f]{9})?"


class GroupId(AwsId, pattern=f"sg-{_HEX_ID}", what="a security group id (sg-xxxxxxxx)"):
    __slots__ = ()


class RuleId(AwsId, pattern="sgr-[0-9a-f]{8,17}", what="a security group rule id (sgr-xxxxxxxx)"):
    __slots__ = ()


class VpcId(AwsId, pattern=f"vpc-{_HEX_ID}", what="a VPC id (vpc-xxxxxxxx)"):
    __slots__ = ()


class PrefixListId(AwsId, pattern=f"pl-{_HEX_ID}", what="a prefix list id (pl-xxxxxxxx)"):
    __slots__ = ()


class AccountId(AwsId, pattern="[0-9]{12}", what="a 12-digit AWS account id"):
    __slots__ = ()


class Region(AwsId, pattern="[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}", what="an AWS region name"):
    __slots__ = ()


def parse_cidr(text: str, field: str, version: int | None = None) -> Network:
    """The network a CIDR names, host bits cleared, as EC2 stores it (10.0.0.18/16 is
    10.0.0.0/16; IPv6 compressed and lower-case). `version` 4 or 6 refuses the other.

    The text is read exactly as given (no stripping); a zone index (fe80::%eth0/64, which
    ipaddress accepts and EC2 does not) and a bare address without a prefix length are
    refused, so that what a CIDR covers is never guessed.
    """
    problem: str | None
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError as exc:
        problem = f"is not an IPv4 or IPv6 CIDR ({exc})"
    else:
        problem = _cidr_problem(text, network, version)
    if problem is None:
        return network
    # A field that names its family (CidrIpv6) says only that, whatever the fault.
    raise IdError(field, text, f"is not an IPv{version} CIDR" if version else problem)


def _cidr_problem(text: str, network: Network, version: int | None) -> str | None:
    if version is not None and network.version != version:
        return f"is not an IPv{version} CIDR"
    if "%" in text:
        return "has a zone index (%...)"
    if "/" not in text:
        return f"has no prefix length (write {network})"
    return None


def canonical_cidr(text: str, field: str, version: int | None = None) -> str:
    """The CIDR's canonical text (see `parse_cidr`)."""
    return str(parse_cidr(text, field, version))
