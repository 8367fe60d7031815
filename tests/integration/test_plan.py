"""`egress-guard plan` against the emulator: the differences a denylist change would make,
read from live rules, with nothing written (issue 11 item 3; docs/command-line.md).

The command runs as a subprocess through the test `Proxy`, which sees every request the
command makes: the plan must make only reads, never a revoke, not even a DryRun one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.cli import cli_lines, egress_cli
from support.egress import HTTPS, SMTP, SMTP_ONLY, MakeGroup, prefix_list
from support.emulator import ACCOUNT_ID, REGION, create_vpc
from support.proxy import Proxy

pytestmark = pytest.mark.integration

# Every request the plan may make: who am I, the rules, prefix-list entries, group tags.
READS = {
    "GetCallerIdentity",
    "DescribeSecurityGroupRules",
    "GetManagedPrefixListEntries",
    "DescribeSecurityGroups",
}
WRITES = {
    "RevokeSecurityGroupEgress",
    "AuthorizeSecurityGroupEgress",
    "AuthorizeSecurityGroupIngress",
    "PutEvaluations",
    "Publish",
    "CreateTags",
}
HTTPS_OUT = {"id": "https-out", "protocol": "tcp", "ports": "443", "cidr": ["0.0.0.0/0"]}
SSH = {"IpProtocol": "tcp", "Port": 22, "CidrIpv4": "0.0.0.0/0"}
SSH_OUT = {"id": "ssh-out", "protocol": "tcp", "ports": "22", "cidr": ["0.0.0.0/0"]}
# SMTP_ONLY, and one more entry.
SMTP_AND_HTTPS = {"version": 1, "deny": [*SMTP_ONLY["deny"], HTTPS_OUT]}
SMTP_AND_SSH = {"version": 1, "deny": [*SMTP_ONLY["deny"], SSH_OUT]}
# Spares SMTP: denies only telnet, which no rule here allows.
TELNET_ONLY = {"version": 1, "deny": [{"id": "telnet-out", "protocol": "tcp", "ports": "23"}]}


def plan(tmp_path: Path, new: Any, *args: str, **env: str) -> tuple[int, dict[str, Any], str]:
    """`egress-guard plan --denylist NEW ARGS` with DENYLIST (CURRENT) = SMTP_ONLY."""
    path = tmp_path / "new.json"
    path.write_text(json.dumps(new))
    done = egress_cli("plan", "--denylist", str(path), *args, **env)
    document = json.loads(done.stdout) if done.stdout.startswith("{") else {}
    return done.returncode, document, done.stderr


def changes(document: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (c["SecurityGroupRuleId"], c["Action"], c["DenylistEntry"]) for c in document["Changes"]
    ]


def assert_read_only(proxy: Proxy) -> None:
    actions = set(proxy.actions())
    assert not actions & WRITES, actions
    assert actions <= READS, actions - READS
    assert not [c for c in proxy.calls if c.request.params.get("DryRun")]


@pytest.fixture
def vpc(ec2: Any) -> str:
    return create_vpc(ec2)


def test_the_same_denylist_is_no_difference_exit_0_and_nothing_written(
    proxy: Proxy, make_group: MakeGroup, vpc: str, tmp_path: Path
) -> None:
    make_group(egress=[SMTP, HTTPS], vpc_id=vpc, keep_default_egress=False)

    status, document, stderr = plan(tmp_path, SMTP_ONLY)  # a sweep of the region

    assert status == 0, stderr
    assert document["Changes"] == []
    (place,) = document["Places"]
    assert (place["Account"], place["Region"]) == (ACCOUNT_ID, REGION)
    assert place["RulesJudged"] >= 2
    assert "DescribeSecurityGroupRules" in proxy.actions()
    assert_read_only(proxy)


def test_an_added_entry_newly_revokes_with_news_entry_exit_1_and_nothing_written(
    proxy: Proxy, make_group: MakeGroup, vpc: str, tmp_path: Path
) -> None:
    group = make_group(egress=[SMTP, HTTPS], vpc_id=vpc, keep_default_egress=False)

    status, document, stderr = plan(tmp_path, SMTP_AND_HTTPS)

    assert status == 1, stderr
    assert changes(document) == [(group.rule_ids[1], "newly-revoked", "https-out")]
    (change,) = document["Changes"]
    assert change["GroupId"] == group.group_id
    assert change["Rule"]["FromPort"] == 443
    assert_read_only(proxy)


def test_a_dropped_entry_newly_spares_with_currents_entry(
    proxy: Proxy, make_group: MakeGroup, vpc: str, tmp_path: Path
) -> None:
    group = make_group(egress=[SMTP, HTTPS], vpc_id=vpc, keep_default_egress=False)

    status, document, _ = plan(tmp_path, TELNET_ONLY, "--group-id", group.group_id)

    assert status == 1
    assert changes(document) == [(group.rule_ids[0], "newly-spared", "smtp-out")]
    assert_read_only(proxy)


def test_a_prefix_list_rule_is_judged_through_the_lists_entries(
    proxy: Proxy, ec2: Any, make_group: MakeGroup, vpc: str, tmp_path: Path
) -> None:
    partners = prefix_list(ec2, "10.20.0.0/16", "192.0.2.0/24", name="partners")
    branches = prefix_list(ec2, "172.16.0.0/12", name="branches")
    smb = {"IpProtocol": "tcp", "Port": 445}
    group = make_group(
        egress=[{**smb, "PrefixListId": partners}, {**smb, "PrefixListId": branches}],
        vpc_id=vpc,
        keep_default_egress=False,
    )
    new = {
        "version": 1,
        "deny": [
            *SMTP_ONLY["deny"],
            {"id": "smb-to-partners", "protocol": "tcp", "ports": "445", "cidr": ["192.0.2.0/24"]},
        ],
    }

    status, document, stderr = plan(tmp_path, new, "--group-id", group.group_id)

    assert status == 1, stderr
    # Only the list holding 192.0.2.0/24 among its entries is revoked by the CIDR entry.
    assert changes(document) == [(group.rule_ids[0], "newly-revoked", "smb-to-partners")]
    reads = [c.request.params.get("PrefixListId") for c in proxy.calls
             if c.action == "GetManagedPrefixListEntries"]  # fmt: skip
    assert sorted(reads) == sorted([partners, branches])  # each list read once
    assert_read_only(proxy)


def test_an_unreadable_prefix_list_fails_the_plan_naming_it(
    proxy: Proxy, ec2: Any, make_group: MakeGroup, vpc: str, tmp_path: Path
) -> None:
    from support.proxy import fail

    created = ec2.create_managed_prefix_list(
        PrefixListName="partners", MaxEntries=5, AddressFamily="IPv4",
        Entries=[{"Cidr": "192.0.2.0/24"}],
    )  # fmt: skip
    pl = created["PrefixList"]["PrefixListId"]
    group = make_group(
        egress=[{"IpProtocol": "tcp", "Port": 445, "PrefixListId": pl}],
        vpc_id=vpc,
        keep_default_egress=False,
    )
    proxy.on("GetManagedPrefixListEntries", fail("UnauthorizedOperation", "not for you", 403))

    status, document, stderr = plan(tmp_path, SMTP_AND_SSH, "--group-id", group.group_id)

    assert (status, document) == (2, {})
    assert cli_lines(stderr) == [
        f"egress-guard: plan not made: prefix list {pl} could not be read: "
        "UnauthorizedOperation: not for you"
    ]


def test_exempt_rules_are_left_out_and_counted(
    proxy: Proxy, make_group: MakeGroup, vpc: str, tmp_path: Path
) -> None:
    exempt_group = make_group(
        egress=[SSH], vpc_id=vpc, keep_default_egress=False, tags={"egress-guard:exempt": "true"}
    )
    until = {"egress-guard:exempt-until": "2999-01-01"}
    plain = make_group(egress=[SSH, {**SSH, "Port": 2222, "Tags": until}], vpc_id=vpc,
                       keep_default_egress=False)  # fmt: skip
    new = {"version": 1, "deny": [*SMTP_ONLY["deny"], {**SSH_OUT, "ports": "22-2222"}]}

    status, document, stderr = plan(
        tmp_path, new, "--group-id", exempt_group.group_id, "--group-id", plain.group_id
    )

    assert status == 1, stderr
    assert changes(document) == [(plain.rule_ids[0], "newly-revoked", "ssh-out")]
    assert document["Summary"]["ExemptLeftOut"] == 2
    assert document["Places"][0]["DueUnderNew"] == 1
    assert_read_only(proxy)


def test_a_limit_new_would_trip_is_reported(
    proxy: Proxy, make_group: MakeGroup, vpc: str, tmp_path: Path
) -> None:
    group = make_group(egress=[SMTP, HTTPS, SSH], vpc_id=vpc, keep_default_egress=False)
    new = {"version": 1, "deny": [*SMTP_AND_HTTPS["deny"], SSH_OUT]}

    status, document, stderr = plan(
        tmp_path, new, "--group-id", group.group_id, MAX_REVOCATIONS="2"
    )

    assert status == 1, stderr
    (held,) = document["Places"][0]["HeldLimits"]
    assert (held["Limit"], held["Setting"], held["Due"], held["Invocation"]) == (
        "MAX_REVOCATIONS", 2, 3, "groups",
    )  # fmt: skip
    assert held["TrippedByCurrent"] is False
    assert_read_only(proxy)


def test_the_table_names_the_group_and_the_change(
    proxy: Proxy, make_group: MakeGroup, vpc: str, tmp_path: Path
) -> None:
    group = make_group(egress=[SMTP, HTTPS], vpc_id=vpc, keep_default_egress=False, name="web")
    path = tmp_path / "new.json"
    path.write_text(json.dumps(SMTP_AND_HTTPS))

    done = egress_cli("plan", "--denylist", str(path), "--group-id", group.group_id, "-o", "table")

    assert done.returncode == 1, done.stderr
    _header, row, summary = done.stdout.splitlines()
    assert row.split() == [
        group.group_id, "web", vpc, group.rule_ids[1], "tcp/443", "->", "0.0.0.0/0",
        "https-out", "newly-revoked",
    ]  # fmt: skip
    assert summary.startswith(f"1 newly revoked, 0 newly spared in {ACCOUNT_ID}/{REGION}; 2 rules")
    assert_read_only(proxy)
