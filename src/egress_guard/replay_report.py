"""The replay's report: what became of each message, as a document, a table and CSV.

The document is the one `egress-guard replay --output json` prints (docs/command-line.md,
"Replay"); the table and the CSV are read from it, not from the objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Outcome = Literal["replayed", "would-replay", "failed", "refused", "unreadable", "skipped"]
# Outcomes whose run succeeded (the message is deleted, except in a dry run).
SUCCEEDED = frozenset({"replayed", "would-replay"})


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
        optional: dict[str, Any] = {"Source": self.source, "EventId": self.event_id}
        optional.update(Error=self.error, Result=self.summary)
        return {
            "MessageId": self.message_id, "Outcome": self.outcome, "Deleted": self.deleted,
            "ReceiveCount": self.receive_count,
            **{key: value for key, value in optional.items() if value is not None},
        }  # fmt: skip


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


REPLAY_HEADERS = ("MESSAGE", "OUTCOME", "DELETED", "SOURCE", "DETAIL")
REPLAY_CSV_HEADERS = ("message_id", "outcome", "deleted", "source", "event_id", "error")


def render_report(report: Mapping[str, Any]) -> str:
    from egress_guard.tables.layout import format_table

    rows = [
        (cells["id"], cells["outcome"], "yes" if cells["deleted"] else "no", cells["source"] or "-",
         cells["error"] or _findings_text(m.get("Result")) or "-")
        for m, cells in _messages(report)
    ]  # fmt: skip
    lines = [format_table(REPLAY_HEADERS, rows)] if rows else []
    lines.append(summary_line(report))
    lines += [f"note: {note}" for note in report.get("Notes") or ()]
    return "\n".join(lines) + "\n"


def report_csv(report: Mapping[str, Any]) -> str:
    from egress_guard.tables.layout import to_csv

    rows = [
        (cells["id"], cells["outcome"], "true" if cells["deleted"] else "false", cells["source"],
         cells["event_id"], cells["error"])
        for _, cells in _messages(report)
    ]  # fmt: skip
    return to_csv(REPLAY_CSV_HEADERS, rows)


def _messages(report: Mapping[str, Any]) -> list[tuple[Mapping[str, Any], dict[str, Any]]]:
    """Each message of the document with its cells as text ("" for absent)."""
    return [
        (m, {"id": str(m.get("MessageId")), "outcome": str(m.get("Outcome")),
             "deleted": bool(m.get("Deleted")), "source": str(m.get("Source") or ""),
             "event_id": str(m.get("EventId") or ""), "error": str(m.get("Error") or "")})
        for m in report.get("Messages") or ()
    ]  # fmt: skip


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
