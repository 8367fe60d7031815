"""Rules to managed prefix lists, against the emulator (issue 8 item 1; docs/denylist.md).

"A rule to a managed prefix list stands for one rule per entry of the list: it is
offending when any of those is offending, spared when every one is spared (by deny
entries and allow entries alike)." Each test builds the lists and a group in the emulator,
sends the handler the CloudTrail event of the rules' creation, and checks what is left.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from support.egress import egress_ids, prefix_list, use_denylist
from support.samples import authorize_egress

from egress_guard import handler

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("fresh_container")]

PRIVATE_RANGES = ["10.20.0.0/16", "192.168.10.0/24"]
PRIVATE_AND_INTERNET = ["10.20.0.0/16", "0.0.0.0/0"]


def smb_to(*prefix_lists: str) -> list[dict[str, Any]]:
    return [{"IpProtocol": "tcp", "Port": 445, "PrefixListId": pl} for pl in prefix_lists]


def findings(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(f["SecurityGroupRuleId"], f["DenylistEntry"], f["Action"]) for f in result["Findings"]]


def packaged_default(private: str, mixed: str) -> None:
    """No DENYLIST variable: the packaged default (smb-to-internet; allow private-ipv4)."""
    return None


def denying_the_lists_allowing_their_ranges(private: str, mixed: str) -> dict[str, Any]:
    """A deny entry naming both lists; allow entries hold each list entry by entry."""
    return {
        "version": 1,
        "deny": [{"id": "no-shared-lists", "prefix_list": [private, mixed]}],
        "allow": [
            {"id": "ten", "cidr": "10.0.0.0/8"},
            {"id": "one-nine-two", "cidr": "192.168.0.0/16"},
        ],
    }


@pytest.mark.parametrize(
    ("denylist", "entry"),
    [
        (packaged_default, "smb-to-internet"),
        (denying_the_lists_allowing_their_ranges, "no-shared-lists"),
    ],
    ids=["packaged-default", "deny-entry-naming-the-lists"],
)
def test_smb_to_a_list_of_private_ranges_is_spared_and_one_to_the_internet_revoked(
    denylist: Callable[[str, str], dict[str, Any] | None],
    entry: str,
    make_group: Any,
    ec2: Any,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    private = prefix_list(ec2, *PRIVATE_RANGES, name="private-ranges")
    mixed = prefix_list(ec2, *PRIVATE_AND_INTERNET, name="private-and-internet")
    document = denylist(private, mixed)
    if document is not None:
        use_denylist(monkeypatch, document)
    group = make_group(smb_to(private, mixed), keep_default_egress=False)
    to_private, to_mixed = group.rule_ids

    result = handler.lambda_handler(
        authorize_egress(group.group_id, to_private, to_mixed), lambda_context
    )

    assert findings(result) == [(to_mixed, entry, "revoked")]
    assert egress_ids(ec2, group.group_id) == {to_private}
