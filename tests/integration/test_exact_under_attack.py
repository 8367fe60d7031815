"""Issue 8, "exact under attack", against the emulator: what the result claims is exact.

- A managed prefix list whose entries cannot be read fails its rule (never clean), and the
  invocation raises so that Lambda retries.
- A revoke EC2 confirmed (`Return: true` and its `RevokedSecurityGroupRules`) stands,
  however the reads after it fail; an answer with `Return` only whose read-back fails
  leaves the rule `failed` and MaybeRevoked, and `restore` puts it back.
- A referenced group of another account keeps its owner, in the finding and on restore.
- `restore` puts back only what the findings say was revoked (or `--force`), and refuses a
  result that names no account; manual results name the credentials' account.
- A group the operator named (manual request, `scan --group-id`) that does not exist is an
  error naming it, exit 2; rule ids that match nothing are named in Notes.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from support.cli import cli_lines, egress_cli
from support.egress import SMTP, SMTP_ONLY, MakeGroup, egress_rules, prefix_list, use_denylist
from support.emulator import ACCOUNT_ID, Group, create_vpc
from support.proxy import Forward, Proxy, Request, Response, ec2_error, fail
from support.proxy import add_revoked_security_group_rules as listing_revoked_rules
from support.samples import authorize_egress

from egress_guard import handler
from egress_guard.remediate import GroupNotFound
from egress_guard.service import RemediationFailed

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("fresh_container")]

OTHER_ACCOUNT = "210987654321"
MISSING_GROUP = "sg-0123456789abcdef0"
DENY_BAD_RANGE = {
    "version": 1,
    "deny": [{"id": "known-bad-range", "protocol": "udp", "cidr": ["203.0.113.0/24"]}],
}


@dataclass(frozen=True)
class Attack:
    """The function under attack: its proxy, the emulator behind it, a group, a run."""

    proxy: Proxy
    ec2: Any
    make_group: MakeGroup
    context: Any
    monkeypatch: pytest.MonkeyPatch

    def deny(self, document: dict[str, Any]) -> None:
        use_denylist(self.monkeypatch, document)

    def invoke(self, group: Group) -> tuple[dict[str, Any], bool]:
        """The handler's result for the event that created `group`'s rules, and whether it
        raised RemediationFailed."""
        try:
            event = authorize_egress(group.group_id, *group.rule_ids)
            return handler.lambda_handler(event, self.context), False
        except RemediationFailed as exc:
            return exc.result.to_dict(), True

    def live(self, group: Group) -> set[str]:
        return {r["SecurityGroupRuleId"] for r in egress_rules(self.ec2, group.group_id)}


@pytest.fixture
def attack(
    proxy: Proxy,
    ec2: Any,
    make_group: MakeGroup,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> Attack:
    return Attack(proxy, ec2, make_group, lambda_context, monkeypatch)


class ReadsFailAfterRevoke:
    """Hooks: every DescribeSecurityGroupRules after the first revoke fails (throttled)."""

    def __init__(self) -> None:
        self.revoked = threading.Event()

    def revoke(self, request: Request, forward: Forward) -> Response:
        response = forward(request)
        self.revoked.set()
        return response

    def describe(self, request: Request, forward: Forward) -> Response:
        if self.revoked.is_set():
            return ec2_error("RequestLimitExceeded", "Request limit exceeded.", 503)
        return forward(request)

    def install(self, proxy: Proxy) -> None:
        proxy.on("DescribeSecurityGroupRules", self.describe)
        proxy.on("RevokeSecurityGroupEgress", self.revoke)


def listing_only_the_first(request: Request, forward: Forward) -> Response:
    """EC2's answer shape, but its RevokedSecurityGroupRules lists the first rule only."""
    response = forward(request)
    root = response.xml()
    for child in root:
        if child.tag.endswith("revokedSecurityGroupRuleSet"):
            for extra in list(child)[1:]:
                child.remove(extra)
    return response.with_xml(root)


def answer_lost(request: Request, forward: Forward) -> Response:
    """The revoke happens, but every answer to it is lost (an internal error each time)."""
    forward(request)
    return ec2_error("InternalError", "An internal error has occurred.", 500)


# --- prefix lists ----------------------------------------------------------------------------


@pytest.fixture
def behind_a_bad_list(attack: Attack) -> tuple[str, Group]:
    """A udp/500 rule to a prefix list inside the denied range: the list and the group."""
    attack.deny(DENY_BAD_RANGE)
    bad = prefix_list(attack.ec2, "203.0.113.64/26")
    return bad, attack.make_group([{"IpProtocol": "udp", "Port": 500, "PrefixListId": bad}])


def test_an_unreadable_prefix_list_fails_its_rule_and_the_invocation(
    attack: Attack, behind_a_bad_list: tuple[str, Group]
) -> None:
    bad, group = behind_a_bad_list
    attack.proxy.on("GetManagedPrefixListEntries", fail("UnauthorizedOperation", "no", status=403))

    result, raised = attack.invoke(group)

    assert raised
    assert result["Return"] is False
    assert [(f["SecurityGroupRuleId"], f["Action"], f["DenylistEntry"]) for f in
            result["Findings"]] == [(group.rule_ids[0], "failed", "known-bad-range")]  # fmt: skip
    assert result["Findings"][0]["Error"] == (
        f"prefix list {bad} not read: UnauthorizedOperation: no"
    )
    assert "RevokeSecurityGroupEgress" not in attack.proxy.actions()
    assert group.rule_ids[0] in attack.live(group)


def test_the_retry_with_the_list_readable_revokes_the_rule(
    attack: Attack, behind_a_bad_list: tuple[str, Group]
) -> None:
    _, group = behind_a_bad_list
    attack.proxy.on(
        "GetManagedPrefixListEntries", fail("UnauthorizedOperation", status=403, times=1)
    )

    _, raised = attack.invoke(group)
    result, raised_again = attack.invoke(group)

    assert (raised, raised_again) == (True, False)
    assert [f["Action"] for f in result["Findings"]] == ["revoked"]


# --- confirming revocations ------------------------------------------------------------------


def smtp_and_smtps_listed_short(attack: Attack) -> Group:
    """tcp/25 and tcp/465; EC2 confirms a revoke listing only its first rule, and every read
    after it fails."""
    group = attack.make_group([SMTP, {**SMTP, "Port": 465}], keep_default_egress=False)
    attack.proxy.on("RevokeSecurityGroupEgress", listing_revoked_rules)
    attack.proxy.on("RevokeSecurityGroupEgress", listing_only_the_first)
    ReadsFailAfterRevoke().install(attack.proxy)
    return group


def test_a_revoke_ec2_confirmed_stands_when_the_reads_after_it_fail(attack: Attack) -> None:
    attack.deny(SMTP_ONLY)
    group = smtp_and_smtps_listed_short(attack)

    result, raised = attack.invoke(group)

    assert not raised
    assert result["Return"] is True
    assert [f["Action"] for f in result["Findings"]] == ["revoked"]
    assert [r["SecurityGroupRuleId"] for r in result["RevokedSecurityGroupRules"]] == [
        group.rule_ids[0]
    ]
    assert attack.live(group) == {group.rule_ids[1]}  # tcp/465: not offending, kept


def test_every_rule_of_a_confirmed_revoke_is_revoked_even_if_the_answer_lists_fewer(
    attack: Attack,
) -> None:
    attack.deny({"version": 1, "deny": [{"id": "tcp-out", "protocol": "tcp"}]})
    group = smtp_and_smtps_listed_short(attack)

    result, raised = attack.invoke(group)

    assert not raised
    assert [f["Action"] for f in result["Findings"]] == ["revoked", "revoked"]
    assert {r["SecurityGroupRuleId"] for r in result["RevokedSecurityGroupRules"]} == set(
        group.rule_ids
    )
    assert attack.live(group) == set()


def test_a_return_only_answer_stands_though_the_reads_after_it_fail(attack: Attack) -> None:
    """moto's bare `Return: true` confirms the revoke: no read-back that could undo it."""
    attack.deny(SMTP_ONLY)
    group = attack.make_group([SMTP], keep_default_egress=False)
    ReadsFailAfterRevoke().install(attack.proxy)

    result, raised = attack.invoke(group)

    assert not raised
    assert [f["Action"] for f in result["Findings"]] == ["revoked"]
    assert [r["SecurityGroupRuleId"] for r in result["RevokedSecurityGroupRules"]] == list(
        group.rule_ids
    )


@pytest.mark.slow
def test_an_unconfirmed_revoke_is_failed_maybe_revoked_and_restore_puts_it_back(
    attack: Attack, tmp_path: Path
) -> None:
    """The revoke's answer is lost and the read-back fails: the rule's state is unknown."""
    attack.deny(SMTP_ONLY)
    group = attack.make_group([{**SMTP, "Tags": {"team": "mail"}}], keep_default_egress=False)
    ReadsFailAfterRevoke().install(attack.proxy)
    attack.proxy.on("RevokeSecurityGroupEgress", answer_lost)

    result, raised = attack.invoke(group)

    assert raised
    (finding,) = result["Findings"]
    assert (finding["Action"], finding["MaybeRevoked"]) == ("failed", True)
    assert finding["Tags"] == [{"Key": "team", "Value": "mail"}]
    assert result["RevokedSecurityGroupRules"] == []
    assert result["Account"] == ACCOUNT_ID
    assert attack.live(group) == set()  # it was revoked after all

    attack.proxy.off()
    path = tmp_path / "result.json"
    path.write_text(json.dumps(result))
    done = egress_cli("restore", str(path))
    assert done.returncode == 0, done.stderr
    assert [r["Status"] for r in json.loads(done.stdout)["Rules"]] == ["restored"]
    (back,) = egress_rules(attack.ec2, group.group_id)
    assert (back["FromPort"], back["CidrIpv4"], back["Description"]) == (
        25,
        "0.0.0.0/0",
        "mail relay",
    )
    assert back["Tags"] == [{"Key": "team", "Value": "mail"}]


# --- referenced groups of other accounts --------------------------------------------------------


def test_a_reference_to_another_accounts_group_is_restored_with_its_owner(
    aws_env: str, ec2: Any, make_group: MakeGroup, tmp_path: Path
) -> None:
    vpc_id = create_vpc(ec2)
    group = make_group(vpc_id=vpc_id, keep_default_egress=False)
    peer = make_group(vpc_id=vpc_id)  # stands for the peer account's group (MOTO_NOTES.md)
    ec2.authorize_security_group_egress(
        GroupId=group.group_id,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
                        "UserIdGroupPairs": [{"GroupId": peer.group_id, "UserId": OTHER_ACCOUNT,
                                              "Description": "peer db"}]}],
    )  # fmt: skip
    denylist = {"version": 1, "deny": [{"id": "no-peer-db", "group": peer.group_id}]}

    scan = egress_cli("scan", "--group-id", group.group_id, denylist=denylist)
    assert scan.returncode == 0, scan.stderr
    (finding,) = json.loads(scan.stdout)["Findings"]
    assert finding["ReferencedGroupInfo"] == {"GroupId": peer.group_id, "UserId": OTHER_ACCOUNT}
    assert egress_rules(ec2, group.group_id) == []

    path = tmp_path / "result.json"
    path.write_text(scan.stdout)
    done = egress_cli("restore", str(path))
    assert done.returncode == 0, done.stderr
    (back,) = egress_rules(ec2, group.group_id)
    assert back["ReferencedGroupInfo"] == {"GroupId": peer.group_id, "UserId": OTHER_ACCOUNT}


# --- hand-edited results ----------------------------------------------------------------------


def test_restore_refuses_a_rule_the_findings_do_not_say_was_revoked(
    aws_env: str, ec2: Any, make_group: MakeGroup, tmp_path: Path
) -> None:
    group = make_group([SMTP], keep_default_egress=False)
    scan = egress_cli("scan", "--group-id", group.group_id)
    assert scan.returncode == 0, scan.stderr
    result = json.loads(scan.stdout)
    smuggled = {**result["RevokedSecurityGroupRules"][0], "SecurityGroupRuleId":
                "sgr-0123456789abcdef0", "FromPort": 0, "ToPort": 65535}  # fmt: skip
    result["RevokedSecurityGroupRules"].append(smuggled)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(result))

    refused = egress_cli("restore", str(path))
    assert refused.returncode == 2
    (line,) = cli_lines(refused.stderr)
    assert "RevokedSecurityGroupRules[1] (sgr-0123456789abcdef0): no revoked finding" in line
    assert egress_rules(ec2, group.group_id) == []

    forced = egress_cli("restore", str(path), "--force")
    assert forced.returncode == 0, forced.stderr
    assert json.loads(forced.stdout)["Restored"] == 2
    assert len(egress_rules(ec2, group.group_id)) == 2


# --- groups and rules the operator named --------------------------------------------------------


def test_scan_of_a_missing_group_is_an_error_naming_it(aws_env: str, make_group: MakeGroup) -> None:
    present = make_group([SMTP])

    done = egress_cli("scan", "--group-id", present.group_id, "--group-id", MISSING_GROUP)

    assert done.returncode == 2
    assert done.stdout == ""
    assert cli_lines(done.stderr) == [
        f"egress-guard: InvalidGroup.NotFound: the security group '{MISSING_GROUP}' does not exist"
    ]
    assert len(egress_rules(present_client(), present.group_id)) == 2  # nothing revoked


def present_client() -> Any:
    import boto3

    return boto3.client("ec2")


def test_invoke_of_a_manual_request_for_a_missing_group_exits_2(
    aws_env: str, tmp_path: Path
) -> None:
    path = tmp_path / "request.json"
    path.write_text(json.dumps({"GroupId": MISSING_GROUP}))

    done = egress_cli("invoke", str(path))

    assert done.returncode == 2
    assert cli_lines(done.stderr) == [
        f"egress-guard: InvalidGroup.NotFound: the security group '{MISSING_GROUP}' does not exist"
    ]


def test_the_handler_raises_for_a_manual_request_naming_a_missing_group(
    aws_env: str, lambda_context: Any
) -> None:
    with pytest.raises(GroupNotFound, match=MISSING_GROUP):
        handler.lambda_handler({"GroupId": MISSING_GROUP}, lambda_context)


def test_a_manual_request_naming_no_rule_of_the_group_says_so(
    aws_env: str, ec2: Any, make_group: MakeGroup, lambda_context: Any
) -> None:
    group = make_group([SMTP])
    other = make_group([SMTP])
    unknown = "sgr-0123456789abcdef0"

    result = handler.lambda_handler(
        {"GroupId": group.group_id, "SecurityGroupRuleIds": [unknown, other.rule_ids[0]]},
        lambda_context,
    )

    assert (result["Return"], result["Findings"]) == (True, [])
    assert [note.split(":")[0] for note in result["Notes"]] == [unknown, other.rule_ids[0]]
    assert "nothing done for it" in result["Notes"][0]
    assert result["Account"] == ACCOUNT_ID
    assert len(egress_rules(ec2, other.group_id)) == 2


def test_an_event_about_a_deleted_group_stays_a_no_op(aws_env: str, lambda_context: Any) -> None:
    result = handler.lambda_handler(authorize_egress(MISSING_GROUP, "sgr-0123456789abcdef0"),
                                    lambda_context)  # fmt: skip

    assert (result["Return"], result["Findings"]) == (True, [])
    assert "Notes" not in result
