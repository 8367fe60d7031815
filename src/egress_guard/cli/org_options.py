"""The options of a scan across places (an org scan; scan and plan): their parser, whether
any was given, and their checks."""

from __future__ import annotations

import argparse
import re
from typing import TYPE_CHECKING

from egress_guard.cli.environment import BadInput
from egress_guard.cli.options import id_list

if TYPE_CHECKING:
    from egress_guard.aws import Clients
    from egress_guard.places import Outcome, Place

DEFAULT_MEMBER_ROLE = "egress-guard-member"  # template.yaml's MemberRoleName default
# An organisational unit id (or the root's, r-...), as Organizations documents it.
OU_ID = re.compile(r"ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32}")


def add_place_options(scan: argparse.ArgumentParser) -> None:
    """The org scan's options (docs/command-line.md): where, beyond one account and region."""
    places = scan.add_argument_group(
        "many places (an org scan)",
        "sweep every place given, several at a time, and print one merged result",
    )
    places.add_argument(
        "--accounts",
        type=id_list,
        metavar="ID[,ID...]",
        help="these accounts (another than the credentials' own: through --role-name)",
    )
    places.add_argument(
        "--organization",
        action="store_true",
        help="every ACTIVE account of the organisation (organizations:ListAccounts: the "
        "management account or a delegated administrator)",
    )
    places.add_argument(
        "--ou",
        metavar="OU_ID",
        help="with --organization: only the accounts in this organisational unit and its "
        "child units",
    )
    places.add_argument(
        "--exclude-accounts",
        type=id_list,
        default=[],
        metavar="ID[,ID...]",
        help="with --organization: leave these accounts out",
    )
    places.add_argument(
        "--regions",
        type=id_list,
        metavar="R[,R...]",
        help="these regions in every account (default: the working region, --region)",
    )
    places.add_argument(
        "--all-regions",
        action="store_true",
        help="every region enabled in each account (ec2:DescribeRegions there)",
    )
    places.add_argument(
        "--role-name",
        metavar="NAME",
        help="the role to assume in accounts other than the credentials' own (default: "
        "MEMBER_ROLE_NAME, else egress-guard-member)",
    )
    places.add_argument(
        "--concurrency",
        type=int,
        metavar="N",
        help="places swept at the same time, 1-64 (default 8)",
    )


def org_scan_wanted(args: argparse.Namespace) -> bool:
    return bool(
        args.accounts is not None
        or args.organization
        or args.ou is not None
        or args.exclude_accounts
        or args.regions is not None
        or args.all_regions
        or args.role_name is not None
        or args.concurrency is not None
    )


def check_org_options(args: argparse.Namespace) -> None:
    """BadInput naming the first option that cannot be used as given."""
    from egress_guard.places import MAX_CONCURRENCY
    from egress_guard.targets import EventError, check_account, check_region

    if args.group_ids:
        raise BadInput("--group-id names groups of one place: it cannot go with the org options")
    if args.accounts and args.organization:
        raise BadInput("--accounts and --organization: give one of them")
    if (args.ou or args.exclude_accounts) and not args.organization:
        raise BadInput("--ou and --exclude-accounts go with --organization")
    if args.regions and args.all_regions:
        raise BadInput("--regions and --all-regions: give one of them")
    if args.concurrency is not None and not 1 <= args.concurrency <= MAX_CONCURRENCY:
        raise BadInput(f"--concurrency: {args.concurrency} is not 1-{MAX_CONCURRENCY}")
    if args.ou is not None and not OU_ID.fullmatch(args.ou):
        raise BadInput(f"--ou: {args.ou!r} is not an organisational unit id (ou-xxxx-xxxxxxxx)")
    try:
        for flag, values in (
            ("--accounts", args.accounts),
            ("--exclude-accounts", args.exclude_accounts),
        ):
            for value in values or ():
                check_account(value, flag)
        for value in args.regions or ():
            check_region(value, "--regions")
    except EventError as exc:
        raise BadInput(str(exc)) from None
    if (
        args.accounts == []
        or args.regions == []
        or (args.role_name is not None and not args.role_name)
    ):
        raise BadInput("--accounts, --regions and --role-name need a value")


def places_of(
    args: argparse.Namespace, clients: Clients, role_name: str, concurrency: int, what: str
) -> tuple[list[Place], list[Outcome]]:
    """The places the org options name (accounts x regions), and those that cannot be
    reached with why; `what` ("scan", "plan for") words the error when no account is left."""
    from egress_guard.org_places import find_accounts, find_places

    accounts = find_accounts(
        clients,
        accounts=args.accounts or (),
        organization=args.organization,
        unit=args.ou,
        exclude=args.exclude_accounts,
    )
    if not accounts:
        raise BadInput(f"no account to {what} (all excluded, or none ACTIVE)")
    regions = None if args.all_regions else (args.regions or [args.working_region])
    return find_places(
        clients,
        accounts,
        regions,
        role_name=role_name,
        working_region=args.working_region,
        concurrency=concurrency,
    )
