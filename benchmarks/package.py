"""Package: the size of the function as Lambda receives it (unzipped).

With SAM available (``.venv-tools/bin/sam``, or SAM=...), runs scripts/sam-build.sh and
measures .aws-sam/build/Function. Otherwise installs the runtime dependencies of
src/requirements.txt for the function's platform (python3.13, arm64 wheels, as sam build
fetches them) into .bench/package with ``pip install --target`` and copies
src/egress_guard beside them; the row says which. Either way it checks that no test or
development dependency (pytest, moto, hypothesis, boto3 stubs, ...) is inside.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import ROOT, SRC, Row, module_main

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


def pip_target() -> Path:
    target = ROOT / ".bench" / "package"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--target", str(target), "--platform", "manylinux2014_aarch64",
         "--implementation", "cp", "--python-version", "3.13", "--only-binary=:all:",
         "-r", str(SRC / "requirements.txt")],
        check=True,
    )  # fmt: skip
    shutil.copytree(
        SRC / "egress_guard",
        target / "egress_guard",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    return target


def measure(quick: bool) -> list[Row]:
    built = None if quick else sam_build()
    how = "sam build (scripts/sam-build.sh)"
    if built is None:
        built = pip_target()
        how = "pip install --target of src/requirements.txt (arm64, py3.13) + src/egress_guard"
    mb, files = size_mb(built)
    names = {p.name.split("-")[0].lower() for p in built.iterdir()}
    dev = sorted(n for n in names if n.startswith(DEV_ONLY))
    sizes = [
        (size_mb(p)[0] if p.is_dir() else p.stat().st_size / 1e6, p.name) for p in built.iterdir()
    ]
    top = sorted(sizes, reverse=True)[:3]
    return [
        Row(
            figure="package: the function's build output, unzipped",
            value=f"{mb:.1f} MB, {files:,} files" + (f"; DEV DEPENDENCIES: {dev}" if dev else ""),
            target="as small as it can be; no test/dev dependency",
            met=not dev,
            note=(
                f"{how}, at {built.relative_to(ROOT)}; largest: "
                + ", ".join(f"{name} {size:.1f} MB" for size, name in top)
            ),
            data={"mb": mb, "files": files},
        )
    ]


if __name__ == "__main__":
    module_main(measure)
