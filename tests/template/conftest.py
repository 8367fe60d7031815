"""Fixtures for the tests of template.yaml (the SAM template) and samconfig.toml.

- ``template``: template.yaml as plain dicts and lists, intrinsic functions in their long
  form (``!Ref X`` -> ``{"Ref": "X"}``), read with cfn-lint's own CloudFormation YAML loader.
- ``reference_event(name)``: a published sample event from tests/reference_events/ (see
  SOURCES.md there for where each came from).
- ``eventbridge(source, detail_type, detail)``: an EventBridge envelope around ``detail``,
  as the default event bus delivers it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml
from support.template import REFERENCE_EVENTS, TEMPLATE


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    # A JSON round trip turns cfn-lint's node classes (dict/str subclasses that carry line
    # numbers) into plain values, so comparisons and copies behave as on plain data.
    loaded: dict[str, Any] = json.loads(json.dumps(cfn_yaml.load(str(TEMPLATE))))
    return loaded


@pytest.fixture(scope="session")
def reference_event() -> Callable[[str], Any]:
    cache: dict[str, Any] = {}

    def load(name: str) -> Any:
        if name not in cache:
            cache[name] = json.loads((REFERENCE_EVENTS / name).read_text())
        return copy.deepcopy(cache[name])

    return load


@pytest.fixture(scope="session")
def eventbridge() -> Callable[..., dict[str, Any]]:
    def envelope(
        source: str,
        detail_type: str,
        detail: dict[str, Any],
        *,
        account: str = "123456789012",
        region: str = "us-east-1",
        time: str = "2024-10-30T19:54:35Z",
    ) -> dict[str, Any]:
        return {
            "version": "0",
            "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
            "detail-type": detail_type,
            "source": source,
            "account": account,
            "time": time,
            "region": region,
            "resources": [],
            "detail": detail,
        }

    return envelope
