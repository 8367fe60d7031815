"""The `invoke` command: an event file handled as the Lambda function would, result printed."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from egress_guard.cli import environment
from egress_guard.cli.environment import BadInput, set_log_level
from egress_guard.cli.files import read_json
from egress_guard.cli.options import add_dry_run, add_max_revocations, add_progress
from egress_guard.cli.output import run_and_print

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


def add_invoke(command: Callable[..., argparse.ArgumentParser]) -> None:
    """The invoke command's parser."""
    invoke = command(
        "invoke", "run the handler on an event file, print the result", INVOKE_EPILOG, judges=True
    )
    invoke.add_argument("event", metavar="EVENT.json", help='the event ("-": stdin)')
    add_dry_run(invoke, "report what would be revoked; write nothing anywhere")
    add_max_revocations(invoke)
    add_progress(invoke)
    invoke.set_defaults(run=run_invoke)


def run_invoke(args: argparse.Namespace) -> int:
    event = read_json(args.event, "event")
    settings = environment.settings_of(args)
    from egress_guard.events import parse_event
    from egress_guard.service import handle
    from egress_guard.telemetry import package_metrics

    region = args.working_region
    named = parse_event(event).region
    if named is not None and named != region:
        # Acting elsewhere than the operator said, or than the event says, would both
        # surprise someone: refuse, and say how to act in the event's region.
        raise BadInput(
            f"the event is from region {named} but this command works in {region} "
            f"(--region, AWS_REGION or the profile): pass --region {named} to act on it"
        )
    set_log_level(args.log_level)
    clients = environment.new_clients()
    clients.own_account()  # credentials and endpoint work, before anything is judged
    metrics = package_metrics()
    return run_and_print(
        args,
        metrics,
        clients,
        lambda progress: handle(
            event,
            clients,
            metrics,
            settings=settings,
            force_dry_run=args.dry_run,
            progress=progress,
        ),
        settings=settings,
    )
