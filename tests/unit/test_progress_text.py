"""Progress steps in words: what the command line writes on stderr for each typed step."""

from __future__ import annotations

import pytest

from egress_guard.cli.progress_text import WRITERS, describe
from egress_guard.progress import (
    AtPlace,
    GroupsActed,
    GroupsRead,
    PageRead,
    PlaceDone,
    PlanPageRead,
    Step,
)

SCANNED = {"Account": "111111111111", "Region": "eu-west-1", "Findings": []}


@pytest.mark.parametrize(
    ("step", "phase", "line"),
    [
        (GroupsRead(2, 7, offending=1), "read", "read 2/7 groups; 1 offending"),
        (PageRead(3, 3000, 412, 37), "read", "read page 3: 3000 rules, 412 groups; 37 offending"),
        (PlanPageRead(2, 1800, 4), "read", "read 2: 1800 rules judged; 4 offending"),
        (GroupsActed(12, 40, dry_run=False), "revoking", "revoking 12/40 groups"),
        (GroupsActed(1, 2, dry_run=True), "checking", "checking 1/2 groups"),
        (
            AtPlace("111111111111/eu-west-1", GroupsActed(1, 2, dry_run=False)),
            "scanning",
            "scanning 111111111111/eu-west-1: revoking 1/2 groups",
        ),
        (
            PlaceDone(2, 5, "222222222222/us-east-1", None, "AccessDenied: no role"),
            "[2/5]",
            "[2/5] 222222222222/us-east-1: not scanned: AccessDenied: no role",
        ),
    ],
)
def test_each_step_has_its_phase_and_line(step: Step, phase: str, line: str) -> None:
    assert describe(step) == (phase, line)


def test_a_finished_place_is_summed_up_from_its_result() -> None:
    phase, line = describe(PlaceDone(1, 1, "111111111111/eu-west-1", SCANNED, None))
    assert (phase, line.startswith("[1/1] ")) == ("[1/1]", True)
    assert "111111111111" in line


def test_every_kind_of_step_has_a_writer() -> None:
    assert set(WRITERS) == set(Step.__args__)  # type: ignore[attr-defined]
