"""The `restore` command: the rules a result revoked re-authorized."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from egress_guard.cli import environment
from egress_guard.cli.environment import EXIT_FAILED, EXIT_OK, BadInput, fail
from egress_guard.cli.files import read_result
from egress_guard.cli.options import add_dry_run
from egress_guard.cli.output import write_output

RESTORE_EPILOG = """\
Re-authorizes exactly the rules the result lists in RevokedSecurityGroupRules that its
Findings say were revoked (and the rules of "failed" findings marked MaybeRevoked), with
their descriptions, the tags recorded in the findings, and a referenced group of another
account with its owner. EC2 gives each restored rule a new id. A rule already in its group
(same protocol, ports and destination) is reported "already-present", so running restore
twice is harmless. The result must name the account and region restore runs in. RESULT
may be the output of invoke or scan, an SNS notice saved as it came, or the "result" log line;
EC2's own revoke-security-group-egress response has no findings and no account: restore it
with --force.

If egress-guard is deployed in enforce mode it will revoke a restored rule again unless
the rule is exempt: add --tag egress-guard:exempt=true (or your EXEMPT_TAG).

examples:
  egress-guard restore result.json --dry-run
  egress-guard restore result.json --tag egress-guard:exempt=true --output table"""


def add_restore(command: Callable[..., argparse.ArgumentParser]) -> None:
    """The restore command's parser."""
    restore = command("restore", "re-authorize the rules a result revoked", RESTORE_EPILOG)
    restore.add_argument(
        "result", metavar="RESULT.json", help='a result of invoke or scan ("-": stdin)'
    )
    add_dry_run(restore, "print what would be restored; change nothing")
    restore.add_argument(
        "--tag",
        dest="tags",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an extra tag for every restored rule (repeatable), e.g. egress-guard:exempt=true",
    )
    restore.add_argument(
        "--place",
        metavar="ACCOUNT/REGION",
        help="the place to restore from a merged result of a scan across places",
    )
    restore.add_argument(
        "--force",
        action="store_true",
        help="also restore rules no revoked finding vouches for, and a result naming no account",
    )
    restore.set_defaults(run=run_restore)


def run_restore(args: argparse.Namespace) -> int:
    from egress_guard.restore import Report, check_place, restore, rules_to_restore
    from egress_guard.result_document import read
    from egress_guard.result_input import result_of

    result = result_of(_restore_input(read_result(args.result), args.place))
    named = read(result)  # the account and region the result names
    forced: list[str] = []
    rules = rules_to_restore(result, force=args.force, notes=forced)
    extra_tags = parse_tags(args.tags)
    if not rules:
        report = Report(
            account=named.account or None,
            region=args.region or named.region or "",
            dry_run=args.dry_run,
            notes=["nothing to restore: the result revoked no rules"],
        )
        write_output(args, report.to_dict(), "restore")
        return EXIT_OK
    clients = environment.new_clients()
    region = args.region or clients.default_region()
    account = clients.own_account()
    check_place(result, account, region, force=args.force)
    report = Report(account=account, region=region, dry_run=args.dry_run, notes=forced)
    if not named.account:
        report.notes.append(f"the result names no account; restoring in {account} (--force)")
    restore(clients.ec2(None, region, None), rules, report, extra_tags=extra_tags)
    write_output(args, report.to_dict(), "restore")
    if not report.ok:
        fail(f"restore failed for {report.count('failed')} rule(s)", EXIT_FAILED)
        return EXIT_FAILED
    return EXIT_OK


def _restore_input(document: Any, place: str | None) -> Any:
    """The one place's result to restore from: `--place` of a merged result (a scan across
    places), else the document itself."""
    from egress_guard.places import is_merged, parse_place, place_names, place_of

    merged = isinstance(document, Mapping) and is_merged(document)
    if place is None:
        if merged:
            raise BadInput(
                "a merged result of several places: pass --place ACCOUNT/REGION (one of "
                f"{', '.join(place_names(document)[:10])}) and run restore with that "
                "account's credentials"
            )
        return document
    if not merged:
        raise BadInput("--place is for a merged result of a scan across places")
    try:
        return place_of(document, parse_place(place))
    except ValueError as exc:
        raise BadInput(f"--place: {exc}") from None


def parse_tags(values: Sequence[str]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for value in values:
        key, sep, text = value.partition("=")
        if not sep or not key.strip():
            raise BadInput(f"--tag {value!r}: expected KEY=VALUE")
        tags[key.strip()] = text
    return tags
