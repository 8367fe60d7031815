"""Rules to managed prefix lists, against the emulator (issue 8 item 1; docs/denylist.md).

"A rule to a managed prefix list stands for one rule per entry of the list: it is
offending when any of those is offending, spared when every one is spared (by deny
entries and allow entries alike)." Each test builds the lists and a group in the emulator,
sends the handler the CloudTrail event of the rules' creation, and checks what is left.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from support.samples import authorize_egress

from egress_guard import handler

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("fresh_container")]

PRIVATE_RANGES = ["10.20.0.0/16", "192.168.10.0/24"]
PRIVATE_AND_INTERNET = ["10.20.0.0/16", "0.0.0.0/0"]


def prefix_list(ec2: Any, name: str, cidrs: list[str]) -> str:
    created = ec2.create_managed_prefix_list(
        PrefixListName=name,
        MaxEntries=10,
        AddressFamily="IPv4",
        Entries=[{"Cidr": cidr} for cidr in cidrs],
    )
    return str(created["PrefixList"]["PrefixListId"])


def smb_to(*prefix_lists: str) -> list[dict[str, Any]]:
    return [{"IpProtocol": "tcp", "Port": 445, "PrefixListId": pl} for pl in prefix_lists]


def findings(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(f["SecurityGroupRuleId"], f["DenylistEntry"], f["Action"]) for f in result["Findings"]]


def egress_rule_ids(ec2: Any, group_id: str) -> set[str]:
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group_id]}])
    return {r["SecurityGroupRuleId"] for r in rules["SecurityGroupRules"] if r["IsEgress"]}


def test_packaged_default_spares_smb_to_a_list_of_private_ranges_and_revokes_one_to_the_internet(
    make_group: Any, ec2: Any, lambda_context: Any
) -> None:
    # No DENYLIST variable: the packaged default (smb-to-internet; allow private-ipv4).
    private = prefix_list(ec2, "private-ranges", PRIVATE_RANGES)
    mixed = prefix_list(ec2, "private-and-internet", PRIVATE_AND_INTERNET)
    group = make_group(smb_to(private, mixed), keep_default_egress=False)
    to_private, to_mixed = group.rule_ids

    result = handler.lambda_handler(
        authorize_egress(group.group_id, to_private, to_mixed), lambda_context
    )

    assert findings(result) == [(to_mixed, "smb-to-internet", "revoked")]
    assert egress_rule_ids(ec2, group.group_id) == {to_private}


def test_allow_entries_hold_a_list_entry_by_entry_against_a_deny_entry_naming_the_list(
    make_group: Any, ec2: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    private = prefix_list(ec2, "private-ranges", PRIVATE_RANGES)
    mixed = prefix_list(ec2, "private-and-internet", PRIVATE_AND_INTERNET)
    denylist = {
        "version": 1,
        "deny": [{"id": "no-shared-lists", "prefix_list": [private, mixed]}],
        "allow": [
            {"id": "ten", "cidr": "10.0.0.0/8"},
            {"id": "one-nine-two", "cidr": "192.168.0.0/16"},
        ],
    }
    monkeypatch.setenv("DENYLIST", json.dumps(denylist))
    group = make_group(smb_to(private, mixed), keep_default_egress=False)
    to_private, to_mixed = group.rule_ids

    result = handler.lambda_handler(
        authorize_egress(group.group_id, to_private, to_mixed), lambda_context
    )

    assert findings(result) == [(to_mixed, "no-shared-lists", "revoked")]
    assert egress_rule_ids(ec2, group.group_id) == {to_private}
