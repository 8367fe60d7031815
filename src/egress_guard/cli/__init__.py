"""The command line's entry point and parser: `egress-guard COMMAND` (docs/command-line.md).

Commands: invoke, scan, check-denylist, restore, plan, replay.

The same code as the Lambda function, run by an operator or the local demo. Results go to
stdout (JSON, or a table with `--output table`); logs, warnings, progress and errors go to
stderr. Exit status: 0 success, 1 a remediation (or restore) failed, 2 bad input or a
set-up problem (credentials, profile, region, endpoint), named in one line.

Powertools is imported only after the environment is prepared: metrics are off unless
POWERTOOLS_METRICS_DISABLED says otherwise (their EMF lines would land on stdout), and the
log level is chosen before the loggers are made. One module per job: options.py (the shared
options), environment.py (environment, region, clients, exit status), files.py (reading
input files), output.py (writing results, progress), and one module per command.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from egress_guard import __version__
from egress_guard.cli import environment
from egress_guard.cli.check import add_check, run_check_denylist
from egress_guard.cli.environment import (
    ENVIRONMENT_CREDENTIALS,
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    PROG,
    BadInput,
    fail,
    new_clients,
    prepare_environment,
    resolve_region,
    set_log_level,
    settings_of,
)
from egress_guard.cli.files import json_of, read_bytes, read_json, read_result
from egress_guard.cli.invoke import add_invoke, run_invoke
from egress_guard.cli.options import (
    LOG_LEVELS,
    OUTPUTS,
    add_aws_options,
    add_configuration,
    add_log_level,
    add_output,
)
from egress_guard.cli.org_options import DEFAULT_MEMBER_ROLE, OU_ID
from egress_guard.cli.output import (
    FOUND_ACTIONS,
    Progress,
    run_and_print,
    write_output,
    write_places_output,
)
from egress_guard.cli.plan import add_plan, run_plan
from egress_guard.cli.replay import add_replay, run_replay
from egress_guard.cli.restore import add_restore, parse_tags, run_restore
from egress_guard.cli.scan import add_scan, run_org_scan, run_scan

__all__ = [
    "DEFAULT_MEMBER_ROLE",
    "ENVIRONMENT_CREDENTIALS",
    "EXIT_BAD_INPUT",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "FOUND_ACTIONS",
    "LEADING_OPTIONS",
    "LOG_LEVELS",
    "OUTPUTS",
    "OU_ID",
    "PROG",
    "BadInput",
    "Progress",
    "build_parser",
    "environment",
    "fail",
    "json_of",
    "main",
    "new_clients",
    "parse_tags",
    "prepare_environment",
    "read_bytes",
    "read_json",
    "read_result",
    "resolve_region",
    "run_and_print",
    "run_check_denylist",
    "run_invoke",
    "run_org_scan",
    "run_plan",
    "run_replay",
    "run_restore",
    "run_scan",
    "set_log_level",
    "settings_of",
    "write_output",
    "write_places_output",
]

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
    add_output(parser, None)
    add_aws_options(parser, None)
    add_log_level(parser, None)
    parser.set_defaults(output="json")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")

    # Shared options of the commands. SUPPRESS: an option not given after the command keeps
    # the value given before it.
    output = argparse.ArgumentParser(add_help=False)
    add_output(output, argparse.SUPPRESS)
    aws = argparse.ArgumentParser(add_help=False)
    add_aws_options(aws, argparse.SUPPRESS)
    add_log_level(aws, argparse.SUPPRESS)
    configuration = argparse.ArgumentParser(add_help=False)
    add_configuration(configuration)

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

    add_invoke(command)
    add_scan(command)
    add_check(command)
    add_restore(command)
    add_plan(command)
    add_replay(command)
    return parser


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
    from egress_guard.aws import AwsError, error_text, setup_problem
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
    except AwsError as exc:
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
