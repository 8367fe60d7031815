"""Figures for tests/safety/FIGURES.md: each test can add its counts to a JSON file.

Set ``SAFETY_FIGURES_DIR`` to a folder and every safety test that counts something
(faults injected, cases fuzzed, denylists tried...) writes ``<test>.json`` there;
``python tests/support/figures.py DIR`` adds them up. Unset, nothing is written.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any


def record(test: str, figures: dict[str, Any]) -> None:
    folder = os.environ.get("SAFETY_FIGURES_DIR")
    if not folder:
        return
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")  # one file per xdist worker
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{test}-{worker}")[:150]
    (path / f"{name}.json").write_text(json.dumps(figures, indent=2, sort_keys=True))


def main(folder: str) -> None:
    totals: Counter[str] = Counter()
    for path in sorted(Path(folder).glob("*.json")):
        data = json.loads(path.read_text())
        print(f"{path.stem}: {json.dumps(data, sort_keys=True)}")
        for key, value in data.items():
            if isinstance(value, int) and not isinstance(value, bool):
                totals[key] += value
    print("\nTOTALS")
    for key, value in sorted(totals.items()):
        print(f"  {key}: {value}")


if __name__ == "__main__":
    main(sys.argv[1])
