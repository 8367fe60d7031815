"""`egress-guard replay --queue URL`: the failure queue's messages, run through the handler again.

The template's failure queue holds Lambda's on-failure records (each with the original
event as `requestPayload`) and EventBridge's undeliverable events. Replay receives them (a
long poll, ten at a time), and runs each through the same path as `egress-guard invoke`
(`service.handle`, which unwraps a record: events/failure_record.py). A message is deleted
only when its run succeeded (`Return` true); every other message stays, and is visible
again when the replay ends, so that a later replay finds it. The report names each message
with what happened to it.

A dry run (`--dry-run`) runs every event as a dry run and deletes nothing.

Pure apart from the two callables it is given (the queue, from aws/, and the run), so
the decisions here are tested without AWS.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from aws_lambda_powertools import Logger

from egress_guard.aws import AwsErrors, FailureQueue, QueueMessage, error_text, setup_problem
from egress_guard.events import parse_event
from egress_guard.log import SERVICE
from egress_guard.targets import EventError

logger = Logger(service=SERVICE, child=True)

DEFAULT_MAX_MESSAGES = 100
# Long poll: SQS then asks every server holding part of the queue (a short poll may miss
# messages) and answers at once when any is there; an empty queue costs this many seconds.
WAIT_SECONDS = 2
# Each message stays hidden from other readers while it is replayed: a Lambda run's limit
# (900 s) and a margin. Renewed just before its run, so a batch's tenth waits for nothing.
HIDE_SECONDS = 960

Outcome = Literal["replayed", "would-replay", "failed", "refused", "unreadable", "skipped"]
# Outcomes whose run succeeded (the message is deleted, except in a dry run).
SUCCEEDED = frozenset({"replayed", "would-replay"})


class QueueUnavailable(Exception):
    """The queue cannot be read at all (no such queue, no permission): a set-up problem."""


@dataclass
class Replayed:
    """What happened to one message."""

    message_id: str
    outcome: Outcome
    deleted: bool = False
    source: str | None = None
    event_id: str | None = None
    error: str | None = None
    summary: dict[str, Any] | None = None
    receive_count: int = 0

    def to_dict(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "MessageId": self.message_id,
            "Outcome": self.outcome,
            "Deleted": self.deleted,
            "ReceiveCount": self.receive_count,
        }
        for key, value in (
            ("Source", self.source),
            ("EventId", self.event_id),
            ("Error", self.error),
            ("Result", self.summary),
        ):
            if value is not None:
                item[key] = value
        return item


@dataclass
class Report:
    """The replay's report (docs/command-line.md, "Replay")."""

    queue: str
    dry_run: bool
    messages: list[Replayed] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def stayed(self) -> list[Replayed]:
        return [m for m in self.messages if not m.deleted]

    @property
    def failed(self) -> list[Replayed]:
        """The messages whose run failed, or that were not deleted though it succeeded (in a
        dry run, where nothing is deleted: whose run would fail)."""
        return [
            m
            for m in self.messages
            if m.outcome not in SUCCEEDED or not (m.deleted or self.dry_run)
        ]

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_dict(self) -> dict[str, Any]:
        return {
            "Queue": self.queue,
            "DryRun": self.dry_run,
            "Received": len(self.messages),
            "Deleted": sum(1 for m in self.messages if m.deleted),
            "Stayed": len(self.stayed),
            "Messages": [m.to_dict() for m in self.messages],
            "Notes": list(self.notes),
        }


# The run of one event: `service.handle` with the command line's clients, or a test's.
Run = Callable[[Mapping[str, Any]], Mapping[str, Any]]


def replay(
    queue: FailureQueue,
    run: Run,
    *,
    region: str,
    dry_run: bool,
    max_messages: int = DEFAULT_MAX_MESSAGES,
    failure_of: Callable[[BaseException], Mapping[str, Any] | None] = lambda _: None,
) -> Report:
    """Replays up to `max_messages` messages of `queue` in `region`.

    `run` raises on failure; `failure_of` gives the result a failed run still produced
    (service.RemediationFailed carries one), for the report. Raises QueueUnavailable when
    the queue cannot be read at all; a set-up problem met on the way (credentials, an
    endpoint) is raised as it is. Either way, what was received and not deleted is given
    back first.
    """
    report = Report(queue.url, dry_run)
    held: list[QueueMessage] = []  # received, not deleted: given back at the end
    try:
        while len(report.messages) < max_messages:
            try:
                batch = queue.receive(
                    max_messages - len(report.messages),
                    wait_seconds=WAIT_SECONDS,
                    hide_seconds=HIDE_SECONDS,
                )
            except AwsErrors as exc:
                if setup_problem(exc) is not None:
                    raise
                if not report.messages:
                    raise QueueUnavailable(f"{queue.url}: {error_text(exc)}") from exc
                report.notes.append(f"stopped: the queue could not be read: {error_text(exc)}")
                break
            if not batch:
                break
            for message in batch:
                held.append(message)
                done = _replay_one(
                    queue,
                    message,
                    run=run,
                    region=region,
                    dry_run=dry_run,
                    failure_of=failure_of,
                )
                report.messages.append(done)
                if done.deleted:
                    held.remove(message)
        else:
            report.notes.append(
                f"stopped after {max_messages} message(s) (--max-messages): the queue may "
                "hold more; run replay again"
            )
    finally:
        _give_back(queue, held, report)
    return report


def _replay_one(
    queue: FailureQueue,
    message: QueueMessage,
    *,
    run: Run,
    region: str,
    dry_run: bool,
    failure_of: Callable[[BaseException], Mapping[str, Any] | None],
) -> Replayed:
    done = Replayed(message.message_id, "failed", receive_count=message.receive_count)
    event = _event_of(message, done)
    if event is None:
        return _logged(done)
    try:
        targets = parse_event(event)  # unwraps an on-failure record
    except EventError as exc:
        done.outcome, done.error = "refused", str(exc)
        return _logged(done)
    done.source, done.event_id = targets.source, targets.event_id
    if targets.region is not None and targets.region != region:
        # As `invoke`: acting elsewhere than the operator said would surprise someone.
        done.outcome = "refused"
        done.error = (
            f"the event is from region {targets.region} but this replay works in {region}: "
            f"replay with --region {targets.region}"
        )
        return _logged(done)
    try:
        queue.hide(message, HIDE_SECONDS)  # a full window for this run, from now
    except AwsErrors as exc:
        done.outcome = "skipped"
        done.error = f"no longer held (another reader may have it): {error_text(exc)}"
        return _logged(done)
    try:
        output = run(event)
    except EventError as exc:  # e.g. an account this deployment may not act in
        done.outcome, done.error = "refused", str(exc)
        return _logged(done)
    except AwsErrors as exc:
        if setup_problem(exc) is not None:
            raise
        done.error = error_text(exc)
        return _logged(done)
    except Exception as exc:  # a failed run (RemediationFailed) must not stop the rest
        failed = failure_of(exc)
        if failed is None:
            raise
        done.error, done.summary = str(exc), _summary(failed)
        return _logged(done)
    done.summary = _summary(output)
    if output.get("Return") is not True:
        done.error = "the run did not succeed (Return is not true)"
        return _logged(done)
    if dry_run:
        done.outcome = "would-replay"
        return _logged(done)
    try:
        queue.delete(message)
    except AwsErrors as exc:
        done.outcome = "replayed"
        done.error = f"replayed, but the message was not deleted: {error_text(exc)}"
        return _logged(done)
    done.outcome, done.deleted = "replayed", True
    return _logged(done)


def _event_of(message: QueueMessage, done: Replayed) -> dict[str, Any] | None:
    try:
        event = json.loads(message.body)
    except (ValueError, RecursionError) as exc:
        done.outcome, done.error = "unreadable", f"the body is not JSON: {exc}"
        return None
    if not isinstance(event, dict):
        done.outcome = "unreadable"
        done.error = f"the body is JSON but not an object: {type(event).__name__}"
        return None
    return event


def _summary(result: Mapping[str, Any]) -> dict[str, Any]:
    """What a run did, in a few numbers: the full result is in the log."""
    actions: dict[str, int] = {}
    for finding in result.get("Findings") or ():
        if isinstance(finding, Mapping):
            action = str(finding.get("Action"))
            actions[action] = actions.get(action, 0) + 1
    summary: dict[str, Any] = {
        "Return": result.get("Return"),
        "DryRun": result.get("DryRun"),
        "Findings": actions,
    }
    errors = [str(e) for e in result.get("Errors") or ()]
    if errors:
        summary["Errors"] = errors[:5]
    return summary


def _logged(done: Replayed) -> Replayed:
    logger.info(
        "replay",
        message_id=done.message_id,
        outcome=done.outcome,
        deleted=done.deleted,
        source=done.source,
        event_id=done.event_id,
        error=done.error,
    )
    return done


def _give_back(queue: FailureQueue, held: Sequence[QueueMessage], report: Report) -> None:
    """What stayed is visible again at once, for the next replay (or Lambda's retry)."""
    if not held:
        return
    try:
        failed = queue.give_back(held)
    except AwsErrors as exc:
        report.notes.append(
            f"{len(held)} message(s) that stayed are hidden until their visibility timeout "
            f"({HIDE_SECONDS} s) ends: {error_text(exc)}"
        )
        return
    if failed:
        report.notes.append(
            f"hidden until their visibility timeout ({HIDE_SECONDS} s) ends: {', '.join(failed)}"
        )


# --- the queue's region -------------------------------------------------------------------------

# https://sqs.<region>.amazonaws.com[.cn]/<account>/<name>, and the legacy
# https://<region>.queue.amazonaws.com/<account>/<name>.
_QUEUE_HOST = re.compile(
    r"^https?://(?:sqs\.(?P<a>[a-z0-9-]+)|(?P<b>[a-z0-9-]+)\.queue)\.amazonaws\.com(?:\.cn)?/",
    re.IGNORECASE,
)
_QUEUE_URL = re.compile(r"^https?://[^/\s]+/[0-9]{12}/[A-Za-z0-9_-]{1,80}(?:\.fifo)?/?$")


def check_queue_url(url: str) -> str:
    """The URL if it looks like an SQS queue URL (scheme://host/account/name); else ValueError."""
    if not _QUEUE_URL.match(url.strip()):
        raise ValueError(
            f"--queue {url!r}: expected a queue URL, e.g. "
            "https://sqs.eu-west-1.amazonaws.com/123456789012/egress-guard-FailureQueue-abc "
            "(the stack's FailureQueueUrl output)"
        )
    return url.strip()


def queue_region(url: str) -> str | None:
    """The region an AWS queue URL names; None for other endpoints (an emulator)."""
    found = _QUEUE_HOST.match(url)
    if found is None:
        return None
    return (found.group("a") or found.group("b")).lower()


# --- output --------------------------------------------------------------------------------------

REPLAY_HEADERS = ("MESSAGE", "OUTCOME", "DELETED", "SOURCE", "DETAIL")
REPLAY_CSV_HEADERS = ("message_id", "outcome", "deleted", "source", "event_id", "error")


def render_report(report: Mapping[str, Any]) -> str:
    from egress_guard.tables.layout import format_table

    rows = [
        (
            str(m.get("MessageId")),
            str(m.get("Outcome")),
            "yes" if m.get("Deleted") else "no",
            str(m.get("Source") or "-"),
            str(m.get("Error") or _findings_text(m.get("Result")) or "-"),
        )
        for m in report.get("Messages") or ()
    ]
    lines = [format_table(REPLAY_HEADERS, rows)] if rows else []
    lines.append(summary_line(report))
    lines += [f"note: {note}" for note in report.get("Notes") or ()]
    return "\n".join(lines) + "\n"


def report_csv(report: Mapping[str, Any]) -> str:
    from egress_guard.tables.layout import to_csv

    rows = [
        (
            str(m.get("MessageId")),
            str(m.get("Outcome")),
            "true" if m.get("Deleted") else "false",
            str(m.get("Source") or ""),
            str(m.get("EventId") or ""),
            str(m.get("Error") or ""),
        )
        for m in report.get("Messages") or ()
    ]
    return to_csv(REPLAY_CSV_HEADERS, rows)


def summary_line(report: Mapping[str, Any]) -> str:
    received = int(report.get("Received") or 0)
    deleted = int(report.get("Deleted") or 0)
    stayed = int(report.get("Stayed") or 0)
    dry = " (dry run: nothing deleted)" if report.get("DryRun") else ""
    return (
        f"{received} message(s) received, {deleted} replayed and deleted, {stayed} stayed "
        f"in {report.get('Queue')}{dry}"
    )


def _findings_text(summary: Any) -> str:
    if not isinstance(summary, Mapping):
        return ""
    found = summary.get("Findings") or {}
    return ", ".join(f"{n} {action}" for action, n in sorted(found.items())) or "nothing to do"
