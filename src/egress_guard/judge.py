"""Verdicts: is a live egress rule offending under a denylist? (pure; docs/denylist.md)

The denylist is compiled once into an index so that a rule is judged without scanning
every entry: entries are grouped into classes of identical traffic, and within a class
destinations are found by dictionary (prefix lists, groups) or by sorted CIDR intervals
with a range-minimum table (so "the first entry in document order" costs O(log n)).

Semantics, per destination kind:
- A `cidr` entry judges rules to CIDRs of its own address family. It never judges group
  references.
- A `prefix_list` / `group` entry judges only rules naming that very list / group.
- An entry without destination judges every rule.
- `overlaps`: some traffic of the rule is named by the entry. `covers`: all of it is.
- An allow entry spares a rule whose whole traffic lies inside it.
- A rule to a managed prefix list stands for one rule per CIDR entry of the list (each
  still naming the list): it is offending when any of those is offending (some deny entry
  names it and no allow entry holds it), and spared when every one is spared. Deny and
  allow entries thus treat the list alike. A list with no entries stands for one rule with
  no CIDR, judged only by entries naming the list or no destination. The caller must give
  the list's CIDRs whenever `needs_prefix_lists`; without them the judge refuses to judge
  (`PrefixListNotRead`) rather than call the rule clean.
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


class PrefixListNotRead(LookupError):
    """A rule names a prefix list whose CIDRs the judge was not given, and the denylist
    has CIDR entries: the rule cannot be judged (the caller reports it failed)."""

    def __init__(self, prefix_list_id: str) -> None:
        self.prefix_list_id = prefix_list_id
        super().__init__(f"{prefix_list_id}: the prefix list's entries were not given")


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

    def unread_prefix_list(self, rule: Rule, prefix_lists: PrefixLists | None) -> str | None:
        """The prefix list whose CIDRs this rule's verdict needs and `prefix_lists` lacks."""
        pl = rule.prefix_list_id
        if pl is None or not self.needs_prefix_lists or pl in (prefix_lists or {}):
            return None
        return pl

    def verdict(self, rule: Rule, prefix_lists: PrefixLists | None = None) -> Verdict:
        """Raises PrefixListNotRead for a rule to a prefix list missing from `prefix_lists`
        (only where the denylist has CIDR entries, which judge the list's CIDRs)."""
        offending: int | None = None
        spared: int | None = None
        for net in self._units(rule, prefix_lists):
            denied = self._first_deny(rule, net)
            if denied is None:
                continue
            allowed = self._first_allow(rule, net)
            if allowed is None:
                offending = _least(offending, denied)
            else:
                spared = _least(spared, allowed)
        if offending is not None:
            return Verdict(entry_id=self._ids[offending])
        if spared is not None:
            return Verdict(allowed_by=self._allow_ids[spared])
        return CLEAN

    def _units(self, rule: Rule, lists: PrefixLists | None) -> Sequence[Network | None]:
        """The CIDR of each rule this rule stands for: its own; one per entry of its
        prefix list; or None (a group reference, an empty list, or no CIDR entries)."""
        cidr = rule.cidr_ipv4 or rule.cidr_ipv6
        if cidr is not None:
            return (_network(cidr),)
        if rule.prefix_list_id is None or not self.needs_prefix_lists:
            return (None,)
        if lists is None or rule.prefix_list_id not in lists:
            raise PrefixListNotRead(rule.prefix_list_id)
        return lists[rule.prefix_list_id] or (None,)

    def _first_deny(self, rule: Rule, net: Network | None) -> int | None:
        best: int | None = None
        for cls in self._deny.deny_candidates(rule.traffic):
            if best is not None and cls.min_index >= best:
                break
            best = _least(best, cls.deny_destination(rule, net))
        return best

    def _first_allow(self, rule: Rule, net: Network | None) -> int | None:
        """The first allow entry in document order that holds the whole rule."""
        best: int | None = None
        for cls in self._allow.candidates(rule.traffic.protocol):
            if best is not None and cls.min_index >= best:
                break
            best = _least(best, cls.allow_match(rule, net))
        return best


def prefix_list_networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    """A managed prefix list's CIDR entries, each once, in order. Not merged: the rule
    stands for one rule per entry, so 10.0.0.0/25 and 10.0.0.128/25 are two rules (each
    may be spared by its own allow entry), never one rule to 10.0.0.0/24."""
    return tuple(dict.fromkeys(ipaddress.ip_network(text, strict=False) for text in cidrs))


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

    def deny_destination(self, rule: Rule, net: Network | None) -> int | None:
        """The first entry of this class (whose traffic the rule is known to match) naming
        the destination of `rule`, with `net` as its CIDR (see `Judge._units`)."""
        best = self.anywhere
        if rule.referenced_group_id is not None:
            return _least(best, self.groups.get(rule.referenced_group_id))
        if rule.prefix_list_id is not None:
            best = _least(best, self.prefix_lists.get(rule.prefix_list_id))
        if net is not None:
            best = _least(best, self._cidr_deny(net))
        return best

    def _cidr_deny(self, net: Network) -> int | None:
        index = self.cidrs.get(net.version)
        if index is None:
            return None
        if self.match == "covers":
            return index.first_inside(net)
        return index.first_overlapping(net)

    # --- allow --------------------------------------------------------------------------

    def allow_match(self, rule: Rule, net: Network | None) -> int | None:
        if not any(t.covers(rule.traffic) for t in self.traffic):
            return None
        return _least(self.anywhere, self._allow_destination(rule, net))

    def _allow_destination(self, rule: Rule, net: Network | None) -> int | None:
        if rule.referenced_group_id is not None:
            return self.groups.get(rule.referenced_group_id)
        found = None
        if rule.prefix_list_id is not None:
            found = self.prefix_lists.get(rule.prefix_list_id)
        index = None if net is None else self.cidrs.get(net.version)
        if net is not None and index is not None:
            found = _least(found, index.first_containing(net, strict=False))
        return found


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
