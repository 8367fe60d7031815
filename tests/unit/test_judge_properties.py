"""Properties of the judge (docs/denylist.md) over random denylists and rules.

Addresses, ports and ids come from small spaces so that entries and rules collide often.
The indexed `Judge` is checked against `reference_judge`, a naive per-entry scan.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from support.reference_judge import reference_verdict
from support.rules import egress

from egress_guard.denylist import build_denylist
from egress_guard.judge import Judge, PrefixListNotRead, prefix_list_networks
from egress_guard.rules import Rule
from egress_guard.traffic import Span, Traffic

EXAMPLES = settings(max_examples=400, deadline=None)
pytestmark = pytest.mark.slow  # 400 random cases per property: not for `make fast`

PREFIX_LISTS = ["pl-00000001", "pl-00000002", "pl-00000003"]
GROUPS = ["sg-00000001", "sg-00000002", "sg-00000003"]
PORT = st.integers(20, 30)
ICMP_TYPE = st.sampled_from([-1, 0, 3, 8])
ICMP_CODE = st.sampled_from([-1, 0, 1])

# --- addresses --------------------------------------------------------------------------


# Possibly non-canonical, as an operator might write them (10.0.0.5/30).
IPV4_TEXT = st.tuples(
    st.sampled_from([10, 10, 11]),
    st.integers(0, 7),
    st.sampled_from([0, 1, 7, 8, 16, 29, 30, 31, 32, 32]),
).map(lambda t: f"{t[0]}.0.0.{t[1]}/{t[2]}")
IPV6_TEXT = st.tuples(
    st.sampled_from(["db8", "db9"]),
    st.integers(0, 7),
    st.sampled_from([0, 3, 31, 32, 125, 126, 127, 128, 128]),
).map(lambda t: f"2001:{t[0]}::{t[1]:x}/{t[2]}")
CIDR_TEXT = st.one_of(IPV4_TEXT, IPV6_TEXT)


def canonical(text: str) -> str:
    return str(ipaddress.ip_network(text, strict=False))


IPV4 = IPV4_TEXT.map(canonical)
IPV6 = IPV6_TEXT.map(canonical)
CIDR = CIDR_TEXT.map(canonical)


# --- traffic ----------------------------------------------------------------------------


PORT_TEXT = st.tuples(PORT, PORT, st.integers(0, 2)).map(
    lambda t: [str(min(t[:2])), f"{min(t[:2])}-{max(t[:2])}", "0-65535"][t[2]]
)
ENTRY_PROTOCOL = st.sampled_from(
    [None, "tcp", "6", 6, "udp", "17", "icmp", "1", "icmpv6", "58", "-1", "all", "50"]
)
PORTED_SPELLINGS = ("None", "tcp", "6", "udp", "17")
ICMP_SPELLINGS = ("icmp", "1", "icmpv6", "58")
OPTIONAL_PORTS = st.one_of(st.none(), PORT_TEXT)
OPTIONAL_ICMP = st.tuples(st.one_of(st.none(), ICMP_TYPE), st.one_of(st.none(), ICMP_CODE))


# Allow entries are broader, and often share their traffic ({} is "-1", "6" is "tcp"), so
# that several of them hold the same rule and the first in document order must be named.
ALLOW_TRAFFIC = st.sampled_from(
    [
        {},
        {"protocol": "-1"},
        {"protocol": "tcp"},
        {"protocol": "6"},
        {"protocol": "udp"},
        {"protocol": "tcp", "ports": "20-30"},
        {"ports": "0-65535"},
        {"protocol": "icmp"},
        {"protocol": "50"},
    ]
)


@st.composite
def entry_traffic(draw: st.DrawFn) -> dict[str, Any]:
    protocol = draw(ENTRY_PROTOCOL)
    fields: dict[str, Any] = {} if protocol is None else {"protocol": protocol}
    if str(protocol) in PORTED_SPELLINGS:
        ports = draw(OPTIONAL_PORTS)
        if ports is not None:
            fields["ports"] = ports
    if str(protocol) in ICMP_SPELLINGS:
        kind, code = draw(OPTIONAL_ICMP)
        fields |= {k: v for k, v in (("icmp_type", kind), ("icmp_code", code)) if v is not None}
    return fields


def listed(key: str, values: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, Any]]:
    """{key: a value or a list of 1-3 values}."""
    return st.one_of(values, st.lists(values, min_size=1, max_size=3)).map(lambda v: {key: v})


ENTRY_DESTINATION = st.one_of(
    st.just({}),
    listed("cidr", CIDR_TEXT),
    listed("cidr", IPV4_TEXT),
    listed("prefix_list", st.sampled_from(PREFIX_LISTS)),
    listed("group", st.sampled_from(GROUPS)),
)
DENY_MATCH = st.sampled_from([{}, {"match": "overlaps"}, {"match": "covers"}])
DENY_ENTRY = st.tuples(st.tuples(entry_traffic(), ENTRY_DESTINATION), DENY_MATCH)
ALLOW_ENTRY = st.tuples(
    st.tuples(st.one_of(ALLOW_TRAFFIC, entry_traffic()), ENTRY_DESTINATION), st.just({})
)


def entries(prefix: str, low: int, high: int, deny: bool) -> st.SearchStrategy[list[Any]]:
    """Between low and high entries with ids prefix-0, prefix-1, ..."""
    one = DENY_ENTRY if deny else ALLOW_ENTRY
    return st.lists(one, min_size=low, max_size=high).map(
        lambda items: [
            {"id": f"{prefix}-{n}", **traffic, **where, **match}
            for n, ((traffic, where), match) in enumerate(items)
        ]
    )


def document(max_deny: int = 30) -> st.SearchStrategy[dict[str, Any]]:
    return st.tuples(entries("deny", 1, max_deny, True), entries("allow", 0, 8, False)).map(
        lambda t: {"version": 1, "deny": t[0], "allow": t[1]}
    )


# --- rules ------------------------------------------------------------------------------


# (IpProtocol, FromPort, ToPort) as EC2 describes rules.
RULE_TRAFFIC = st.one_of(
    st.tuples(
        st.sampled_from(["tcp", "6", "udp", "17"]),
        st.tuples(PORT, PORT, st.integers(0, 2)).map(
            lambda t: [(min(t[:2]), max(t[:2])), (t[0], t[0]), (0, 65535)][t[2]]
        ),
    ).map(lambda t: (t[0], *t[1])),
    st.tuples(st.sampled_from(["icmp", "icmpv6", "58"]), ICMP_TYPE, ICMP_CODE).map(
        lambda t: (t[0], t[1], -1 if t[1] == -1 else t[2])
    ),
    st.sampled_from(["-1", "50", "51"]).map(lambda p: (p, -1, -1)),
)
RULE_DESTINATION = st.one_of(CIDR, st.sampled_from(PREFIX_LISTS), st.sampled_from(GROUPS))


def rule(destination: st.SearchStrategy[str] = RULE_DESTINATION) -> st.SearchStrategy[Rule]:
    return st.builds(make_rule, RULE_TRAFFIC, destination)


def make_rule(traffic: tuple[str, int, int], where: str) -> Rule:
    protocol, low, high = traffic
    return egress(where, protocol, low, high, rule_id="sgr-00000001", group="sg-0000000a")


# The CIDRs of each managed prefix list, as GetManagedPrefixListEntries would give them
# (a list may be empty). Every list is known: the judge refuses to judge without it.
ONE_LIST = st.one_of(
    st.lists(IPV4, min_size=1, max_size=4),
    st.lists(IPV6, min_size=1, max_size=4),
    st.lists(CIDR, min_size=0, max_size=3),
)
PREFIX_LIST_CONTENTS = st.fixed_dictionaries(dict.fromkeys(PREFIX_LISTS, ONE_LIST))


def compiled(doc: dict[str, Any]) -> Judge:
    return Judge(build_denylist(doc))


def merged(lists: dict[str, list[str]]) -> dict[str, Any]:
    """The lists as the judge takes them (each entry once, in order)."""
    return {name: prefix_list_networks(cidrs) for name, cidrs in lists.items()}


def agrees_with_the_reference(
    doc: dict[str, Any], rules: list[Rule], lists: dict[str, list[str]]
) -> None:
    """The indexed judge names the same deny entry (or allow entry) as the naive scan."""
    judge, networks = compiled(doc), merged(lists)
    for target in rules:
        verdict = judge.verdict(target, networks)
        assert (verdict.entry_id, verdict.allowed_by) == reference_verdict(doc, target, lists), (
            target.describe()
        )


# --- properties -------------------------------------------------------------------------


@EXAMPLES
@given(document(), st.lists(rule(), min_size=1, max_size=8), PREFIX_LIST_CONTENTS)
def test_the_indexed_judge_agrees_with_the_naive_reference(
    doc: dict[str, Any], rules: list[Rule], lists: dict[str, list[str]]
) -> None:
    agrees_with_the_reference(doc, rules, lists)


@EXAMPLES
@given(
    entries("allow", 1, 12, deny=False),
    st.lists(rule(), min_size=1, max_size=8),
    PREFIX_LIST_CONTENTS,
)
def test_the_indexed_judge_names_the_same_allow_entry_as_the_naive_reference(
    allow: list[dict[str, Any]], rules: list[Rule], lists: dict[str, list[str]]
) -> None:
    # Every rule is denied, so every rule is a question for the allow entries.
    doc = {"version": 1, "deny": [{"id": "everything"}], "allow": allow}
    agrees_with_the_reference(doc, rules, lists)


CIDR_ENTRIES = st.lists(
    st.tuples(st.lists(CIDR_TEXT, min_size=1, max_size=3), DENY_MATCH), min_size=1, max_size=20
).map(
    lambda items: [
        {"id": f"deny-{n}", "cidr": cidrs, **match} for n, (cidrs, match) in enumerate(items)
    ]
)


@EXAMPLES
@given(
    CIDR_ENTRIES,
    st.lists(rule(st.one_of(CIDR, st.sampled_from(PREFIX_LISTS))), min_size=1, max_size=8),
    PREFIX_LIST_CONTENTS,
)
def test_the_cidr_index_names_the_same_deny_entry_as_the_naive_reference(
    deny: list[dict[str, Any]], rules: list[Rule], lists: dict[str, list[str]]
) -> None:
    # One traffic class, many CIDRs: the sorted-interval index does all the work.
    doc = {"version": 1, "deny": deny}
    agrees_with_the_reference(doc, rules, lists)


@EXAMPLES
@given(document(max_deny=8), st.lists(rule(), min_size=1, max_size=8), PREFIX_LIST_CONTENTS)
def test_covers_implies_overlaps(
    doc: dict[str, Any], rules: list[Rule], lists: dict[str, list[str]]
) -> None:
    covering = {**doc, "deny": [{**e, "match": "covers"} for e in doc["deny"]]}
    overlapping = {**doc, "deny": [{**e, "match": "overlaps"} for e in doc["deny"]]}
    covers, overlaps, networks = compiled(covering), compiled(overlapping), merged(lists)
    for target in rules:
        strict = covers.verdict(target, networks)
        loose = overlaps.verdict(target, networks)
        if strict.offending:
            assert loose.offending
            ids = [e["id"] for e in doc["deny"]]
            assert ids.index(str(loose.entry_id)) <= ids.index(str(strict.entry_id))


@st.composite
def allow_entry_holding(draw: st.DrawFn, target: Rule) -> dict[str, Any]:
    """An allow entry whose traffic holds all of the rule's (exactly, or more)."""
    fields: dict[str, Any] = {"id": "spare"}
    widen = draw(st.booleans())
    if target.ip_protocol != "-1" and not (widen and draw(st.booleans())):
        fields["protocol"] = target.ip_protocol
        ported = target.ip_protocol in ("tcp", "6", "udp", "17")
        if ported and target.from_port is not None and target.from_port >= 0:
            low = target.from_port - draw(st.integers(0, 3)) if widen else target.from_port
            fields["ports"] = f"{max(low, 0)}-{target.to_port}"
        if target.ip_protocol in ("icmp", "icmpv6", "58") and not widen:
            fields["icmp_type"], fields["icmp_code"] = target.from_port, target.to_port
    else:
        fields["protocol"] = "-1"
    if draw(st.booleans()):
        return fields  # no destination: every destination
    if target.prefix_list_id:
        fields["prefix_list"] = target.prefix_list_id
    elif target.referenced_group_id:
        fields["group"] = [target.referenced_group_id]
    else:
        net = ipaddress.ip_network(target.cidr_ipv4 or target.cidr_ipv6 or "")
        fields["cidr"] = str(net.supernet(draw(st.integers(0, net.prefixlen))))
    return fields


@EXAMPLES
@given(document(max_deny=10), rule(), PREFIX_LIST_CONTENTS, st.data())
def test_a_rule_inside_an_allow_entry_is_never_offending(
    doc: dict[str, Any], target: Rule, lists: dict[str, list[str]], data: st.DataObject
) -> None:
    spare = data.draw(allow_entry_holding(target))
    position = data.draw(st.integers(0, len(doc["allow"])))
    allow = [*doc["allow"][:position], spare, *doc["allow"][position:]]
    verdict = compiled({**doc, "allow": allow}).verdict(target, merged(lists))
    assert not verdict.offending


def without_prefix_list_entries(doc: dict[str, Any]) -> dict[str, Any]:
    def keep(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [e for e in entries if "prefix_list" not in e]

    return {**doc, "deny": keep(doc["deny"]) or [{"id": "nothing", "group": GROUPS[0]}],
            "allow": keep(doc["allow"])}  # fmt: skip


@EXAMPLES
@given(document(), RULE_TRAFFIC, st.sampled_from(PREFIX_LISTS), PREFIX_LIST_CONTENTS)
def test_a_rule_to_a_prefix_list_is_judged_as_one_rule_per_entry_of_the_list(
    doc: dict[str, Any], traffic: tuple[str, int, int], name: str, lists: dict[str, list[str]]
) -> None:
    # With no entry naming the list itself, the rule is exactly the rules it stands for.
    judge, networks = compiled(without_prefix_list_entries(doc)), merged(lists)
    assume(networks[name])  # an empty list stands for one rule without a CIDR
    whole = judge.verdict(make_rule(traffic, name), networks)
    parts = [judge.verdict(make_rule(traffic, str(net)), networks) for net in networks[name]]
    assert whole.offending == any(part.offending for part in parts)
    spared = any(part.allowed_by is not None for part in parts)
    assert (whole.allowed_by is not None) == (not whole.offending and spared)


@EXAMPLES
@given(document(), rule(st.sampled_from(PREFIX_LISTS)), PREFIX_LIST_CONTENTS)
def test_a_rule_to_a_prefix_list_is_never_judged_without_the_list(
    doc: dict[str, Any], target: Rule, lists: dict[str, list[str]]
) -> None:
    judge = compiled(doc)
    known = {k: v for k, v in merged(lists).items() if k != target.prefix_list_id}
    if judge.needs_prefix_lists:
        assert judge.unread_prefix_list(target, known) == target.prefix_list_id
        with pytest.raises(PrefixListNotRead):
            judge.verdict(target, known)
    else:
        assert judge.unread_prefix_list(target, known) is None
        assert judge.verdict(target, known) == judge.verdict(target, merged(lists))


def cidr_document(family: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Deny entries that all name CIDRs of one address family."""
    one = st.tuples(entry_traffic(), st.lists(family, min_size=1, max_size=3), DENY_MATCH)
    return st.lists(one, min_size=1, max_size=10).map(
        lambda items: {
            "version": 1,
            "deny": [
                {"id": f"deny-{n}", **traffic, "cidr": cidrs, **match}
                for n, (traffic, cidrs, match) in enumerate(items)
            ],
        }
    )


@pytest.mark.parametrize(
    ("entries", "rules"),
    [
        pytest.param(IPV4_TEXT, IPV6, id="ipv4-entries-ipv6-rules"),
        pytest.param(IPV6_TEXT, IPV4, id="ipv6-entries-ipv4-rules"),
    ],
)
@EXAMPLES
@given(data=st.data())
def test_entries_of_one_address_family_never_match_rules_of_the_other(
    entries: st.SearchStrategy[str], rules: st.SearchStrategy[str], data: st.DataObject
) -> None:
    judge = compiled(data.draw(cidr_document(entries), label="denylist"))
    for target in data.draw(st.lists(rule(rules), min_size=1, max_size=8), label="rules"):
        assert not judge.verdict(target).offending


# --- the traffic dimension alone --------------------------------------------------------


TRAFFIC = RULE_TRAFFIC.map(lambda t: make_rule(t, "10.0.0.0/8").traffic)


def assert_cover_implies_overlap_and_overlap_is_symmetric(a: Span | Traffic, b: Any) -> None:
    assert a.overlaps(b) == b.overlaps(a)
    if a.covers(b):
        assert a.overlaps(b)


SPAN = st.tuples(PORT, PORT).map(lambda p: Span(min(p), max(p)))


@EXAMPLES
@given(SPAN, SPAN)
def test_spans_that_cover_also_overlap_and_overlap_is_symmetric(a: Span, b: Span) -> None:
    assert_cover_implies_overlap_and_overlap_is_symmetric(a, b)
    assert a.covers(b) and b.covers(a) if a == b else not (a.covers(b) and b.covers(a))


@EXAMPLES
@given(TRAFFIC, TRAFFIC)
def test_traffic_that_covers_also_overlaps_and_overlap_is_symmetric(a: Traffic, b: Traffic) -> None:
    assert_cover_implies_overlap_and_overlap_is_symmetric(a, b)
    assert a.covers(a)
