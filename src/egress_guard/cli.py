"""The command line (docs/command-line.md): `egress-guard invoke | scan | check-denylist | restore`.

The same code as the Lambda function, run by an operator or the local demo. Results go to
stdout (JSON, or a table with `--output table`); logs, warnings, progress and errors go to
stderr. Exit status: 0 success, 1 a remediation (or restore) failed, 2 bad input or a
set-up problem (credentials, profile, region, endpoint), named in one line.

Powertools is imported only after the environment is prepared: metrics are off unless
POWERTOOLS_METRICS_DISABLED says otherwise (their EMF lines would land on stdout), and the
log level is chosen before the loggers are made.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TextIO

from egress_guard import __version__
from egress_guard.log import SERVICE

if TYPE_CHECKING:
    from aws_lambda_powertools import Metrics

    from egress_guard.aws import Clients

PROG = "egress-guard"
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
EXIT_INTERRUPTED = 130
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

DESCRIPTION = """\
egress-guard revokes the outbound (egress) security-group rules that a denylist forbids.
This is the Lambda function's own code, run from a shell: results on stdout, logs and
progress on stderr. Configuration comes from the same environment variables as the
function (DENYLIST, DENYLIST_FILE, DENYLIST_PARAMETER, MODE, EXEMPT_TAG, ...; --denylist
and --mode say the same), and AWS as the AWS CLI finds it: --profile, --region (a region is
required), --endpoint-url (e.g. a local emulator) or their environment variables."""

EPILOG = """\
examples:
  egress-guard check-denylist denylist.yaml
  egress-guard invoke events/cloudtrail-authorize-egress.json --dry-run
  egress-guard scan --mode report --output table --profile audit --region eu-west-1
  egress-guard scan --dry-run --fail-on-findings --denylist denylist.yaml -o csv
  egress-guard scan --group-id sg-0123456789abcdef0 --group-id sg-0fedcba9876543210
  egress-guard scan --dry-run -o table > findings.txt
  egress-guard scan > result.json && egress-guard restore result.json --dry-run

exit status: 0 success, 1 a remediation or restore failed (the result is still printed;
with scan --fail-on-findings also: an offending rule was found), 2 bad input (unreadable
file, invalid event, denylist or setting, wrong account/region) or a set-up problem (no
credentials or region, unknown profile, unreachable endpoint, an answer that is not AWS's).

Run `egress-guard COMMAND --help` for the options of each command."""

INVOKE_EPILOG = """\
The event is handled exactly as the Lambda function handles it: the account comes from the
event (an event naming another account needs MEMBER_ROLE_NAME); an event naming another
region than the one the command works in is refused (pass --region to match it). With
--mode report (MODE=report) nothing is revoked; --dry-run also writes nothing anywhere: no
Config evaluation, no SNS notice (EC2's own DryRun check of the revoke is still made).

examples:
  egress-guard invoke events/cloudtrail-authorize-egress.json
  egress-guard invoke events/scheduled-event.json --dry-run --output table
  aws ec2 revoke-security-group-egress --generate-cli-skeleton > req.json  # then edit it
  egress-guard invoke req.json"""

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

CHECK_EPILOG = """\
Prints the normalised denylist (canonical CIDRs, protocol names, lists everywhere) on
stdout and any warnings on stderr; an invalid denylist prints its problems, one per line,
on stderr and exits 2. JSON and YAML are both accepted; FILE "-" reads stdin.

examples:
  egress-guard check-denylist denylist.json
  egress-guard check-denylist denylist.yaml --output table
  egress-guard check-denylist denylist.yaml --output csv"""

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


REPLAY_EPILOG = """\
Receives the failure queue's messages (Lambda's on-failure records, which hold the original
event, and EventBridge's undeliverable events), ten at a time, and runs each through the
handler exactly as `invoke` would. A message is deleted only when its run succeeded
(Return true); the others stay, visible again when replay ends, and the report says why
each stayed. An event from another region than the one replay works in stays (pass
--region to match it). Exit status: 0 every message replayed (or none there), 1 some stayed,
2 the queue cannot be read or another set-up problem.

examples:
  egress-guard replay --queue URL --dry-run --output table
  egress-guard replay --queue https://sqs.eu-west-1.amazonaws.com/123456789012/egress-guard-FailureQueue-abc
  egress-guard replay --queue URL --max-messages 10"""


class BadInput(Exception):
    """Input the command cannot use; the message is printed as one line, exit status 2."""


# --- the parser --------------------------------------------------------------------------------

OUTPUTS = ("json", "table", "csv")
# The options of the AWS CLI's habits (and --log-level) that may also come before the
# command; `main` refuses there the ones that mean nothing for the command.
LEADING_OPTIONS = {
    "region": "--region",
    "profile": "--profile",
    "endpoint_url": "--endpoint-url",
    "log_level": "--log-level",
}


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser. Each command offers only the options that mean something
    for it; --output, the AWS options and --log-level may also come before the command."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_output(parser, None)
    _add_aws_options(parser, None)
    _add_log_level(parser, None)
    parser.set_defaults(output="json")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")

    # Shared options of the commands. SUPPRESS: an option not given after the command keeps
    # the value given before it.
    output = argparse.ArgumentParser(add_help=False)
    _add_output(output, argparse.SUPPRESS)
    aws = argparse.ArgumentParser(add_help=False)
    _add_aws_options(aws, argparse.SUPPRESS)
    _add_log_level(aws, argparse.SUPPRESS)
    configuration = argparse.ArgumentParser(add_help=False)
    _add_configuration(configuration)

    def command(
        name: str, summary: str, epilog: str, *, uses_aws: bool = True, judges: bool = False
    ) -> argparse.ArgumentParser:
        parents = [output]
        offers = {"output"}
        if uses_aws:
            parents.append(aws)
            offers |= set(LEADING_OPTIONS)
        if judges:
            parents.append(configuration)
        sub = commands.add_parser(
            name,
            parents=parents,
            help=summary,
            description=summary[0].upper() + summary[1:] + ".",
            epilog=epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.set_defaults(offers=frozenset(offers))
        return sub

    invoke = command(
        "invoke", "run the handler on an event file, print the result", INVOKE_EPILOG, judges=True
    )
    invoke.add_argument("event", metavar="EVENT.json", help='the event ("-": stdin)')
    _add_dry_run(invoke, "report what would be revoked; write nothing anywhere")
    _add_max_revocations(invoke)
    _add_progress(invoke)
    invoke.set_defaults(run=run_invoke)

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
    _add_dry_run(scan, "report what would be revoked; write nothing anywhere")
    scan.add_argument(
        "--fail-on-findings",
        action="store_true",
        help="exit 1 when an offending rule is found (revoked, would be revoked or failed; "
        "exempt ones aside): a gate for CI, with --dry-run",
    )
    _add_max_revocations(scan)
    scan.add_argument(
        "--expiring-within",
        type=_whole_number,
        metavar="DAYS",
        help="also list the exemptions found (exempt offending rules) whose -until tag ends "
        "within DAYS days: ExpiringExemptions in JSON, a section of the table",
    )
    _add_progress(scan)
    _add_place_options(scan)
    scan.set_defaults(run=run_scan)

    check = command(
        "check-denylist", "validate a denylist and print it normalised, or its problems",
        CHECK_EPILOG, uses_aws=False,
    )  # fmt: skip
    check.add_argument("file", metavar="FILE", help='the denylist, JSON or YAML ("-": stdin)')
    check.set_defaults(run=run_check_denylist)

    _add_restore(command)
    _add_plan(command)
    _add_replay(command)
    return parser


def _add_restore(command: Callable[..., argparse.ArgumentParser]) -> None:
    """The restore command's parser."""
    restore = command("restore", "re-authorize the rules a result revoked", RESTORE_EPILOG)
    restore.add_argument(
        "result", metavar="RESULT.json", help='a result of invoke or scan ("-": stdin)'
    )
    _add_dry_run(restore, "print what would be restored; change nothing")
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


def _add_place_options(scan: argparse.ArgumentParser) -> None:
    """The org scan's options (docs/command-line.md): where, beyond one account and region."""
    places = scan.add_argument_group(
        "many places (an org scan)",
        "sweep every place given, several at a time, and print one merged result",
    )
    places.add_argument(
        "--accounts",
        type=_id_list,
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
        type=_id_list,
        default=[],
        metavar="ID[,ID...]",
        help="with --organization: leave these accounts out",
    )
    places.add_argument(
        "--regions",
        type=_id_list,
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


def _id_list(text: str) -> list[str]:
    """`a,b, c` -> [a, b, c]: comma-separated, blanks dropped."""
    return [item.strip() for item in text.split(",") if item.strip()]


def _add_replay(command: Callable[..., argparse.ArgumentParser]) -> None:
    """The replay command's parser."""
    replay = command(
        "replay", "run the failure queue's messages through the handler again",
        REPLAY_EPILOG, judges=True,
    )  # fmt: skip
    replay.add_argument(
        "--queue", required=True, metavar="URL", help="the failure queue (FailureQueueUrl)"
    )
    replay.add_argument(
        "--max-messages",
        type=_message_count,
        default=100,
        metavar="N",
        help="replay at most N messages (default 100)",
    )
    _add_dry_run(replay, "run each event as a dry run; delete nothing")
    replay.set_defaults(run=run_replay)


def _message_count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return int(text)


def _add_output(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument(
        "-o",
        "--output",
        choices=OUTPUTS,
        default=default,
        help="json (default): as the Lambda function returns it; table: one row per rule and "
        "a summary line; csv: the table's rows, with a header row",
    )


def _add_aws_options(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument(
        "--region",
        default=default,
        metavar="REGION",
        help="the AWS region to work in (default: AWS_REGION, AWS_DEFAULT_REGION, the "
        "profile's region; one is required)",
    )
    parser.add_argument(
        "--profile",
        default=default,
        metavar="NAME",
        help="a profile of the AWS config and credentials files (default: AWS_PROFILE); its "
        "credentials win over those in the environment",
    )
    parser.add_argument(
        "--endpoint-url",
        default=default,
        metavar="URL",
        help="send every AWS request to this URL, e.g. a local emulator (default: "
        "AWS_ENDPOINT_URL, else AWS's own endpoints)",
    )


def _add_log_level(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        default=default,
        metavar="LEVEL",
        help="log level of the JSON logs on stderr: DEBUG, INFO, WARNING, ERROR (default: "
        "POWERTOOLS_LOG_LEVEL, else INFO for invoke and WARNING for the other commands)",
    )


def _add_configuration(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--denylist",
        metavar="FILE",
        help="the denylist, JSON or YAML (default: DENYLIST, DENYLIST_FILE, "
        "DENYLIST_PARAMETER, else the packaged one)",
    )
    parser.add_argument(
        "--mode",
        choices=("enforce", "report"),
        help="enforce: revoke; report: revoke nothing, say what would be revoked "
        "(default: MODE, else enforce)",
    )


def _add_dry_run(parser: argparse.ArgumentParser, text: str) -> None:
    parser.add_argument("--dry-run", action="store_true", help=text)


def _add_max_revocations(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-revocations",
        type=_whole_number,
        metavar="N",
        help="revoke at most N rules in this run, else none (all held); 0: no limit. Replaces "
        "MAX_REVOCATIONS and lifts MAX_REVOCATIONS_PERCENT: an operator's knowing override",
    )


def _whole_number(text: str) -> int:
    """A whole number, 0 or more (argparse names the option when this raises)."""
    value = text.strip()
    if not (value.isascii() and value.isdigit()):
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number 0 or more")
    return int(value)


def _add_progress(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show progress on stderr (default: only when stderr is a terminal)",
    )


# --- main ---------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_usage(sys.stderr)
        return fail("a command is required: invoke, scan, check-denylist or restore")
    for dest, flag in LEADING_OPTIONS.items():
        if dest not in args.offers and getattr(args, dest, None) is not None:
            parser.error(f"{flag} means nothing for {args.command}")
    prepare_environment(args)
    # Imported after the environment is prepared; none of these imports Powertools.
    from botocore.exceptions import BotoCoreError, ClientError
    from botocore.parsers import ResponseParserError

    from egress_guard.aws import error_text, setup_problem
    from egress_guard.denylist import DenylistError
    from egress_guard.restore import RestoreInputError, RestoreRefused
    from egress_guard.settings import SettingsError
    from egress_guard.targets import EventError

    try:
        if "region" in args.offers:
            args.working_region = resolve_region(args)
        status: int = args.run(args)
        return status
    except (
        BadInput,
        EventError,
        DenylistError,
        SettingsError,
        RestoreInputError,
        RestoreRefused,
    ) as exc:
        return fail(str(exc))
    except (ClientError, BotoCoreError, ResponseParserError) as exc:
        # Credentials, profile, region, endpoint, or an answer that is not AWS's: exit 2
        # naming it, before any result could claim the estate clean.
        problem = setup_problem(exc)
        if problem is not None:
            return fail(problem)
        return fail(f"AWS error: {error_text(exc)}", EXIT_FAILED)
    except KeyboardInterrupt:
        return fail("interrupted", EXIT_INTERRUPTED)
    except BrokenPipeError:
        # The reader of stdout went away (`| head`): not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK


def fail(message: str, status: int = EXIT_BAD_INPUT) -> int:
    """One line on stderr naming the problem, no traceback."""
    print(f"{PROG}: {' '.join(message.split())}", file=sys.stderr)
    return status


def prepare_environment(args: argparse.Namespace) -> None:
    """Before Powertools and boto3 are imported: metrics off, log level, and the options
    that stand for environment variables (the AWS ones as the AWS CLI reads them)."""
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    level = getattr(args, "log_level", None)
    level = level or os.environ.get("POWERTOOLS_LOG_LEVEL", "").strip().upper()
    if not level:
        level = "INFO" if args.command == "invoke" else "WARNING"
    os.environ["POWERTOOLS_LOG_LEVEL"] = level
    args.log_level = level
    if getattr(args, "profile", None):
        os.environ["AWS_PROFILE"] = args.profile
        # AWS_DEFAULT_PROFILE would win over AWS_PROFILE, and credentials in the
        # environment over any profile: a profile given by name wins over both.
        for name in ("AWS_DEFAULT_PROFILE", *ENVIRONMENT_CREDENTIALS):
            os.environ.pop(name, None)
    if getattr(args, "region", None):
        os.environ["AWS_DEFAULT_REGION"] = args.region
        os.environ["AWS_REGION"] = args.region
    if getattr(args, "endpoint_url", None):
        # boto3's own variable; the per-service ones would win over it.
        for name in list(os.environ):
            if (
                name.startswith("AWS_ENDPOINT_URL_")
                or name == "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"
            ):
                del os.environ[name]
        os.environ["AWS_ENDPOINT_URL"] = args.endpoint_url
    if getattr(args, "denylist", None):
        os.environ["DENYLIST_FILE"] = os.path.abspath(args.denylist)
        os.environ.pop("DENYLIST", None)  # it would win over DENYLIST_FILE
    if getattr(args, "mode", None):
        os.environ["MODE"] = args.mode
    if getattr(args, "max_revocations", None) is not None:
        # The operator names the number they accept: that alone is the limit of this run.
        os.environ["MAX_REVOCATIONS"] = str(args.max_revocations)
        os.environ["MAX_REVOCATIONS_PERCENT"] = "0"


ENVIRONMENT_CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def resolve_region(args: argparse.Namespace) -> str:
    """The region to work in, as the AWS CLI finds it: --region, AWS_REGION, then
    AWS_DEFAULT_REGION or the profile's region. Set for every client of the command;
    BadInput when there is none (never a silent default)."""
    from egress_guard.aws import configured_region

    region = args.region or os.environ.get("AWS_REGION", "").strip() or configured_region()
    if not region:
        raise BadInput(
            "a region is required: pass --region, or set AWS_REGION or AWS_DEFAULT_REGION, "
            "or region in your AWS config profile"
        )
    os.environ["AWS_DEFAULT_REGION"] = os.environ["AWS_REGION"] = region
    return region


def new_clients() -> Clients:
    """The AWS clients of one command (a seam for tests)."""
    from egress_guard.aws import Clients

    clients = Clients()
    clients.groups_seen = {}  # names and VPCs for the tables, from the reads made anyway
    return clients


# --- invoke and scan -----------------------------------------------------------------------------


def run_invoke(args: argparse.Namespace) -> int:
    event = read_json(args.event, "event")
    from egress_guard import handler
    from egress_guard.events import parse_event
    from egress_guard.service import handle

    region = args.working_region
    named = parse_event(event).region
    if named is not None and named != region:
        # Acting elsewhere than the operator said, or than the event says, would both
        # surprise someone: refuse, and say how to act in the event's region.
        raise BadInput(
            f"the event is from region {named} but this command works in {region} "
            f"(--region, AWS_REGION or the profile): pass --region {named} to act on it"
        )
    _set_log_level(args.log_level)
    clients = new_clients()
    clients.own_account()  # credentials and endpoint work, before anything is judged
    return _run(
        args,
        handler.metrics,
        clients,
        lambda progress: handle(
            event, clients, handler.metrics, force_dry_run=args.dry_run, progress=progress
        ),
    )


def run_scan(args: argparse.Namespace) -> int:
    if _org_scan_wanted(args):
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
    from egress_guard import handler
    from egress_guard.service import run_targets

    _set_log_level(args.log_level)
    clients = new_clients()
    account = clients.own_account()  # credentials and endpoint work; the result names it
    return _run(
        args,
        handler.metrics,
        clients,
        lambda progress: run_targets(
            targets, clients, handler.metrics, force_dry_run=args.dry_run, progress=progress
        ),
        account=account,
    )


def _run(
    args: argparse.Namespace,
    metrics: Metrics,
    clients: Clients,
    call: Callable[[Callable[[str], None]], dict[str, Any]],
    account: str | None = None,
) -> int:
    """Runs one invocation with progress, prints its result, flushes metrics."""
    from egress_guard.places import is_merged
    from egress_guard.service import PlacesFailed, RemediationFailed

    # Powertools Metrics instances share one metric set, and printing it once 100 values
    # pile up ignores POWERTOOLS_METRICS_DISABLED: start each command from an empty one.
    metrics.clear_metrics()
    progress = Progress.for_stream(sys.stderr, args.progress)
    failure: str | None = None
    try:
        output = call(progress)
    except RemediationFailed as exc:
        output, failure = exc.result.to_dict(), str(exc)
    except PlacesFailed as exc:  # an event spanning places (a Security Hub batch)
        output, failure = exc.output, str(exc)
    finally:
        progress.close()
    if is_merged(output):
        write_places_output(args, output)
        if metrics.metric_set:
            metrics.flush_metrics()
        if failure is not None:
            return fail(f"remediation failed: {failure}", EXIT_FAILED)
        return EXIT_OK
    if account is not None and output.get("Account") is None:
        output["Account"] = account
    if getattr(args, "expiring_within", None) is not None:
        from datetime import UTC, datetime, timedelta

        from egress_guard.exemptions import expiring

        within = timedelta(days=args.expiring_within)
        output["ExpiringExemptions"] = expiring(output, datetime.now(UTC), within)
    groups = _groups_of(clients, output) if args.output != "json" else {}
    write_output(args, output, "result", groups)
    if metrics.metric_set:
        metrics.flush_metrics()  # printed only when POWERTOOLS_METRICS_DISABLED is false
    if failure is not None:
        return fail(f"remediation failed: {failure}", EXIT_FAILED)
    if getattr(args, "fail_on_findings", False):
        found = sum(1 for f in output.get("Findings") or () if f.get("Action") in FOUND_ACTIONS)
        if found:
            return fail(f"{found} offending rule(s) found (--fail-on-findings)", EXIT_FAILED)
    return EXIT_OK


# --- scan across places (an org scan) -------------------------------------------------------------

DEFAULT_MEMBER_ROLE = "egress-guard-member"  # template.yaml's MemberRoleName default
# An organisational unit id (or the root's, r-...), as Organizations documents it.
OU_ID = re.compile(r"ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32}")


def _org_scan_wanted(args: argparse.Namespace) -> bool:
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


def _check_org_options(args: argparse.Namespace) -> None:
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


def run_org_scan(args: argparse.Namespace) -> int:
    """`scan` across places (egress_guard.places): one merged result, exit 1 when a place
    failed or could not be reached."""
    _check_org_options(args)
    from dataclasses import replace

    from egress_guard import handler
    from egress_guard.places import (
        DEFAULT_CONCURRENCY,
        MetricsTally,
        PlaceProgress,
        find_accounts,
        find_places,
        merge,
        run_units,
        sweep_unit,
    )
    from egress_guard.settings import Settings

    _set_log_level(args.log_level)
    # A member role that cannot be assumed is reported per place, in one line: not also as
    # botocore's own warning with a traceback on stderr.
    logging.getLogger("botocore.credentials").setLevel(logging.ERROR)
    settings = Settings.from_env()
    role_name = args.role_name or settings.member_role_name or DEFAULT_MEMBER_ROLE
    settings = replace(settings, member_role_name=role_name)
    concurrency = args.concurrency or DEFAULT_CONCURRENCY
    clients = new_clients()
    clients.groups_seen = None  # many places' groups: the table reads none of them
    clients.own_account()  # credentials and endpoint work, before anything else
    accounts = find_accounts(
        clients,
        accounts=args.accounts or (),
        organization=args.organization,
        unit=args.ou,
        exclude=args.exclude_accounts,
    )
    if not accounts:
        raise BadInput("no account to scan (all excluded, or none ACTIVE)")
    regions = None if args.all_regions else (args.regions or [args.working_region])
    places, unreachable = find_places(
        clients,
        accounts,
        regions,
        role_name=role_name,
        working_region=args.working_region,
        concurrency=concurrency,
    )
    metrics = handler.metrics
    metrics.clear_metrics()
    tally = MetricsTally()
    event_id = f"cli-scan-{uuid.uuid4()}"
    shown = Progress.for_stream(sys.stderr, args.progress)
    progress = PlaceProgress(shown, len(places) + len(unreachable))
    for outcome in unreachable:
        progress.finished(outcome)
    unit = sweep_unit(
        clients,
        tally,  # type: ignore[arg-type]  # offers add_metric, all run_targets calls
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
    if metrics.metric_set:
        metrics.flush_metrics()  # printed only when POWERTOOLS_METRICS_DISABLED is false
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


def write_places_output(args: argparse.Namespace, data: Mapping[str, Any]) -> None:
    """A merged result on stdout: JSON, or a table (csv) of places and findings."""
    if args.output in ("table", "csv"):
        from egress_guard import table

        text = (table.places_csv if args.output == "csv" else table.render_places)(data)
    else:
        text = json.dumps(data, indent=2, default=str) + "\n"
    sys.stdout.write(text)
    sys.stdout.flush()


# What --fail-on-findings counts: offending rules, whatever was done about them (a rule
# gone before its revoke is no longer there; an exempt one is allowed by its tag).
FOUND_ACTIONS = frozenset({"revoked", "would-revoke", "failed"})


def _groups_of(clients: Clients, result: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """Name and VPC of the result's groups for a table, from the reads the run made where
    it made them; "-" in the table where they cannot be read."""
    from botocore.parsers import ResponseParserError

    from egress_guard.aws import AwsErrors
    from egress_guard.settings import Settings

    ids = sorted({str(f["GroupId"]) for f in result.get("Findings") or () if f.get("GroupId")})
    if not ids:
        return {}
    try:
        ec2 = clients.ec2(
            result.get("Account"), result.get("Region"), Settings.from_env().member_role_name
        )
        found = ec2.group_info(ids)
    except (*AwsErrors, ResponseParserError):
        return {}
    return {g: (info.name, info.vpc_id or "") for g, info in found.items()}


def write_output(
    args: argparse.Namespace,
    data: Mapping[str, Any],
    kind: Literal["result", "restore"],
    groups: Mapping[str, tuple[str, str]] | None = None,
) -> None:
    """A result or a restore report on stdout: JSON, or with --output table (csv) a table."""
    if args.output in ("table", "csv"):
        from egress_guard import table

        csv = args.output == "csv"
        if kind == "result":
            text = (table.result_csv if csv else table.render_result)(data, groups)
        else:
            text = (table.restore_csv if csv else table.render_restore)(data)
    else:
        text = json.dumps(data, indent=2, default=str) + "\n"
    sys.stdout.write(text)
    sys.stdout.flush()


# --- check-denylist ------------------------------------------------------------------------------


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
        from egress_guard.table import denylist_csv, render_denylist

        render = denylist_csv if args.output == "csv" else render_denylist
        sys.stdout.write(render(denylist.document))
    else:
        sys.stdout.write(denylist.to_json() + "\n")
    return EXIT_OK


# --- restore -------------------------------------------------------------------------------------


def run_restore(args: argparse.Namespace) -> int:
    from egress_guard.restore import Report, check_place, restore, result_of, rules_to_restore

    result = result_of(_restore_input(read_result(args.result), args.place))
    forced: list[str] = []
    rules = rules_to_restore(result, force=args.force, notes=forced)
    extra_tags = parse_tags(args.tags)
    if not rules:
        report = Report(
            account=_str_or_none(result.get("Account")),
            region=str(args.region or result.get("Region") or ""),
            dry_run=args.dry_run,
            notes=["nothing to restore: the result revoked no rules"],
        )
        write_output(args, report.to_dict(), "restore")
        return EXIT_OK
    clients = new_clients()
    region = args.region or clients.default_region()
    account = clients.own_account()
    check_place(result, account, region, force=args.force)
    report = Report(account=account, region=region, dry_run=args.dry_run, notes=forced)
    if not result.get("Account"):
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
    from egress_guard.places import is_merged, parse_place, place_of

    merged = isinstance(document, Mapping) and is_merged(document)
    if place is None:
        if merged:
            places = [f"{p.get('Account')}/{p.get('Region')}" for p in document["Places"]][:10]
            raise BadInput(
                "a merged result of several places: pass --place ACCOUNT/REGION (one of "
                f"{', '.join(places)}) and run restore with that account's credentials"
            )
        return document
    if not merged:
        raise BadInput("--place is for a merged result of a scan across places")
    try:
        return place_of(document, parse_place(place))
    except ValueError as exc:
        raise BadInput(f"--place: {exc}") from None


# --- replay --------------------------------------------------------------------------------------


def run_replay(args: argparse.Namespace) -> int:
    from egress_guard import handler, replay
    from egress_guard.aws import FailureQueue
    from egress_guard.service import RemediationFailed, handle

    try:
        url = replay.check_queue_url(args.queue)
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    _set_log_level(args.log_level)
    clients = new_clients()
    clients.own_account()  # credentials and endpoint work, before anything is received
    queue = FailureQueue(
        clients.client("sqs", replay.queue_region(url) or args.working_region), url
    )
    metrics = handler.metrics

    def run(event: Mapping[str, Any]) -> Mapping[str, Any]:
        metrics.clear_metrics()  # as `_run`: each message from an empty metric set
        try:
            return handle(event, clients, metrics, force_dry_run=args.dry_run)
        finally:
            if metrics.metric_set:
                metrics.flush_metrics()  # printed only when POWERTOOLS_METRICS_DISABLED is false

    def failure_of(exc: BaseException) -> Mapping[str, Any] | None:
        return exc.result.to_dict() if isinstance(exc, RemediationFailed) else None

    try:
        report = replay.replay(
            queue,
            run,
            region=args.working_region,
            dry_run=args.dry_run,
            max_messages=args.max_messages,
            failure_of=failure_of,
        )
    except replay.QueueUnavailable as exc:
        raise BadInput(f"cannot read the queue {exc}") from None
    output = report.to_dict()
    if args.output == "table":
        text = replay.render_report(output)
    elif args.output == "csv":
        text = replay.report_csv(output)
    else:
        text = json.dumps(output, indent=2, default=str) + "\n"
    sys.stdout.write(text)
    sys.stdout.flush()
    if not report.ok:
        would = "would stay" if args.dry_run else "stayed in the queue"
        return fail(f"replay: {len(report.failed)} message(s) {would}", EXIT_FAILED)
    return EXIT_OK


def parse_tags(values: Sequence[str]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for value in values:
        key, sep, text = value.partition("=")
        if not sep or not key.strip():
            raise BadInput(f"--tag {value!r}: expected KEY=VALUE")
        tags[key.strip()] = text
    return tags


def _str_or_none(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


# --- plan ----------------------------------------------------------------------------------------

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


def _add_plan(command: Callable[..., argparse.ArgumentParser]) -> None:
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
    _add_progress(plan)
    _add_place_options(plan)
    plan.set_defaults(run=run_plan)


def run_plan(args: argparse.Namespace) -> int:
    """Exit 0 when NEW and CURRENT revoke the same rules, 1 when they differ."""
    from datetime import UTC, datetime

    from botocore.exceptions import BotoCoreError, ClientError
    from botocore.parsers import ResponseParserError

    from egress_guard.aws import error_text, setup_problem
    from egress_guard.plan_run import (
        Place,
        PlanFailed,
        Planner,
        configured_limits,
        plan_document,
    )
    from egress_guard.settings import Settings
    from egress_guard.targets import check_group_id

    group_ids = list(dict.fromkeys(check_group_id(g, "--group-id") for g in args.group_ids))
    _set_log_level(args.log_level)
    settings = Settings.from_env()
    limits = configured_limits()
    new, new_source = _plan_denylist(args.new_denylist)
    region = args.working_region
    clients = new_clients()
    progress = Progress.for_stream(sys.stderr, args.progress)
    try:
        account = clients.own_account()
        if args.current_denylist:
            current, current_source = _plan_denylist(args.current_denylist)
        else:
            current, current_source = _configured_denylist(settings, clients)
        planner = Planner(new, current, settings.exempt_tag, limits, datetime.now(UTC))
        if _org_scan_wanted(args):
            planned_places = _plan_places(args, clients, planner, settings, progress)
            groups: dict[str, tuple[str, str]] = {}
        else:
            place = Place(None, region, clients.ec2(None, region, None))
            planned_places = [planner.place(place, account, group_ids, progress)]
            groups = _plan_groups(place, planned_places[0]) if args.output != "json" else {}
    except PlanFailed as exc:
        return fail(str(exc))
    except (ClientError, BotoCoreError, ResponseParserError) as exc:
        # Whatever AWS said, a plan that could not be made is never "no difference" (0)
        # nor "a difference" (1).
        return fail(setup_problem(exc) or f"plan not made: AWS error: {error_text(exc)}")
    finally:
        progress.close()
    document = plan_document(planned_places, new_source=new_source, current_source=current_source)
    if args.output in ("table", "csv"):
        from egress_guard import table

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
    progress: Callable[[str], None],
) -> list[Any]:
    """Each place of the org options planned, one after another (reads only). A place that
    cannot be reached makes the plan incomplete: PlanFailed naming it (exit 2), since a
    plan that leaves rules out could pass a CI gate it should not."""
    from egress_guard.places import DEFAULT_CONCURRENCY, find_accounts, find_places
    from egress_guard.plan_run import Place, PlanFailed

    _check_org_options(args)
    role_name = args.role_name or settings.member_role_name or DEFAULT_MEMBER_ROLE
    accounts = find_accounts(
        clients,
        accounts=args.accounts or (),
        organization=args.organization,
        unit=args.ou,
        exclude=args.exclude_accounts,
    )
    if not accounts:
        raise BadInput("no account to plan for (all excluded, or none ACTIVE)")
    regions = None if args.all_regions else (args.regions or [args.working_region])
    places, unreachable = find_places(
        clients,
        accounts,
        regions,
        role_name=role_name,
        working_region=args.working_region,
        concurrency=args.concurrency or DEFAULT_CONCURRENCY,
    )
    if unreachable:
        lost = "; ".join(f"{o.place}: {o.error}" for o in unreachable[:5])
        raise PlanFailed(f"plan not made: {len(unreachable)} place(s) not reachable: {lost}")
    own = clients.own_account()
    planned = []
    for found in places:
        region = found.region or args.working_region
        place = Place(found.account, region, clients.ec2(found.account, region, role_name))
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
    from botocore.exceptions import BotoCoreError, ClientError

    ids = sorted({c.rule.group_id for c in planned.plan.changes})
    if not ids:
        return {}
    try:
        found = place.ec2.group_info(ids)
    except (ClientError, BotoCoreError):
        return {}
    return {g: (info.name, info.vpc_id or "") for g, info in found.items()}


# --- files ---------------------------------------------------------------------------------------


def read_bytes(path: str, what: str) -> bytes:
    """The file's bytes ("-": stdin); BadInput naming the file when it cannot be read."""
    try:
        if path == "-":
            return sys.stdin.buffer.read()
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise BadInput(f"cannot read {what} file {path}: {exc.strerror or exc}") from None


def read_result(path: str) -> Any:
    """A result file: JSON, or an SNS notice saved as it came (the JSON after its marker)."""
    from egress_guard.notice import result_in_notice

    raw = read_bytes(path, "result")
    try:
        found = result_in_notice(raw.decode("utf-8", errors="replace"))
    except ValueError as exc:
        raise BadInput(f"result file {path}: {exc}") from None
    return found if found is not None else json_of(raw, path, "result")


def read_json(path: str, what: str) -> Any:
    return json_of(read_bytes(path, what), path, what)


def json_of(raw: bytes, path: str, what: str) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise BadInput(f"{what} file {path} is not UTF-8 text: {exc.reason}") from None
    except json.JSONDecodeError as exc:
        raise BadInput(f"{what} file {path} is not JSON: {exc}") from None
    except RecursionError:
        raise BadInput(f"{what} file {path} is nested too deeply") from None


# --- progress ------------------------------------------------------------------------------------


class Progress:
    """Progress messages on stderr, never so many that they drown the rest.

    On a terminal, one line rewritten in place. Elsewhere (`--progress` into a file or
    pipe), whole lines: the first and last message of each phase ("read", "revoking", ...)
    and at most one a second in between. Never raises: progress must not stop a remediation.
    """

    def __init__(
        self,
        stream: TextIO | None,
        *,
        tty: bool = False,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.tty = tty
        self.interval = interval if not tty else min(interval, 0.1)
        self.clock = clock
        self._last_shown = float("-inf")
        self._phase: str | None = None
        self._pending: str | None = None
        self._line_open = False

    @classmethod
    def for_stream(cls, stream: TextIO, wanted: bool | None) -> Progress:
        try:
            tty = stream.isatty()
        except (AttributeError, ValueError):
            tty = False
        show = tty if wanted is None else wanted
        return cls(stream if show else None, tty=tty)

    def __call__(self, message: str) -> None:
        if self.stream is None:
            return
        phase = message.split(" ", 1)[0]
        now = self.clock()
        if phase != self._phase:
            if self._pending is not None:
                self._show(self._pending)
            if self._line_open:  # keep the last message of the phase before on screen
                self._write("\n")
                self._line_open = False
            self._phase = phase
        elif now - self._last_shown < self.interval:
            self._pending = message
            return
        self._show(message)
        self._last_shown = now

    def close(self) -> None:
        if self.stream is None:
            return
        if self._pending is not None:
            self._show(self._pending)
        if self._line_open:
            self._write("\n")
            self._line_open = False

    def _show(self, message: str) -> None:
        self._pending = None
        if self.tty:
            self._write(f"\r{message}\x1b[K")
            self._line_open = True
        else:
            self._write(f"{message}\n")

    def _write(self, text: str) -> None:
        try:
            assert self.stream is not None
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            self.stream = None


def _set_log_level(level: str) -> None:
    """The level of the package's loggers, also those made before the CLI ran (in tests)."""
    for name, found in list(logging.root.manager.loggerDict.items()):
        # Existing loggers only: making one where a placeholder is would come between the
        # package's child loggers and the handler's logger, their parent.
        if isinstance(found, logging.Logger) and (
            name == SERVICE or name.startswith(SERVICE + ".")
        ):
            found.setLevel(level)
