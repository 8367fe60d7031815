"""Package: the size of the function as Lambda receives it (unzipped).

With SAM available (``.venv-tools/bin/sam``, or SAM=...), runs scripts/sam-build.sh and
measures .aws-sam/build/Function. Otherwise runs what sam build runs, src/Makefile's
build-Function (the dependencies of src/requirements.txt as python3.13 arm64 wheels,
egress_guard, pruned, compiled), into .bench/package; the row says which. Either way it
checks that the package is under 3 MB, that no test or development dependency (pytest,
moto, hypothesis, boto3 stubs, ...) is inside, and that it runs with nothing beside it
but what the Lambda runtime provides (scripts/check-package.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import ROOT, SRC, Row, module_main

LIMIT_MB = 3.0
DEV_ONLY = ("pytest", "moto", "hypothesis", "mypy", "ruff", "boto3_stubs", "mypy_boto3",
            "cfn_lint", "awscli", "_pytest")  # fmt: skip


def size_mb(path: Path) -> tuple[float, int]:
    total, files = 0, 0
    for item in path.rglob("*"):
        if item.is_file() and not item.is_symlink():
            total += item.stat().st_size
            files += 1
    return total / 1e6, files


def sam_build() -> Path | None:
    sam = os.environ.get("SAM") or str(ROOT / ".venv-tools" / "bin" / "sam")
    script = ROOT / "scripts" / "sam-build.sh"
    if not script.exists() or not (Path(sam).exists() or shutil.which(sam)):
        return None
    done = subprocess.run(
        ["bash", str(script)], cwd=ROOT, capture_output=True, text=True, check=False
    )
    build = ROOT / ".aws-sam" / "build"
    if done.returncode != 0 or not build.exists():
        print(done.stdout[-2000:], done.stderr[-2000:], file=sys.stderr)
        return None
    functions = [p for p in build.iterdir() if p.is_dir()]
    return functions[0] if len(functions) == 1 else build / "Function"


def make_target() -> Path:
    """What sam build makes, without sam: src/Makefile's build-Function."""
    target = ROOT / ".bench" / "package"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    done = subprocess.run(
        ["make", "-s", "--no-print-directory", "-f", "Makefile", "build-Function",
         f"ARTIFACTS_DIR={target}", f"PYTHON={sys.executable}"],
        cwd=SRC, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(
            f"make build-Function failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    return target


def runs_alone(built: Path) -> tuple[bool, str]:
    """scripts/check-package.py on the package: (passed, its last line)."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "check-package.py"), "--no-libyaml", str(built)],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = (done.stdout + done.stderr).strip().splitlines()
    return done.returncode == 0, (lines[-1] if lines else "no output")


def measure(quick: bool) -> list[Row]:
    built = None if quick else sam_build()
    how = "sam build (scripts/sam-build.sh)"
    if built is None:
        built = make_target()
        how = "make -f src/Makefile build-Function (what sam build runs)"
    mb, files = size_mb(built)
    alone, check = runs_alone(built)
    names = {p.name.split("-")[0].lower() for p in built.iterdir()}
    dev = sorted(n for n in names if n.startswith(DEV_ONLY))
    sizes = [
        (size_mb(p)[0] if p.is_dir() else p.stat().st_size / 1e6, p.name) for p in built.iterdir()
    ]
    top = sorted(sizes, reverse=True)[:3]
    return [
        Row(
            figure="package: the function's build output, unzipped",
            value=f"{mb:.1f} MB, {files:,} files"
            + (f"; DEV DEPENDENCIES: {dev}" if dev else "")
            + ("" if alone else f"; DOES NOT RUN: {check}"),
            target=f"under {LIMIT_MB:.0f} MB; no test/dev dependency; runs with the runtime alone",
            met=not dev and mb < LIMIT_MB and alone,
            note=(
                f"{how}, at {built.relative_to(ROOT)}; largest: "
                + ", ".join(f"{name} {size:.1f} MB" for size, name in top)
            ),
            data={"mb": mb, "files": files, "runs_alone": alone},
        )
    ]


if __name__ == "__main__":
    module_main(measure)
