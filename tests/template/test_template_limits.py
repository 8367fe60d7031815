"""The stack sets the function's blast-radius limits from its parameters (issue 11)."""

from __future__ import annotations

from typing import Any

from support.template import function_properties


def test_the_limits_come_from_parameters_with_the_codes_defaults(template: dict[str, Any]) -> None:
    variables = function_properties(template)["Environment"]["Variables"]
    parameters = template["Parameters"]

    assert variables["MAX_REVOCATIONS"] == {"Ref": "MaxRevocations"}
    assert variables["MAX_REVOCATIONS_PERCENT"] == {"Ref": "MaxRevocationsPercent"}
    assert (parameters["MaxRevocations"]["Default"], parameters["MaxRevocations"]["MinValue"]) == (
        25,
        0,
    )
    percent = parameters["MaxRevocationsPercent"]
    assert (percent["Default"], percent["MinValue"], percent["MaxValue"]) == (10, 0, 100)
