"""The `check-denylist` command: a denylist validated and printed normalised, or its problems."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from egress_guard.cli.environment import EXIT_BAD_INPUT, EXIT_OK
from egress_guard.cli.files import read_bytes

CHECK_EPILOG = """\
Prints the normalised denylist (canonical CIDRs, protocol names, lists everywhere) on
stdout and any warnings on stderr; an invalid denylist prints its problems, one per line,
on stderr and exits 2. JSON and YAML are both accepted; FILE "-" reads stdin.

examples:
  egress-guard check-denylist denylist.json
  egress-guard check-denylist denylist.yaml --output table
  egress-guard check-denylist denylist.yaml --output csv"""


def add_check(command: Callable[..., argparse.ArgumentParser]) -> None:
    """The check-denylist command's parser."""
    check = command(
        "check-denylist", "validate a denylist and print it normalised, or its problems",
        CHECK_EPILOG, uses_aws=False,
    )  # fmt: skip
    check.add_argument("file", metavar="FILE", help='the denylist, JSON or YAML ("-": stdin)')
    check.set_defaults(run=run_check_denylist)


def run_check_denylist(args: argparse.Namespace) -> int:
    from egress_guard.denylist import DenylistError, parse_denylist
    from egress_guard.judge import Judge

    raw = read_bytes(args.file, "denylist")
    try:
        denylist = parse_denylist(raw, args.file)
    except DenylistError as exc:
        for problem in exc.problems:
            print(f"{args.file}: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    Judge(denylist)  # compiles as the function would
    for warning in denylist.warnings:
        print(f"{args.file}: warning: {warning}", file=sys.stderr)
    if args.output in ("table", "csv"):
        from egress_guard.tables.denylist import denylist_csv, render_denylist

        render = denylist_csv if args.output == "csv" else render_denylist
        sys.stdout.write(render(denylist.document))
    else:
        sys.stdout.write(denylist.to_json() + "\n")
    return EXIT_OK
