"""The `egress-guard` command line run as a user runs it: a subprocess in the test's
(emulator) environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from support.egress import SMTP_ONLY

ROOT = Path(__file__).resolve().parents[2]


def egress_cli(
    *args: str, denylist: Any = SMTP_ONLY, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """Runs `python -m egress_guard ARGS` in the current (emulator) environment."""
    full_env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("POWERTOOLS_", "DENYLIST", "MODE", "EXEMPT_TAG"))
    }
    full_env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    if denylist is not None:
        full_env["DENYLIST"] = json.dumps(denylist)
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "egress_guard", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=300,
        check=False,
    )


def cli_lines(stderr: str) -> list[str]:
    """stderr without the JSON log lines."""
    return [line for line in stderr.splitlines() if not line.startswith("{")]
