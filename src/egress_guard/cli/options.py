"""The options several commands share, and the argument types of the options.

Each adder puts one option (or a few that go together) on a parser; `default` is
argparse.SUPPRESS for a command's copy of an option that may also come before the command.
"""

from __future__ import annotations

import argparse
from typing import Any

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
OUTPUTS = ("json", "table", "csv")


def add_output(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument(
        "-o",
        "--output",
        choices=OUTPUTS,
        default=default,
        help="json (default): as the Lambda function returns it; table: one row per rule and "
        "a summary line; csv: the table's rows, with a header row",
    )


def add_aws_options(parser: argparse.ArgumentParser, default: Any) -> None:
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


def add_log_level(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        default=default,
        metavar="LEVEL",
        help="log level of the JSON logs on stderr: DEBUG, INFO, WARNING, ERROR (default: "
        "POWERTOOLS_LOG_LEVEL, else INFO for invoke and WARNING for the other commands)",
    )


def add_configuration(parser: argparse.ArgumentParser) -> None:
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


def add_dry_run(parser: argparse.ArgumentParser, text: str) -> None:
    parser.add_argument("--dry-run", action="store_true", help=text)


def add_max_revocations(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-revocations",
        type=whole_number,
        metavar="N",
        help="revoke at most N rules in this run, else none (all held); 0: no limit. Replaces "
        "MAX_REVOCATIONS and lifts MAX_REVOCATIONS_PERCENT: an operator's knowing override",
    )


def whole_number(text: str) -> int:
    """A whole number, 0 or more (argparse names the option when this raises)."""
    value = text.strip()
    if not (value.isascii() and value.isdigit()):
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number 0 or more")
    return int(value)


def add_progress(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show progress on stderr (default: only when stderr is a terminal)",
    )


def id_list(text: str) -> list[str]:
    """`a,b, c` -> [a, b, c]: comma-separated, blanks dropped."""
    return [item.strip() for item in text.split(",") if item.strip()]


def message_count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return int(text)
