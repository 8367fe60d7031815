"""A deliberately naive judge, written straight from docs/denylist.md, for property tests.

It shares nothing with egress_guard.judge or egress_guard.denylist: it reads the raw
(valid) denylist document itself, models traffic as boxes of integer ranges, splits a rule
to a prefix list into one rule per entry of the list, and scans every entry in document
order for each. It is slow on purpose; it only has to be obviously right.

Traffic as a box: (protocols, ports, icmp types, icmp codes), each an inclusive range.
A dimension that does not apply to a protocol is the full range, so "tcp/25" is
(6-6, 25-25, all, all) and "-1" is (0-255, all, all, all). Then

- overlaps: some box of the entry meets the rule's box in every dimension;
- covers:   every box of the entry lies inside the rule's box in every dimension;
- an allow entry holds a rule: the rule's box lies inside one box of the entry (a rule is
  one protocol or all of them, so it cannot be split across the entry's tcp and udp boxes).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

from egress_guard.rules import Rule

Range = tuple[int, int]
Box = tuple[Range, Range, Range, Range]
Net = ipaddress.IPv4Network | ipaddress.IPv6Network

ANY_PROTOCOL: Range = (0, 255)
ANY_PORT: Range = (0, 65535)
ANY_ICMP: Range = (0, 255)
NAMES = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58, "-1": -1, "all": -1}
TCP, UDP, ICMP, ICMPV6 = 6, 17, 1, 58


def protocol_of(value: str | int) -> int:
    text = str(value).strip().lower()
    return NAMES[text] if text in NAMES else int(text)


def one_or_all(value: int | None) -> Range:
    return ANY_ICMP if value is None or value == -1 else (value, value)


def rule_box(rule: Rule) -> Box:
    protocol = protocol_of(rule.ip_protocol)
    if protocol == -1:
        return (ANY_PROTOCOL, ANY_PORT, ANY_ICMP, ANY_ICMP)
    if protocol in (TCP, UDP):
        low, high = rule.from_port, rule.to_port
        ports = ANY_PORT if low is None or high is None or -1 in (low, high) else (low, high)
        return ((protocol, protocol), ports, ANY_ICMP, ANY_ICMP)
    if protocol in (ICMP, ICMPV6):
        return (
            (protocol, protocol),
            ANY_PORT,
            one_or_all(rule.from_port),
            one_or_all(rule.to_port),
        )
    return ((protocol, protocol), ANY_PORT, ANY_ICMP, ANY_ICMP)


def entry_boxes(entry: Mapping[str, Any]) -> list[Box]:
    protocol = protocol_of(entry["protocol"]) if "protocol" in entry else -1
    ports = ANY_PORT
    if "ports" in entry:
        low, _, high = str(entry["ports"]).partition("-")
        ports = (int(low), int(high or low))
    types, codes = one_or_all(entry.get("icmp_type")), one_or_all(entry.get("icmp_code"))
    if protocol == -1 and "ports" in entry:
        return [((TCP, TCP), ports, ANY_ICMP, ANY_ICMP), ((UDP, UDP), ports, ANY_ICMP, ANY_ICMP)]
    if protocol == -1:
        return [(ANY_PROTOCOL, ANY_PORT, ANY_ICMP, ANY_ICMP)]
    return [((protocol, protocol), ports, types, codes)]


def meets(a: Box, b: Box) -> bool:
    return all(x[0] <= y[1] and y[0] <= x[1] for x, y in zip(a, b, strict=True))


def inside(a: Box, b: Box) -> bool:
    return all(y[0] <= x[0] and x[1] <= y[1] for x, y in zip(a, b, strict=True))


# --- destinations -----------------------------------------------------------------------


def destinations(entry: Mapping[str, Any]) -> list[tuple[str, Any] | None]:
    """One (kind, value) per destination the entry lists; [None] for "everywhere"."""
    for kind in ("cidr", "prefix_list", "group"):
        if kind in entry:
            values = entry[kind] if isinstance(entry[kind], list) else [entry[kind]]
            if kind == "cidr":
                return [(kind, ipaddress.ip_network(v, strict=False)) for v in values]
            return [(kind, v) for v in values]
    return [None]


def units(rule: Rule, lists: Mapping[str, Sequence[str]]) -> list[Net | None]:
    """The CIDR of each rule this rule stands for (docs/denylist.md): its own; one per entry
    of its prefix list (each such rule still names the list); None for a group reference
    or a prefix list without entries. A list missing from `lists` is the caller's error."""
    if rule.cidr_ipv4 or rule.cidr_ipv6:
        return [ipaddress.ip_network(rule.cidr_ipv4 or rule.cidr_ipv6 or "")]
    if rule.prefix_list_id is not None:
        entries = [ipaddress.ip_network(c, strict=False) for c in lists[rule.prefix_list_id]]
        return list(entries) or [None]
    return [None]


def names_same_thing(dest: tuple[str, Any], rule: Rule) -> bool:
    kind, value = dest
    if kind == "prefix_list":
        return rule.prefix_list_id == value
    return rule.referenced_group_id == value


def deny_destination(dest: tuple[str, Any] | None, match: str, rule: Rule, net: Net | None) -> bool:
    if dest is None:
        return True
    kind, value = dest
    if kind != "cidr":
        return names_same_thing(dest, rule)
    if net is None or net.version != value.version:
        return False
    if match == "covers":
        return value.subnet_of(net)  # type: ignore[arg-type]
    return net.overlaps(value)  # type: ignore[arg-type]


def allow_destination(dest: tuple[str, Any] | None, rule: Rule, net: Net | None) -> bool:
    if dest is None:
        return True
    kind, value = dest
    if kind != "cidr":
        return names_same_thing(dest, rule)
    return net is not None and net.version == value.version and net.subnet_of(value)  # type: ignore[arg-type]


# --- the verdict ------------------------------------------------------------------------


def unit_verdict(
    document: Mapping[str, Any], rule: Rule, net: Net | None
) -> tuple[str | None, str | None]:
    """One rule with one destination: (first deny entry naming it, first allow entry
    holding it), the allow only asked when some deny entry names the rule."""
    box = rule_box(rule)
    denied_by = None
    for entry in document["deny"]:
        match = entry.get("match", "overlaps")
        boxes = entry_boxes(entry)
        if match == "covers":
            traffic = all(inside(b, box) for b in boxes)
        else:
            traffic = any(meets(b, box) for b in boxes)
        if traffic and any(deny_destination(d, match, rule, net) for d in destinations(entry)):
            denied_by = entry["id"]
            break
    if denied_by is None:
        return None, None
    for entry in document.get("allow", ()):
        if any(inside(box, b) for b in entry_boxes(entry)) and any(
            allow_destination(d, rule, net) for d in destinations(entry)
        ):
            return denied_by, entry["id"]
    return denied_by, None


def reference_verdict(
    document: Mapping[str, Any], rule: Rule, lists: Mapping[str, Sequence[str]]
) -> tuple[str | None, str | None]:
    """(deny entry id, allow entry id) as egress_guard.judge.Verdict spells them: offending
    when any rule it stands for is named and not held (the first such deny entry in
    document order); else spared when some is named (the first allow entry in document
    order that holds one of those)."""
    deny_ids = [e["id"] for e in document["deny"]]
    allow_ids = [e["id"] for e in document.get("allow", ())]
    offending: list[str] = []
    spared: list[str] = []
    for net in units(rule, lists):
        denied_by, allowed_by = unit_verdict(document, rule, net)
        if denied_by is not None and allowed_by is None:
            offending.append(denied_by)
        elif allowed_by is not None:
            spared.append(allowed_by)
    if offending:
        return min(offending, key=deny_ids.index), None
    if spared:
        return None, min(spared, key=allow_ids.index)
    return None, None
