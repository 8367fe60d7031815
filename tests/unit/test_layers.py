"""The layers of src/egress_guard, read from its imports (README, "Layout"; issue 9).

Every module's imports are read with `ast`, those at module level and those inside
functions (and under TYPE_CHECKING) alike: a lazy import is still a dependency. One test a
rule:

- botocore and boto3 are imported only by the AWS layer (egress_guard/aws/);
- nothing imports the Lambda handler;
- the pure core imports nothing from the AWS layer, the sinks, the service, the command line
  or Powertools;
- a walk down the layers never comes back: no module imports one of a layer above its own.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = "egress_guard"

# The layers, top first. A module belongs to the layer of the longest name here that is it
# or a package holding it; every module must belong to one (a new module is placed here).
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # Where a run starts: the Lambda handler and the command line.
    ("entry", ("egress_guard.handler", "egress_guard.__main__", "egress_guard.cli")),
    # One invocation wired (event -> targets -> work -> sinks), and an org scan's unit.
    ("service", ("egress_guard.service", "egress_guard.place_sweep")),
    # The work: reading, judging and acting through the AWS layer, and delivering results.
    (
        "work",
        (
            "egress_guard.remediate",
            "egress_guard.acting",
            "egress_guard.revoke",
            "egress_guard.references",
            "egress_guard.plan_run",
            "egress_guard.places",
            "egress_guard.org_places",
            "egress_guard.restore",
            "egress_guard.replay",
            "egress_guard.denylist_source",
            "egress_guard.securityhub_update",
            "egress_guard.sinks",
        ),
    ),
    # The shell: every AWS call and botocore import; Powertools' logger and metrics.
    ("shell", ("egress_guard.aws", "egress_guard.telemetry")),
    # The pure core: values, parsing, judging, planning and the result document.
    (
        "core",
        (
            "egress_guard",  # the package itself: its version
            "egress_guard.ids",
            "egress_guard.traffic",
            "egress_guard.rules",
            "egress_guard.denylist",
            "egress_guard.denylist_fields",
            "egress_guard.denylist_text",
            "egress_guard.judge",
            "egress_guard.planning",
            "egress_guard.exemptions",
            "egress_guard.limits",
            "egress_guard.pacing",
            "egress_guard.settings",
            "egress_guard.targets",
            "egress_guard.events",
            "egress_guard.progress",
            "egress_guard.result",
            "egress_guard.notice",
            "egress_guard.result_document",
            "egress_guard.result_input",
            "egress_guard.replay_report",
            "egress_guard.queue_url",
            "egress_guard.tables",
        ),
    ),
)
LAYER_NAMES = [name for name, _ in LAYERS]

AWS_LIBRARIES = ("botocore", "boto3")
# What the pure core may not import: the shell, delivery, wiring, entry and Powertools.
NOT_IN_CORE = (
    "egress_guard.aws",
    "egress_guard.telemetry",
    "egress_guard.sinks",
    "egress_guard.service",
    "egress_guard.cli",
    "egress_guard.handler",
    "aws_lambda_powertools",
)


@dataclass(frozen=True)
class Import:
    """One import in a module: what it names, and where."""

    module: str
    target: str
    line: int

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.target}"


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted((SRC / PACKAGE).rglob("*.py"))}


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def imports_of(module: str, path: Path) -> Iterator[Import]:
    """Every import in the module, wherever it stands, as the module (or package) it names;
    `from package import submodule` names the submodule."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            for alias in node.names:
                named = f"{source}.{alias.name}"
                yield Import(module, named if named in modules() else source, node.lineno)


@cache
def all_imports() -> tuple[Import, ...]:
    return tuple(i for name, path in modules().items() for i in imports_of(name, path))


def layer_of(module: str) -> int | None:
    """The index in LAYERS of the module's layer (0: the top), None when in none."""
    best: tuple[int, int] | None = None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if within(module, prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), index)
    return None if best is None else best[1]


def test_the_imports_are_read() -> None:
    found = {(i.module, i.target) for i in all_imports()}
    assert ("egress_guard.handler", "egress_guard.service") in found
    assert ("egress_guard.aws.errors", "botocore.exceptions") in found
    # a lazy import inside a function counts
    assert ("egress_guard.cli.scan", "egress_guard.service") in found


def test_every_module_has_a_layer() -> None:
    assert [m for m in modules() if layer_of(m) is None] == []


def test_botocore_and_boto3_only_in_the_aws_layer() -> None:
    leaks = [
        str(i)
        for i in all_imports()
        if any(within(i.target, lib) for lib in AWS_LIBRARIES)
        and not within(i.module, "egress_guard.aws")
    ]
    assert leaks == []


def test_nothing_imports_the_handler() -> None:
    assert [str(i) for i in all_imports() if within(i.target, "egress_guard.handler")] == []


@pytest.mark.parametrize("banned", NOT_IN_CORE)
def test_the_pure_core_imports_no_shell_sink_service_entry_or_powertools(banned: str) -> None:
    core = LAYER_NAMES.index("core")
    leaks = [
        str(i) for i in all_imports() if layer_of(i.module) == core and within(i.target, banned)
    ]
    assert leaks == []


def test_no_module_imports_from_a_layer_above_its_own() -> None:
    upward = [
        f"{i} ({LAYER_NAMES[above]} is above {LAYER_NAMES[own]})"
        for i in all_imports()
        if within(i.target, PACKAGE)
        and (own := layer_of(i.module)) is not None
        and (above := layer_of(i.target)) is not None
        and above < own
    ]
    assert upward == []


def command_line_only() -> list[str]:
    """The modules src/Makefile leaves out of the Lambda package (COMMAND_LINE_ONLY)."""
    text = (SRC / "Makefile").read_text().replace("\\\n", " ")
    [line] = [raw for raw in text.splitlines() if raw.startswith("COMMAND_LINE_ONLY :=")]
    names = line.split(":=", 1)[1].split()
    return [f"{PACKAGE}.{name.removesuffix('.py')}" for name in names]


def imported_by_the_function() -> set[str]:
    """Every module the handler can import, at load or later (lazy imports included), with
    the packages each one's import runs."""
    seen: set[str] = set()
    todo = [f"{PACKAGE}.handler"]
    while todo:
        module = todo.pop()
        if module in seen or module not in modules():
            continue
        seen.add(module)
        for found in all_imports():
            if found.module == module and within(found.target, PACKAGE):
                parts = found.target.split(".")
                todo += [".".join(parts[:n]) for n in range(1, len(parts) + 1)]
    return seen


def test_the_lambda_package_leaves_out_only_what_the_function_never_imports() -> None:
    pruned = command_line_only()
    assert [name for name in pruned if name not in modules()] == []  # each still exists
    assert sorted(set(pruned) & imported_by_the_function()) == []
