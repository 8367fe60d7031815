"""docs/denylist.md: reading and validating the denylist document.

"A denylist that does not parse or validate stops the invocation with an error that names
the entry and the field."
"""

# ruff: noqa: E501  (case tables: one case a line reads better than wrapped)

from __future__ import annotations

import ipaddress
import json
from typing import Any

import pytest
from support.cases import named

from egress_guard.denylist import (
    Cidr,
    Denylist,
    DenylistError,
    Entry,
    Group,
    PrefixList,
    build_denylist,
    parse_denylist,
)
from egress_guard.denylist_text import MAX_DOCUMENT_BYTES
from egress_guard.traffic import ALL, ICMP, TCP, UDP, Span, Traffic

# The example of docs/denylist.md.
SPEC_EXAMPLE = """
{
  "version": 1,
  "deny": [
    {"id": "all-traffic-to-internet", "protocol": "-1", "cidr": ["0.0.0.0/0", "::/0"], "match": "covers"},
    {"id": "smtp-out", "protocol": "tcp", "ports": "25", "cidr": ["0.0.0.0/0", "::/0"]},
    {"id": "known-bad-range", "cidr": ["203.0.113.0/24"]},
    {"id": "no-partner-list", "prefix_list": "pl-0123456789abcdef0"},
    {"id": "no-legacy-group", "group": "sg-0123456789abcdef0"}
  ],
  "allow": [
    {"id": "https-anywhere", "protocol": "tcp", "ports": "443", "cidr": ["0.0.0.0/0"]}
  ]
}
"""


def doc(*deny: dict[str, Any], allow: list[dict[str, Any]] | None = None, **top: Any) -> str:
    document: dict[str, Any] = {"version": 1, "deny": list(deny), **top}
    if allow is not None:
        document["allow"] = allow
    return json.dumps(document)


def one_entry(**fields: Any) -> Entry:
    (entry, *_) = parse_denylist(doc({"id": "x", **fields})).deny
    return entry


def net(text: str) -> Cidr:
    return Cidr(ipaddress.ip_network(text))


# --- what a valid document means --------------------------------------------------------


def test_the_spec_example_parses_into_one_entry_per_destination() -> None:
    denylist = parse_denylist(SPEC_EXAMPLE)
    assert [(e.id, e.index, str(e.destination)) for e in denylist.deny] == [
        ("all-traffic-to-internet", 0, "0.0.0.0/0"),
        ("all-traffic-to-internet", 0, "::/0"),
        ("smtp-out", 1, "0.0.0.0/0"),
        ("smtp-out", 1, "::/0"),
        ("known-bad-range", 2, "203.0.113.0/24"),
        ("no-partner-list", 3, "pl-0123456789abcdef0"),
        ("no-legacy-group", 4, "sg-0123456789abcdef0"),
    ]
    assert [(e.id, e.index) for e in denylist.allow] == [("https-anywhere", 0)]


def test_the_spec_example_reads_match_modes_with_overlaps_as_default() -> None:
    matches = {e.id: e.match for e in parse_denylist(SPEC_EXAMPLE).deny}
    assert matches["all-traffic-to-internet"] == "covers"
    assert matches["smtp-out"] == "overlaps"


def test_the_same_document_in_yaml_is_the_same_denylist() -> None:
    yaml_text = """
version: 1
deny:
  - {id: all-traffic-to-internet, protocol: "-1", cidr: [0.0.0.0/0, "::/0"], match: covers}
  - id: smtp-out
    protocol: tcp
    ports: "25"
    cidr: [0.0.0.0/0, "::/0"]
  - {id: known-bad-range, cidr: [203.0.113.0/24]}
  - {id: no-partner-list, prefix_list: pl-0123456789abcdef0}
  - {id: no-legacy-group, group: sg-0123456789abcdef0}
allow:
  - {id: https-anywhere, protocol: tcp, ports: 443, cidr: [0.0.0.0/0]}
"""
    from_yaml, from_json = parse_denylist(yaml_text), parse_denylist(SPEC_EXAMPLE)
    assert (from_yaml.deny, from_yaml.allow) == (from_json.deny, from_json.allow)


def test_yaml_flow_style_is_yaml_although_it_looks_like_json() -> None:
    flow = """{version: 1, deny: [
      {id: all-traffic-to-internet, protocol: "-1", cidr: [0.0.0.0/0, "::/0"], match: covers},
      {id: smtp-out, protocol: tcp, ports: "25", cidr: [0.0.0.0/0, "::/0"]},
      {id: known-bad-range, cidr: [203.0.113.0/24]},
      {id: no-partner-list, prefix_list: pl-0123456789abcdef0},
      {id: no-legacy-group, group: sg-0123456789abcdef0},
    ], allow: [{id: https-anywhere, protocol: tcp, ports: 443, cidr: [0.0.0.0/0]}]}"""
    from_flow, from_json = parse_denylist(flow), parse_denylist(SPEC_EXAMPLE)
    assert (from_flow.deny, from_flow.allow) == (from_json.deny, from_json.allow)


def test_yaml_reads_plain_decimal_numbers_and_quoted_leading_zeros_as_decimal() -> None:
    text = "version: 1\ndeny:\n- {id: a, protocol: 6, ports: 25}\n- {id: b, protocol: tcp, ports: '0025'}\n- {id: c, protocol: icmp, icmp_type: 8, icmp_code: -1}\n"
    deny = parse_denylist(text).deny
    assert [e.traffic for e in deny] == [
        (Traffic(TCP, ports=Span(25, 25)),),
        (Traffic(TCP, ports=Span(25, 25)),),
        (Traffic(ICMP, icmp_type=Span(8, 8)),),
    ]


def test_one_entry_may_carry_a_whole_feed_deduplicated_in_linear_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 4,000 distinct CIDRs, each twice: a list scan compares ~8 million pairs; hashing
    # compares only the equal ones. Counted, not timed: the bound fails fast either way.
    cidrs = [f"10.{n // 256}.{n % 256}.0/24" for n in range(4_000)]
    compared = 0
    original = Cidr.__eq__

    def counting_eq(self: Cidr, other: object) -> bool:
        nonlocal compared
        compared += 1
        assert compared <= 3 * len(cidrs), "destinations compared more than linearly often"
        return original(self, other)  # type: ignore[no-any-return]

    monkeypatch.setattr(Cidr, "__eq__", counting_eq)
    (feed,) = parse_denylist(doc({"id": "feed", "cidr": cidrs + cidrs})).document["deny"]
    assert feed["cidr"] == cidrs  # each once, in the order first given


def test_a_document_may_arrive_as_utf8_bytes() -> None:
    assert parse_denylist(SPEC_EXAMPLE.encode()).deny == parse_denylist(SPEC_EXAMPLE).deny


def test_an_entry_without_fields_names_all_traffic_everywhere() -> None:
    entry = one_entry()
    assert entry.traffic == (Traffic(ALL),)
    assert entry.destination is None
    assert entry.match == "overlaps"


@pytest.mark.parametrize(
    ("fields", "traffic"),
    [
        ({"protocol": "tcp"}, (Traffic(TCP),)),
        ({"protocol": "6"}, (Traffic(TCP),)),
        ({"protocol": 6}, (Traffic(TCP),)),
        ({"protocol": "all"}, (Traffic(ALL),)),
        ({"protocol": "-1"}, (Traffic(ALL),)),
        ({"protocol": "tcp", "ports": "25"}, (Traffic(TCP, ports=Span(25, 25)),)),
        ({"protocol": "tcp", "ports": 25}, (Traffic(TCP, ports=Span(25, 25)),)),
        ({"protocol": "udp", "ports": "8000-9000"}, (Traffic(UDP, ports=Span(8000, 9000)),)),
        ({"protocol": "udp", "ports": "8000 - 9000"}, (Traffic(UDP, ports=Span(8000, 9000)),)),
        (
            {"ports": "53"},
            (Traffic(TCP, ports=Span(53, 53)), Traffic(UDP, ports=Span(53, 53))),
        ),
        ({"protocol": "icmp", "icmp_type": 8}, (Traffic(ICMP, icmp_type=Span(8, 8)),)),
        (
            {"protocol": "icmp", "icmp_type": 3, "icmp_code": 4},
            (Traffic(ICMP, icmp_type=Span(3, 3), icmp_code=Span(4, 4)),),
        ),
        ({"protocol": "icmp", "icmp_type": -1, "icmp_code": -1}, (Traffic(ICMP),)),
        ({"protocol": "50"}, (Traffic(50),)),
    ],
    ids=lambda v: json.dumps(v) if isinstance(v, dict) else "",
)
def test_entry_traffic(fields: dict[str, Any], traffic: tuple[Traffic, ...]) -> None:
    assert one_entry(**fields).traffic == traffic


@pytest.mark.parametrize(
    ("fields", "destination"),
    [
        ({"cidr": "10.0.0.0/8"}, net("10.0.0.0/8")),
        ({"cidr": ["2001:db8::/32"]}, net("2001:db8::/32")),
        ({"prefix_list": "pl-0123456789abcdef0"}, PrefixList("pl-0123456789abcdef0")),
        ({"prefix_list": ["pl-01234567"]}, PrefixList("pl-01234567")),
        ({"group": "sg-0123456789abcdef0"}, Group("sg-0123456789abcdef0")),
        ({"group": ["sg-01234567"]}, Group("sg-01234567")),
    ],
    ids=lambda v: json.dumps(v) if isinstance(v, dict) else "",
)
def test_entry_destination_may_be_a_string_or_a_list(
    fields: dict[str, Any], destination: object
) -> None:
    assert one_entry(**fields).destination == destination


def test_a_non_canonical_cidr_is_canonicalised_with_a_warning() -> None:
    denylist = parse_denylist(doc({"id": "wide", "cidr": "10.0.0.18/16"}))
    assert denylist.deny[0].destination == net("10.0.0.0/16")
    assert denylist.warnings == (
        "deny[0] (id \"wide\"): cidr: '10.0.0.18/16' canonicalised to 10.0.0.0/16",
    )
    assert json.loads(denylist.to_json())["deny"][0]["cidr"] == ["10.0.0.0/16"]


def test_a_non_canonical_ipv6_cidr_is_canonicalised_with_a_warning() -> None:
    denylist = parse_denylist(doc({"id": "v6", "cidr": "2001:db8::1/32"}))
    assert denylist.deny[0].destination == net("2001:db8::/32")
    assert len(denylist.warnings) == 1


def test_a_canonical_document_has_no_warnings() -> None:
    assert parse_denylist(SPEC_EXAMPLE).warnings == ()


def test_a_destination_listed_twice_is_one_entry() -> None:
    denylist = parse_denylist(doc({"id": "x", "cidr": ["10.0.0.0/8", "10.1.2.3/8"]}))
    assert [e.destination for e in denylist.deny] == [net("10.0.0.0/8")]


# --- malformed documents ----------------------------------------------------------------

SMTP = {"id": "smtp", "protocol": "tcp", "ports": "25", "cidr": ["0.0.0.0/0"]}
OK = {"id": "ok", "cidr": "203.0.113.0/24"}

# (name, document text, fragments the error message must contain)
MALFORMED: list[tuple[str, str | bytes, tuple[str, ...]]] = [
    ("bad cidr", doc(OK, {**SMTP, "cidr": ["10.0.0.300/8"]}), ('deny[1] (id "smtp")', "cidr", "10.0.0.300/8")),
    ("cidr without prefix length", doc(OK, {**SMTP, "cidr": "10.0.0.1"}), ('deny[1] (id "smtp")', "cidr", "prefix length")),
    ("cidr with a zone index", doc(OK, {**SMTP, "cidr": "fe80::%eth0/64"}), ('deny[1] (id "smtp")', "cidr")),
    ("cidr a number", doc(OK, {**SMTP, "cidr": 5}), ('deny[1] (id "smtp")', "cidr")),
    ("cidr list holding a number", doc(OK, {**SMTP, "cidr": ["10.0.0.0/8", 5]}), ('deny[1] (id "smtp")', "cidr", "5")),
    ("cidr empty list", doc(OK, {**SMTP, "cidr": []}), ('deny[1] (id "smtp")', "cidr")),
    ("port 70000", doc(OK, {**SMTP, "ports": "70000"}), ('deny[1] (id "smtp")', "ports", "70000")),
    ("port range to 70000", doc(OK, {**SMTP, "ports": "0-70000"}), ('deny[1] (id "smtp")', "ports", "70000")),
    ("from greater than to", doc(OK, {**SMTP, "ports": "9000-8000"}), ('deny[1] (id "smtp")', "ports", "9000")),
    ("negative port", doc(OK, {**SMTP, "ports": "-5"}), ('deny[1] (id "smtp")', "ports")),
    ("ports true", doc(OK, {**SMTP, "ports": True}), ('deny[1] (id "smtp")', "ports", "True")),
    ("ports a float", doc(OK, {**SMTP, "ports": 25.0}), ('deny[1] (id "smtp")', "ports")),
    ("ports in another script's digits", doc(OK, {**SMTP, "ports": "٢٥"}), ('deny[1] (id "smtp")', "ports")),
    ("ports with protocol -1", doc(OK, {**SMTP, "protocol": "-1"}), ('deny[1] (id "smtp")', "ports")),
    ("ports with protocol 50", doc(OK, {**SMTP, "protocol": "50"}), ('deny[1] (id "smtp")', "ports")),
    ("ports with icmp", doc(OK, {**SMTP, "protocol": "icmp"}), ('deny[1] (id "smtp")', "ports", "icmp")),
    ("unknown protocol", doc(OK, {**SMTP, "protocol": "sctp"}), ('deny[1] (id "smtp")', "protocol", "sctp")),
    ("protocol 256", doc(OK, {**SMTP, "protocol": 256}), ('deny[1] (id "smtp")', "protocol", "256")),
    ("icmp_type with tcp", doc(OK, {**SMTP, "icmp_type": 8}), ('deny[1] (id "smtp")', "icmp_type")),
    ("icmp_code without protocol", doc(OK, {"id": "smtp", "icmp_code": 0}), ('deny[1] (id "smtp")', "icmp_code")),
    ("icmp_type 300", doc(OK, {"id": "smtp", "protocol": "icmp", "icmp_type": 300}), ('deny[1] (id "smtp")', "icmp_type", "300")),
    ("icmp_type a string", doc(OK, {"id": "smtp", "protocol": "icmp", "icmp_type": "8"}), ('deny[1] (id "smtp")', "icmp_type")),
    ("icmp_code true", doc(OK, {"id": "smtp", "protocol": "icmpv6", "icmp_code": True}), ('deny[1] (id "smtp")', "icmp_code")),
    ("match maybe", doc(OK, {**SMTP, "match": "maybe"}), ('deny[1] (id "smtp")', "match", "maybe")),
    ("match in an allow entry", doc(OK, allow=[{**SMTP, "match": "covers"}]), ('allow[0] (id "smtp")', "match")),
    ("two destination kinds", doc(OK, {**SMTP, "group": "sg-01234567"}), ('deny[1] (id "smtp")', "cidr", "group")),
    ("bad prefix list id", doc(OK, {"id": "smtp", "prefix_list": "pl-xyz"}), ('deny[1] (id "smtp")', "prefix_list", "pl-xyz")),
    ("prefix list id of a group", doc(OK, {"id": "smtp", "prefix_list": "sg-01234567"}), ('deny[1] (id "smtp")', "prefix_list")),
    ("bad group id", doc(OK, {"id": "smtp", "group": "sg-12"}), ('deny[1] (id "smtp")', "group", "sg-12")),
    ("group a number", doc(OK, {"id": "smtp", "group": 12}), ('deny[1] (id "smtp")', "group")),
    ("unknown entry key", doc(OK, {**SMTP, "port": "25"}), ('deny[1] (id "smtp")', "'port'")),
    ("unknown top key", doc(OK, denylist=[]), ("document", "'denylist'")),
    ("duplicate ids", doc(OK, {**SMTP, "id": "ok"}), ('deny[1] (id "ok")', "id", "duplicate", "deny[0]")),
    ("duplicate ids across deny and allow", doc(OK, allow=[OK]), ('allow[0] (id "ok")', "id", "duplicate")),
    ("missing id", doc(OK, {"cidr": "10.0.0.0/8"}), ("deny[1]", "id")),
    ("id a number", doc(OK, {"id": 7}), ("deny[1]", "id")),
    ("id too long", doc(OK, {"id": "x" * 129}), ("deny[1]", "id", "128")),
    ("entry not an object", doc(OK, "smtp"), ("deny[1]", "object")),
    ("description not a string", doc(OK, {**SMTP, "description": {"a": 1}}), ('deny[1] (id "smtp")', "description")),
    ("document description not a string", doc(OK, description=["a"]), ("description",)),
    ("deny an object", json.dumps({"version": 1, "deny": {}}), ("deny", "list")),
    ("deny missing", json.dumps({"version": 1, "allow": [OK]}), ("deny", "missing")),
    ("deny empty", doc(), ("deny", "empty")),
    ("allow an object", doc(OK, allow={}), ("allow", "list")),  # type: ignore[arg-type]
    ("version missing", json.dumps({"deny": [OK]}), ("version",)),
    ("version 2", doc(OK, version=2), ("version", "2")),
    ("version true", doc(OK, version=True), ("version", "True")),
    ("version a string", doc(OK, version="1"), ("version", "'1'")),
    ("document a list", "[1, 2]", ("document", "object")),
    ("document a string", '"deny"', ("document", "object")),
    ("document null", "null", ("document", "object")),
    ("empty text", "", ("empty",)),
    ("blank text", " \n\t ", ("empty",)),
    ("invalid json", '{"version": 1, "deny": [', ("JSON",)),
    ("neither json nor yaml flow style", '{"version": 1, "deny": [{"id": "a"}}', ("not valid JSON", "nor YAML")),
    ("invalid yaml", "version: 1\ndeny: [\n", ("YAML",)),
    ("non-utf-8 bytes", b'{"version": 1, "deny": [{"id": "caf\xe9"}]}', ("UTF-8",)),
    ("deeply nested json", "[" * 100_000, ("nested",)),
    ("deeply nested json object", '{"a":' * 100_000, ("nested",)),
    ("yaml date as description", "version: 1\ndescription: 2024-01-01\ndeny:\n- id: a\n", ("description",)),
    (
        "yaml alias bomb",
        "a: &a [x, x, x, x, x, x, x, x, x]\n"
        + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))
        + "version: 1\ndeny: [{id: boom}]\n",
        ("alias",),
    ),
    # A repeated key is refused, never resolved by the last value (a widening merge mistake).
    ("repeated ports in json", '{"version": 1, "deny": [{"id": "smtp", "protocol": "tcp", "ports": "25", "ports": "0-65535"}]}', ('deny[0] (id "smtp"): ports: key given more than once',)),
    ("repeated allow in json", '{"version": 1, "deny": [{"id": "a"}], "allow": [], "allow": [{"id": "b"}]}', ("document: allow: key given more than once",)),
    ("repeated id in json", '{"version": 1, "deny": [{"id": "a", "cidr": "10.0.0.0/8", "id": "b"}]}', ('deny[0] (id "b"): id: key given more than once',)),
    ("repeated key in a later allow entry", '{"version": 1, "deny": [{"id": "a"}], "allow": [{"id": "b"}, {"id": "c", "cidr": "10.0.0.0/8", "cidr": "0.0.0.0/0"}]}', ('allow[1] (id "c"): cidr: key given more than once',)),
    ("repeated ports in yaml", "version: 1\ndeny:\n- id: smtp\n  protocol: tcp\n  ports: 25\n  ports: 0-65535\n", ('deny[0] (id "smtp"): ports: key given more than once',)),
    ("repeated allow in yaml", "version: 1\ndeny: [{id: a}]\nallow: []\nallow: [{id: b}]\n", ("document: allow: key given more than once",)),
    ("repeated key in yaml flow style", "{version: 1, deny: [{id: smtp, ports: '25', ports: '0-65535'}]}", ('deny[0] (id "smtp"): ports: key given more than once',)),
    ("yaml merge key", "version: 1\ndeny:\n- <<: {ports: '0-65535'}\n  id: smtp\n  ports: '25'\n", ("merge keys (<<) are not allowed",)),
    # YAML 1.1 number forms a person would not mean, in port and icmp fields.
    ("yaml octal port", "version: 1\ndeny:\n- id: smtp\n  protocol: tcp\n  ports: 0025\n", ('deny[0] (id "smtp"): ports: 0025', "octal", "21")),
    ("yaml sexagesimal port", "version: 1\ndeny:\n- id: smtp\n  protocol: tcp\n  ports: 1:05\n", ('deny[0] (id "smtp"): ports: 1:05', "sexagesimal", "65")),
    ("yaml hexadecimal port", "version: 1\ndeny:\n- id: smtp\n  protocol: tcp\n  ports: 0x19\n", ('deny[0] (id "smtp"): ports: 0x19', "hexadecimal")),
    ("yaml binary port", "version: 1\ndeny:\n- id: smtp\n  protocol: tcp\n  ports: 0b11001\n", ('deny[0] (id "smtp"): ports: 0b11001', "binary")),
    ("yaml digit-grouped port", "version: 1\ndeny:\n- id: smtp\n  protocol: tcp\n  ports: 2_5\n", ('deny[0] (id "smtp"): ports: 2_5',)),
    ("yaml octal icmp type", "version: 1\ndeny:\n- id: ping\n  protocol: icmp\n  icmp_type: 010\n", ('deny[0] (id "ping"): icmp_type: 010', "octal", "8")),
    ("yaml sexagesimal icmp code", "version: 1\ndeny:\n- id: ping\n  protocol: icmp\n  icmp_code: 1:03\n", ('deny[0] (id "ping"): icmp_code: 1:03', "sexagesimal", "63")),
    ("yaml octal protocol", "version: 1\ndeny:\n- id: x\n  protocol: 017\n", ('deny[0] (id "x"): protocol: 017', "octal", "15")),
    ("yaml octal version", "version: 01\ndeny:\n- id: x\n", ("version: expected 1, got 01",)),
    ("document too large", doc({"id": "big", "description": "x" * MAX_DOCUMENT_BYTES}), ("bytes",)),
]  # fmt: skip


@pytest.mark.parametrize(("text", "fragments"), named(MALFORMED))
def test_a_malformed_document_is_refused_with_the_entry_and_field(
    text: str | bytes, fragments: tuple[str, ...]
) -> None:
    with pytest.raises(DenylistError) as caught:
        parse_denylist(text, source="DENYLIST")
    message = str(caught.value)
    assert message.startswith("DENYLIST is invalid: ")
    for fragment in fragments:
        assert fragment in message


def test_every_problem_of_a_document_is_reported_at_once() -> None:
    text = doc(
        {"id": "a", "ports": "70000"},
        {"id": "b", "cidr": "nowhere"},
        {"id": "c", "match": "maybe"},
        version=2,
    )
    with pytest.raises(DenylistError) as caught:
        parse_denylist(text)
    problems = caught.value.problems
    assert len(problems) == 4
    assert problems[0].startswith("version")
    assert [p.split(":")[0] for p in problems[1:]] == [
        'deny[0] (id "a")',
        'deny[1] (id "b")',
        'deny[2] (id "c")',
    ]


def test_a_denylist_error_is_a_value_error_naming_its_source() -> None:
    with pytest.raises(ValueError, match=r"^DENYLIST_FILE x\.json is invalid: document is empty$"):
        parse_denylist("", source="DENYLIST_FILE x.json")


def test_build_denylist_validates_an_already_loaded_document() -> None:
    with pytest.raises(DenylistError, match="version"):
        build_denylist({"deny": [OK]})


# --- the normalised document ------------------------------------------------------------

MESSY = """
version: 1
description: a team's denylist
deny:
  - {id: a, protocol: "6", ports: 25, cidr: 10.0.0.18/16, match: covers, description: mail}
  - {id: b, protocol: ALL, cidr: ["2001:DB8::/32", "2001:db8::/32"]}
  - {id: c, ports: " 8000 - 9000 ", prefix_list: pl-01234567}
  - {id: d, protocol: 1, icmp_type: 8, icmp_code: -1, group: [sg-01234567]}
  - {id: e, protocol: "50"}
allow:
  - {id: f, protocol: udp, ports: "53", cidr: [10.0.0.0/8]}
"""


def test_the_normalised_document_spells_everything_one_way() -> None:
    assert json.loads(parse_denylist(MESSY).to_json()) == {
        "version": 1,
        "description": "a team's denylist",
        "deny": [
            {
                "id": "a",
                "protocol": "tcp",
                "ports": "25",
                "cidr": ["10.0.0.0/16"],
                "match": "covers",
                "description": "mail",
            },
            {"id": "b", "protocol": "-1", "cidr": ["2001:db8::/32"], "match": "overlaps"},
            {"id": "c", "ports": "8000-9000", "prefix_list": ["pl-01234567"], "match": "overlaps"},
            {
                "id": "d",
                "protocol": "icmp",
                "icmp_type": 8,
                "group": ["sg-01234567"],
                "match": "overlaps",
            },
            {"id": "e", "protocol": "50", "match": "overlaps"},
        ],
        "allow": [{"id": "f", "protocol": "udp", "ports": "53", "cidr": ["10.0.0.0/8"]}],
    }


@pytest.mark.parametrize("text", [MESSY, SPEC_EXAMPLE], ids=["messy yaml", "spec example"])
def test_the_normalised_document_re_parses_to_an_equal_denylist(text: str) -> None:
    first = parse_denylist(text)
    second = parse_denylist(first.to_json())
    assert (second.deny, second.allow, second.document) == (
        first.deny,
        first.allow,
        first.document,
    )
    assert second.warnings == ()


@pytest.mark.parametrize("text", [MESSY, SPEC_EXAMPLE], ids=["messy yaml", "spec example"])
def test_the_normalised_document_is_stable(text: str) -> None:
    once = parse_denylist(text).to_json()
    assert parse_denylist(once).to_json() == once


def test_a_parsed_denylist_is_a_value() -> None:
    assert isinstance(parse_denylist(SPEC_EXAMPLE), Denylist)
    assert parse_denylist(SPEC_EXAMPLE).deny == parse_denylist(SPEC_EXAMPLE).deny
