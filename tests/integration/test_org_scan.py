"""`egress-guard scan` across an organisation (docs/command-line.md, "Scanning many places").

The organisation is `support.org`'s ``org``: moto's default account (the caller's, the
management account) and two members, each with the role egress-guard-member; each member
sees only its own groups, as in AWS.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import pytest
from support.egress import use_denylist
from support.emulator import ACCOUNT_ID, REGION, create_group
from support.org import ROLE, Org
from support.proxy import Forward, Proxy, Request, Response, ec2_error

from egress_guard import cli

pytestmark = pytest.mark.integration

OTHER_REGION = "eu-west-1"
# Over IPv6 only: every default group's all-traffic IPv4 egress rule would offend too.
SMTP = {"IpProtocol": "tcp", "Port": 25, "CidrIpv6": "::/0"}
DENY_SMTP = {
    "version": 1,
    "deny": [{"id": "smtp-out", "protocol": "tcp", "ports": "25", "cidr": ["::/0"]}],
}


@pytest.fixture(autouse=True)
def _denylist(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    use_denylist(monkeypatch, DENY_SMTP)


def offending_group(org: Org, account: str, region: str) -> str:
    return create_group(org.ec2(account, region), [SMTP], keep_default_egress=False).group_id


def live_rules(org: Org, account: str, region: str, group_id: str) -> list[str]:
    rules = org.ec2(account, region).describe_security_group_rules(
        Filters=[{"Name": "group-id", "Values": [group_id]}]
    )["SecurityGroupRules"]
    return [r["SecurityGroupRuleId"] for r in rules if r["IsEgress"]]


def scan(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    status = cli.main(["scan", *args])
    out, err = capsys.readouterr()
    return status, (json.loads(out) if out.startswith("{") else out), err


def test_dry_run_reports_every_place_of_the_organisation_and_changes_nothing(
    org: Org, capsys: pytest.CaptureFixture[str]
) -> None:
    groups = {
        (account, region): offending_group(org, account, region)
        for account in org.accounts
        for region in (REGION, OTHER_REGION)
    }

    status, merged, _ = scan(
        capsys, "--organization", "--regions", f"{REGION},{OTHER_REGION}", "--dry-run"
    )

    places = {(p["Account"], p["Region"]): p for p in merged["Places"]}
    assert status == 0
    assert sorted(places) == sorted(groups)
    for where, group_id in groups.items():
        assert [(f["GroupId"], f["Action"]) for f in places[where]["Findings"]] == [
            (group_id, "would-revoke")
        ]
        assert places[where]["Return"] is True
        assert live_rules(org, *where, group_id)  # still there
    assert merged["Return"] is True
    assert merged["DryRun"] is True
    assert merged["Totals"] | {"RulesJudged": 0} == {
        "Places": 6,
        "PlacesOk": 6,
        "PlacesFailed": 0,
        "PlacesUnreachable": 0,
        "RulesJudged": 0,
        "RulesRevoked": 0,
        "RulesWouldRevoke": 6,
        "RulesExempt": 0,
        "RulesGone": 0,
        "RulesFailed": 0,
    }


def test_enforce_revokes_in_each_member_only_its_own_offending_rules(
    org: Org, capsys: pytest.CaptureFixture[str]
) -> None:
    alpha = org.members[0]
    mine = offending_group(org, ACCOUNT_ID, REGION)
    theirs = offending_group(org, alpha, REGION)

    status, merged, _ = scan(capsys, "--accounts", f"{ACCOUNT_ID},{alpha}")

    assert status == 0
    assert live_rules(org, ACCOUNT_ID, REGION, mine) == []
    assert live_rules(org, alpha, REGION, theirs) == []
    revoked = [(p["Account"], [f["Action"] for f in p["Findings"]]) for p in merged["Places"]]
    assert revoked == sorted([(ACCOUNT_ID, ["revoked"]), (alpha, ["revoked"])])


def refuse_role_in(account: str) -> Callable[[Request, Forward], Response]:
    """STS refuses the member role of `account`, as AWS does when the role is missing or
    its trust policy does not name the caller."""

    def hook(request: Request, forward: Forward) -> Response:
        if f"::{account}:role/" in request.params.get("RoleArn", ""):
            return ec2_error(
                "AccessDenied",
                f"User: arn:aws:iam::{ACCOUNT_ID}:user/ops is not authorized to perform: "
                f"sts:AssumeRole on resource: arn:aws:iam::{account}:role/{ROLE}",
                403,
            )
        return forward(request)

    return hook


def test_a_member_whose_role_cannot_be_assumed_is_reported_and_fails_the_scan(
    org: Org, proxy: Proxy, capsys: pytest.CaptureFixture[str]
) -> None:
    alpha, beta = org.members
    proxy.on("AssumeRole", refuse_role_in(beta))
    for account in (ACCOUNT_ID, alpha):
        offending_group(org, account, REGION)

    status, merged, err = scan(capsys, "--organization", "--dry-run")

    places = {p["Account"]: p for p in merged["Places"]}
    assert status == 1
    assert merged["Return"] is False
    assert places[beta]["Return"] is False
    assert places[beta]["Error"].startswith("cannot assume the member role: AccessDenied:")
    assert [f["Action"] for f in places[alpha]["Findings"]] == ["would-revoke"]
    assert [f["Action"] for f in places[ACCOUNT_ID]["Findings"]] == ["would-revoke"]
    assert merged["Totals"]["PlacesUnreachable"] == 1
    assert "1 not reachable" in err.splitlines()[-1]
    assert "Traceback" not in err


def opt_in_region(region: str) -> Callable[[Request, Forward], Response]:
    """DescribeRegions says `region` is an opt-in region the account has not enabled (moto
    answers every region "opt-in-not-required")."""

    def hook(request: Request, forward: Forward) -> Response:
        response = forward(request)
        root = response.xml()
        for item in root.iter():
            if item.tag.endswith("}item") or item.tag == "item":
                name = next((c.text for c in item if c.tag.endswith("regionName")), None)
                status = next((c for c in item if c.tag.endswith("optInStatus")), None)
                if status is None:
                    status = ET.SubElement(item, item.tag.replace("item", "optInStatus"))
                status.text = "not-opted-in" if name == region else "opt-in-not-required"
        return response.with_xml(root)

    return hook


def test_a_region_the_account_has_not_enabled_is_reported_not_swept(
    org: Org, proxy: Proxy, capsys: pytest.CaptureFixture[str]
) -> None:
    proxy.on("DescribeRegions", opt_in_region("ap-east-1"))

    status, merged, _ = scan(
        capsys, "--accounts", ACCOUNT_ID, "--regions", f"{REGION},ap-east-1", "--dry-run"
    )

    places = {p["Region"]: p for p in merged["Places"]}
    assert status == 1
    assert places[REGION]["Return"] is True
    assert places["ap-east-1"]["Error"] == (
        f"region ap-east-1 is not enabled for account {ACCOUNT_ID} (an opt-in region)"
    )
    swept = {_region_of(c.request) for c in proxy.calls if c.action == "DescribeSecurityGroupRules"}
    assert swept == {REGION}


def _region_of(request: Request) -> str:
    """The region a request was signed for (Credential=KEY/DATE/REGION/SERVICE/...)."""
    credential = request.headers.get("authorization", "").split("Credential=", 1)[-1]
    return credential.split("/")[2] if credential.count("/") >= 3 else ""


def test_all_regions_sweeps_the_regions_enabled_in_each_account(
    org: Org, proxy: Proxy, capsys: pytest.CaptureFixture[str]
) -> None:
    enabled = {REGION, OTHER_REGION}

    def two_regions(request: Request, forward: Forward) -> Response:
        response = forward(request)
        root = response.xml()
        for parent in list(root.iter()):
            for item in [c for c in parent if c.tag.endswith("item")]:
                name = next((c.text for c in item if c.tag.endswith("regionName")), None)
                if name not in enabled:
                    parent.remove(item)
        return response.with_xml(root)

    proxy.on("DescribeRegions", two_regions)

    status, merged, _ = scan(capsys, "--accounts", org.members[0], "--all-regions", "--dry-run")

    assert status == 0
    assert sorted(p["Region"] for p in merged["Places"]) == sorted(enabled)
    assert {p["Account"] for p in merged["Places"]} == {org.members[0]}


def test_an_ou_scan_takes_its_accounts_and_those_of_its_child_units_only(
    org: Org, capsys: pytest.CaptureFixture[str]
) -> None:
    unit = org.organizations.create_organizational_unit(ParentId=org.root, Name="workloads")
    unit_id = unit["OrganizationalUnit"]["Id"]
    child = org.organizations.create_organizational_unit(ParentId=unit_id, Name="prod")
    direct = org.add_member("direct", parent=unit_id)
    nested = org.add_member("nested", parent=child["OrganizationalUnit"]["Id"])
    left_out = org.add_member("left-out", parent=unit_id)

    status, merged, _ = scan(
        capsys, "--organization", "--ou", unit_id, "--exclude-accounts", left_out, "--dry-run"
    )

    assert status == 0
    assert sorted(p["Account"] for p in merged["Places"]) == sorted([direct, nested])


def test_restore_takes_one_place_of_a_merged_result(
    org: Org, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    group = offending_group(org, ACCOUNT_ID, REGION)
    offending_group(org, org.members[0], REGION)
    _, merged, _ = scan(capsys, "--organization")
    saved = tmp_path / "merged.json"
    saved.write_text(json.dumps(merged))

    refused = cli.main(["restore", str(saved)])
    refused_err = capsys.readouterr().err
    status = cli.main(["restore", str(saved), "--place", f"{ACCOUNT_ID}/{REGION}"])
    report = json.loads(capsys.readouterr().out)

    assert refused == 2
    assert "pass --place ACCOUNT/REGION" in refused_err
    assert status == 0
    assert [r["Status"] for r in report["Rules"]] == ["restored"]
    assert len(live_rules(org, ACCOUNT_ID, REGION, group)) == 1


def test_table_output_has_a_row_per_place_and_the_totals(
    org: Org, capsys: pytest.CaptureFixture[str]
) -> None:
    offending_group(org, org.members[1], REGION)

    status, text, _ = scan(capsys, "--organization", "--dry-run", "-o", "table")

    lines = text.splitlines()
    assert status == 0
    assert lines[0].split() == [
        "ACCOUNT", "REGION", "STATUS", "RULES", "WOULD-REVOKE", "EXEMPT", "FAILED", "DETAIL"
    ]  # fmt: skip
    assert sorted(line.split()[0] for line in lines[1:4]) == org.accounts
    assert lines[-1].startswith("3 places: 3 ok, 0 failed (0 not reachable); 1 would-revoke")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--accounts", "12345"], "not a 12-digit AWS account id"),
        (["--accounts", ACCOUNT_ID, "--organization"], "give one of them"),
        (["--ou", "ou-abcd-12345678"], "go with --organization"),
        (["--regions", "mars-1"], "not an AWS region name"),
        (["--regions", REGION, "--all-regions"], "give one of them"),
        (["--organization", "--group-id", "sg-0123456789abcdef0"], "--group-id"),
        (["--organization", "--concurrency", "0"], "--concurrency"),
        (["--organization", "--ou", "nope"], "not an organisational unit id"),
    ],
)
def test_bad_place_options_exit_2_naming_the_problem(
    org: Org, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    status, out, err = scan(capsys, *args)

    assert (status, out) == (2, "")
    assert message in err


# --- plan across places ---------------------------------------------------------------------


def test_plan_across_the_organisation_names_each_places_changes_and_writes_nothing(
    org: Org,
    proxy: Proxy,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Any,
) -> None:
    """`plan --organization --regions ...`: CURRENT spares tcp/25 over IPv6, NEW denies it."""
    groups = {account: offending_group(org, account, REGION) for account in org.accounts}
    current = tmp_path / "current.json"
    current.write_text(
        json.dumps({"version": 1, "deny": [{"id": "nothing", "group": "sg-00000000"}]})
    )
    new = tmp_path / "new.json"
    new.write_text(json.dumps(DENY_SMTP))
    proxy.clear_calls()

    status = cli.main(
        ["plan", "--denylist", str(new), "--current", str(current), "--organization",
         "--regions", REGION]
    )  # fmt: skip
    plan = json.loads(capsys.readouterr().out)

    assert status == 1
    assert sorted(p["Account"] for p in plan["Places"]) == org.accounts
    changed = {(c["Account"], c["GroupId"], c["Action"]) for c in plan["Changes"]}
    assert changed == {(a, g, "newly-revoked") for a, g in groups.items()}
    writes = [
        c.action for c in proxy.calls if c.action and c.action.startswith(("Revoke", "Authorize"))
    ]
    assert writes == []
