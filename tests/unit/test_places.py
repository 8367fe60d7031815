"""docs/command-line.md, "Scanning many places": the merged result, its table, and the AWS
layer's organisation and region listings (botocore's Stubber, no HTTP)."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from egress_guard.aws import organization_accounts, place_problem, region_states, unit_accounts
from egress_guard.places import (
    MetricsTally,
    Outcome,
    Place,
    is_merged,
    merge,
    parse_place,
    place_of,
    run_units,
)
from egress_guard.tables import places as table

A, B = "111111111111", "222222222222"


def place_result(account: str, region: str, *actions: str, ok: bool = True) -> dict[str, Any]:
    return {
        "Return": ok,
        "DryRun": False,
        "RevokedSecurityGroupRules": [],
        "UnknownIpPermissions": [],
        "Findings": [
            {"GroupId": "sg-11111111", "SecurityGroupRuleId": f"sgr-{i:08x}", "Action": a}
            for i, a in enumerate(actions)
        ],
        "Account": account,
        "Region": region,
        "Mode": "enforce",
        "RulesJudged": 10,
        **({} if ok else {"Errors": ["sg-11111111: could not read its rules: Throttling"]}),
    }


def merged_of(*outcomes: Outcome) -> dict[str, Any]:
    return merge(outcomes, source="cli:scan", event_id="e1", dry_run=False, mode="enforce")


def test_merged_result_has_each_place_its_totals_and_every_error_prefixed_with_its_place() -> None:
    merged = merged_of(
        Outcome(Place(B, "us-east-1"), error="cannot assume the member role: AccessDenied"),
        Outcome(Place(A, "us-east-1"), result=place_result(A, "us-east-1", "revoked", "exempt")),
        Outcome(Place(A, "eu-west-1"), result=place_result(A, "eu-west-1", "failed", ok=False)),
    )
    assert [(p["Account"], p["Region"], p["Return"]) for p in merged["Places"]] == [
        (A, "eu-west-1", False),
        (A, "us-east-1", True),
        (B, "us-east-1", False),
    ]
    assert merged["Totals"] == {
        "Places": 3,
        "PlacesOk": 1,
        "PlacesFailed": 2,
        "PlacesUnreachable": 1,
        "RulesJudged": 20,
        "RulesRevoked": 1,
        "RulesWouldRevoke": 0,
        "RulesExempt": 1,
        "RulesGone": 0,
        "RulesFailed": 1,
    }
    assert merged["Errors"] == [
        f"{A}/eu-west-1: sg-11111111: could not read its rules: Throttling",
        f"{B}/us-east-1: cannot assume the member role: AccessDenied",
    ]
    assert merged["Return"] is False


def test_every_place_ok_makes_the_merged_result_ok_with_no_errors() -> None:
    merged = merged_of(Outcome(Place(A, "us-east-1"), result=place_result(A, "us-east-1")))
    assert (merged["Return"], "Errors" in merged) == (True, False)


def test_an_unreachable_place_is_a_result_with_its_reason_and_no_lists() -> None:
    outcome = Outcome(Place(A, None), error="may not list the account's regions", seconds=0.25)
    assert outcome.to_dict() == {
        "Account": A,
        "Region": None,
        "Return": False,
        "Error": "may not list the account's regions",
        "Seconds": 0.25,
    }


def test_one_place_of_a_merged_result_is_a_result_restore_can_read() -> None:
    merged = merged_of(
        Outcome(Place(A, "us-east-1"), result=place_result(A, "us-east-1", "revoked")),
        Outcome(Place(B, "us-east-1"), result=place_result(B, "us-east-1")),
    )
    one = place_of(merged, parse_place(f"{B}/us-east-1"))
    assert (is_merged(merged), is_merged(one), one["Account"]) == (True, False, B)
    assert "RevokedSecurityGroupRules" in one


def test_a_place_not_in_the_merged_result_is_refused_naming_those_there() -> None:
    merged = merged_of(Outcome(Place(A, "us-east-1"), result=place_result(A, "us-east-1")))
    with pytest.raises(ValueError, match=f"its places: {A}/us-east-1"):
        place_of(merged, Place(B, "us-east-1"))


@pytest.mark.parametrize("text", ["111111111111", "1111/us-east-1", f"{A}/mars", f"{A}/"])
def test_a_malformed_place_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"ACCOUNT/REGION|account|region"):
        parse_place(text)


def test_a_unit_that_raises_fails_only_its_own_place_with_the_aws_layers_line() -> None:
    denied = ClientError(
        {"Error": {"Code": "AccessDenied", "Message": "not authorized"}}, "AssumeRole"
    )

    def unit(place: Place, _: Any) -> dict[str, Any]:
        if place.account == B:
            raise denied
        return place_result(place.account, str(place.region))

    outcomes = run_units([Place(A, "us-east-1"), Place(B, "us-east-1")], unit, concurrency=2)
    assert [(o.place.account, o.ok, o.error) for o in outcomes] == [
        (A, True, None),
        (B, False, "cannot assume the member role: AccessDenied: not authorized"),
    ]


@pytest.mark.parametrize(
    ("code", "operation", "line"),
    [
        ("AccessDenied", "AssumeRole", "cannot assume the member role: AccessDenied: m"),
        ("OptInRequired", "DescribeSecurityGroupRules", "the region is not enabled"),
        ("AuthFailure", "DescribeRegions", "the region is not enabled"),
        ("UnauthorizedOperation", "DescribeSecurityGroupRules", "access denied: Unauth"),
        ("InternalError", "DescribeSecurityGroupRules", "AWS error: InternalError: m"),
    ],
)
def test_place_problem_says_why_in_one_line(code: str, operation: str, line: str) -> None:
    error = ClientError({"Error": {"Code": code, "Message": "m"}}, operation)
    assert place_problem(error).startswith(line)


def test_metrics_of_many_units_are_added_up() -> None:
    tally = MetricsTally()
    tally.add_metric("RulesRevoked", "Count", 2)
    tally.add_metric("RulesRevoked", "Count", 3)
    assert tally.totals() == {"RulesRevoked": 5}


# --- tables -----------------------------------------------------------------------------------


def test_places_table_has_a_row_per_place_the_findings_and_the_totals() -> None:
    merged = merged_of(
        Outcome(Place(A, "us-east-1"), result=place_result(A, "us-east-1", "revoked")),
        Outcome(Place(B, "eu-west-1"), error="cannot assume the member role: AccessDenied"),
    )
    lines = table.render_places(merged).splitlines()
    assert lines[0].split()[:5] == ["ACCOUNT", "REGION", "STATUS", "RULES", "REVOKED"]
    assert lines[1].split()[:5] == [A, "us-east-1", "ok", "10", "1"]
    assert lines[2].startswith(f"{B}  eu-west-1  not reachable")
    assert lines[4].split()[:3] == ["ACCOUNT", "REGION", "GROUP"]
    assert lines[-2] == (
        "2 places: 1 ok, 1 failed (1 not reachable); 1 revoked, 0 exempt, 0 failed; "
        "10 rules judged (enforce)"
    )
    assert lines[-1] == f"error: {B}/eu-west-1: cannot assume the member role: AccessDenied"


def test_places_csv_has_the_findings_and_a_row_for_each_place_not_scanned() -> None:
    merged = merged_of(
        Outcome(Place(A, "us-east-1"), result=place_result(A, "us-east-1", "revoked")),
        Outcome(Place(B, "eu-west-1"), error="denied"),
    )
    rows = table.places_csv(merged).splitlines()
    assert rows[0] == "account,region,group_id,rule_id,traffic,denylist_entry,action,error"
    assert rows[1] == f"{A},us-east-1,sg-11111111,sgr-00000000,,,revoked,"
    assert rows[2] == f"{B},eu-west-1,,,,,not-scanned,denied"


# --- the AWS layer ----------------------------------------------------------------------------


def stubbed(service: str) -> tuple[Any, Stubber]:
    client = botocore.session.get_session().create_client(
        service,
        region_name="us-east-1",
        aws_access_key_id="k",
        aws_secret_access_key="s",
    )
    return client, Stubber(client)


def account(number: str, state: str = "ACTIVE") -> dict[str, Any]:
    return {"Id": number, "Status": state, "Name": number, "Email": f"{number}@example.com"}


def test_organization_accounts_reads_every_page_and_keeps_the_active_ones() -> None:
    org, stub = stubbed("organizations")
    stub.add_response("list_accounts", {"Accounts": [account(B)], "NextToken": "t"})
    stub.add_response(
        "list_accounts",
        {"Accounts": [account(A), account("333333333333", "SUSPENDED")]},
        {"NextToken": "t"},
    )
    with stub:
        assert organization_accounts(org) == [A, B]


def test_unit_accounts_takes_child_units_too() -> None:
    org, stub = stubbed("organizations")
    stub.add_response("list_accounts_for_parent", {"Accounts": [account(A)]}, {"ParentId": "ou-a"})
    stub.add_response(
        "list_organizational_units_for_parent",
        {"OrganizationalUnits": [{"Id": "ou-b"}]},
        {"ParentId": "ou-a"},
    )
    stub.add_response("list_accounts_for_parent", {"Accounts": [account(B)]}, {"ParentId": "ou-b"})
    stub.add_response(
        "list_organizational_units_for_parent", {"OrganizationalUnits": []}, {"ParentId": "ou-b"}
    )
    with stub:
        assert unit_accounts(org, "ou-a") == [A, B]


def test_region_states_tells_enabled_regions_and_none_when_refused() -> None:
    ec2, stub = stubbed("ec2")
    stub.add_response(
        "describe_regions",
        {
            "Regions": [
                {"RegionName": "us-east-1", "OptInStatus": "opt-in-not-required"},
                {"RegionName": "ap-east-1", "OptInStatus": "not-opted-in"},
                {"RegionName": "me-south-1", "OptInStatus": "opted-in"},
            ]
        },
        {"AllRegions": True},
    )
    stub.add_client_error("describe_regions", "UnauthorizedOperation", http_status_code=403)
    with stub:
        assert region_states(ec2) == {"us-east-1": True, "ap-east-1": False, "me-south-1": True}
        assert region_states(ec2) is None
