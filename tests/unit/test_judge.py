"""docs/denylist.md: which live egress rules a denylist makes offending, and which entry says so."""

# ruff: noqa: E501  (case tables: one case a line reads better than wrapped)

from __future__ import annotations

from typing import Any

import pytest
from support.cases import named
from support.rules import GROUP as SG
from support.rules import egress, judge

from egress_guard.denylist import parse_denylist
from egress_guard.judge import (
    CLEAN,
    Judge,
    PrefixListNotRead,
    PrefixLists,
    Verdict,
    prefix_list_networks,
)
from egress_guard.rules import Rule

PL = "pl-0123456789abcdef0"
OTHER_PL = "pl-0fedcba987654321f"
OTHER_SG = "sg-0fedcba9876543210"


def rule(to: str, protocol: str = "-1", ports: tuple[int, int] | None = None) -> Rule:
    """An egress rule to a CIDR, a prefix list (pl-) or a referenced group (sg-)."""
    low, high = ports if ports is not None else (-1, -1)
    return egress(to, protocol, low, high)


def offending(entry: dict[str, Any], target: Rule, lists: PrefixLists | None = None) -> bool:
    return judge(entry).verdict(target, lists).offending


ALL_TRAFFIC_TO_INTERNET = {"protocol": "-1", "cidr": ["0.0.0.0/0", "::/0"], "match": "covers"}
HTTPS = ("tcp", (443, 443))

# --- protocols and ports ----------------------------------------------------------------

PROTOCOL_CASES = [
    ("tcp entry, rule protocol 6", {"protocol": "tcp"}, rule("0.0.0.0/0", "6", (443, 443)), True),
    ("protocol 6 entry, tcp rule", {"protocol": "6"}, rule("0.0.0.0/0", "tcp", (443, 443)), True),
    ("udp entry, rule protocol 17", {"protocol": "udp"}, rule("0.0.0.0/0", "17", (53, 53)), True),
    ("all entry, -1 rule", {"protocol": "all", "match": "covers"}, rule("0.0.0.0/0"), True),
    ("-1 entry, rule protocol all", {"protocol": "-1", "match": "covers"}, rule("0.0.0.0/0", "all"), True),
    ("tcp entry, udp rule", {"protocol": "tcp"}, rule("0.0.0.0/0", "udp", (53, 53)), False),
    ("tcp/25 entry, -1 rule", {"protocol": "tcp", "ports": "25"}, rule("0.0.0.0/0"), True),
    ("udp/53 entry, -1 rule", {"protocol": "udp", "ports": "53"}, rule("0.0.0.0/0"), True),
    ("icmp entry, -1 rule", {"protocol": "icmp", "icmp_type": 8}, rule("0.0.0.0/0"), True),
    ("protocol 50 entry, -1 rule", {"protocol": "50"}, rule("0.0.0.0/0"), True),
    ("tcp/25 entry covering, -1 rule", {"protocol": "tcp", "ports": "25", "match": "covers"}, rule("0.0.0.0/0"), True),
    ("protocol 50 entry, protocol 50 rule", {"protocol": "50"}, rule("0.0.0.0/0", "50"), True),
    ("protocol 50 entry covering, protocol 50 rule with ports", {"protocol": "50", "match": "covers"}, rule("0.0.0.0/0", "50", (1, 2)), True),
    ("protocol 50 entry, protocol 51 rule", {"protocol": "50"}, rule("0.0.0.0/0", "51"), False),
    ("protocol 50 entry, tcp rule", {"protocol": "50"}, rule("0.0.0.0/0", "tcp", (0, 65535)), False),
    ("-1 entry, tcp rule: overlaps", {"protocol": "-1"}, rule("0.0.0.0/0", *HTTPS), True),
    ("-1 entry, tcp rule: covers", {"protocol": "-1", "match": "covers"}, rule("0.0.0.0/0", "tcp", (0, 65535)), False),
]  # fmt: skip


@pytest.mark.parametrize(("entry", "target", "expected"), named(PROTOCOL_CASES))
def test_protocols_by_name_and_number(entry: dict[str, Any], target: Rule, expected: bool) -> None:
    assert offending(entry, target) is expected


def test_protocol_number_6_is_the_same_protocol_as_tcp() -> None:
    by_name, by_number = (
        judge({"protocol": "tcp", "ports": "25"}),
        judge({"protocol": "6", "ports": "25"}),
    )
    for target in (rule("0.0.0.0/0", "tcp", (25, 25)), rule("0.0.0.0/0", "6", (20, 30))):
        assert by_name.verdict(target) == by_number.verdict(target) == Verdict("deny-0")


def test_a_minus_one_rule_allows_every_protocol_and_port() -> None:
    entries = [
        {"protocol": "tcp", "ports": "25", "match": "covers"},
        {"protocol": "udp", "ports": "8000-9000", "match": "covers"},
        {"protocol": "icmp", "icmp_type": 3, "icmp_code": 4, "match": "covers"},
        {"protocol": "icmpv6", "match": "covers"},
        {"protocol": "47", "match": "covers"},
        {"ports": "53", "match": "covers"},
    ]
    for entry in entries:
        assert offending({**entry, "cidr": "198.51.100.0/24"}, rule("198.51.100.0/24"))


def test_a_protocol_50_rule_allows_all_its_ports() -> None:
    esp = rule("0.0.0.0/0", "50", (-1, -1))
    assert offending({"protocol": "50", "match": "covers"}, esp)


PORT_CASES = [
    ("8000-9000 entry, rule 9000: edge", "8000-9000", "overlaps", (9000, 9000), True),
    ("8000-9000 entry, rule 8000: edge", "8000-9000", "overlaps", (8000, 8000), True),
    ("8000-9000 entry, rule 9001-9100: disjoint", "8000-9000", "overlaps", (9001, 9100), False),
    ("8000-9000 entry, rule 7000-7999: disjoint", "8000-9000", "overlaps", (7000, 7999), False),
    ("8000-9000 entry, rule 8500-9500: overlaps", "8000-9000", "overlaps", (8500, 9500), True),
    ("8000-9000 covers, rule 8500-9500: not all", "8000-9000", "covers", (8500, 9500), False),
    ("8000-9000 covers, rule 8000-9000: all", "8000-9000", "covers", (8000, 9000), True),
    ("8000-9000 covers, rule 7000-9999: all", "8000-9000", "covers", (7000, 9999), True),
    ("9000 covers, rule 8000-9000: all", "9000", "covers", (8000, 9000), True),
    ("8000-9000 covers, rule 9000: not all", "8000-9000", "covers", (9000, 9000), False),
    ("25 entry, rule 0-65535", "25", "overlaps", (0, 65535), True),
]


@pytest.mark.parametrize(("ports", "match", "rule_ports", "expected"), named(PORT_CASES))
def test_tcp_port_ranges(
    ports: str, match: str, rule_ports: tuple[int, int], expected: bool
) -> None:
    entry = {"protocol": "tcp", "ports": ports, "match": match, "cidr": "0.0.0.0/0"}
    assert offending(entry, rule("0.0.0.0/0", "tcp", rule_ports)) is expected


def test_udp_port_ranges_are_judged_like_tcp_but_apart() -> None:
    entry = {"protocol": "udp", "ports": "8000-9000"}
    assert offending(entry, rule("0.0.0.0/0", "udp", (9000, 9100)))
    assert not offending(entry, rule("0.0.0.0/0", "tcp", (9000, 9100)))


def test_ports_without_a_protocol_name_them_on_tcp_and_on_udp() -> None:
    entry = {"ports": "53", "cidr": "0.0.0.0/0"}
    assert offending(entry, rule("0.0.0.0/0", "tcp", (53, 53)))
    assert offending(entry, rule("0.0.0.0/0", "udp", (53, 53)))
    assert not offending(entry, rule("0.0.0.0/0", "icmp", (8, 0)))


def test_ports_without_a_protocol_are_covered_only_by_a_rule_allowing_both() -> None:
    entry = {"ports": "53", "cidr": "0.0.0.0/0", "match": "covers"}
    assert not offending(entry, rule("0.0.0.0/0", "tcp", (53, 53)))
    assert offending(entry, rule("0.0.0.0/0"))


ICMP_CASES = [
    ("any icmp entry, echo rule", {"protocol": "icmp"}, ("icmp", (8, 0)), True),
    ("echo entry, echo rule all codes", {"protocol": "icmp", "icmp_type": 8}, ("icmp", (8, -1)), True),
    ("echo entry, all-icmp rule", {"protocol": "icmp", "icmp_type": 8}, ("icmp", (-1, -1)), True),
    ("echo entry, unreachable rule", {"protocol": "icmp", "icmp_type": 8}, ("icmp", (3, -1)), False),
    ("echo code 0 entry, echo code 1 rule", {"protocol": "icmp", "icmp_type": 8, "icmp_code": 0}, ("icmp", (8, 1)), False),
    ("type -1 entry, unreachable code 4 rule", {"protocol": "icmp", "icmp_type": -1}, ("icmp", (3, 4)), True),
    ("echo covers, all-icmp rule", {"protocol": "icmp", "icmp_type": 8, "match": "covers"}, ("icmp", (-1, -1)), True),
    ("echo covers, echo code 0 rule", {"protocol": "icmp", "icmp_type": 8, "match": "covers"}, ("icmp", (8, 0)), False),
    ("echo covers, echo all codes rule", {"protocol": "icmp", "icmp_type": 8, "match": "covers"}, ("icmp", (8, -1)), True),
    ("icmp entry, icmpv6 rule", {"protocol": "icmp"}, ("icmpv6", (-1, -1)), False),
    ("icmpv6 entry, protocol 58 rule", {"protocol": "icmpv6", "icmp_type": 128}, ("58", (128, 0)), True),
    ("protocol 1 entry, icmp rule", {"protocol": "1", "icmp_type": 0}, ("icmp", (0, 0)), True),
]  # fmt: skip


@pytest.mark.parametrize(("entry", "rule_traffic", "expected"), named(ICMP_CASES))
def test_icmp_type_and_code_are_a_rules_from_and_to_port(
    entry: dict[str, Any], rule_traffic: tuple[str, tuple[int, int]], expected: bool
) -> None:
    protocol, ports = rule_traffic
    assert offending(entry, rule("::/0", protocol, ports)) is expected


# --- CIDRs ------------------------------------------------------------------------------

CIDR_CASES = [
    ("all-to-internet, -1 to 0.0.0.0/0", ALL_TRAFFIC_TO_INTERNET, rule("0.0.0.0/0"), True),
    ("all-to-internet, -1 to ::/0", ALL_TRAFFIC_TO_INTERNET, rule("::/0"), True),
    ("all-to-internet, tcp/443 to 0.0.0.0/0", ALL_TRAFFIC_TO_INTERNET, rule("0.0.0.0/0", *HTTPS), False),
    ("all-to-internet, -1 to 10.0.0.0/8", ALL_TRAFFIC_TO_INTERNET, rule("10.0.0.0/8"), False),
    ("all-to-internet, -1 to 0.0.0.0/1", ALL_TRAFFIC_TO_INTERNET, rule("0.0.0.0/1"), False),
    ("all-to-internet, -1 to 2000::/3", ALL_TRAFFIC_TO_INTERNET, rule("2000::/3"), False),
    ("bad range, rule to 0.0.0.0/0", {"cidr": "203.0.113.0/24"}, rule("0.0.0.0/0", *HTTPS), True),
    ("bad range, rule to one address in it", {"cidr": "203.0.113.0/24"}, rule("203.0.113.7/32", *HTTPS), True),
    ("bad range, rule to the same range", {"cidr": "203.0.113.0/24"}, rule("203.0.113.0/24", *HTTPS), True),
    ("bad range, rule to a neighbour", {"cidr": "203.0.113.0/24"}, rule("203.0.114.0/24", *HTTPS), False),
    ("bad range, rule to 203.0.112.0/23", {"cidr": "203.0.113.0/24"}, rule("203.0.112.0/23", *HTTPS), True),
    ("bad range covers, rule to 203.0.112.0/23", {"cidr": "203.0.113.0/24", "match": "covers"}, rule("203.0.112.0/23"), True),
    ("bad range covers, rule to one address", {"cidr": "203.0.113.0/24", "match": "covers"}, rule("203.0.113.7/32"), False),
    ("v6 range, rule to ::/0", {"cidr": "2001:db8::/32"}, rule("::/0"), True),
    ("v6 range, rule to an address in it", {"cidr": "2001:db8::/32"}, rule("2001:db8::7/128"), True),
    ("v6 range, rule outside", {"cidr": "2001:db8::/32"}, rule("2001:db9::/32"), False),
    ("canonicalised 10.0.0.18/16, rule to 10.0.200.1/32", {"cidr": "10.0.0.18/16"}, rule("10.0.200.1/32"), True),
    ("canonicalised 10.0.0.18/16, rule to 10.1.0.0/16", {"cidr": "10.0.0.18/16"}, rule("10.1.0.0/16"), False),
]  # fmt: skip


@pytest.mark.parametrize(("entry", "target", "expected"), named(CIDR_CASES))
def test_cidr_destinations(entry: dict[str, Any], target: Rule, expected: bool) -> None:
    assert offending(entry, target) is expected


@pytest.mark.parametrize("match", ["overlaps", "covers"])
@pytest.mark.parametrize(
    ("entry_cidr", "rule_cidr"),
    [("0.0.0.0/0", "::/0"), ("::/0", "0.0.0.0/0"), ("::ffff:0:0/96", "0.0.0.0/0"), ("0.0.0.0/0", "::ffff:0:0/96")],
)  # fmt: skip
def test_ipv4_entries_never_match_ipv6_rules_and_vice_versa(
    match: str, entry_cidr: str, rule_cidr: str
) -> None:
    assert not offending({"cidr": entry_cidr, "match": match}, rule(rule_cidr))


def test_an_entry_listing_several_cidrs_is_one_entry_per_destination() -> None:
    j = judge(ALL_TRAFFIC_TO_INTERNET)
    assert j.verdict(rule("0.0.0.0/0")) == Verdict("deny-0")
    assert j.verdict(rule("::/0")) == Verdict("deny-0")


def test_covers_is_not_the_union_of_an_entrys_cidrs() -> None:
    # Each CIDR is its own entry: a rule to 10.0.0.0/8 covers neither /9 alone... but both.
    entry = {"cidr": ["10.0.0.0/9", "10.128.0.0/9"], "match": "covers"}
    assert offending(entry, rule("10.0.0.0/8"))
    assert not offending(entry, rule("10.0.0.0/9", *HTTPS))
    assert offending(entry, rule("10.0.0.0/9"))


# --- prefix lists -----------------------------------------------------------------------

LISTS = {
    PL: prefix_list_networks(["203.0.113.0/25", "203.0.113.128/25", "198.51.100.0/24"]),
    OTHER_PL: prefix_list_networks(["10.1.0.0/16"]),
}

PREFIX_LIST_CASES = [
    ("list entry, rule to that list", {"prefix_list": PL}, rule(PL), True),
    ("list entry, rule to another list", {"prefix_list": PL}, rule(OTHER_PL), False),
    ("list entry, rule to 0.0.0.0/0", {"prefix_list": PL}, rule("0.0.0.0/0"), False),
    ("list entry covers, rule to that list", {"prefix_list": PL, "match": "covers"}, rule(PL), True),
    ("cidr entry, list with a CIDR inside it", {"cidr": "198.51.100.0/23"}, rule(PL), True),
    ("cidr entry, list with a CIDR containing it", {"cidr": "198.51.100.7/32"}, rule(PL), True),
    ("cidr entry, list with no CIDR meeting it", {"cidr": "192.0.2.0/24"}, rule(PL), False),
    ("v6 cidr entry, v4 list", {"cidr": "::/0"}, rule(PL), False),
    ("cidr entry covers, one of the list's CIDRs", {"cidr": "198.51.100.0/24", "match": "covers"}, rule(PL), True),
    ("cidr entry covers, two halves in two list entries", {"cidr": "203.0.113.0/24", "match": "covers"}, rule(PL), False),
    ("cidr entry covers, inside one list entry", {"cidr": "203.0.113.0/26", "match": "covers"}, rule(PL), True),
    ("cidr entry covers, wider than the list", {"cidr": "203.0.112.0/23", "match": "covers"}, rule(PL), False),
    ("cidr entry covers, across two unmerged CIDRs", {"cidr": "192.0.0.0/2", "match": "covers"}, rule(PL), False),
    ("group entry, rule to a list", {"group": SG}, rule(PL), False),
    ("no destination, rule to a list", {}, rule(PL), True),
]  # fmt: skip


def test_a_rule_to_a_list_whose_cidrs_are_not_given_is_not_judged() -> None:
    # Never clean for want of the list: the caller must tell "not read" apart (docs/denylist.md).
    cidr_entry = judge({"cidr": "0.0.0.0/0"})
    for lists in ({}, {OTHER_PL: LISTS[OTHER_PL]}, None):
        assert cidr_entry.unread_prefix_list(rule(PL), lists) == PL
        with pytest.raises(PrefixListNotRead, match=PL) as caught:
            cidr_entry.verdict(rule(PL), lists)
        assert caught.value.prefix_list_id == PL
    assert cidr_entry.unread_prefix_list(rule(PL), LISTS) is None
    assert cidr_entry.unread_prefix_list(rule("10.0.0.0/8"), {}) is None


def test_without_cidr_entries_a_list_is_judged_by_its_id_alone() -> None:
    by_id = judge({"prefix_list": PL}, {"group": SG})
    assert by_id.unread_prefix_list(rule(PL), {}) is None
    assert by_id.verdict(rule(PL)) == by_id.verdict(rule(PL), LISTS) == Verdict("deny-0")


def test_prefix_list_networks_keeps_each_entry_once_in_order_unmerged() -> None:
    networks = prefix_list_networks(
        ["10.128.0.0/9", "10.0.0.0/9", "2001:db8::/33", "10.0.0.5/9", "10.1.2.3/32"]
    )
    assert [str(n) for n in networks] == [
        "10.128.0.0/9",
        "10.0.0.0/9",
        "2001:db8::/33",
        "10.1.2.3/32",
    ]


# A rule to a prefix list stands for one rule per entry of the list (docs/denylist.md).
PRIVATE_AND_INTERNET = prefix_list_networks(["10.20.0.0/16", "0.0.0.0/0"])
TWO_PRIVATE = prefix_list_networks(["10.20.0.0/16", "192.168.10.0/24"])
EMPTY: PrefixLists = {PL: ()}
SMB = ("tcp", (445, 445))
SMB_TO_INTERNET = {"protocol": "tcp", "ports": "445", "cidr": ["0.0.0.0/0", "::/0"]}
TWO_ALLOWS = ({"id": "ten", "cidr": "10.0.0.0/8"}, {"id": "192", "cidr": "192.168.0.0/16"})


def test_a_list_whose_every_entry_some_allow_entry_holds_is_spared() -> None:
    # Two allow entries, one per list entry: each rule the list stands for is spared.
    j = judge(SMB_TO_INTERNET, allow=TWO_ALLOWS)
    assert j.verdict(rule(PL, *SMB), {PL: TWO_PRIVATE}) == Verdict(allowed_by="ten")
    assert j.verdict(rule("10.20.0.0/16", *SMB)) == Verdict(allowed_by="ten")
    assert j.verdict(rule("192.168.10.0/24", *SMB)) == Verdict(allowed_by="192")


def test_a_list_with_one_entry_no_allow_entry_holds_is_offending() -> None:
    j = judge(SMB_TO_INTERNET, allow=TWO_ALLOWS)
    assert j.verdict(rule(PL, *SMB), {PL: PRIVATE_AND_INTERNET}) == Verdict("deny-0")


def test_allowed_by_names_the_first_allow_entry_sparing_one_of_the_lists_rules() -> None:
    j = judge(SMB_TO_INTERNET, allow=(TWO_ALLOWS[1], TWO_ALLOWS[0]))
    assert j.verdict(rule(PL, *SMB), {PL: TWO_PRIVATE}) == Verdict(allowed_by="192")


def test_an_entry_naming_the_list_is_spared_only_when_every_entry_of_it_is() -> None:
    # Allow and deny entries treat the list alike: the allow must hold each of its rules.
    j = judge({"prefix_list": PL}, allow=TWO_ALLOWS)
    assert j.verdict(rule(PL), {PL: TWO_PRIVATE}) == Verdict(allowed_by="ten")
    assert j.verdict(rule(PL), {PL: PRIVATE_AND_INTERNET}) == Verdict("deny-0")


def test_the_first_deny_entry_naming_any_of_the_lists_rules_is_named() -> None:
    j = judge({"cidr": "0.0.0.0/1"}, {"cidr": "10.20.0.0/16"}, {"cidr": "128.0.0.0/1"})
    lists = {PL: prefix_list_networks(["200.0.0.0/8", "10.20.1.0/24"])}
    assert j.verdict(rule(PL), lists) == Verdict("deny-0")
    spared_low = judge({"cidr": "0.0.0.0/1"}, {"cidr": "128.0.0.0/1"}, allow=TWO_ALLOWS[:1])
    assert spared_low.verdict(rule(PL), lists) == Verdict("deny-1")


def test_an_empty_list_stands_for_one_rule_without_a_cidr() -> None:
    assert judge({"cidr": "0.0.0.0/0"}).verdict(rule(PL), EMPTY) == CLEAN
    assert judge({"prefix_list": PL}).verdict(rule(PL), EMPTY) == Verdict("deny-0")
    assert judge({}).verdict(rule(PL), EMPTY) == Verdict("deny-0")
    spare_all = ({"id": "v4", "cidr": "0.0.0.0/0"},)
    assert judge({"prefix_list": PL}, allow=spare_all).verdict(rule(PL), EMPTY) == Verdict("deny-0")


def test_the_judge_says_whether_it_needs_prefix_list_cidrs() -> None:
    assert judge({"cidr": "0.0.0.0/0"}).needs_prefix_lists
    assert not judge({"prefix_list": PL}, {"group": SG}, {"protocol": "tcp"}).needs_prefix_lists
    assert judge({"group": SG}, allow=({"id": "a", "cidr": "10.0.0.0/8"},)).needs_prefix_lists


# --- referenced groups ------------------------------------------------------------------

GROUP_CASES = [
    ("group entry, rule referencing it", {"group": SG}, rule(SG), True),
    ("group entry, rule referencing another group", {"group": SG}, rule(OTHER_SG), False),
    ("group entry, rule to 0.0.0.0/0", {"group": SG}, rule("0.0.0.0/0"), False),
    ("group entry covers, rule referencing it", {"group": SG, "match": "covers"}, rule(SG), True),
    ("group entry, tcp rule referencing it", {"group": SG, "protocol": "udp"}, rule(SG, *HTTPS), False),
    ("cidr 0.0.0.0/0 entry, group rule", {"cidr": "0.0.0.0/0"}, rule(SG), False),
    ("cidr ::/0 entry covers, group rule", {"cidr": "::/0", "match": "covers"}, rule(SG), False),
    ("list entry, group rule", {"prefix_list": PL}, rule(SG), False),
    ("no destination, group rule", {}, rule(SG), True),
]  # fmt: skip


# Rules to a prefix list (PREFIX_LIST_CASES above) and to a referenced group, judged alike.
@pytest.mark.parametrize(("entry", "target", "expected"), named(PREFIX_LIST_CASES + GROUP_CASES))
def test_prefix_list_and_referenced_group_destinations(
    entry: dict[str, Any], target: Rule, expected: bool
) -> None:
    assert offending(entry, target, LISTS) is expected


@pytest.mark.parametrize("match", ["overlaps", "covers"])
@pytest.mark.parametrize(
    "target",
    [rule("0.0.0.0/0"), rule("10.0.0.0/8"), rule("::/0"), rule("fd00::1/128"), rule(PL), rule(SG)],
    ids=["0.0.0.0/0", "10.0.0.0/8", "::/0", "fd00::1/128", "prefix list", "group"],
)
def test_an_entry_with_no_destination_matches_every_kind(match: str, target: Rule) -> None:
    assert offending({"protocol": "-1", "match": match}, target, LISTS)


# --- allow ------------------------------------------------------------------------------

HTTPS_ANYWHERE = {"id": "https-anywhere", "protocol": "tcp", "ports": "443", "cidr": ["0.0.0.0/0"]}
PRIVATE = {"id": "private", "cidr": ["10.0.0.0/8", "192.168.0.0/16"]}
PARTNER = {"id": "partner", "prefix_list": PL}
PEER = {"id": "peer", "group": SG}

ALLOW_CASES = [
    ("tcp/443 inside https-anywhere", HTTPS_ANYWHERE, rule("0.0.0.0/0", *HTTPS), "https-anywhere"),
    ("tcp/443 to one address inside it", HTTPS_ANYWHERE, rule("203.0.113.7/32", *HTTPS), "https-anywhere"),
    ("tcp/443-444 partly inside", HTTPS_ANYWHERE, rule("0.0.0.0/0", "tcp", (443, 444)), None),
    ("udp/443 outside", HTTPS_ANYWHERE, rule("0.0.0.0/0", "udp", (443, 443)), None),
    ("-1 partly inside", HTTPS_ANYWHERE, rule("0.0.0.0/0"), None),
    ("tcp/443 to ::/0 outside", HTTPS_ANYWHERE, rule("::/0", *HTTPS), None),
    ("-1 to 10.1.0.0/16 inside private", PRIVATE, rule("10.1.0.0/16"), "private"),
    ("-1 to 192.168.1.1/32 inside private", PRIVATE, rule("192.168.1.1/32"), "private"),
    ("-1 to 10.0.0.0/7 partly inside", PRIVATE, rule("10.0.0.0/7"), None),
    ("-1 to a list inside private", PRIVATE, rule(OTHER_PL), "private"),
    ("-1 to a list partly inside private", PRIVATE, rule(PL), None),
    ("-1 to the partner list", PARTNER, rule(PL), "partner"),
    ("-1 to another list", PARTNER, rule(OTHER_PL), None),
    ("-1 to the peer group", PEER, rule(SG), "peer"),
    ("-1 to another group", PEER, rule(OTHER_SG), None),
    ("group rule, cidr allow 0.0.0.0/0", {"id": "all-v4", "cidr": "0.0.0.0/0"}, rule(SG), None),
    ("group rule, allow without destination", {"id": "any", "protocol": "-1"}, rule(SG), "any"),
]  # fmt: skip


@pytest.mark.parametrize(("allow", "target", "allowed_by"), named(ALLOW_CASES))
def test_a_rule_whose_whole_traffic_lies_inside_one_allow_entry_is_never_offending(
    allow: dict[str, Any], target: Rule, allowed_by: str | None
) -> None:
    verdict = judge({}, allow=(allow,)).verdict(target, LISTS)
    if allowed_by is None:
        assert verdict == Verdict("deny-0")
    else:
        assert verdict == Verdict(allowed_by=allowed_by)
        assert not verdict.offending


def test_allow_spares_only_rules_some_deny_entry_names() -> None:
    verdict = judge({"cidr": "203.0.113.0/24"}, allow=(PRIVATE,)).verdict(rule("10.0.0.0/8"))
    assert verdict == CLEAN
    assert verdict.allowed_by is None


def test_allow_does_not_join_two_entries() -> None:
    both = judge(
        {}, allow=({"id": "low", "cidr": "10.0.0.0/9"}, {"id": "high", "cidr": "10.128.0.0/9"})
    )
    assert both.verdict(rule("10.0.0.0/8")) == Verdict("deny-0")


def test_allowed_by_names_the_first_allow_entry_in_document_order() -> None:
    allow = (
        {"id": "a", "protocol": "tcp", "ports": "443", "cidr": "192.168.0.0/16"},
        {"id": "b", "protocol": "tcp", "cidr": "10.0.0.0/8"},
        {"id": "c", "protocol": "tcp", "ports": "443", "cidr": "10.0.0.0/8"},
    )
    assert judge({}, allow=allow).verdict(rule("10.1.0.0/16", *HTTPS)) == Verdict(allowed_by="b")


def test_allowed_by_prefers_an_earlier_allow_entry_over_a_later_one_without_destination() -> None:
    allow = ({"id": "a", "cidr": "10.0.0.0/8"}, {"id": "b"})
    assert judge({}, allow=allow).verdict(rule("10.1.0.0/16")) == Verdict(allowed_by="a")


def test_allowed_by_names_the_first_allow_entry_that_holds_a_whole_prefix_list() -> None:
    allow = ({"id": "a", "cidr": "10.0.0.0/8"}, {"id": "b", "cidr": "10.1.0.0/16"})
    reversed_allow = (allow[1], allow[0])
    assert judge({}, allow=allow).verdict(rule(OTHER_PL), LISTS) == Verdict(allowed_by="a")
    assert judge({}, allow=reversed_allow).verdict(rule(OTHER_PL), LISTS) == Verdict(allowed_by="b")


# --- which entry is named ---------------------------------------------------------------


def test_the_first_deny_entry_in_document_order_is_named_when_several_match() -> None:
    j = judge(
        {"protocol": "udp"},
        {"protocol": "tcp", "ports": "25", "cidr": "10.0.0.0/8"},
        {"cidr": "10.0.0.0/16"},
        {"protocol": "tcp", "ports": "20-30"},
    )
    assert j.verdict(rule("10.0.0.0/24", "tcp", (25, 25))) == Verdict("deny-1")
    assert j.verdict(rule("10.0.0.0/24", "tcp", (26, 26))) == Verdict("deny-2")
    assert j.verdict(rule("10.9.0.0/16", "tcp", (26, 26))) == Verdict("deny-3")
    assert j.verdict(rule("10.9.0.0/16", "tcp", (80, 80))) == CLEAN


def test_the_first_deny_entry_is_named_whatever_its_destination_kind() -> None:
    j = judge({"group": SG}, {"prefix_list": PL}, {"cidr": "0.0.0.0/0"}, {})
    assert j.verdict(rule(SG)) == Verdict("deny-0")
    assert j.verdict(rule(PL), LISTS) == Verdict("deny-1")
    assert j.verdict(rule("10.0.0.0/8")) == Verdict("deny-2")
    assert j.verdict(rule(OTHER_SG)) == Verdict("deny-3")


def test_an_entry_with_several_destinations_keeps_its_place_in_the_document() -> None:
    j = judge({"cidr": ["192.0.2.0/24", "10.0.0.0/8"]}, {"cidr": "10.1.0.0/16"})
    assert j.verdict(rule("10.1.2.0/24")) == Verdict("deny-0")


def test_a_judge_is_reusable_and_gives_the_same_verdict_twice() -> None:
    j = judge({"cidr": "10.0.0.0/8"})
    target = rule("10.1.0.0/16")
    assert j.verdict(target) == j.verdict(target) == Verdict("deny-0")


# --- the consequence for the default egress rule (docs/denylist.md) ---------------------

IPV4_DENY_ENTRIES = [
    {"cidr": "203.0.113.0/24"},
    {"cidr": "192.0.2.1/32", "match": "covers"},
    {"protocol": "tcp", "ports": "25", "cidr": "0.0.0.0/0"},
    {"protocol": "tcp", "ports": "8000-9000", "cidr": "0.0.0.0/0", "match": "covers"},
    {"protocol": "udp", "ports": "53", "cidr": ["8.8.8.8/32"]},
    {"ports": "445", "cidr": "198.51.100.0/24", "match": "covers"},
    {"protocol": "icmp", "icmp_type": 8, "cidr": "198.51.100.0/24"},
    {"protocol": "50", "cidr": "10.0.0.0/8", "match": "covers"},
    {"protocol": "-1", "cidr": "0.0.0.0/0", "match": "covers"},
]


@pytest.mark.parametrize("entry", IPV4_DENY_ENTRIES, ids=str)
def test_the_default_egress_rule_is_offending_under_any_ipv4_deny_entry(
    entry: dict[str, Any],
) -> None:
    default_egress = Rule("sgr-0123456789abcdef0", SG, True, "-1", -1, -1, cidr_ipv4="0.0.0.0/0")
    assert judge(entry).verdict(default_egress) == Verdict("deny-0")


def test_a_verdict_is_offending_only_with_an_entry() -> None:
    assert Verdict("x").offending
    assert not Verdict(allowed_by="y").offending
    assert not CLEAN.offending


def test_parse_and_judge_the_spec_example() -> None:
    j = Judge(
        parse_denylist(
            """{"version": 1,
            "deny": [
              {"id": "all-traffic-to-internet", "protocol": "-1", "cidr": ["0.0.0.0/0", "::/0"], "match": "covers"},
              {"id": "smtp-out", "protocol": "tcp", "ports": "25", "cidr": ["0.0.0.0/0", "::/0"]},
              {"id": "known-bad-range", "cidr": ["203.0.113.0/24"]},
              {"id": "no-partner-list", "prefix_list": "pl-0123456789abcdef0"},
              {"id": "no-legacy-group", "group": "sg-0123456789abcdef0"}],
            "allow": [{"id": "https-anywhere", "protocol": "tcp", "ports": "443", "cidr": ["0.0.0.0/0"]}]}"""
        )
    )  # fmt: skip
    assert j.verdict(rule("0.0.0.0/0")).entry_id == "all-traffic-to-internet"
    assert j.verdict(rule("::/0", "tcp", (25, 25))).entry_id == "smtp-out"
    assert j.verdict(rule("203.0.113.9/32", "udp", (53, 53))).entry_id == "known-bad-range"
    assert j.verdict(rule("203.0.113.9/32", *HTTPS)) == Verdict(allowed_by="https-anywhere")
    partner = {PL: prefix_list_networks(["192.0.2.0/24"])}
    assert j.verdict(rule(PL, "udp", (53, 53)), partner).entry_id == "no-partner-list"
    # tcp/443 to each of the list's CIDRs lies inside https-anywhere: allow wins.
    assert j.verdict(rule(PL, *HTTPS), partner) == Verdict(allowed_by="https-anywhere")
    assert j.verdict(rule(SG)).entry_id == "no-legacy-group"
    assert j.verdict(rule("10.0.0.0/8", *HTTPS)) == CLEAN
    # All traffic to a private range still includes tcp/25 to it, which smtp-out names.
    assert j.verdict(rule("10.0.0.0/8")).entry_id == "smtp-out"
