"""Denylist scale: judging 100,000 egress rules against denylists of 10, 1,000 and 10,000
deny entries (threat-intelligence style CIDRs on top of port entries), in process.

Timed: `Judge.verdict` over every rule (the rules are built beforehand, as a sweep builds
them from its pages). The compile time of each denylist is reported beside it. Each
figure is the median of several passes.

Also a threat feed as one entry: loading (parse and compile, as a cold start does) 100,000
CIDRs listed in one deny entry against the same CIDRs as 100,000 separate entries, and the
ratio of the two. Loading is linear, so the ratio stays near 1 (a list scan made it
quadratic: 40,000 CIDRs in one entry took minutes).
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workload
from _bench import Row, median, module_main

SIZES = (10, 1_000, 10_000)
FEED_RATIO_TARGET = 1.5  # one entry may be at most this much slower than separate entries


def measure(quick: bool) -> list[Row]:
    from egress_guard.denylist import parse_denylist
    from egress_guard.judge import Judge
    from egress_guard.rules import Rule

    count = 20_000 if quick else 100_000
    passes = 3 if quick else 5
    rules = [Rule.from_ec2(item) for item in workload.rule_items(count)]
    per_rule: dict[int, float] = {}
    compile_s: dict[int, float] = {}
    offending: dict[int, int] = {}
    for size in SIZES:
        text = workload.denylist_json(size)
        start = time.perf_counter()
        judge = Judge(parse_denylist(text, f"{size} entries"))
        compile_s[size] = time.perf_counter() - start
        runs = []
        for _ in range(passes):
            verdict = judge.verdict
            start = time.perf_counter()
            hits = sum(1 for rule in rules if verdict(rule).offending)
            runs.append(time.perf_counter() - start)
        per_rule[size] = median(runs) / count
        offending[size] = hits
    small, big = per_rule[SIZES[0]], per_rule[SIZES[-1]]
    growth = big / small
    entries_growth = SIZES[-1] / SIZES[0]
    rows = [
        Row(
            figure=f"denylist scale: {count:,} rules x {size:,} entries",
            value=(
                f"{per_rule[size] * 1e6:.1f} us/rule "
                f"({per_rule[size] * count:.2f} s; {offending[size]:,} offending; "
                f"compile {compile_s[size] * 1000:.0f} ms)"
            ),
            target="<= 20 us/rule" if size == SIZES[-1] else "",
            met=(per_rule[size] * 1e6 <= 20) if size == SIZES[-1] else None,
            data={"per_rule_s": per_rule[size], "compile_s": compile_s[size]},
        )
        for size in SIZES
    ]
    rows.append(
        Row(
            figure="denylist scale: growth from 10 to 10,000 entries",
            value=f"x{growth:.2f} per rule for x{entries_growth:,.0f} entries",
            target="sub-linear",
            met=growth < entries_growth**0.5,
            note=f"median of {passes} passes each; met when below the square root (x31.6)",
            data={"growth": growth},
        )
    )
    rows.append(feed_row(quick))
    return rows


def feed_texts(count: int) -> tuple[str, str]:
    """The same `count` distinct public CIDRs as one deny entry, and as one entry each
    (compact JSON, so that 100,000 separate entries stay under the 4 MiB document limit)."""
    rng = random.Random(3)
    unique: dict[str, None] = {}
    while len(unique) < count:
        unique.setdefault(workload.threat_cidr(rng), None)
    cidrs = list(unique)
    compact = (",", ":")
    one = json.dumps({"version": 1, "deny": [{"id": "feed", "cidr": cidrs}]}, separators=compact)
    separate = [{"id": f"f{n}", "cidr": cidr} for n, cidr in enumerate(cidrs)]
    return one, json.dumps({"version": 1, "deny": separate}, separators=compact)


def feed_row(quick: bool) -> Row:
    from egress_guard.denylist import parse_denylist
    from egress_guard.judge import Judge

    count = 20_000 if quick else 100_000
    passes = 3
    one, separate = feed_texts(count)
    load: dict[str, float] = {}
    for name, text in (("one entry", one), ("separate entries", separate)):
        runs = []
        for _ in range(passes):
            start = time.perf_counter()
            Judge(parse_denylist(text, name))
            runs.append(time.perf_counter() - start)
        load[name] = median(runs)
    ratio = load["one entry"] / load["separate entries"]
    return Row(
        figure=f"denylist load: {count:,} CIDRs in one entry vs separate entries",
        value=(
            f"one entry {load['one entry']:.2f} s, separate entries "
            f"{load['separate entries']:.2f} s: ratio x{ratio:.2f}"
        ),
        target=f"ratio <= x{FEED_RATIO_TARGET}",
        met=ratio <= FEED_RATIO_TARGET,
        note=f"parse and compile, as a cold start does; median of {passes} passes",
        data={
            "one_entry_s": load["one entry"],
            "separate_entries_s": load["separate entries"],
            "ratio": ratio,
        },
    )


if __name__ == "__main__":
    module_main(measure)
