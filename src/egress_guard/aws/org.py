"""The command line's org scan: the organisation's accounts and the account's regions
(each call raises only the shell's errors, errors.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from egress_guard.aws.errors import REFUSED_CODES, AwsCallFailed, aws_call, translated

if TYPE_CHECKING:
    from mypy_boto3_ec2.client import EC2Client

ACTIVE = "ACTIVE"
# DescribeRegions' OptInStatus of a region the account may use.
ENABLED_REGIONS = frozenset({"opt-in-not-required", "opted-in"})


def _active(account: Mapping[str, Any]) -> bool:
    """ListAccounts' `State` (current) or `Status` (its older field), whichever is given."""
    return str(account.get("State") or account.get("Status") or "") == ACTIVE


@aws_call
def organization_accounts(org_client: Any) -> list[str]:
    """Every ACTIVE account of the organisation (ListAccounts, every page), sorted."""
    paginator = org_client.get_paginator("list_accounts")
    return sorted(
        str(account["Id"])
        for page in paginator.paginate()
        for account in page.get("Accounts", [])
        if _active(account)
    )


@aws_call
def unit_accounts(org_client: Any, unit_id: str) -> list[str]:
    """Every ACTIVE account in the organisational unit and, recursively, in its child
    units (ListAccountsForParent and ListOrganizationalUnitsForParent, every page)."""
    accounts: set[str] = set()
    pending, seen = [unit_id], {unit_id}
    listing = org_client.get_paginator("list_accounts_for_parent")
    children = org_client.get_paginator("list_organizational_units_for_parent")
    while pending:
        parent = pending.pop()
        for page in listing.paginate(ParentId=parent):
            accounts.update(str(a["Id"]) for a in page.get("Accounts", []) if _active(a))
        for page in children.paginate(ParentId=parent):
            for unit in page.get("OrganizationalUnits", []):
                if unit["Id"] not in seen:
                    seen.add(unit["Id"])
                    pending.append(str(unit["Id"]))
    return sorted(accounts)


@aws_call
def region_states(ec2_client: EC2Client) -> dict[str, bool] | None:
    """Every region EC2 knows of, and whether it is enabled for the account
    (DescribeRegions, AllRegions). None when the credentials may not call it (a member role
    made before the call was needed): the caller then goes on without knowing."""
    try:
        with translated():
            regions = ec2_client.describe_regions(AllRegions=True).get("Regions", [])
    except AwsCallFailed as exc:
        if exc.code in REFUSED_CODES:
            return None
        raise
    return {
        str(r["RegionName"]): str(r.get("OptInStatus") or "opt-in-not-required") in ENABLED_REGIONS
        for r in regions
    }
