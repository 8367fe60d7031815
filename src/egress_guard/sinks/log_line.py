"""The result as a log line (Powertools Logger): one line, or a summary and numbered parts.

Failure policy: none can happen; logging does not fail an invocation. CloudWatch Logs takes
events up to 262,144 bytes, so a result over LOG_LINE_BUDGET is logged as a summary line
"result" (counts, Return, EventId, the first errors) and one line "result part k of n"
per part (sinks/split.py): nothing is cut.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger

from egress_guard.result import Result
from egress_guard.sinks.base import Delivery
from egress_guard.sinks.split import log_text, shorten, split_result
from egress_guard.telemetry import SERVICE

logger = Logger(service=SERVICE, child=True)

# CloudWatch Logs takes events up to 262,144 bytes, 26 of them its own; Lambda splits
# or cuts a longer line. Powertools adds its keys (level, timestamp, function, ...) to
# what is measured here.
LOG_LINE_BUDGET = 200 * 1024
SUMMARY_ERRORS = 10
SUMMARY_ERROR_CHARS = 1000


class LogLineSink:
    """The sink: the whole result, logged once at the end of a run that acted."""

    def deliver(self, result: Result, run: Delivery) -> None:
        if run.acted:
            log_result(result.to_dict())


def log_result(output: Mapping[str, Any]) -> None:
    """The result as one log line when it fits; otherwise a summary line "result" (counts,
    Return, EventId, the first errors) and one line "result part k of n" per part."""
    parts = split_result(output, LOG_LINE_BUDGET, log_text)
    if len(parts) == 1:
        logger.info("result", result=output)
        return
    logger.info("result", result=result_summary(output, len(parts)))
    for part in parts:
        number, total = part["Part"], part["Parts"]
        logger.info(f"result part {number} of {total}", part=number, parts=total, result=part)


def result_summary(output: Mapping[str, Any], parts: int) -> dict[str, Any]:
    """What a split result's first line says: its context, how many of each list (and of
    each action) its parts hold, and the first errors (all of them are in the parts)."""
    out = {key: value for key, value in output.items() if not isinstance(value, list)}
    out["Counts"] = {key: len(value) for key, value in output.items() if isinstance(value, list)}
    findings = output.get("Findings") or []
    out["Actions"] = dict(Counter(str(f.get("Action")) for f in findings if isinstance(f, Mapping)))
    errors = output.get("Errors") or []
    if errors:
        out["Errors"] = [shorten(str(e), SUMMARY_ERROR_CHARS) for e in errors[:SUMMARY_ERRORS]]
    out["Parts"] = parts
    return out
