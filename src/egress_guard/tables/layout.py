"""Table layout shared by every table: padded columns, CSV, and cells from loose values."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

GAP = "  "


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell, two spaces apart; no trailing blanks."""
    table = [[one_line(cell) for cell in row] for row in (headers, *rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(headers))]
    lines = [
        GAP.join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in table
    ]
    return "\n".join(lines)


def to_csv(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """RFC 4180 CSV (quoted where needed), one header row, "\\n" line ends."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue()


def where(account: Any, region: Any) -> str:
    """`123456789012/us-east-1`, or as much of it as is known."""
    return f"{text(account, 'this account')}/{text(region, 'default region')}"


def where_of(document: Mapping[str, Any]) -> str:
    """`where` of a document's `Account` and `Region`."""
    return where(document.get("Account"), document.get("Region"))


def raw(value: Any) -> str:
    """A CSV cell: the value as text, empty when there is none."""
    return "" if value is None else str(value)


def text(value: Any, default: str = "-") -> str:
    """A table cell: the value on one line, `default` when there is none."""
    if value is None or value == "":
        return default
    return one_line(str(value))


def one_line(value: str) -> str:
    return " ".join(value.split()) if ("\n" in value or "\t" in value or "\r" in value) else value


def tally(counts: dict[str, int], first: Sequence[str]) -> list[str]:
    """The statuses to show: `first` always, then any other counted, sorted."""
    return [*first, *sorted(s for s in counts if s not in first)]
