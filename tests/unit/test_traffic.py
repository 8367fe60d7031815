"""docs/denylist.md, the traffic dimension: protocols, tcp/udp ports, icmp type and code."""

from __future__ import annotations

import pytest
from support.cases import named

from egress_guard.traffic import (
    ALL,
    ALL_ICMP,
    ALL_PORTS,
    ICMP,
    ICMPV6,
    TCP,
    UDP,
    Span,
    Traffic,
    protocol_name,
    protocol_number,
    rule_traffic,
)

# --- protocols ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spelling", "number"),
    [
        ("tcp", TCP),
        ("6", TCP),
        (6, TCP),
        ("TCP", TCP),
        (" tcp ", TCP),
        ("udp", UDP),
        ("17", UDP),
        ("icmp", ICMP),
        ("1", ICMP),
        ("icmpv6", ICMPV6),
        ("58", ICMPV6),
        ("-1", ALL),
        (-1, ALL),
        ("all", ALL),
        ("ALL", ALL),
        ("50", 50),
        ("0", 0),
        ("255", 255),
    ],
)
def test_protocol_spellings_name_one_protocol_number(spelling: str | int, number: int) -> None:
    assert protocol_number(spelling) == number


def test_protocol_number_6_is_the_same_protocol_as_tcp() -> None:
    assert protocol_number("6") == protocol_number("tcp")


def test_protocol_number_17_is_the_same_protocol_as_udp() -> None:
    assert protocol_number("17") == protocol_number("udp")


def test_protocol_all_is_the_same_as_minus_one() -> None:
    assert protocol_number("all") == protocol_number("-1")


@pytest.mark.parametrize(
    "spelling",
    ["tcp6", "sctp", "", "256", "-2", "1.5", "6-7", True, False, None, "+6", "٦", "²"],
    ids=repr,
)
def test_unknown_protocol_names_are_rejected(spelling: object) -> None:
    with pytest.raises(ValueError, match="not a protocol"):
        protocol_number(spelling)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("number", "name"),
    [(TCP, "tcp"), (UDP, "udp"), (ICMP, "icmp"), (ICMPV6, "icmpv6"), (ALL, "-1"), (50, "50")],
)
def test_protocol_name_is_the_ec2_spelling(number: int, name: str) -> None:
    assert protocol_name(number) == name


# --- spans ------------------------------------------------------------------------------


# Two spans: does any port of one lie in the other, and does every port of the second?
SPANS = [
    ("8000-9000 and its upper edge 9000", Span(8000, 9000), Span(9000, 9000), True, True),
    ("8000-9000 and its lower edge 8000", Span(8000, 9000), Span(8000, 8000), True, True),
    ("8000-9000 and itself", Span(8000, 9000), Span(8000, 9000), True, True),
    ("8000-9000 and 9001-9100 just above", Span(8000, 9000), Span(9001, 9100), False, False),
    ("8000-9000 and 7000-7999 just below", Span(8000, 9000), Span(7000, 7999), False, False),
    ("8000-9000 and 8500-9500 across its edge", Span(8000, 9000), Span(8500, 9500), True, False),
    ("8000-9000 and every port", Span(8000, 9000), Span(0, 65535), True, False),
]


@pytest.mark.parametrize(("a", "b", "overlaps", "covers"), named(SPANS))
def test_port_spans_overlap_when_they_share_a_port_and_cover_the_spans_inside_them(
    a: Span, b: Span, overlaps: bool, covers: bool
) -> None:
    assert (a.overlaps(b), b.overlaps(a), a.covers(b)) == (overlaps, overlaps, covers)


def test_a_span_prints_as_the_denylist_writes_ports() -> None:
    assert str(Span(25, 25)) == "25"
    assert str(Span(8000, 9000)) == "8000-9000"


# --- traffic ----------------------------------------------------------------------------

TCP_ALL = Traffic(TCP)
TCP_25 = Traffic(TCP, ports=Span(25, 25))
TCP_8000_9000 = Traffic(TCP, ports=Span(8000, 9000))
TCP_9000 = Traffic(TCP, ports=Span(9000, 9000))
TCP_9001_9100 = Traffic(TCP, ports=Span(9001, 9100))
UDP_25 = Traffic(UDP, ports=Span(25, 25))
EVERYTHING = Traffic(ALL)
ESP = Traffic(50)
ICMP_ALL = Traffic(ICMP)
ICMP_ECHO = Traffic(ICMP, icmp_type=Span(8, 8))
ICMP_ECHO_CODE_0 = Traffic(ICMP, icmp_type=Span(8, 8), icmp_code=Span(0, 0))
ICMP_ECHO_CODE_1 = Traffic(ICMP, icmp_type=Span(8, 8), icmp_code=Span(1, 1))
ICMP_UNREACHABLE = Traffic(ICMP, icmp_type=Span(3, 3))
ICMPV6_ALL = Traffic(ICMPV6)

# Two traffics (docs/denylist.md, "Matching"): does some packet of one belong to the other
# ("overlaps", symmetric), and does every packet of the second belong to the first ("covers")?
TRAFFIC = [
    ("all protocols and tcp/25", EVERYTHING, TCP_25, True, True),
    ("all protocols and protocol 50", EVERYTHING, ESP, True, True),
    ("all protocols and icmp echo", EVERYTHING, ICMP_ECHO, True, True),
    ("all protocols and all protocols", EVERYTHING, EVERYTHING, True, True),
    ("tcp and all protocols", TCP_ALL, EVERYTHING, True, False),
    ("all of tcp and tcp/25", TCP_ALL, TCP_25, True, True),
    ("all of tcp and tcp 8000-9000", TCP_ALL, TCP_8000_9000, True, True),
    ("tcp 8000-9000 and tcp 9000 at its edge", TCP_8000_9000, TCP_9000, True, True),
    ("tcp 9000 and tcp 8000-9000 around it", TCP_9000, TCP_8000_9000, True, False),
    ("tcp 8000-9000 and tcp 9001-9100", TCP_8000_9000, TCP_9001_9100, False, False),
    ("tcp/25 and udp/25", TCP_25, UDP_25, False, False),
    ("all of tcp and udp/25", TCP_ALL, UDP_25, False, False),
    ("protocol 50 and protocol 50", ESP, ESP, True, True),
    ("protocol 50 and tcp", ESP, TCP_ALL, False, False),
    ("all icmp and echo", ICMP_ALL, ICMP_ECHO, True, True),
    ("all icmp and echo code 0", ICMP_ALL, ICMP_ECHO_CODE_0, True, True),
    ("echo and echo code 0", ICMP_ECHO, ICMP_ECHO_CODE_0, True, True),
    ("echo and echo code 1", ICMP_ECHO, ICMP_ECHO_CODE_1, True, True),
    ("echo code 0 and echo", ICMP_ECHO_CODE_0, ICMP_ECHO, True, False),
    ("echo code 0 and echo code 1", ICMP_ECHO_CODE_0, ICMP_ECHO_CODE_1, False, False),
    ("echo and unreachable", ICMP_ECHO, ICMP_UNREACHABLE, False, False),
    ("icmp and icmpv6", ICMP_ALL, ICMPV6_ALL, False, False),
    ("icmpv6 and icmp echo", ICMPV6_ALL, ICMP_ECHO, False, False),
]


@pytest.mark.parametrize(("a", "b", "overlaps", "covers"), named(TRAFFIC))
def test_traffic_overlaps_symmetrically_and_covers_every_packet_of_the_other(
    a: Traffic, b: Traffic, overlaps: bool, covers: bool
) -> None:
    assert (a.overlaps(b), b.overlaps(a), a.covers(b)) == (overlaps, overlaps, covers)


@pytest.mark.parametrize(("a", "b"), named(row[:3] for row in TRAFFIC if row[4]))
def test_traffic_that_covers_also_overlaps(a: Traffic, b: Traffic) -> None:
    assert a.overlaps(b)


@pytest.mark.parametrize(
    ("traffic", "text"),
    [
        (EVERYTHING, "all"),
        (TCP_ALL, "tcp"),
        (TCP_25, "tcp/25"),
        (TCP_8000_9000, "tcp/8000-9000"),
        (ESP, "50"),
        (ICMP_ALL, "icmp"),
        (ICMP_ECHO, "icmp type 8 code all"),
        (ICMP_ECHO_CODE_0, "icmp type 8 code 0"),
    ],
    ids=str,
)
def test_traffic_prints_for_humans(traffic: Traffic, text: str) -> None:
    assert str(traffic) == text


# --- rules' traffic ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("protocol", "from_port", "to_port", "expected"),
    [
        ("-1", None, None, EVERYTHING),
        ("-1", -1, -1, EVERYTHING),
        ("all", None, None, EVERYTHING),
        ("tcp", 25, 25, TCP_25),
        ("6", 25, 25, TCP_25),
        ("tcp", 0, 65535, TCP_ALL),
        ("tcp", None, None, TCP_ALL),
        ("tcp", -1, -1, TCP_ALL),
        ("udp", 25, 25, UDP_25),
        ("17", 25, 25, UDP_25),
        ("50", None, None, ESP),
        ("50", -1, -1, ESP),
        ("icmp", -1, -1, ICMP_ALL),
        ("icmp", 8, -1, ICMP_ECHO),
        ("icmp", 8, 0, ICMP_ECHO_CODE_0),
        ("1", 8, 0, ICMP_ECHO_CODE_0),
        ("icmpv6", -1, -1, ICMPV6_ALL),
        ("58", None, None, ICMPV6_ALL),
    ],
)
def test_rule_traffic_reads_ec2_protocol_and_ports(
    protocol: str, from_port: int | None, to_port: int | None, expected: Traffic
) -> None:
    assert rule_traffic(protocol, from_port, to_port) == expected


def test_a_minus_one_rule_allows_every_protocol_and_port() -> None:
    traffic = rule_traffic("-1", -1, -1)
    for other in (TCP_25, UDP_25, ESP, ICMP_ECHO_CODE_0, ICMPV6_ALL, TCP_ALL):
        assert traffic.covers(other)


def test_a_protocol_50_rule_allows_all_its_ports_whatever_from_and_to_say() -> None:
    assert rule_traffic("50", 100, 200) == rule_traffic("50", None, None) == ESP


def test_icmp_from_and_to_port_are_type_and_code() -> None:
    traffic = rule_traffic("icmp", 3, 4)
    assert traffic.icmp_type == Span(3, 3)
    assert traffic.icmp_code == Span(4, 4)
    assert traffic.ports == ALL_PORTS


def test_icmp_minus_one_type_means_every_type_and_code() -> None:
    traffic = rule_traffic("icmp", -1, -1)
    assert (traffic.icmp_type, traffic.icmp_code) == (ALL_ICMP, ALL_ICMP)
