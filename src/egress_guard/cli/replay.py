"""The `replay` command: the failure queue's messages handled again, as the function would."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from typing import Any

from egress_guard.cli import environment
from egress_guard.cli.environment import EXIT_FAILED, EXIT_OK, BadInput, fail, set_log_level
from egress_guard.cli.options import add_dry_run, message_count

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


def add_replay(command: Callable[..., argparse.ArgumentParser]) -> None:
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
        type=message_count,
        default=100,
        metavar="N",
        help="replay at most N messages (default 100)",
    )
    add_dry_run(replay, "run each event as a dry run; delete nothing")
    replay.set_defaults(run=run_replay)


def run_replay(args: argparse.Namespace) -> int:
    from egress_guard import replay
    from egress_guard.aws import FailureQueue
    from egress_guard.service import RemediationFailed, handle
    from egress_guard.telemetry import package_metrics, publish_metrics

    try:
        url = replay.check_queue_url(args.queue)
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    settings = environment.settings_of(args)
    set_log_level(args.log_level)
    clients = environment.new_clients()
    clients.own_account()  # credentials and endpoint work, before anything is received
    queue = FailureQueue(
        clients.client("sqs", replay.queue_region(url) or args.working_region), url
    )
    metrics = package_metrics()

    def run(event: Mapping[str, Any]) -> Mapping[str, Any]:
        metrics.clear_metrics()  # as `run_and_print`: each message from an empty metric set
        try:
            return handle(event, clients, metrics, settings=settings, force_dry_run=args.dry_run)
        finally:
            publish_metrics(metrics)  # printed only when POWERTOOLS_METRICS_DISABLED is false

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
