"""Verdicts: is a live egress rule offending under a denylist? (pure; docs/denylist.md)

The denylist is compiled once into an index so that a rule is judged without scanning
every entry: entries are grouped into classes of identical traffic, and within a class
destinations are found by dictionary (prefix lists, groups) or by sorted CIDR intervals
with a range-minimum table (so "the first entry in document order" costs O(log n)).

Semantics, per destination kind:
- A `cidr` entry judges rules to CIDRs of its own address family, and rules to a managed
  prefix list through the list's CIDR entries. It never judges group references.
- A `prefix_list` / `group` entry judges only rules naming that very list / group.
- An entry without destination judges every rule.
- `overlaps`: some traffic of the rule is named by the entry. `covers`: all of it is.
- An allow entry spares a rule whose whole traffic lies inside it.
"""

from __future__ import annotations

import ipaddress
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from egress_guard.denylist import Cidr, Denylist, Entry, Group, Network, PrefixList
from egress_guard.rules import Rule
from egress_guard.traffic import ALL, Traffic

PrefixLists = Mapping[str, tuple[Network, ...]]
TRAFFIC_CACHE_SIZE = 4096  # distinct protocol/port sets remembered per compiled denylist


@dataclass(frozen=True, slots=True)
class Verdict:
    """`entry_id`: the first deny entry that makes the rule offending, or None.
    `allowed_by`: the allow entry that spared a rule some deny entry names."""

    entry_id: str | None = None
    allowed_by: str | None = None

    @property
    def offending(self) -> bool:
        return self.entry_id is not None


CLEAN = Verdict()


class Judge:
    """A compiled denylist. `verdict(rule)` is pure and safe to share across threads."""

    def __init__(self, denylist: Denylist) -> None:
        self.denylist = denylist
        self._deny = _compile(denylist.deny)
        self._allow = _compile(denylist.allow)
        self._ids = {entry.index: entry.id for entry in denylist.deny}
        self._allow_ids = {entry.index: entry.id for entry in denylist.allow}
        self.needs_prefix_lists = any(
            isinstance(e.destination, Cidr) for e in (*denylist.deny, *denylist.allow)
        )

    def verdict(self, rule: Rule, prefix_lists: PrefixLists | None = None) -> Verdict:
        lists = prefix_lists or {}
        first = self._first_deny(rule, lists)
        if first is None:
            return CLEAN
        spared_by = self._allowed_by(rule, lists)
        if spared_by is not None:
            return Verdict(allowed_by=spared_by)
        return Verdict(entry_id=self._ids[first])

    def _first_deny(self, rule: Rule, lists: PrefixLists) -> int | None:
        best: int | None = None
        for cls in self._deny.deny_candidates(rule.traffic):
            if best is not None and cls.min_index >= best:
                break
            found = cls.deny_destination(rule, lists)
            if found is not None and (best is None or found < best):
                best = found
        return best

    def _allowed_by(self, rule: Rule, lists: PrefixLists) -> str | None:
        """The first allow entry in document order that holds the whole rule."""
        best: int | None = None
        for cls in self._allow.candidates(rule.traffic.protocol):
            if best is not None and cls.min_index >= best:
                break
            best = _least(best, cls.allow_match(rule, lists))
        return None if best is None else self._allow_ids[best]


def prefix_list_networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    """A managed prefix list's CIDR entries, merged per address family."""
    v4: list[ipaddress.IPv4Network] = []
    v6: list[ipaddress.IPv6Network] = []
    for text in cidrs:
        net = ipaddress.ip_network(text, strict=False)
        if isinstance(net, ipaddress.IPv4Network):
            v4.append(net)
        else:
            v6.append(net)
    return (*ipaddress.collapse_addresses(v4), *ipaddress.collapse_addresses(v6))


@lru_cache(maxsize=65536)
def _network(text: str) -> Network:
    return ipaddress.ip_network(text, strict=False)


class _SparseMin:
    """Range-minimum queries in O(1) after O(n log n) preparation."""

    def __init__(self, values: Sequence[int]) -> None:
        self.levels: list[list[int]] = [list(values)]
        width = 1
        while 2 * width <= len(values):
            prev = self.levels[-1]
            self.levels.append([min(prev[i], prev[i + width]) for i in range(len(prev) - width)])
            width *= 2

    def query(self, low: int, high: int) -> int:
        """min(values[low:high]); requires low < high."""
        level = (high - low).bit_length() - 1
        row = self.levels[level]
        return min(row[low], row[high - (1 << level)])


class _CidrIndex:
    """Networks of one address family, each with the document index of its entry."""

    def __init__(self, bits: int, items: Sequence[tuple[Network, int]]) -> None:
        self.bits = bits
        ordered = sorted(((int(n.network_address) << 8) | n.prefixlen, i) for n, i in items)
        self.keys = [key for key, _ in ordered]
        self.table = _SparseMin([index for _, index in ordered])
        self.exact: dict[tuple[int, int], int] = {}
        for net, index in items:
            spot = (int(net.network_address), net.prefixlen)
            self.exact[spot] = min(index, self.exact.get(spot, index))
        self.prefixlens = sorted({net.prefixlen for net, _ in items})
        self.networks = [net for net, _ in items]

    def first_inside(self, net: Network) -> int | None:
        """The first entry whose network lies inside `net` (or equals it)."""
        low = bisect_left(self.keys, (int(net.network_address) << 8) | net.prefixlen)
        high = bisect_right(self.keys, (int(net.broadcast_address) << 8) | 0xFF)
        return self.table.query(low, high) if low < high else None

    def first_containing(self, net: Network, strict: bool) -> int | None:
        """The first entry whose network contains `net` (strictly, or also equal)."""
        start = int(net.network_address)
        best: int | None = None
        for plen in self.prefixlens:
            if plen > net.prefixlen or (strict and plen == net.prefixlen):
                break
            mask = ((1 << plen) - 1) << (self.bits - plen)
            found = self.exact.get((start & mask, plen))
            if found is not None and (best is None or found < best):
                best = found
        return best

    def first_overlapping(self, net: Network) -> int | None:
        return _least(self.first_inside(net), self.first_containing(net, strict=True))


@dataclass
class _Class:
    """Entries that share one traffic set and match mode; indexed by destination."""

    traffic: tuple[Traffic, ...]
    match: str
    min_index: int
    anywhere: int | None = None
    prefix_lists: dict[str, int] = field(default_factory=dict)
    groups: dict[str, int] = field(default_factory=dict)
    cidr_items: dict[int, list[tuple[Network, int]]] = field(default_factory=dict)
    cidrs: dict[int, _CidrIndex] = field(default_factory=dict)

    def add(self, entry: Entry) -> None:
        self.min_index = min(self.min_index, entry.index)
        dest = entry.destination
        if dest is None:
            self.anywhere = _least(self.anywhere, entry.index)
        elif isinstance(dest, PrefixList):
            old = self.prefix_lists.get(dest.prefix_list_id, entry.index)
            self.prefix_lists[dest.prefix_list_id] = min(old, entry.index)
        elif isinstance(dest, Group):
            self.groups[dest.group_id] = min(
                self.groups.get(dest.group_id, entry.index), entry.index
            )
        else:
            self.cidr_items.setdefault(dest.network.version, []).append((dest.network, entry.index))

    def seal(self) -> None:
        for version, items in self.cidr_items.items():
            self.cidrs[version] = _CidrIndex(32 if version == 4 else 128, items)

    # --- deny ---------------------------------------------------------------------------

    def traffic_matches(self, rule_traffic: Traffic) -> bool:
        if self.match == "covers":
            return all(rule_traffic.covers(t) for t in self.traffic)
        return any(t.overlaps(rule_traffic) for t in self.traffic)

    def deny_match(self, rule: Rule, lists: PrefixLists) -> int | None:
        if not self.traffic_matches(rule.traffic):
            return None
        return self.deny_destination(rule, lists)

    def deny_destination(self, rule: Rule, lists: PrefixLists) -> int | None:
        """`deny_match` for a rule whose traffic is known to match this class."""
        best = self.anywhere
        if rule.referenced_group_id is not None:
            return _least(best, self.groups.get(rule.referenced_group_id))
        if rule.prefix_list_id is not None:
            best = _least(best, self.prefix_lists.get(rule.prefix_list_id))
            for net in lists.get(rule.prefix_list_id, ()):
                best = _least(best, self._cidr_deny(net))
            return best
        cidr = rule.cidr_ipv4 or rule.cidr_ipv6
        if cidr is not None:
            best = _least(best, self._cidr_deny(_network(cidr)))
        return best

    def _cidr_deny(self, net: Network) -> int | None:
        index = self.cidrs.get(net.version)
        if index is None:
            return None
        if self.match == "covers":
            return index.first_inside(net)
        return index.first_overlapping(net)

    # --- allow --------------------------------------------------------------------------

    def allow_match(self, rule: Rule, lists: PrefixLists) -> int | None:
        if not any(t.covers(rule.traffic) for t in self.traffic):
            return None
        return _least(self.anywhere, self._allow_destination(rule, lists))

    def _allow_destination(self, rule: Rule, lists: PrefixLists) -> int | None:
        if rule.referenced_group_id is not None:
            return self.groups.get(rule.referenced_group_id)
        if rule.prefix_list_id is not None:
            found = self.prefix_lists.get(rule.prefix_list_id)
            if rule.prefix_list_id in lists:
                found = _least(found, self._allow_all_inside_one(lists[rule.prefix_list_id]))
            return found
        cidr = rule.cidr_ipv4 or rule.cidr_ipv6
        if cidr is None:
            return None
        net = _network(cidr)
        index = self.cidrs.get(net.version)
        return None if index is None else index.first_containing(net, strict=False)

    def _allow_all_inside_one(self, nets: tuple[Network, ...]) -> int | None:
        """The first allow CIDR entry that alone contains every CIDR of a prefix list."""
        if not nets:
            return None
        best: int | None = None
        for version_items in self.cidr_items.values():
            for allowed, index in version_items:
                if all(n.version == allowed.version and n.subnet_of(allowed) for n in nets):  # type: ignore[arg-type]
                    best = _least(best, index)
        return best


class _Classes:
    """All classes of a list, and per protocol the ones a rule of that protocol can meet."""

    def __init__(self, classes: list[_Class]) -> None:
        self.all = sorted(classes, key=lambda c: c.min_index)
        self._by_protocol: dict[int, list[_Class]] = {}
        self._deny_by_traffic: dict[Traffic, list[_Class]] = {}

    def candidates(self, protocol: int) -> list[_Class]:
        if protocol == ALL:
            return self.all
        found = self._by_protocol.get(protocol)
        if found is None:
            found = [c for c in self.all if any(t.protocol in (ALL, protocol) for t in c.traffic)]
            self._by_protocol[protocol] = found
        return found

    def deny_candidates(self, traffic: Traffic) -> list[_Class]:
        """The classes (in order) whose traffic a rule with this traffic meets as a deny
        entry. Rules repeat a few protocol/port sets, so the answer is kept per traffic
        value (bounded): judging a rule then skips every class of other ports at once."""
        found = self._deny_by_traffic.get(traffic)
        if found is None:
            found = [c for c in self.candidates(traffic.protocol) if c.traffic_matches(traffic)]
            if len(self._deny_by_traffic) < TRAFFIC_CACHE_SIZE:
                self._deny_by_traffic[traffic] = found
        return found


def _compile(entries: Sequence[Entry]) -> _Classes:
    classes: dict[tuple[tuple[Traffic, ...], str], _Class] = {}
    for entry in entries:
        key = (entry.traffic, entry.match)
        cls = classes.get(key)
        if cls is None:
            cls = classes[key] = _Class(entry.traffic, entry.match, entry.index)
        cls.add(entry)
    for cls in classes.values():
        cls.seal()
    return _Classes(list(classes.values()))


def _least(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)
