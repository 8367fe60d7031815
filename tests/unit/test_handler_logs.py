"""The Lambda handler's stderr as CloudWatch would get it: one JSON object per line.

Run in a subprocess, as Lambda runs it: metrics enabled (POWERTOOLS_METRICS_DISABLED unset),
Python's own warnings printed as they would be.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, pathlib, sys
from egress_guard.handler import lambda_handler

class Context:
    function_name = "egress-guard"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    aws_request_id = "req-1"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:egress-guard"

    def get_remaining_time_in_millis(self):
        return 60000

event = json.loads(pathlib.Path(sys.argv[1]).read_text())
for _ in range(2):  # a cold and a warm invocation
    lambda_handler(event, Context())
"""


def test_a_no_op_invocation_writes_only_json_lines_to_stderr() -> None:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_ENDPOINT_URL"))
    }
    env.update(
        PYTHONPATH=str(ROOT / "src"),
        PYTHONWARNINGS="default",  # every warning shown, as a fresh interpreter would
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
    )
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(ROOT / "events" / "cloudtrail-failed-call.json")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines  # the decision ("no action") is logged
    logged = [json.loads(line) for line in lines]  # each line one JSON object
    assert all(isinstance(entry, dict) for entry in logged)
    assert "no action" in {entry.get("message") for entry in logged}
    assert done.stdout == ""  # no metrics to publish: no EMF line either
