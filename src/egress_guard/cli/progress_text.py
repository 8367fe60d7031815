"""Progress steps (egress_guard.progress) in words, for stderr: one table of writers by type.

Each step gets a phase and a line. The phase is what `cli.output.Progress` throttles by:
the first and last line of a phase are always shown ("read page 1 ...", "revoking 40/40
groups"), and a place that finished has a phase of its own, so that its line stays.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from egress_guard.progress import (
    AtPlace,
    GroupsActed,
    GroupsRead,
    PageRead,
    PlaceDone,
    PlanPageRead,
    Step,
)


def describe(step: Step) -> tuple[str, str]:
    """(phase, line) of one step."""
    return WRITERS[type(step)](step)


def _groups_read(step: GroupsRead) -> tuple[str, str]:
    return "read", f"read {step.done}/{step.total} groups; {step.offending} offending"


def _page_read(step: PageRead) -> tuple[str, str]:
    line = f"read page {step.page}: {step.rules} rules, {step.groups} groups; {step.offending}"
    return "read", f"{line} offending"


def _plan_page_read(step: PlanPageRead) -> tuple[str, str]:
    return "read", f"read {step.page}: {step.judged} rules judged; {step.offending} offending"


def _groups_acted(step: GroupsActed) -> tuple[str, str]:
    verb = "checking" if step.dry_run else "revoking"
    return verb, f"{verb} {step.done}/{step.total} groups"


def _at_place(step: AtPlace) -> tuple[str, str]:
    return "scanning", f"scanning {step.place}: {describe(step.step)[1]}"


def _place_done(step: PlaceDone) -> tuple[str, str]:
    from egress_guard.tables.result import result_summary

    if step.result is not None:
        text = result_summary(step.result)
    else:
        text = f"{step.place}: not scanned: {step.error}"
    counter = f"[{step.done}/{step.total}]"
    return counter, f"{counter} {text}"  # a phase per place: each place's line stays


WRITERS: dict[type[Any], Callable[[Any], tuple[str, str]]] = {
    GroupsRead: _groups_read,
    PageRead: _page_read,
    PlanPageRead: _plan_page_read,
    GroupsActed: _groups_acted,
    AtPlace: _at_place,
    PlaceDone: _place_done,
}
