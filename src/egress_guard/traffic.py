"""Protocols and ports: the traffic dimension shared by rules and denylist entries.

A piece of traffic is one protocol (or all of them) with, for tcp and udp, a port range,
and for icmp and icmpv6, a type and a code. EC2 writes icmp's type and code into
FromPort/ToPort; -1 there means "all". Protocols other than tcp, udp, icmp and icmpv6
have no ports: a rule for them allows the whole protocol.
"""

from __future__ import annotations

from dataclasses import dataclass

ALL = -1
TCP, UDP, ICMP, ICMPV6 = 6, 17, 1, 58
PORTED = frozenset({TCP, UDP})
ICMP_LIKE = frozenset({ICMP, ICMPV6})
PROTOCOL_NUMBERS = {"tcp": TCP, "udp": UDP, "icmp": ICMP, "icmpv6": ICMPV6, "-1": ALL, "all": ALL}
PROTOCOL_NAMES = {TCP: "tcp", UDP: "udp", ICMP: "icmp", ICMPV6: "icmpv6", ALL: "-1"}
MAX_PORT = 65535


def protocol_number(value: str | int) -> int:
    """The protocol number of an EC2 or denylist protocol spelling ("tcp", "6", -1, "all").

    Raises ValueError for anything that is not a protocol name or a number 0-255.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a protocol")
    text = str(value).strip().lower()
    if text in PROTOCOL_NUMBERS:
        return PROTOCOL_NUMBERS[text]
    # ASCII only: str.isdigit() also accepts "²" and other scripts' digits ("٦").
    if text.isascii() and text.isdigit() and 0 <= int(text) <= 255:
        return int(text)
    raise ValueError(f"{value!r} is not a protocol: use tcp, udp, icmp, icmpv6, -1/all or 0-255")


def protocol_name(number: int) -> str:
    return PROTOCOL_NAMES.get(number, str(number))


@dataclass(frozen=True, slots=True)
class Span:
    """An inclusive integer interval; the value set of one traffic dimension."""

    low: int
    high: int

    def overlaps(self, other: Span) -> bool:
        return self.low <= other.high and other.low <= self.high

    def covers(self, other: Span) -> bool:
        return self.low <= other.low and other.high <= self.high

    def __str__(self) -> str:
        return str(self.low) if self.low == self.high else f"{self.low}-{self.high}"


ALL_PORTS = Span(0, MAX_PORT)
ALL_ICMP = Span(0, 255)


def icmp_span(value: int | None) -> Span:
    """An icmp type or code: -1 or absent means every value."""
    if value is None or value == ALL:
        return ALL_ICMP
    return Span(value, value)


@dataclass(frozen=True, slots=True)
class Traffic:
    """One protocol (or ALL) with its port span, or for icmp its type and code spans.

    For protocols without ports both spans are ALL_PORTS/ALL_ICMP and play no part.
    """

    protocol: int
    ports: Span = ALL_PORTS
    icmp_type: Span = ALL_ICMP
    icmp_code: Span = ALL_ICMP

    def overlaps(self, other: Traffic) -> bool:
        if ALL in (self.protocol, other.protocol):
            return True
        if self.protocol != other.protocol:
            return False
        if self.protocol in PORTED:
            return self.ports.overlaps(other.ports)
        if self.protocol in ICMP_LIKE:
            return self.icmp_type.overlaps(other.icmp_type) and self.icmp_code.overlaps(
                other.icmp_code
            )
        return True

    def covers(self, other: Traffic) -> bool:
        """True when every packet `other` allows is also allowed by self."""
        if self.protocol == ALL:
            return True
        if other.protocol == ALL or self.protocol != other.protocol:
            return False
        if self.protocol in PORTED:
            return self.ports.covers(other.ports)
        if self.protocol in ICMP_LIKE:
            return self.icmp_type.covers(other.icmp_type) and self.icmp_code.covers(other.icmp_code)
        return True

    def __str__(self) -> str:
        name = "all" if self.protocol == ALL else protocol_name(self.protocol)
        if self.protocol in PORTED and self.ports != ALL_PORTS:
            return f"{name}/{self.ports}"
        if self.protocol in ICMP_LIKE and (self.icmp_type, self.icmp_code) != (ALL_ICMP, ALL_ICMP):
            kind = "all" if self.icmp_type == ALL_ICMP else str(self.icmp_type)
            code = "all" if self.icmp_code == ALL_ICMP else str(self.icmp_code)
            return f"{name} type {kind} code {code}"
        return name


def rule_traffic(ip_protocol: str, from_port: int | None, to_port: int | None) -> Traffic:
    """The traffic an EC2 rule allows, from its IpProtocol, FromPort and ToPort."""
    number = protocol_number(ip_protocol)
    if number in PORTED:
        if from_port is None or to_port is None or ALL in (from_port, to_port):
            return Traffic(number)
        return Traffic(number, ports=Span(from_port, to_port))
    if number in ICMP_LIKE:
        return Traffic(number, icmp_type=icmp_span(from_port), icmp_code=icmp_span(to_port))
    return Traffic(number)
