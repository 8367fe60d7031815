"""egress-guard's benchmark suite: runs every figure and prints one table.

    python benchmarks/run.py [--quick] [--only NAME ...] [--results FILE.md]

Each figure module runs in a fresh subprocess of this interpreter, so that the imports,
memory and log output of one never colour another (their logs go to .bench/logs/). No
assertion fails the run: a target that is missed shows in the table as "no". The exit
status is 1 only when a module itself broke. --results writes the table, with the machine
it ran on, as Markdown (benchmarks/RESULTS.md is the latest).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import ROOT, Row, machine

# In the order they run; the slow ones last.
MODULES = (
    "package",
    "denylist_scale",
    "warm_event",
    "api_calls",
    "cold_start",
    "memory",
    "sweep",
    "org_scan",
    "custodian",
    "paced_sweep",
)
TIMEOUT = 420  # seconds, per module
# Modules that wait by design: the paced sweep's floor alone is 245 s.
TIMEOUTS = {"paced_sweep": 900}


def run_module(name: str, quick: bool, logs: Path) -> tuple[list[Row], float]:
    out = logs / f"{name}.json"
    out.unlink(missing_ok=True)
    argv = [sys.executable, str(Path(__file__).parent / f"{name}.py"), "--out", str(out)]
    if quick:
        argv.append("--quick")
    start = time.perf_counter()
    with (logs / f"{name}.log").open("w") as log:
        try:
            done = subprocess.run(
                argv,
                cwd=ROOT,
                stdout=log,
                stderr=log,
                timeout=TIMEOUTS.get(name, TIMEOUT),
                check=False,
            )
            failed = done.returncode != 0 or not out.exists()
        except subprocess.TimeoutExpired:
            failed = True
    seconds = time.perf_counter() - start
    if failed:
        try:
            tail = (logs / f"{name}.log").read_text(errors="replace").strip().splitlines()[-1:]
        except OSError:  # .bench/ removed meanwhile (make clean)
            tail = []
        why = tail[0][:200] if tail else "no output"
        return [Row(name, "ERROR", note=f"{why} (see .bench/logs/{name}.log)")], seconds
    return [Row(**row) for row in json.loads(out.read_text())], seconds


def table(rows: list[Row]) -> str:
    head = ("figure", "result", "target", "met")
    body = [
        (r.figure, r.value, r.target, {True: "yes", False: "no", None: "-"}[r.met]) for r in rows
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in body]
    notes = [f"{i}. {r.figure}: {r.note}" for i, r in enumerate(rows, 1) if r.note]
    return "\n".join(lines) + ("\n\nNotes:\n\n" + "\n".join(notes) if notes else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller data, fewer repeats")
    parser.add_argument("--only", nargs="+", choices=MODULES, help="run only these figures")
    parser.add_argument("--results", type=Path, help="also write the table here (Markdown)")
    args = parser.parse_args()
    logs = ROOT / ".bench" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    broken = False
    started = time.perf_counter()
    for name in args.only or MODULES:
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        got, seconds = run_module(name, args.quick, logs)
        broken |= any(r.value == "ERROR" for r in got)
        print(f"bench: {name} done in {seconds:.0f} s", file=sys.stderr, flush=True)
        rows.extend(got)
    total = time.perf_counter() - started
    facts = machine()
    about = f"{'quick run' if args.quick else 'full run'} in {total:.0f} s on " + ", ".join(
        f"{k} {v}" for k, v in facts.items()
    )
    text = table(rows)
    print(text)
    print(f"\n{about}")
    if args.results:
        args.results.write_text(
            "# Benchmark results\n\nThe latest `make bench` (benchmarks/run.py"
            + (" --quick" if args.quick else "")
            + f"); see benchmarks/README.md for what each figure means.\n\n{text}\n\n"
            + f"Machine: {about}. Timings are medians; ratios are measured in the same run.\n"
        )
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
