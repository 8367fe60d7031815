"""The packaged default denylist parses and does what its descriptions say (docs/denylist.md)."""

# ruff: noqa: E501  (case tables: one case a line reads better than wrapped)

from __future__ import annotations

import json

import pytest
from support.cases import named
from support.rules import egress

from egress_guard.denylist import parse_denylist
from egress_guard.denylist_source import packaged_default
from egress_guard.judge import CLEAN, Judge, Verdict, prefix_list_networks
from egress_guard.rules import Rule

PARTNER = "pl-0123456789abcdef0"
PRIVATE_LIST = "pl-0fedcba987654321f"
TWO_PRIVATE_RANGES = "pl-0aaaaaaaaaaaaaaaa"
PRIVATE_AND_INTERNET = "pl-0bbbbbbbbbbbbbbbb"
LISTS = {
    PARTNER: prefix_list_networks(["198.51.100.0/24"]),
    PRIVATE_LIST: prefix_list_networks(["10.20.0.0/16"]),
    TWO_PRIVATE_RANGES: prefix_list_networks(["10.20.0.0/16", "192.168.10.0/24"]),
    PRIVATE_AND_INTERNET: prefix_list_networks(["10.20.0.0/16", "0.0.0.0/0"]),
}


@pytest.fixture(scope="module")
def judge() -> Judge:
    return Judge(parse_denylist(packaged_default(), "packaged default"))


rule = egress  # an egress rule of one group, to a CIDR, a prefix list or a group


def test_the_packaged_default_parses_without_warnings() -> None:
    denylist = parse_denylist(packaged_default())
    assert denylist.warnings == ()
    assert [e["id"] for e in denylist.document["deny"]] == [
        "all-traffic-to-internet",
        "smtp-to-internet",
        "smb-to-internet",
    ]
    assert [e["id"] for e in denylist.document["allow"]] == ["private-ipv4", "private-ipv6"]


def test_the_packaged_default_is_normalised_but_for_the_default_match() -> None:
    text = packaged_default()
    written = json.loads(text)
    for entry in written["deny"]:
        entry.setdefault("match", "overlaps")
    assert json.loads(parse_denylist(text).to_json()) == written


def test_every_entry_of_the_packaged_default_says_what_it_does() -> None:
    document = json.loads(packaged_default())
    assert document["description"]
    for entry in (*document["deny"], *document["allow"]):
        assert entry.get("description"), entry["id"]


VERDICTS = [
    # The default egress rule of every new group, and its IPv6 twin.
    ("default egress rule", rule("0.0.0.0/0"), Verdict("all-traffic-to-internet")),
    ("default ipv6 egress rule", rule("::/0"), Verdict("all-traffic-to-internet")),
    ("all protocol 6 ports to internet", rule("0.0.0.0/0", "6", 0, 65535), Verdict("smtp-to-internet")),
    ("smtp to internet", rule("0.0.0.0/0", "tcp", 25, 25), Verdict("smtp-to-internet")),
    ("smtp to one public address", rule("198.51.100.7/32", "tcp", 25, 25), Verdict("smtp-to-internet")),
    ("smtp to internet over ipv6", rule("::/0", "tcp", 25, 25), Verdict("smtp-to-internet")),
    ("smtp inside a port range", rule("0.0.0.0/0", "tcp", 20, 30), Verdict("smtp-to-internet")),
    ("smb to internet", rule("0.0.0.0/0", "tcp", 445, 445), Verdict("smb-to-internet")),
    ("smb to public ipv6", rule("2001:db8::/32", "tcp", 445, 445), Verdict("smb-to-internet")),
    ("smtp to a public prefix list", rule(PARTNER, "tcp", 25, 25), Verdict("smtp-to-internet")),
    ("all to half the internet", rule("0.0.0.0/1"), Verdict("smtp-to-internet")),
    ("smtp to 172.32/16, outside 172.16/12", rule("172.32.0.0/16", "tcp", 25, 25), Verdict("smtp-to-internet")),
    ("smb to a list holding a private range and 0.0.0.0/0", rule(PRIVATE_AND_INTERNET, "tcp", 445, 445), Verdict("smb-to-internet")),
    ("all to a list holding 0.0.0.0/0", rule(PRIVATE_AND_INTERNET), Verdict("all-traffic-to-internet")),
    # Left alone: explicit, harmless egress.
    ("https to internet", rule("0.0.0.0/0", "tcp", 443, 443), CLEAN),
    ("submission to internet", rule("0.0.0.0/0", "tcp", 587, 587), CLEAN),
    ("udp 25 to internet", rule("0.0.0.0/0", "udp", 25, 25), CLEAN),
    ("dns to internet", rule("0.0.0.0/0", "udp", 53, 53), CLEAN),
    ("icmp to internet", rule("0.0.0.0/0", "icmp", -1, -1), CLEAN),
    ("all traffic to a group", rule("sg-0fedcba9876543210"), CLEAN),
    # Spared: traffic that stays in private address space.
    ("all to 10/8", rule("10.0.0.0/8"), Verdict(allowed_by="private-ipv4")),
    ("all to 172.16/12", rule("172.16.0.0/12"), Verdict(allowed_by="private-ipv4")),
    ("smtp to 192.168.1.25", rule("192.168.1.25/32", "tcp", 25, 25), Verdict(allowed_by="private-ipv4")),
    ("smb to a private prefix list", rule(PRIVATE_LIST, "tcp", 445, 445), Verdict(allowed_by="private-ipv4")),
    # A list stands for one rule per entry: spared like the same CIDRs as plain rules.
    ("smb to a list holding two private ranges", rule(TWO_PRIVATE_RANGES, "tcp", 445, 445), Verdict(allowed_by="private-ipv4")),
    ("smb to 10.20/16", rule("10.20.0.0/16", "tcp", 445, 445), Verdict(allowed_by="private-ipv4")),
    ("smb to 192.168.10/24", rule("192.168.10.0/24", "tcp", 445, 445), Verdict(allowed_by="private-ipv4")),
    ("all to fd00::/8", rule("fd00::/8"), Verdict(allowed_by="private-ipv6")),
    ("smtp to fc00::/7", rule("fc00::/7", "tcp", 25, 25), Verdict(allowed_by="private-ipv6")),
]  # fmt: skip


@pytest.mark.parametrize(("target", "verdict"), named(VERDICTS))
def test_the_packaged_default_revokes_what_its_descriptions_say(
    judge: Judge, target: Rule, verdict: Verdict
) -> None:
    assert judge.verdict(target, LISTS) == verdict


def test_the_packaged_default_needs_prefix_list_cidrs(judge: Judge) -> None:
    assert judge.needs_prefix_lists
