"""What each Security Hub finding is told (status and note), and how the calls are made."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from support.event_samples import GROUP, sample
from support.fake_aws import FakeMetrics

from egress_guard.events import parse_event
from egress_guard.result import Finding, Result
from egress_guard.rules import Rule
from egress_guard.securityhub_update import (
    BATCH_LIMIT,
    NOTE_LIMIT,
    decide,
    update_findings,
)
from egress_guard.targets import HubFinding, HubFindings

OTHER = "sg-0123456789abcdef0"


def hub_finding(*groups: str, finding_id: str = "f-1", **kwargs: Any) -> HubFinding:
    return HubFinding(finding_id, "arn:aws:securityhub:us-east-1::product/aws/securityhub",
                      groups, **kwargs)  # fmt: skip


def rule(number: int, group: str = GROUP) -> Rule:
    return Rule(f"sgr-{number:017x}", group, True, "tcp", 25, 25, cidr_ipv4="0.0.0.0/0")


def result(*findings: tuple[int, str], judged: tuple[str, ...] = (GROUP,)) -> Result:
    out = Result("securityhub:CustomAction", "e-1", "123456789012", "us-east-1", "enforce", False)
    out.groups_judged.update(judged)
    out.findings.extend(Finding(rule(n), "smtp-out", action) for n, action in findings)  # type: ignore[arg-type]
    return out


# --- the parser carries the findings' identifiers ------------------------------------------


def test_parser_carries_each_findings_identifiers_and_groups() -> None:
    event = sample("securityhub-custom-action.json")
    targets = parse_event(event)

    finding = event["detail"]["findings"][0]
    assert targets.securityhub is not None
    assert (targets.securityhub.account, targets.securityhub.region) == (
        "123456789012",
        "us-east-1",
    )
    assert targets.securityhub.findings == (
        HubFinding(finding["Id"], finding["ProductArn"], (GROUP,), workflow_status="NEW"),
    )


def test_parser_carries_a_finding_without_security_group_with_no_groups() -> None:
    event = sample("securityhub-custom-action.json")
    event["detail"]["findings"][0]["Resources"] = [{"Type": "AwsS3Bucket", "Id": "arn:aws:s3:::b"}]

    targets = parse_event(event)

    assert targets.is_noop
    assert targets.securityhub is not None
    assert [f.group_ids for f in targets.securityhub.findings] == [()]


def test_parser_leaves_out_skipped_findings() -> None:
    event = sample("securityhub-custom-action.json")
    event["detail"]["findings"][0]["Workflow"] = {"Status": "RESOLVED"}

    targets = parse_event(event)

    assert targets.securityhub is not None
    assert targets.securityhub.findings == ()


def test_parser_reads_the_findings_note() -> None:
    event = sample("securityhub-custom-action.json")
    event["detail"]["findings"][0]["Note"] = {
        "Text": "hi",
        "UpdatedBy": "someone",
        "UpdatedAt": "x",
    }

    [finding] = parse_event(event).securityhub.findings  # type: ignore[union-attr]

    assert (finding.note_text, finding.note_by) == ("hi", "someone")


def test_parser_ignores_a_malformed_note() -> None:
    event = sample("securityhub-custom-action.json")
    event["detail"]["findings"][0]["Note"] = ["not", "an", "object"]

    [finding] = parse_event(event).securityhub.findings  # type: ignore[union-attr]

    assert (finding.note_text, finding.note_by) == (None, None)


# --- status and note ------------------------------------------------------------------------


def test_all_revoked_resolves() -> None:
    update = decide(hub_finding(GROUP), result((1, "revoked"), (2, "revoked")))
    assert update.status == "RESOLVED"
    assert (
        update.note
        == f"egress-guard revoked: {rule(1).rule_id} (smtp-out), {rule(2).rule_id} (smtp-out)"
    )


def test_revoked_and_already_gone_resolves() -> None:
    update = decide(hub_finding(GROUP), result((1, "revoked"), (2, "gone")))
    assert (update.status, update.note) == (
        "RESOLVED",
        f"egress-guard revoked: {rule(1).rule_id} (smtp-out); "
        f"already gone: {rule(2).rule_id} (smtp-out)",
    )


@pytest.mark.parametrize(
    ("action", "words"),
    [("would-revoke", "would revoke (report mode)"), ("exempt", "exempt"), ("held", "held")],
)
def test_what_is_left_notifies(action: str, words: str) -> None:
    update = decide(hub_finding(GROUP), result((1, "revoked"), (2, action)))
    assert (update.status, update.note) == (
        "NOTIFIED",
        f"egress-guard revoked: {rule(1).rule_id} (smtp-out); "
        f"{words}: {rule(2).rule_id} (smtp-out)",
    )


def test_failed_revocation_keeps_the_state() -> None:
    update = decide(hub_finding(GROUP), result((1, "revoked"), (2, "failed")))
    assert (update.status, update.note) == (
        None,
        f"egress-guard could not revoke: {rule(2).rule_id} (smtp-out)",
    )


def test_group_not_read_keeps_the_state() -> None:
    update = decide(hub_finding(GROUP, OTHER), result((1, "revoked")))
    assert (update.status, update.note) == (None, f"egress-guard could not read: {OTHER}")


def test_only_the_findings_own_groups_count() -> None:
    mixed = result((1, "revoked"), judged=(GROUP, OTHER))
    mixed.findings.append(Finding(rule(2, OTHER), "smtp-out", "exempt"))

    assert decide(hub_finding(GROUP), mixed).status == "RESOLVED"
    assert decide(hub_finding(OTHER), mixed).status == "NOTIFIED"


def test_long_note_is_cut_to_the_limit_and_counts_the_rest() -> None:
    many = result(*[(n, "revoked") for n in range(1, 60)])

    note = decide(hub_finding(GROUP), many).note

    assert len(note) <= NOTE_LIMIT
    assert note.endswith(" more")
    assert note.startswith(f"egress-guard revoked: {rule(1).rule_id} (smtp-out), ")


def test_long_note_keeps_room_for_every_part() -> None:
    many = result(*[(n, "revoked") for n in range(1, 60)], (99, "exempt"))

    note = decide(hub_finding(GROUP), many).note

    assert len(note) <= NOTE_LIMIT
    assert f"; exempt: {rule(99).rule_id} (smtp-out)" in note


def test_earlier_identical_update_by_egress_guard_is_not_repeated() -> None:
    done = decide(hub_finding(GROUP), result((1, "would-revoke")))
    again = hub_finding(
        GROUP, workflow_status="NOTIFIED", note_text=done.note, note_by="egress-guard"
    )

    assert decide(again, result((1, "would-revoke"))).unchanged
    assert not done.unchanged


def test_same_note_by_someone_else_is_not_taken_for_ours() -> None:
    done = decide(hub_finding(GROUP), result((1, "would-revoke")))
    other = hub_finding(GROUP, workflow_status="NOTIFIED", note_text=done.note, note_by="alice")

    assert not decide(other, result((1, "would-revoke"))).unchanged


# --- the calls ------------------------------------------------------------------------------


class FakeSecurityHub:
    def __init__(self, error: Exception | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.error = error

    def batch_update_findings(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        if self.error is not None:
            raise self.error
        return {"ProcessedFindings": request["FindingIdentifiers"], "UnprocessedFindings": []}


class FakeClients:
    def __init__(self, hub: FakeSecurityHub) -> None:
        self.hub = hub
        self.asked: list[tuple[Any, ...]] = []

    def client(self, service: str, region: str | None = None) -> FakeSecurityHub:
        return self.client_in(service, None, region, None)

    def client_in(
        self, service: str, account: str | None, region: str | None, role_name: str | None
    ) -> FakeSecurityHub:
        self.asked.append((service, account, region, role_name))
        return self.hub


def run(hub: FakeSecurityHub, findings: list[HubFinding], res: Result) -> FakeMetrics:
    metrics = FakeMetrics()
    clients = FakeClients(hub)
    update_findings(
        clients,
        HubFindings("123456789012", "eu-west-1", tuple(findings)),
        res,
        metrics,
        role_name="member-role",
    )
    assert all(
        a == ("securityhub", "123456789012", "eu-west-1", "member-role") for a in clients.asked
    )
    return metrics


def test_at_most_100_findings_a_call() -> None:
    hub = FakeSecurityHub()
    findings = [hub_finding(GROUP, finding_id=f"f-{n}") for n in range(250)]

    metrics = run(hub, findings, result((1, "revoked")))

    assert [len(r["FindingIdentifiers"]) for r in hub.requests] == [BATCH_LIMIT, BATCH_LIMIT, 50]
    assert metrics.counts == {"SecurityHubUpdated": 250}


def test_findings_with_different_outcomes_get_separate_calls() -> None:
    hub = FakeSecurityHub()
    findings = [hub_finding(GROUP, finding_id="a"), hub_finding(OTHER, finding_id="b")]

    run(hub, findings, result((1, "revoked")))

    assert [
        (r.get("Workflow"), [i["Id"] for i in r["FindingIdentifiers"]]) for r in hub.requests
    ] == [
        ({"Status": "RESOLVED"}, ["a"]),
        (None, ["b"]),
    ]


def test_the_update_sets_workflow_and_note_only() -> None:
    hub = FakeSecurityHub()

    run(hub, [hub_finding(GROUP)], result((1, "revoked")))

    assert set(hub.requests[0]) == {"FindingIdentifiers", "Workflow", "Note"}
    assert set(hub.requests[0]["Note"]) == {"Text", "UpdatedBy"}


def test_throttled_update_is_counted_and_noted_never_raised() -> None:
    error = ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "slow"}}, "X")
    res = result((1, "revoked"))

    metrics = run(FakeSecurityHub(error), [hub_finding(GROUP)], res)

    assert metrics.counts == {"SecurityHubUpdateFailed": 1}
    assert res.notes == ["Security Hub finding f-1 not updated: TooManyRequestsException: slow"]
    assert res.ok


def test_nothing_to_say_makes_no_call() -> None:
    hub = FakeSecurityHub()

    run(hub, [], result())

    assert hub.requests == []
