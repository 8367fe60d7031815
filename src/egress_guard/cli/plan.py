"""The `plan` command: which live rules a denylist change would newly revoke or spare."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from egress_guard.cli import environment
from egress_guard.cli.environment import EXIT_FAILED, EXIT_OK, fail, set_log_level
from egress_guard.cli.files import read_bytes
from egress_guard.cli.options import add_progress
from egress_guard.cli.org_options import (
    DEFAULT_MEMBER_ROLE,
    add_place_options,
    check_org_options,
    org_scan_wanted,
    places_of,
)
from egress_guard.cli.output import Progress

if TYPE_CHECKING:
    from egress_guard.aws import Clients
    from egress_guard.progress import Progress as ProgressCallback

PLAN_EPILOG = """\
Reads the live rules (nothing is written, no DryRun call is made) and judges each egress
rule by both denylists. A change is a rule NEW would revoke that CURRENT spares
("newly-revoked", with NEW's deciding entry) or the reverse ("newly-spared", with CURRENT's).
Exempt rules are revoked by neither: they are left out and counted. For each place the
plan also names the blast-radius limits (MAX_REVOCATIONS, MAX_REVOCATIONS_PERCENT) the
rules due under NEW would trip. Without --group-id the whole region is read, as a sweep.

exit status: 0 no difference, 1 a difference (a CI gate on a denylist repository), 2 bad
input, a set-up problem, or something the plan needs could not be read (a prefix list,
the rules, group tags): a plan is never printed incomplete.

examples:
  egress-guard plan --denylist new.yaml
  egress-guard plan --denylist new.yaml --current deployed.yaml -o table
  egress-guard plan --denylist new.yaml --group-id sg-0123456789abcdef0 -o csv"""


def add_plan(command: Callable[..., argparse.ArgumentParser]) -> None:
    plan = command(
        "plan", "show which live rules a denylist change would newly revoke or spare",
        PLAN_EPILOG,
    )  # fmt: skip
    plan.add_argument(
        "--denylist",
        dest="new_denylist",
        required=True,
        metavar="NEW",
        help='the proposed denylist, JSON or YAML ("-": stdin)',
    )
    plan.add_argument(
        "--current",
        dest="current_denylist",
        metavar="CURRENT",
        help="the denylist to compare with, JSON or YAML (default: the configured one: "
        "DENYLIST, DENYLIST_FILE, DENYLIST_PARAMETER, else the packaged one)",
    )
    plan.add_argument(
        "--group-id",
        dest="group_ids",
        action="append",
        default=[],
        metavar="ID",
        help="a group to plan for (repeatable); default: every group in the region",
    )
    add_progress(plan)
    add_place_options(plan)
    plan.set_defaults(run=run_plan)


def run_plan(args: argparse.Namespace) -> int:
    """Exit 0 when NEW and CURRENT revoke the same rules, 1 when they differ."""
    from datetime import UTC, datetime

    from egress_guard.aws import AwsError, error_text, setup_problem
    from egress_guard.plan_run import (
        PlaceEc2,
        PlanFailed,
        Planner,
        plan_document,
    )
    from egress_guard.targets import check_group_id

    group_ids = list(dict.fromkeys(check_group_id(g, "--group-id") for g in args.group_ids))
    set_log_level(args.log_level)
    settings = environment.settings_of(args)
    limits = settings.limits
    new, new_source = _plan_denylist(args.new_denylist)
    region = args.working_region
    clients = environment.new_clients()
    progress = Progress.for_stream(sys.stderr, args.progress)
    try:
        account = clients.own_account()
        if args.current_denylist:
            current, current_source = _plan_denylist(args.current_denylist)
        else:
            current, current_source = _configured_denylist(settings, clients)
        planner = Planner(new, current, settings.exempt_tag, limits, datetime.now(UTC))
        if org_scan_wanted(args):
            planned_places = _plan_places(args, clients, planner, settings, progress)
            groups: dict[str, tuple[str, str]] = {}
        else:
            place = PlaceEc2(None, region, clients.ec2(None, region, None))
            planned_places = [planner.place(place, account, group_ids, progress)]
            groups = _plan_groups(place, planned_places[0]) if args.output != "json" else {}
    except PlanFailed as exc:
        return fail(str(exc))
    except AwsError as exc:
        # Whatever AWS said, a plan that could not be made is never "no difference" (0)
        # nor "a difference" (1).
        return fail(setup_problem(exc) or f"plan not made: AWS error: {error_text(exc)}")
    finally:
        progress.close()
    document = plan_document(planned_places, new_source=new_source, current_source=current_source)
    if args.output in ("table", "csv"):
        from egress_guard.tables import plan as table

        render = table.plan_csv if args.output == "csv" else table.render_plan
        sys.stdout.write(render(document, groups))
    else:
        sys.stdout.write(json.dumps(document, indent=2, default=str) + "\n")
    sys.stdout.flush()
    return EXIT_FAILED if document["Changes"] else EXIT_OK


def _plan_places(
    args: argparse.Namespace,
    clients: Clients,
    planner: Any,
    settings: Any,
    progress: ProgressCallback,
) -> list[Any]:
    """Each place of the org options planned, one after another (reads only). A place that
    cannot be reached makes the plan incomplete: PlanFailed naming it (exit 2), since a
    plan that leaves rules out could pass a CI gate it should not."""
    from egress_guard.places import DEFAULT_CONCURRENCY
    from egress_guard.plan_run import PlaceEc2, PlanFailed

    check_org_options(args)
    role_name = args.role_name or settings.member_role_name or DEFAULT_MEMBER_ROLE
    places, unreachable = places_of(
        args, clients, role_name, args.concurrency or DEFAULT_CONCURRENCY, "plan for"
    )
    if unreachable:
        lost = "; ".join(f"{o.place}: {o.error}" for o in unreachable[:5])
        raise PlanFailed(f"plan not made: {len(unreachable)} place(s) not reachable: {lost}")
    own = clients.own_account()
    planned = []
    for found in places:
        region = found.region or args.working_region
        place = PlaceEc2(found.account, region, clients.ec2(found.account, region, role_name))
        planned.append(planner.place(place, own, [], progress))
    return planned


def _plan_denylist(path: str) -> tuple[Any, str]:
    """A denylist file of the plan, compiled, and how the output names it. Invalid:
    DenylistError (exit 2), as DENYLIST_FILE would be refused; warnings go to stderr."""
    from egress_guard.denylist import parse_denylist
    from egress_guard.judge import Judge

    source = "stdin" if path == "-" else path
    denylist = parse_denylist(read_bytes(path, "denylist"), source)
    for warning in denylist.warnings:
        print(f"{source}: warning: {warning}", file=sys.stderr)
    return Judge(denylist), source


def _configured_denylist(settings: Any, clients: Clients) -> tuple[Any, str]:
    """The denylist the function would use (CURRENT's default), and its source."""
    from egress_guard.denylist import parse_denylist
    from egress_guard.denylist_source import denylist_text
    from egress_guard.judge import Judge

    text, source = denylist_text(settings, clients)
    return Judge(parse_denylist(text, source)), source


def _plan_groups(place: Any, planned: Any) -> dict[str, tuple[str, str]]:
    """Name and VPC of the changed rules' groups, for a table (mostly read already)."""
    from egress_guard.aws import AwsCallFailed

    ids = sorted({c.rule.group_id for c in planned.plan.changes})
    if not ids:
        return {}
    try:
        found = place.ec2.group_info(ids)
    except AwsCallFailed:
        return {}
    return {g: (info.name, info.vpc_id or "") for g, info in found.items()}
