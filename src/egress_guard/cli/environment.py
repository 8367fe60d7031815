"""The command's environment: its settings, the AWS options, region and clients, the log
level, bad input and the exit status.

The options that stand for egress-guard settings (--denylist, --mode, --max-revocations)
override the environment's in one `Settings` value (`settings_of`); the AWS ones are set as
the AWS CLI's environment variables, which boto3 reads itself.

`new_clients` is the seam tests replace: commands call it as `environment.new_clients()`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import TYPE_CHECKING

from egress_guard.telemetry import SERVICE

if TYPE_CHECKING:
    from egress_guard.aws import Clients
    from egress_guard.settings import Settings

PROG = "egress-guard"
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
EXIT_INTERRUPTED = 130


class BadInput(Exception):
    """Input the command cannot use; the message is printed as one line, exit status 2."""


def fail(message: str, status: int = EXIT_BAD_INPUT) -> int:
    """One line on stderr naming the problem, no traceback."""
    print(f"{PROG}: {' '.join(message.split())}", file=sys.stderr)
    return status


def prepare_environment(args: argparse.Namespace) -> None:
    """Before Powertools and boto3 are imported: metrics off, log level, and the AWS
    options as the AWS CLI's environment variables."""
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


def settings_of(args: argparse.Namespace) -> Settings:
    """The environment's settings, read and validated once (SettingsError naming a bad
    variable: exit 2), with the command's options in their place."""
    from egress_guard.settings import Settings

    denylist = getattr(args, "denylist", None)
    return Settings.from_env().overriding(
        mode=getattr(args, "mode", None),
        denylist_file=os.path.abspath(denylist) if denylist else None,
        # The operator names the number they accept: that alone is the limit of this run.
        max_revocations=getattr(args, "max_revocations", None),
    )


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


def set_log_level(level: str) -> None:
    """The package's logger made (the parent of every module's; after prepare_environment,
    so that it starts at the level asked for), and the level of the package's loggers, also
    those made before the CLI ran (in tests)."""
    from egress_guard.telemetry import package_logger

    package_logger()
    for name, found in list(logging.root.manager.loggerDict.items()):
        # Existing loggers only: making one where a placeholder is would come between the
        # package's child loggers and the handler's logger, their parent.
        if isinstance(found, logging.Logger) and (
            name == SERVICE or name.startswith(SERVICE + ".")
        ):
            found.setLevel(level)
