#!/usr/bin/env python3
"""Install the command-line tools of pyproject's `tools` extra, each in its own venv.

    scripts/bootstrap.py tools .venv-tools

aws-sam-cli and checkov pin libraries (boto3 above all) to versions that neither the
project nor each other accept: aws-sam-cli 1.170.0 wants boto3==1.43.108, checkov 3.3.30
wants boto3==1.35.49. So each requirement of the `tools` group gets a venv of its own,
DEST/<name>/, and its console scripts are linked into DEST/bin/ (DEST/bin/sam,
DEST/bin/checkov), the one folder the rest of the build looks in. The project itself is
not installed there. The installs run side by side; each one's pip output is kept in
DEST/<name>.log and shown if it fails.

Standard library only: it runs with the python3 that creates the venvs.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def distribution_name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)", requirement)
    if not match:
        raise ValueError(f"not a requirement: {requirement!r}")
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def group_requirements(group: str, pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    with pyproject.open("rb") as fh:
        data = tomllib.load(fh)
    extras = data.get("project", {}).get("optional-dependencies", {})
    if group not in extras:
        raise SystemExit(f"pyproject.toml has no optional-dependencies group {group!r}")
    return [str(req) for req in extras[group]]


# Run inside a tool's venv: the commands its own distribution installs into bin/, whether
# as console-script entry points (aws-sam-cli: sam) or as plain scripts (checkov).
_LIST_SCRIPTS = """
import os, sys
from importlib.metadata import distribution
dist = distribution(sys.argv[1])
bin_dir = os.path.dirname(os.path.abspath(sys.executable))
names = {ep.name for ep in dist.entry_points if ep.group == "console_scripts"}
for file in dist.files or ():
    path = os.path.abspath(str(file.locate()))
    if os.path.dirname(path) == bin_dir and not path.endswith((".cmd", ".bat", ".ps1")):
        names.add(os.path.basename(path))
print("\\n".join(sorted(names)))
"""


def install_tools(dest: Path, group: str, python: str) -> int:
    requirements = group_requirements(group)
    dest.mkdir(parents=True, exist_ok=True)
    names = [distribution_name(req) for req in requirements]
    for stale in dest.iterdir():  # tools dropped from the group since the last install
        if stale.is_dir() and stale.name not in names and stale.name != "bin":
            shutil.rmtree(stale)
    bin_dir = dest / "bin"
    shutil.rmtree(bin_dir, ignore_errors=True)
    bin_dir.mkdir()

    started = time.monotonic()
    jobs: list[tuple[str, str, subprocess.Popen[bytes], Path]] = []
    for name, requirement in zip(names, requirements, strict=True):
        venv = dest / name
        log = dest / f"{name}.log"
        script = (
            f'"{python}" -m venv "{venv}" && '
            f'"{venv}/bin/python" -m pip install --upgrade pip && '
            f'"{venv}/bin/python" -m pip install "{requirement}"'
        )
        with log.open("wb") as out:
            process = subprocess.Popen(
                ["/bin/sh", "-c", script],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        print(f"installing {requirement} into {venv} (log: {log})", flush=True)
        jobs.append((name, requirement, process, log))

    failed = 0
    for name, requirement, process, log in jobs:
        if process.wait() != 0:
            failed += 1
            print(f"\n=== installing {requirement} failed; {log} ends:", file=sys.stderr)
            lines = log.read_text(errors="replace").splitlines()
            print("\n".join(lines[-60:]), file=sys.stderr)
            continue
        venv_bin = dest / name / "bin"
        listed = subprocess.run(
            [str(venv_bin / "python"), "-c", _LIST_SCRIPTS, name],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        for script_name in listed:
            (bin_dir / script_name).symlink_to(Path("..") / name / "bin" / script_name)
        print(f"{requirement}: {', '.join(f'bin/{s}' for s in listed)}")
    print(f"tools installed in {time.monotonic() - started:.0f} s" if not failed else "")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    tools = sub.add_parser("tools", help="install the tools group, one venv per tool")
    tools.add_argument("dest", type=Path)
    tools.add_argument("--group", default="tools")
    tools.add_argument("--python", default=sys.executable, help="Python to create venvs with")
    args = parser.parse_args(argv)
    return install_tools(args.dest.resolve(), args.group, args.python)


if __name__ == "__main__":
    sys.exit(main())
