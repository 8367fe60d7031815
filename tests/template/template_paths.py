"""Paths shared by the template tests (a module of its own: ``conftest`` is not importable
by name when several test folders have one)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
SAMCONFIG = REPO / "samconfig.toml"
# CI places shared/ beside its clone of the repository, as it is beside /work/main here.
REFERENCE_EVENTS = REPO.parent / "shared" / "reference-events"
