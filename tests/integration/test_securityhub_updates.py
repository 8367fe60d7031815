"""Security Hub findings are told what became of them (BatchUpdateFindings), and only that.

moto 5.2.5 has no BatchUpdateFindings (MOTO_NOTES.md): the proxy's `SecurityHubUpdates`
hook answers it as Security Hub does and records every request.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from support.egress import use_denylist
from support.proxy import Proxy, SecurityHubUpdates
from support.samples import pointed

from egress_guard import cli, handler

pytestmark = pytest.mark.integration

SMTP = {"IpProtocol": "tcp", "Port": 25, "CidrIpv4": "0.0.0.0/0"}
HTTPS = {"IpProtocol": "tcp", "Port": 443, "CidrIpv4": "0.0.0.0/0"}
DENY_SMTP = {
    "version": 1,
    "deny": [{"id": "smtp-out", "protocol": "tcp", "ports": "25", "cidr": ["0.0.0.0/0"]}],
}
CUSTOM_ACTION = "securityhub-custom-action.json"
IMPORTED = "securityhub-finding-imported.json"


@pytest.fixture(autouse=True)
def _denylist(monkeypatch: pytest.MonkeyPatch, fresh_container: None) -> None:
    use_denylist(monkeypatch, DENY_SMTP)


@pytest.fixture
def hub(proxy: Proxy) -> SecurityHubUpdates:
    updates = SecurityHubUpdates()
    proxy.on("*", updates)
    return updates


def invoke(event: dict[str, Any], context: Any) -> dict[str, Any]:
    result: dict[str, Any] = handler.lambda_handler(event, context)
    return result


def the_finding(event: dict[str, Any]) -> dict[str, str]:
    finding = event["detail"]["findings"][0]
    return {"Id": finding["Id"], "ProductArn": finding["ProductArn"]}


def test_custom_action_finding_is_resolved_with_a_note_naming_the_revoked_rule(
    make_group: Any, hub: SecurityHubUpdates, lambda_context: Any
) -> None:
    group = make_group([SMTP, HTTPS], keep_default_egress=False)
    event = pointed(CUSTOM_ACTION, group.group_id)

    invoke(event, lambda_context)

    [request] = hub.requests
    assert request == {
        "FindingIdentifiers": [the_finding(event)],
        "Workflow": {"Status": "RESOLVED"},
        "Note": {
            "Text": f"egress-guard revoked: {group.rule_ids[0]} (smtp-out)",
            "UpdatedBy": "egress-guard",
        },
    }


def test_imported_finding_is_updated_too(
    make_group: Any, hub: SecurityHubUpdates, lambda_context: Any
) -> None:
    group = make_group([SMTP], keep_default_egress=False)

    invoke(pointed(IMPORTED, group.group_id), lambda_context)

    assert [r["Workflow"] for r in hub.requests] == [{"Status": "RESOLVED"}]


def test_report_mode_notifies_with_what_would_be_revoked(
    make_group: Any, hub: SecurityHubUpdates, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODE", "report")
    group = make_group([SMTP], keep_default_egress=False)

    invoke(pointed(CUSTOM_ACTION, group.group_id), lambda_context)

    [request] = hub.requests
    assert request["Workflow"] == {"Status": "NOTIFIED"}
    assert request["Note"]["Text"] == (
        f"egress-guard would revoke (report mode): {group.rule_ids[0]} (smtp-out)"
    )


def test_exempt_rule_notifies_and_says_it_is_exempt(
    make_group: Any, hub: SecurityHubUpdates, lambda_context: Any
) -> None:
    group = make_group([SMTP], keep_default_egress=False, tags={"egress-guard:exempt": "true"})

    invoke(pointed(CUSTOM_ACTION, group.group_id), lambda_context)

    [request] = hub.requests
    assert request["Workflow"] == {"Status": "NOTIFIED"}
    assert request["Note"]["Text"] == f"egress-guard exempt: {group.rule_ids[0]} (smtp-out)"


def test_group_without_a_denylisted_rule_keeps_the_finding_state_with_a_note(
    make_group: Any, hub: SecurityHubUpdates, lambda_context: Any
) -> None:
    group = make_group([HTTPS], keep_default_egress=False)

    invoke(pointed(CUSTOM_ACTION, group.group_id), lambda_context)

    [request] = hub.requests
    assert "Workflow" not in request
    assert request["Note"]["Text"] == (
        f"egress-guard found no denylisted egress rule in: {group.group_id}"
    )


def test_finding_about_something_else_keeps_its_state_with_a_note_saying_why(
    hub: SecurityHubUpdates, lambda_context: Any
) -> None:
    event = pointed(CUSTOM_ACTION, "sg-0123456789abcdef0")
    event["detail"]["findings"][0]["Resources"] = [{"Type": "AwsS3Bucket", "Id": "arn:aws:s3:::b"}]

    invoke(event, lambda_context)

    [request] = hub.requests
    assert "Workflow" not in request
    assert "no AwsEc2SecurityGroup" in request["Note"]["Text"]


def test_suppressed_finding_is_never_touched(
    make_group: Any, hub: SecurityHubUpdates, lambda_context: Any
) -> None:
    group = make_group([SMTP], keep_default_egress=False)
    event = pointed(CUSTOM_ACTION, group.group_id)
    suppressed = copy.deepcopy(event["detail"]["findings"][0])
    suppressed["Id"] += "-suppressed"
    suppressed["Workflow"] = {"Status": "SUPPRESSED"}
    event["detail"]["findings"].append(suppressed)

    invoke(event, lambda_context)

    assert [r["FindingIdentifiers"] for r in hub.requests] == [[the_finding(event)]]


def test_finding_already_carrying_the_same_status_and_note_is_not_updated_again(
    make_group: Any, hub: SecurityHubUpdates, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each update re-imports the finding; the stack's rule matches NOTIFIED findings, so
    the round that follows egress-guard's own update must end without another."""
    monkeypatch.setenv("MODE", "report")
    group = make_group([SMTP], keep_default_egress=False)
    event = pointed(IMPORTED, group.group_id)
    invoke(event, lambda_context)
    [first] = hub.requests
    reimported = copy.deepcopy(event)
    reimported["detail"]["findings"][0]["Workflow"] = first["Workflow"]
    reimported["detail"]["findings"][0]["Note"] = {**first["Note"], "UpdatedAt": "2025-03-04"}

    invoke(reimported, lambda_context)

    assert len(hub.requests) == 1


def test_failed_update_is_noted_and_neither_fails_nor_undoes_the_revocation(
    make_group: Any, ec2: Any, hub: SecurityHubUpdates, lambda_context: Any
) -> None:
    hub.fail_with = ("AccessDeniedException", 403)
    group = make_group([SMTP], keep_default_egress=False)
    event = pointed(CUSTOM_ACTION, group.group_id)

    result = invoke(event, lambda_context)

    assert result["Return"] is True
    assert [f["Action"] for f in result["Findings"]] == ["revoked"]
    assert (
        ec2.describe_security_group_rules(
            Filters=[{"Name": "group-id", "Values": [group.group_id]}]
        )["SecurityGroupRules"]
        == []
    )
    [note] = [n for n in result["Notes"] if "not updated" in n]
    assert the_finding(event)["Id"] in note
    assert "AccessDeniedException" in note


def test_unprocessed_finding_is_noted(
    make_group: Any, hub: SecurityHubUpdates, lambda_context: Any
) -> None:
    group = make_group([SMTP], keep_default_egress=False)
    event = pointed(CUSTOM_ACTION, group.group_id)
    hub.unprocessed.add(the_finding(event)["Id"])

    result = invoke(event, lambda_context)

    assert result["Return"] is True
    assert any("not updated: InvalidInput" in n for n in result["Notes"])


def test_refused_account_updates_no_finding(
    make_group: Any, hub: SecurityHubUpdates, lambda_context: Any
) -> None:
    """An event for an account the function may not act in makes no AWS call at all
    (tests/safety/test_forged_events.py), not even a note on the finding."""
    group = make_group([SMTP], keep_default_egress=False)
    event = pointed(CUSTOM_ACTION, group.group_id)
    finding = event["detail"]["findings"][0]
    finding["AwsAccountId"] = "210987654321"
    finding["Resources"][0]["Id"] = finding["Resources"][0]["Id"].replace(
        "123456789012", "210987654321"
    )

    with pytest.raises(Exception, match="MEMBER_ROLE_NAME is not set"):
        invoke(event, lambda_context)

    assert hub.requests == []


def test_cli_dry_run_updates_no_finding(
    make_group: Any,
    hub: SecurityHubUpdates,
    tmp_path: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    group = make_group([SMTP], keep_default_egress=False)
    path = tmp_path / "event.json"
    path.write_text(json.dumps(pointed(CUSTOM_ACTION, group.group_id)))

    status = cli.main(["invoke", str(path), "--dry-run"])

    assert (status, hub.requests) == (0, [])
    assert "would-revoke" in capsys.readouterr().out


def test_moto_has_no_batch_update_findings(
    make_group: Any, proxy: Proxy, lambda_context: Any
) -> None:
    """Pinned: without the hook moto answers 404; the update is noted, the rest stands."""
    group = make_group([SMTP], keep_default_egress=False)

    result = invoke(pointed(CUSTOM_ACTION, group.group_id), lambda_context)

    assert [c.status for c in proxy.calls if "batchupdate" in c.request.path] == [404]
    assert result["Return"] is True
    assert any("not updated" in n for n in result["Notes"])
