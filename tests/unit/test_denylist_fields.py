"""docs/denylist.md, the entry fields: one table says which fields an entry may have.

Adding a field to the denylist format means a row in `denylist_fields.FIELDS` and a case
here; the checker's allowed keys and the normalised document follow the table.
"""

from __future__ import annotations

import json

import pytest

from egress_guard.denylist import ENTRY_KEYS, DenylistError, parse_denylist
from egress_guard.denylist_fields import DESTINATIONS, FIELDS

DOCUMENTED = {
    "id", "description", "protocol", "ports", "icmp_type", "icmp_code",
    "cidr", "prefix_list", "group", "match",
}  # fmt: skip


def deny(**entry: object) -> str:
    return json.dumps({"version": 1, "deny": [{"id": "x", **entry}]})


def test_the_field_table_is_the_documented_entry_fields() -> None:
    assert set(FIELDS) == DOCUMENTED
    assert frozenset(FIELDS) == ENTRY_KEYS
    assert set(DESTINATIONS) == {"cidr", "prefix_list", "group"}


def test_the_normalised_entry_lists_its_fields_in_table_order() -> None:
    text = deny(description="d", match="covers", cidr="10.0.0.0/8", ports="25", protocol="tcp")
    (entry,) = json.loads(parse_denylist(text).to_json())["deny"]
    assert list(entry) == ["id", "protocol", "ports", "cidr", "match", "description"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("group", "sg-01234567\n"),
        ("group", "sg-01234567 "),
        ("group", "SG-01234567"),
        ("group", "sg-0123456789ABCDEF0"),
        ("prefix_list", "pl-0123456789abcdef0\n"),
        ("prefix_list", " pl-63a5400a"),
        ("prefix_list", "PL-63A5400A"),
    ],
)
def test_an_id_destination_is_taken_exactly_as_written(field: str, value: str) -> None:
    with pytest.raises(DenylistError) as caught:
        parse_denylist(deny(**{field: value}), source="DENYLIST")
    assert caught.value.problems == [
        f'deny[0] (id "x"): {field}: {value!r} is not a '
        + (
            "security group id (sg-xxxxxxxx)"
            if field == "group"
            else "prefix list id (pl-xxxxxxxx)"
        )
    ]


def test_each_bad_destination_of_a_list_is_named() -> None:
    with pytest.raises(DenylistError) as caught:
        parse_denylist(deny(group=["sg-01234567", "sg-1", 7]))
    assert caught.value.problems == [
        "deny[0] (id \"x\"): group: 'sg-1' is not a security group id (sg-xxxxxxxx)",
        'deny[0] (id "x"): group: 7 is not a string',
    ]
