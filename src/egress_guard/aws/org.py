"""The command line's org scan: the organisation's accounts and the account's regions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from egress_guard.aws.errors import REFUSED_CODES, error_code

ACTIVE = "ACTIVE"
# DescribeRegions' OptInStatus of a region the account may use.
ENABLED_REGIONS = frozenset({"opt-in-not-required", "opted-in"})


def _active(account: Mapping[str, Any]) -> bool:
    """ListAccounts' `State` (current) or `Status` (its older field), whichever is given."""
    return str(account.get("State") or account.get("Status") or "") == ACTIVE


def organization_accounts(org_client: Any) -> list[str]:
    """Every ACTIVE account of the organisation (ListAccounts, every page), sorted."""
    paginator = org_client.get_paginator("list_accounts")
    return sorted(
        str(account["Id"])
        for page in paginator.paginate()
        for account in page.get("Accounts", [])
        if _active(account)
    )


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


def region_states(ec2_client: Any) -> dict[str, bool] | None:
    """Every region EC2 knows of, and whether it is enabled for the account
    (DescribeRegions, AllRegions). None when the credentials may not call it (a member role
    made before the call was needed): the caller then goes on without knowing."""
    try:
        regions = ec2_client.describe_regions(AllRegions=True).get("Regions", [])
    except ClientError as exc:
        if error_code(exc) in REFUSED_CODES:
            return None
        raise
    return {
        str(r["RegionName"]): str(r.get("OptInStatus") or "opt-in-not-required") in ENABLED_REGIONS
        for r in regions
    }
