"""Writing results on stdout (JSON, a table or CSV) and progress on stderr.

Also `run_and_print`: one invocation (invoke, scan) as the Lambda function's, with
progress, its result printed, its metrics flushed and its exit status.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, TextIO

from egress_guard.cli.environment import EXIT_FAILED, EXIT_OK, fail
from egress_guard.cli.progress_text import describe
from egress_guard.progress import Progress as ProgressCallback
from egress_guard.progress import Step
from egress_guard.result_document import ResultDocument, read, write

if TYPE_CHECKING:
    from aws_lambda_powertools import Metrics

    from egress_guard.aws import Clients
    from egress_guard.settings import Settings


def run_and_print(
    args: argparse.Namespace,
    metrics: Metrics,
    clients: Clients,
    call: Callable[[ProgressCallback], dict[str, Any]],
    account: str | None = None,
    *,
    settings: Settings,
) -> int:
    """Runs one invocation with progress, prints its result, flushes metrics."""
    from egress_guard.places import is_merged
    from egress_guard.service import PlacesFailed, RemediationFailed
    from egress_guard.telemetry import publish_metrics

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
        publish_metrics(metrics)
        if failure is not None:
            return fail(f"remediation failed: {failure}", EXIT_FAILED)
        return EXIT_OK
    document = _completed(read(output), account, getattr(args, "expiring_within", None))
    groups = (
        _groups_of(clients, document, settings.member_role_name) if args.output != "json" else {}
    )
    write_output(args, write(document), "result", groups)
    publish_metrics(metrics)  # printed only when POWERTOOLS_METRICS_DISABLED is false
    if failure is not None:
        return fail(f"remediation failed: {failure}", EXIT_FAILED)
    if getattr(args, "fail_on_findings", False):
        found = sum(1 for f in document.findings if f.action in FOUND_ACTIONS)
        if found:
            return fail(f"{found} offending rule(s) found (--fail-on-findings)", EXIT_FAILED)
    return EXIT_OK


def _completed(
    document: ResultDocument, account: str | None, expiring_within: int | None
) -> ResultDocument:
    """The result as the command line prints it: naming the credentials' own account when
    the run named none, and with --expiring-within the exemptions that end soon
    (`ExpiringExemptions`, after the result's own keys)."""
    if account is not None and document.account is None:
        document = replace(document, account=account)
    if expiring_within is not None:
        from egress_guard.exemptions import expiring

        within = timedelta(days=expiring_within)
        soon = expiring(write(document), datetime.now(UTC), within)
        document = replace(document, extra={**document.extra, "ExpiringExemptions": soon})
    return document


def write_places_output(args: argparse.Namespace, data: Mapping[str, Any]) -> None:
    """A merged result on stdout: JSON, or a table (csv) of places and findings."""
    if args.output in ("table", "csv"):
        from egress_guard.tables.places import places_csv, render_places

        text = (places_csv if args.output == "csv" else render_places)(data)
    else:
        text = json.dumps(data, indent=2, default=str) + "\n"
    sys.stdout.write(text)
    sys.stdout.flush()


# What --fail-on-findings counts: offending rules, whatever was done about them (a rule
# gone before its revoke is no longer there; an exempt one is allowed by its tag).
FOUND_ACTIONS = frozenset({"revoked", "would-revoke", "failed"})


def _groups_of(
    clients: Clients, result: ResultDocument, role_name: str | None
) -> dict[str, tuple[str, str]]:
    """Name and VPC of the result's groups for a table, from the reads the run made where
    it made them; "-" in the table where they cannot be read."""
    from egress_guard.aws import AwsError

    ids = sorted({f.group_id for f in result.findings if f.group_id})
    if not ids:
        return {}
    try:
        ec2 = clients.ec2(result.account, result.region, role_name)
        found = ec2.group_info(ids)
    except AwsError:
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
        from egress_guard.tables.restore import render_restore, restore_csv
        from egress_guard.tables.result import render_result, result_csv

        csv = args.output == "csv"
        if kind == "result":
            text = (result_csv if csv else render_result)(data, groups)
        else:
            text = (restore_csv if csv else render_restore)(data)
    else:
        text = json.dumps(data, indent=2, default=str) + "\n"
    sys.stdout.write(text)
    sys.stdout.flush()


class Progress:
    """Progress messages on stderr, never so many that they drown the rest.

    Takes the typed steps of egress_guard.progress and writes them in words
    (cli/progress_text.py). On a terminal, one line rewritten in place. Elsewhere
    (`--progress` into a file or pipe), whole lines: the first and last message of each
    phase ("read", "revoking", ...) and at most one a second in between. Never raises:
    progress must not stop a remediation.
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

    def __call__(self, step: Step) -> None:
        if self.stream is None:
            return
        phase, message = describe(step)
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
