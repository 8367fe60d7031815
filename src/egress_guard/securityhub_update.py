"""Security Hub findings told what became of them: BatchUpdateFindings after remediation.

Each finding of a Security Hub event (Imported or Custom Action) that the parser did not
skip gets one update, and only of its workflow status and note, never of anything else:

- every offending rule of its groups revoked (or already gone): workflow RESOLVED, the
  note naming what was revoked;
- report mode, or an offending rule exempt or held: workflow NOTIFIED, the note saying what
  would be revoked, is exempt or is held (and what was revoked, if anything);
- nothing egress-guard can act on (no security group in the finding, no denylisted rule,
  a group that could not be read, a revocation that failed): the workflow stays as it is,
  and the note says why.

An event refused before any AWS call (another account and no MEMBER_ROLE_NAME, a broken
denylist) updates nothing either.

Every BatchUpdateFindings makes Security Hub send the finding again as "Findings -
Imported", which the stack's rule matches while the workflow is NEW or NOTIFIED. A finding
that already carries the very status and note egress-guard would write is therefore left
alone: the second round ends there instead of looping.

An update that fails is logged, counted (metric SecurityHubUpdateFailed) and noted in the
result; it never undoes a revocation and never fails the invocation. A CLI dry run makes
no update at all. At most 100 findings go in one call (the API's limit), and findings that
get the same status and note share a call.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit

from egress_guard.aws import AwsCallFailed, batch_update_findings, error_text
from egress_guard.result import Finding, Result
from egress_guard.sinks.base import AwsClients, MetricCounter
from egress_guard.targets import HubFinding, HubFindings
from egress_guard.telemetry import SERVICE

logger = Logger(service=SERVICE, child=True)

UPDATED_BY = "egress-guard"
NOTE_LIMIT = 512  # characters of Note.Text
BATCH_LIMIT = 100  # findings per BatchUpdateFindings call
RESOLVED, NOTIFIED = "RESOLVED", "NOTIFIED"
SETTLED = frozenset({"revoked", "gone"})  # nothing offending left behind


@dataclass(frozen=True, slots=True)
class FindingUpdate:
    """What one finding is told: `status` None keeps its workflow status."""

    finding: HubFinding
    status: str | None
    note: str

    @property
    def unchanged(self) -> bool:
        """The finding already says exactly this (egress-guard's own earlier update)."""
        finding = self.finding
        return (
            finding.note_by == UPDATED_BY
            and finding.note_text == self.note
            and (self.status is None or finding.workflow_status == self.status)
        )


def plan(hub: HubFindings, result: Result) -> list[FindingUpdate]:
    """The update of every finding of the event, from what the invocation did."""
    return [decide(finding, result) for finding in hub.findings]


def decide(finding: HubFinding, result: Result) -> FindingUpdate:
    groups = finding.group_ids
    if not groups:
        return keep(finding, f"{UPDATED_BY} cannot act on this finding: no AwsEc2SecurityGroup")
    unread = [g for g in groups if g not in result.groups_judged]
    if unread:
        return keep(finding, _join([("could not read", unread)]))
    mine = [f for f in result.findings if f.rule.group_id in groups]
    failed = [f for f in mine if f.action == "failed"]
    if failed:
        return keep(finding, _join([("could not revoke", _rules(failed))]))
    if not mine:
        return keep(finding, _join([("found no denylisted egress rule in", list(groups))]))
    if all(f.action in SETTLED for f in mine):
        return FindingUpdate(finding, RESOLVED, _settled_note(mine))
    return FindingUpdate(finding, NOTIFIED, _open_note(mine))


def keep(finding: HubFinding, why: str) -> FindingUpdate:
    """The workflow status stays; the note says why egress-guard did not act."""
    return FindingUpdate(finding, None, why[:NOTE_LIMIT])


def _settled_note(findings: Sequence[Finding]) -> str:
    parts = []
    revoked = [f for f in findings if f.action == "revoked"]
    gone = [f for f in findings if f.action == "gone"]
    if revoked:
        parts.append(("revoked", _rules(revoked)))
    if gone:
        parts.append(("already gone", _rules(gone)))
    return _join(parts)


def _open_note(findings: Sequence[Finding]) -> str:
    by_action: dict[str, list[Finding]] = {}
    for item in findings:
        by_action.setdefault(item.action, []).append(item)
    words = {"would-revoke": "would revoke (report mode)", "gone": "already gone"}
    # Revocations first, then what remains and why, in a fixed order.
    order = ["revoked", "gone", "would-revoke", "exempt", "held"]
    actions = sorted(by_action, key=lambda a: (order.index(a) if a in order else len(order), a))
    return _join([(words.get(a, a), _rules(by_action[a])) for a in actions])


def _rules(findings: Iterable[Finding]) -> list[str]:
    """`sgr-... (entry)` for each, sorted, each rule once."""
    return sorted({f"{f.rule.rule_id} ({f.entry_id})" for f in findings})


def _join(parts: list[tuple[str, list[str]]]) -> str:
    """`egress-guard verb: a, b; verb: c`, cut to the note limit with a count of what was
    left out of each part."""
    text = UPDATED_BY
    for number, (verb, items) in enumerate(parts):
        text += ("; " if number else " ") + f"{verb}: "
        # Room kept for each later part: its verb, its first item and "and N more".
        later = sum(len(v) + len(i[0] if i else "") + 20 for v, i in parts[number + 1 :])
        text += _cut(items, NOTE_LIMIT - len(text) - later)
    return text[:NOTE_LIMIT]


def _cut(items: list[str], room: int) -> str:
    """Items joined by ", ", as many as fit in `room` characters, then "and N more"."""
    for shown in range(len(items), 0, -1):
        text = ", ".join(items[:shown])
        if shown < len(items):
            text += f" and {len(items) - shown} more"
        if len(text) <= room:
            return text
    return f"{len(items)} items"


def update_findings(
    clients: AwsClients,
    hub: HubFindings,
    result: Result,
    metrics: MetricCounter,
    *,
    role_name: str | None,
) -> None:
    """Tells Security Hub, where the event came from, what became of each finding.

    The update goes to the event's own account and region: Security Hub there (an
    administrator account or the finding's own) sent the finding and may update it.
    """
    updates = [u for u in plan(hub, result) if not u.unchanged]
    if not updates:
        return
    try:
        client = clients.client_in("securityhub", hub.account, hub.region, role_name)
    except (AwsCallFailed, ValueError) as exc:
        _failed(metrics, result, updates, error_text(exc))
        return
    for batch in _batches(updates):
        _send(client, batch, result, metrics)


def _batches(updates: list[FindingUpdate]) -> Iterable[list[FindingUpdate]]:
    groups: dict[tuple[str | None, str], list[FindingUpdate]] = {}
    for update in updates:
        groups.setdefault((update.status, update.note), []).append(update)
    for same in groups.values():
        for start in range(0, len(same), BATCH_LIMIT):
            yield same[start : start + BATCH_LIMIT]


def _send(client: Any, batch: list[FindingUpdate], result: Result, metrics: MetricCounter) -> None:
    first = batch[0]
    request: dict[str, Any] = {
        "FindingIdentifiers": [
            {"Id": u.finding.finding_id, "ProductArn": u.finding.product_arn} for u in batch
        ],
        "Note": {"Text": first.note, "UpdatedBy": UPDATED_BY},
    }
    if first.status is not None:
        request["Workflow"] = {"Status": first.status}
    try:
        response = batch_update_findings(client, request)
    except AwsCallFailed as exc:
        _failed(metrics, result, batch, error_text(exc))
        return
    unprocessed = {
        item.get("FindingIdentifier", {}).get("Id"): item
        for item in response.get("UnprocessedFindings") or ()
    }
    for update in batch:
        item = unprocessed.get(update.finding.finding_id)
        if item is not None:
            reason = f"{item.get('ErrorCode', 'Unknown')}: {item.get('ErrorMessage', '')}"
            _failed(metrics, result, [update], reason.rstrip(": "))
    done = [u.finding.finding_id for u in batch if u.finding.finding_id not in unprocessed]
    if done:
        metrics.add_metric("SecurityHubUpdated", MetricUnit.Count, len(done))
        logger.info(
            "Security Hub findings updated",
            finding_ids=done,
            workflow_status=first.status or "unchanged",
            note=first.note,
        )


def _failed(
    metrics: MetricCounter, result: Result, updates: list[FindingUpdate], reason: str
) -> None:
    """Logged, counted and noted; the remediation stands and the invocation goes on."""
    metrics.add_metric("SecurityHubUpdateFailed", MetricUnit.Count, len(updates))
    ids = [u.finding.finding_id for u in updates]
    logger.error("Security Hub findings not updated", finding_ids=ids, error=reason)
    for finding_id in ids:
        result.notes.append(f"Security Hub finding {finding_id} not updated: {reason}")
