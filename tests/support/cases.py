"""Tables of named cases for `pytest.mark.parametrize`: each row's first field is its id."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pytest


def named(rows: Iterable[Sequence[Any]]) -> list[Any]:
    """One `pytest.param` a row, `(name, *values)`, with the name as the case's id."""
    return [pytest.param(*row[1:], id=row[0]) for row in rows]
