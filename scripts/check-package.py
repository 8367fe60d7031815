#!/usr/bin/env python3
"""Check that a Lambda package runs with nothing but what the Lambda runtime adds to it.

    scripts/check-package.py .aws-sam/build/Function

Runs a fresh interpreter (``-I -S``: no site-packages) whose path is the package and the
libraries the Lambda Python runtime provides (boto3, botocore and their dependencies, taken
from this interpreter's installation), and in it: imports every module of egress_guard,
invokes the handler on a no-op event (Logger, Metrics, LambdaContext), makes the SSM
parameter provider (Powertools' parameters utility), and loads a YAML denylist. No AWS
call is made. Prints one line per check and exits 1 if any fails, so a package pruned too
far (src/Makefile) fails here rather than in Lambda.

``--no-libyaml``: also require that PyYAML's C extension is absent (the built package).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path

# What the Lambda Python runtimes provide besides the standard library.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")

CHECKS = r"""
import json, os, pkgutil, sys
package = sys.argv[1]
outside = [m for m in ("aws_lambda_powertools", "yaml", "egress_guard")
           if not __import__(m).__file__.startswith(package)]
assert not outside, f"imported from outside the package: {outside}"

import egress_guard
for module in pkgutil.walk_packages(egress_guard.__path__, "egress_guard."):
    __import__(module.name)
print("ok: every egress_guard module imports")

from egress_guard import handler

class Context:
    function_name = "egress-guard"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    aws_request_id = "check-package"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:egress-guard"
    def get_remaining_time_in_millis(self):
        return 60000

# A COMPLIANT evaluation: parsed, logged and answered with no AWS call.
compliant = {
    "version": "0", "id": "check-package", "detail-type": "Config Rules Compliance Change",
    "source": "aws.config", "account": "123456789012", "time": "2025-01-01T00:00:00Z",
    "region": "us-east-1", "resources": [],
    "detail": {"resourceId": "sg-0123456789abcdef0", "awsRegion": "us-east-1",
               "awsAccountId": "123456789012", "configRuleName": "r",
               "messageType": "ComplianceChangeNotification",
               "resourceType": "AWS::EC2::SecurityGroup",
               "newEvaluationResult": {"complianceType": "COMPLIANT"}},
}
result = handler.lambda_handler(compliant, Context())
assert result["Return"] is True, result
print("ok: the handler runs (Logger, Metrics, LambdaContext)")

from egress_guard.aws import Clients
assert type(Clients().parameters()).__name__ == "SSMProvider"
print("ok: SSM parameter provider")

from egress_guard.denylist import parse_denylist
import yaml
denylist = parse_denylist("version: 1\ndeny:\n  - id: smtp\n    ports: '25'\n", "check.yaml")
assert [e.id for e in denylist.deny] == ["smtp"], denylist
print(f"ok: YAML denylist loads (libyaml: {yaml.__with_libyaml__})")
if "--no-libyaml" in sys.argv and yaml.__with_libyaml__:
    raise SystemExit("PyYAML's C extension is in the package")
"""


def runtime_dir(into: Path) -> Path:
    """A folder with links to the runtime-provided libraries of this interpreter."""
    for name in RUNTIME_PROVIDED:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise SystemExit(f"check-package: {name} is not installed here")
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (into / source.name).symlink_to(source)
    return into


def check(package: Path, *, no_libyaml: bool = False) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="runtime-") as tmp:
        runtime = runtime_dir(Path(tmp))
        bootstrap = (
            f"import sys; sys.path[:0] = [{str(package)!r}, {str(runtime)!r}]; "
            f"sys.argv[1:] = [{str(package)!r}] + {['--no-libyaml'] if no_libyaml else []!r}; "
            f"exec(compile({CHECKS!r}, 'check-package', 'exec'))"
        )
        env = {
            "PATH": os.environ.get("PATH", ""),
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "check",
            "AWS_SECRET_ACCESS_KEY": "check",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "POWERTOOLS_METRICS_NAMESPACE": "EgressGuard",
        }
        return subprocess.run(
            [sys.executable, "-I", "-S", "-B", "-c", bootstrap],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "package", type=Path, help="the unzipped package, e.g. .aws-sam/build/Function"
    )
    parser.add_argument(
        "--no-libyaml", action="store_true", help="PyYAML's C extension must be absent"
    )
    args = parser.parse_args(argv)
    done = check(args.package.resolve(), no_libyaml=args.no_libyaml)
    lines = [line for line in done.stdout.splitlines() if line.startswith("ok: ")]
    for line in lines:
        print(f"check-package: {line}")
    if done.returncode != 0:
        print(f"check-package: {args.package} FAILED:\n{done.stderr[-3000:]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
