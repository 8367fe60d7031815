"""The Lambda package (src/Makefile): pruned to what the function runs, and it still runs.

The pruning is applied to a copy of the dependencies installed here (the same pins as
src/requirements.txt), and scripts/check-package.py then runs the result with nothing but
the Lambda runtime's libraries beside it: every module imports, the handler runs, the SSM
provider is made and a YAML denylist loads without PyYAML's C extension.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
PACKED = ("aws_lambda_powertools", "yaml", "_yaml", "typing_extensions")

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def installed(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        return None  # e.g. _yaml, absent where PyYAML was built without libyaml
    origin = Path(spec.origin)
    return origin.parent if origin.name == "__init__.py" else origin


def prune(package: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "-s", "-f", str(SRC / "Makefile"), "prune", f"ARTIFACTS_DIR={package}"],
        capture_output=True,
        text=True,
        check=False,
    )


def check(package: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "check-package.py"), "--no-libyaml", str(package)],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dependencies as installed here plus egress_guard, pruned as the build prunes."""
    target = tmp_path_factory.mktemp("package")
    for name in PACKED:
        source = installed(name)
        if source is None:
            continue
        if source.is_dir():
            shutil.copytree(source, target / source.name)
        else:
            shutil.copy2(source, target / source.name)
    shutil.copytree(SRC / "egress_guard", target / "egress_guard")
    done = prune(target)
    assert done.returncode == 0, done.stderr
    return target


@pytest.mark.slow  # prunes a copy of the dependencies and runs it in a fresh interpreter
def test_pruned_package_runs_with_only_the_runtime_beside_it(package: Path) -> None:
    done = check(package)

    assert done.returncode == 0, done.stderr
    assert "ok: YAML denylist loads (libyaml: False)" in done.stdout


def test_pruning_drops_what_the_function_never_imports(package: Path) -> None:
    powertools = package / "aws_lambda_powertools"
    assert not (powertools / "event_handler").exists()
    assert not (powertools / "utilities" / "parser").exists()
    assert not list((package / "yaml").glob("_yaml*.so"))
    assert not list(package.rglob("__pycache__"))


def test_a_package_pruned_too_far_fails_the_check(package: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(package, broken)
    shutil.rmtree(broken / "aws_lambda_powertools" / "utilities" / "parameters")

    done = check(broken)

    assert done.returncode == 1
    assert "aws_lambda_powertools.utilities.parameters" in done.stderr


def test_yaml_denylist_loads_without_the_c_extension() -> None:
    """PyYAML falls back to its pure-Python loader when _yaml cannot be imported."""
    code = textwrap.dedent(
        """
        import sys

        class NoLibyaml:
            def find_spec(self, name, path=None, target=None):
                if name in ("_yaml", "yaml._yaml"):
                    raise ImportError(f"{name} blocked")
                return None

        sys.meta_path.insert(0, NoLibyaml())
        import yaml
        from egress_guard.denylist import parse_denylist

        denylist = parse_denylist("version: 1\\ndeny:\\n  - id: smtp\\n    ports: '25'\\n")
        print(yaml.__with_libyaml__, [e.id for e in denylist.deny])
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)

    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "['smtp']"]


def test_sam_builds_with_the_makefile() -> None:
    template = (ROOT / "template.yaml").read_text()
    assert "BuildMethod: makefile" in template
    assert "\nbuild-Function:" in (SRC / "Makefile").read_text()
