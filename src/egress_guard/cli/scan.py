"""The `scan` command: security groups judged (and in enforce mode remediated) now, in one
place (account and region) or, with the org options, across many places."""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Callable

from egress_guard.cli import environment
from egress_guard.cli.environment import EXIT_FAILED, EXIT_OK, fail, set_log_level
from egress_guard.cli.options import add_dry_run, add_max_revocations, add_progress, whole_number
from egress_guard.cli.org_options import (
    DEFAULT_MEMBER_ROLE,
    add_place_options,
    check_org_options,
    org_scan_wanted,
    places_of,
)
from egress_guard.cli.output import Progress, run_and_print, write_places_output

SCAN_EPILOG = """\
Without --group-id, every security group of the region is read (a sweep, as on the
schedule). In enforce mode (MODE unset or "enforce") the offending rules are revoked:
try --dry-run first. Progress ("read page 3: 3000 rules, 412 groups; 37 offending",
"revoking 12/40 groups") goes to stderr when it is a terminal, or with --progress.

examples:
  egress-guard scan --dry-run --output table
  egress-guard scan --region eu-west-1 --group-id sg-0123456789abcdef0
  egress-guard scan --denylist denylist.yaml > result.json
  egress-guard scan --dry-run --fail-on-findings -o csv > findings.csv   # a CI gate
  egress-guard scan --organization --regions us-east-1,eu-west-1 --dry-run -o table
  egress-guard scan --accounts 111111111111,222222222222 --all-regions --role-name audit

With --accounts, --organization or --regions, every place (account x region) is swept,
--concurrency at a time, and one merged result is printed: each place's own result and
the totals; a place that cannot be reached is listed with the reason (exit status 1).
Restore one place of it with `restore --place ACCOUNT/REGION`."""


def add_scan(command: Callable[..., argparse.ArgumentParser]) -> None:
    """The scan command's parser."""
    scan = command(
        "scan", "judge (and in enforce mode remediate) security groups now", SCAN_EPILOG,
        judges=True,
    )  # fmt: skip
    scan.add_argument(
        "--group-id",
        dest="group_ids",
        action="append",
        default=[],
        metavar="ID",
        help="a group to judge (repeatable); default: every group in the region",
    )
    add_dry_run(scan, "report what would be revoked; write nothing anywhere")
    scan.add_argument(
        "--fail-on-findings",
        action="store_true",
        help="exit 1 when an offending rule is found (revoked, would be revoked or failed; "
        "exempt ones aside): a gate for CI, with --dry-run",
    )
    add_max_revocations(scan)
    scan.add_argument(
        "--expiring-within",
        type=whole_number,
        metavar="DAYS",
        help="also list the exemptions found (exempt offending rules) whose -until tag ends "
        "within DAYS days: ExpiringExemptions in JSON, a section of the table",
    )
    add_progress(scan)
    add_place_options(scan)
    scan.set_defaults(run=run_scan)


def run_scan(args: argparse.Namespace) -> int:
    if org_scan_wanted(args):
        return run_org_scan(args)
    from egress_guard.targets import GroupTarget, Targets, check_group_id

    group_ids = list(dict.fromkeys(check_group_id(g, "--group-id") for g in args.group_ids))
    targets = Targets(
        source="cli:scan",
        event_id=f"cli-scan-{uuid.uuid4()}",
        account=None,  # the credentials' own account
        region=args.working_region,
        groups=tuple(GroupTarget(g, must_exist=True) for g in group_ids),
        sweep=not group_ids,
    )
    settings = environment.settings_of(args)
    from egress_guard.service import run_targets
    from egress_guard.telemetry import package_metrics

    set_log_level(args.log_level)
    clients = environment.new_clients()
    account = clients.own_account()  # credentials and endpoint work; the result names it
    metrics = package_metrics()
    return run_and_print(
        args,
        metrics,
        clients,
        lambda progress: run_targets(
            targets,
            clients,
            metrics,
            settings=settings,
            force_dry_run=args.dry_run,
            progress=progress,
        ),
        account=account,
        settings=settings,
    )


def run_org_scan(args: argparse.Namespace) -> int:
    """`scan` across places (egress_guard.places): one merged result, exit 1 when a place
    failed or could not be reached."""
    check_org_options(args)
    from dataclasses import replace

    from egress_guard.aws import quiet_credential_warnings
    from egress_guard.place_sweep import sweep_unit
    from egress_guard.places import (
        DEFAULT_CONCURRENCY,
        MetricsTally,
        PlaceProgress,
        merge,
        run_units,
    )
    from egress_guard.telemetry import package_metrics, publish_metrics

    settings = environment.settings_of(args)
    set_log_level(args.log_level)
    # A member role that cannot be assumed is reported per place, in one line: not also as
    # botocore's own warning with a traceback on stderr.
    quiet_credential_warnings()
    role_name = args.role_name or settings.member_role_name or DEFAULT_MEMBER_ROLE
    settings = replace(settings, member_role_name=role_name)
    concurrency = args.concurrency or DEFAULT_CONCURRENCY
    clients = environment.new_clients()
    clients.groups_seen = None  # many places' groups: the table reads none of them
    clients.own_account()  # credentials and endpoint work, before anything else
    places, unreachable = places_of(args, clients, role_name, concurrency, "scan")
    metrics = package_metrics()
    metrics.clear_metrics()
    tally = MetricsTally()
    event_id = f"cli-scan-{uuid.uuid4()}"
    shown = Progress.for_stream(sys.stderr, args.progress)
    progress = PlaceProgress(shown, len(places) + len(unreachable))
    for outcome in unreachable:
        progress.finished(outcome)
    unit = sweep_unit(
        clients,
        tally,
        settings,
        source="cli:scan",
        event_id=event_id,
        force_dry_run=args.dry_run,
    )
    try:
        outcomes = run_units(places, unit, concurrency=concurrency, progress=progress)
    finally:
        shown.close()
    output = merge(
        [*unreachable, *outcomes],
        source="cli:scan",
        event_id=event_id,
        dry_run=args.dry_run or settings.report_only,
        mode=settings.mode,
    )
    write_places_output(args, output)
    tally.flush_into(metrics)
    publish_metrics(metrics)
    totals = output["Totals"]
    if not output["Return"]:
        return fail(
            f"{totals['PlacesFailed']} of {totals['Places']} place(s) failed "
            f"({totals['PlacesUnreachable']} not reachable); see Errors",
            EXIT_FAILED,
        )
    if args.fail_on_findings:
        found = sum(totals[name] for name in ("RulesRevoked", "RulesWouldRevoke", "RulesFailed"))
        if found:
            return fail(f"{found} offending rule(s) found (--fail-on-findings)", EXIT_FAILED)
    return EXIT_OK
