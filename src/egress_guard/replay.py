"""`egress-guard replay --queue URL`: run the failure queue's messages through the handler again.

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
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aws_lambda_powertools import Logger

from egress_guard.aws import AwsCallFailed, QueueCalls, QueueMessage, error_text, setup_problem
from egress_guard.events import parse_event
from egress_guard.queue_url import check_queue_url, queue_region
from egress_guard.replay_report import Replayed, Report, render_report, report_csv
from egress_guard.result_document import read
from egress_guard.targets import EventError
from egress_guard.telemetry import SERVICE

__all__ = [  # the queue URL and report text are re-exported for cli/replay.py
    "QueueUnavailable",
    "Replayed",
    "Report",
    "check_queue_url",
    "queue_region",
    "render_report",
    "replay",
    "report_csv",
]

logger = Logger(service=SERVICE, child=True)

DEFAULT_MAX_MESSAGES = 100
# Long poll: SQS then asks every server holding part of the queue (a short poll may miss
# messages) and answers at once when any is there; an empty queue costs this many seconds.
WAIT_SECONDS = 2
# Each message stays hidden from other readers while it is replayed: a Lambda run's limit
# (900 s) and a margin. Renewed just before its run, so a batch's tenth waits for nothing.
HIDE_SECONDS = 960


class QueueUnavailable(Exception):
    """The queue cannot be read at all (no such queue, no permission): a set-up problem."""


# The run of one event: `service.handle` with the command line's clients, or a test's.
Run = Callable[[Mapping[str, Any]], Mapping[str, Any]]


def replay(
    queue: QueueCalls,
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
            except AwsCallFailed as exc:
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
    queue: QueueCalls,
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
    except AwsCallFailed as exc:
        done.outcome = "skipped"
        done.error = f"no longer held (another reader may have it): {error_text(exc)}"
        return _logged(done)
    try:
        output = run(event)
    except EventError as exc:  # e.g. an account this deployment may not act in
        done.outcome, done.error = "refused", str(exc)
        return _logged(done)
    except AwsCallFailed as exc:
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
    if not read(output).ok:
        done.error = "the run did not succeed (Return is not true)"
        return _logged(done)
    if dry_run:
        done.outcome = "would-replay"
        return _logged(done)
    try:
        queue.delete(message)
    except AwsCallFailed as exc:
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
    document = read(result)
    actions: dict[str, int] = {}
    for finding in document.findings:
        action = str(finding.action)
        actions[action] = actions.get(action, 0) + 1
    summary: dict[str, Any] = {
        "Return": document.ok,
        "DryRun": document.dry_run,
        "Findings": actions,
    }
    if document.errors:
        summary["Errors"] = list(document.errors[:5])
    return summary


# What the log line of each message says, in this order.
LOGGED = ("message_id", "outcome", "deleted", "source", "event_id", "error")


def _logged(done: Replayed) -> Replayed:
    logger.info("replay", **{name: getattr(done, name) for name in LOGGED})
    return done


def _give_back(queue: QueueCalls, held: Sequence[QueueMessage], report: Report) -> None:
    """What stayed is visible again at once, for the next replay (or Lambda's retry)."""
    if not held:
        return
    try:
        failed = queue.give_back(held)
    except AwsCallFailed as exc:
        report.notes.append(
            f"{len(held)} message(s) that stayed are hidden until their visibility timeout "
            f"({HIDE_SECONDS} s) ends: {error_text(exc)}"
        )
        return
    if failed:
        report.notes.append(
            f"hidden until their visibility timeout ({HIDE_SECONDS} s) ends: {', '.join(failed)}"
        )
