"""How a long run is getting on: typed progress steps and the callback that receives them.

The core tells a `Progress` callback what it has done (groups read, a sweep page judged,
groups acted on, a place finished); only the command line turns a step into words
(cli/progress_text.py). A step never carries rule contents: counts and ids only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class GroupsRead:
    """Named groups read and judged so far (manual, CloudTrail, Config, Security Hub)."""

    done: int
    total: int
    offending: int


@dataclass(frozen=True)
class PageRead:
    """One page of a region-wide sweep read and judged."""

    page: int
    rules: int
    groups: int
    offending: int


@dataclass(frozen=True)
class PlanPageRead:
    """One page of a plan's read, judged by the new and the current denylist."""

    page: int
    judged: int
    offending: int


@dataclass(frozen=True)
class GroupsActed:
    """Groups whose revocations (or, on a dry run, permission checks) are settled."""

    done: int
    total: int
    dry_run: bool


@dataclass(frozen=True)
class AtPlace:
    """A step of the run at one place (account/region) of a run over many."""

    place: str
    step: Step


@dataclass(frozen=True)
class PlaceDone:
    """One place of many finished: its result document, or why it was not scanned."""

    done: int
    total: int
    place: str
    result: Mapping[str, Any] | None
    error: str | None


Step = GroupsRead | PageRead | PlanPageRead | GroupsActed | AtPlace | PlaceDone
Progress = Callable[[Step], None]


def ignore(_step: Step) -> None:
    """The callback of a run nobody watches."""
