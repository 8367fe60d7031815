"""Remediation over an in-memory EC2: sweeps that act while reading, and exemption tags.

The fake records the order of calls, so the tests can say *when* something happened.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from botocore.exceptions import ClientError

from egress_guard.denylist import parse_denylist
from egress_guard.judge import Judge
from egress_guard.remediate import Remediator
from egress_guard.result import Result
from egress_guard.rules import Rule
from egress_guard.settings import Settings
from egress_guard.targets import GroupTarget, Targets

JUDGE = Judge(
    parse_denylist('{"version": 1, "deny": [{"id": "smtp", "protocol": "tcp", "ports": "25"}]}')
)


def smtp(group: str, number: int) -> Rule:
    return Rule(
        rule_id=f"sgr-{number:017x}",
        group_id=group,
        is_egress=True,
        ip_protocol="tcp",
        from_port=25,
        to_port=25,
        cidr_ipv4="0.0.0.0/0",
    )


class PagedEc2:
    """Pages of rules, and a log of every call in the order it was made."""

    region = "us-east-1"
    account = None

    def __init__(self, pages: Sequence[Sequence[Rule]], tags_fail: bool = False) -> None:
        self.pages = [list(p) for p in pages]
        self.tags_fail = tags_fail
        self.calls: list[str] = []

    def all_rule_pages(self) -> Iterator[list[Rule]]:
        for number, page in enumerate(self.pages, 1):
            self.calls.append(f"page {number}")
            yield page

    def groups_tagged(self, key: str) -> dict[str, str]:
        return self.group_tags([])  # type: ignore[return-value]

    def group_tags(self, group_ids: Sequence[str]) -> dict[str, Any]:
        self.calls.append("tags")
        if self.tags_fail:
            raise ClientError({"Error": {"Code": "RequestLimitExceeded"}}, "DescribeSecurityGroups")
        return {}

    def rules_of_group(self, group_id: str) -> list[Rule]:
        live = [r for page in self.pages for r in page if r.group_id == group_id]
        self.calls.append(f"read {group_id}")
        return live

    def revoke(self, group_id: str, rule_ids: Sequence[str]) -> dict[str, Any]:
        self.calls.append(f"revoke {group_id} {len(rule_ids)}")
        self.pages = [[r for r in p if r.rule_id not in rule_ids] for p in self.pages]
        return {"Return": True}


def sweep(ec2: PagedEc2) -> Result:
    result = Result("schedule", None, None, "us-east-1", "enforce", False)
    remediator = Remediator(ec2, JUDGE, Settings(sweep_concurrency=1), dry_run=False)  # type: ignore[arg-type]
    return remediator.run(Targets("schedule", sweep=True), result)


def test_sweep_revokes_a_group_before_reading_the_next_page() -> None:
    ec2 = PagedEc2([[smtp("sg-aaaaaaaa", 1), smtp("sg-bbbbbbbb", 2)], [smtp("sg-cccccccc", 3)]])

    sweep(ec2)

    assert ec2.calls.index("revoke sg-aaaaaaaa 1") < ec2.calls.index("page 2")


def test_sweep_holds_back_a_group_that_may_go_on_in_the_next_page() -> None:
    ec2 = PagedEc2([[smtp("sg-aaaaaaaa", 1), smtp("sg-bbbbbbbb", 2)], [smtp("sg-bbbbbbbb", 3)]])

    result = sweep(ec2)

    assert [c for c in ec2.calls if c.startswith("revoke sg-bbbbbbbb")] == ["revoke sg-bbbbbbbb 2"]
    assert sorted(f.action for f in result.findings) == ["revoked"] * 3


def test_sweep_with_nothing_offending_reads_no_tags() -> None:
    ec2 = PagedEc2([[]])

    sweep(ec2)

    assert ec2.calls == ["page 1"]


def test_unreadable_group_tags_make_offending_rules_failed_not_exempt() -> None:
    ec2 = PagedEc2([[smtp("sg-aaaaaaaa", 1)]], tags_fail=True)
    result = Result("cloudtrail", None, None, "us-east-1", "enforce", False)
    remediator = Remediator(ec2, JUDGE, Settings(), dry_run=False)  # type: ignore[arg-type]

    remediator.run(Targets("cloudtrail", groups=(GroupTarget("sg-aaaaaaaa"),)), result)

    assert [(f.action, f.error) for f in result.findings] == [
        ("failed", "group tags not read: RequestLimitExceeded")
    ]
    assert not any(c.startswith("revoke") for c in ec2.calls)


@pytest.mark.parametrize("concurrency", [1, 4])
def test_sweep_of_many_groups_revokes_each_once(concurrency: int) -> None:
    rules = [smtp(f"sg-{n:08x}", n) for n in range(1, 41)]
    ec2 = PagedEc2([rules[i : i + 7] for i in range(0, 40, 7)])
    result = Result("schedule", None, None, "us-east-1", "enforce", False)
    settings = Settings(sweep_concurrency=concurrency)

    Remediator(ec2, JUDGE, settings, dry_run=False).run(Targets("schedule", sweep=True), result)  # type: ignore[arg-type]

    assert len([c for c in ec2.calls if c.startswith("revoke")]) == 40
    assert len(result.revoked) == 40
