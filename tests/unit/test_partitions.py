"""Partitions come from botocore's own endpoint data, not from a region-name prefix test."""

from __future__ import annotations

import pytest

from egress_guard.aws import partition


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("us-east-1", "aws"),
        ("eu-central-2", "aws"),
        ("cn-north-1", "aws-cn"),
        ("us-gov-west-1", "aws-us-gov"),
        ("us-iso-east-1", "aws-iso"),
        ("us-isob-east-1", "aws-iso-b"),
    ],
)
def test_partition_of_region(region: str, expected: str) -> None:
    assert partition(region) == expected


def test_unknown_region_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match="xx-nowhere-1"):
        partition("xx-nowhere-1")
