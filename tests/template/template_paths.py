"""Paths shared by the template tests (a module of its own: ``conftest`` is not importable
by name when several test folders have one)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
SAMCONFIG = REPO / "samconfig.toml"
# Published sample events, vendored with their origins and licences (SOURCES.md there).
REFERENCE_EVENTS = REPO / "tests" / "reference_events"
