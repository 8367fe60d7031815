"""src/requirements.txt (what `sam build` packs) agrees with the pins in pyproject.toml."""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_requirements", ROOT / "scripts" / "gen-requirements.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_requirements_txt_is_what_the_script_writes(gen: ModuleType) -> None:
    current = (ROOT / "src" / "requirements.txt").read_text()
    assert current == gen.render(ROOT / "pyproject.toml"), (
        "src/requirements.txt is out of date: run `make src/requirements.txt`"
    )


def test_every_runtime_dependency_but_the_sdk_is_packed(gen: ModuleType) -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    dependencies = pyproject["project"]["dependencies"]
    lines = (ROOT / "src" / "requirements.txt").read_text().splitlines()
    packed = [line for line in lines if line and not line.startswith("#")]
    for requirement in dependencies:
        name = gen.distribution_name(requirement)
        assert (requirement in packed) == (name not in {"boto3", "botocore"}), requirement
    assert all("==" in line for line in packed), "every packed requirement is pinned"


@pytest.mark.parametrize(
    ("requirement", "name"),
    [
        ("boto3==1.0", "boto3"),
        ("PyYAML==6.0.4", "pyyaml"),
        ("aws_lambda.Powertools[tracer]>=3; python_version>'3.10'", "aws-lambda-powertools"),
        ("  botocore ", "botocore"),
    ],
)
def test_distribution_name(gen: ModuleType, requirement: str, name: str) -> None:
    assert gen.distribution_name(requirement) == name


def test_sdk_is_left_out(gen: ModuleType) -> None:
    pyproject = {"project": {"dependencies": ["boto3==1", "Botocore>=1", "PyYAML==6"]}}
    assert gen.lambda_requirements(pyproject) == ["PyYAML==6"]
