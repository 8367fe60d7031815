"""template.yaml and samconfig.toml as the template tests read them: paths and lookups."""

from __future__ import annotations

from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
SAMCONFIG = REPO / "samconfig.toml"
# Published sample events, vendored with their origins and licences (SOURCES.md there).
REFERENCE_EVENTS = REPO / "tests" / "reference_events"


def function_properties(template: dict[str, Any]) -> dict[str, Any]:
    """The Properties of the template's remediation function."""
    properties: dict[str, Any] = template["Resources"]["Function"]["Properties"]
    return properties
