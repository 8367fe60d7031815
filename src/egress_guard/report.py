"""Telling the world: the result log line, metrics, the SNS notice and Config evaluations.

The notice is a message a person reads (notice.py: a text per rule, then the result's
JSON); its subject names the rule and group when there is one, else the counts.

None of these may lose or undo a remediation: a notice that cannot be published is
logged and counted, and the result still stands.

Nothing is dropped for its size either (docs/invariants.md). A result too large for one SNS
message or one CloudWatch Logs event is split into numbered parts ("part k of n"), each a
result document of its own: the same context keys, a share of the lists, and every revoked
rule in the same part as its finding, so each part can be restored from by itself. Sizes
are counted in UTF-8 bytes of the exact text sent. One item is never split; the largest
is bounded by EC2 itself (a rule's description is at most 255 characters, a rule has at
most 50 tags of 128 + 256 characters), far below both budgets; only a free-text string
(an error, a note) could be longer, and it is shortened to fit.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from egress_guard.aws import (
    AwsErrors,
    Clients,
    Ec2,
    GroupInfo,
    error_text,
    publish,
    put_evaluations,
)
from egress_guard.judge import Judge
from egress_guard.notice import (
    ACTED,
    NoticeContext,
    counts_phrase,
    descriptions_of,
    notice_body,
    result_json,
)
from egress_guard.result import Finding, Result
from egress_guard.targets import ConfigInvocation, Targets
from egress_guard.telemetry import SERVICE

logger = Logger(service=SERVICE, child=True)
SECURITY_GROUP = "AWS::EC2::SecurityGroup"

# SNS refuses a message over 262,144 bytes, counting body, subject and attributes
# together; the rest of the margin is theirs (a subject is at most 100 characters).
NOTICE_BODY_BUDGET = 240 * 1024
# A notice's text is not quite additive over its parts' items (its headline counts them);
# parts are cut this much below the budget, and checked against it once made.
NOTICE_TEXT_SLACK = 4 * 1024
# CloudWatch Logs takes events up to 262,144 bytes, 26 of them its own; Lambda splits
# or cuts a longer line. Powertools adds its keys (level, timestamp, function, ...) to
# what is measured here.
LOG_LINE_BUDGET = 200 * 1024
SUBJECT_LIMIT = 100
# Lists every result document has, in every part too (possibly empty): restore and
# other readers look for them.
ALWAYS_LISTED = ("RevokedSecurityGroupRules", "UnknownIpPermissions", "Findings")
SUMMARY_ERRORS = 10
SUMMARY_ERROR_CHARS = 1000

Dumps = Callable[[Any], str]


def notice_text(document: Any) -> str:
    """A notice's result part: indented for people reading it in a mail."""
    return result_json(document)


def log_text(document: Any) -> str:
    """How Powertools Logger writes a value (compact, non-ASCII as is)."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False, default=str)


def utf8_size(text: str) -> int:
    return len(text.encode("utf-8"))


def split_result(document: Mapping[str, Any], budget: int, dumps: Dumps) -> list[dict[str, Any]]:
    """`document` alone when `dumps` of it fits in `budget` bytes; otherwise parts that
    each fit, with "Part" (1-based) and "Parts", that together hold every list item."""
    if utf8_size(dumps(document)) <= budget:
        return [dict(document)]
    lists = [key for key, value in document.items() if isinstance(value, list)]
    header = {key: value for key, value in document.items() if key not in lists}
    # Measured with every list present and the widest part numbers: an upper bound.
    frame = {**header, **{key: [] for key in lists}, "Part": 10**6, "Parts": 10**6}
    room = budget - utf8_size(dumps(frame))
    chunks: list[list[tuple[str, Any]]] = []
    chunk: list[tuple[str, Any]] = []
    used = 0
    for unit in _units(document, lists, room, dumps):
        cost = _unit_cost(unit, dumps)
        if chunk and used + cost > room:
            chunks.append(chunk)
            chunk, used = [], 0
        chunk.extend(unit)
        used += cost
    if chunk:
        chunks.append(chunk)
    return [
        _part(document, lists, chunk, number, len(chunks))
        for number, chunk in enumerate(chunks, start=1)
    ]


def _units(
    document: Mapping[str, Any], lists: Sequence[str], room: int, dumps: Dumps
) -> Iterator[list[tuple[str, Any]]]:
    """What must stay together: a finding with the revoked rule it names; any other list
    item on its own. Findings first, in order, then what no finding claimed."""
    revoked = document.get("RevokedSecurityGroupRules")
    by_rule: dict[str, list[Any]] = {}
    for item in revoked if isinstance(revoked, list) else []:
        if isinstance(item, Mapping):
            by_rule.setdefault(str(item.get("SecurityGroupRuleId")), []).append(item)
    claimed: set[int] = set()
    for finding in document.get("Findings") or []:
        unit: list[tuple[str, Any]] = [("Findings", finding)]
        if isinstance(finding, Mapping) and finding.get("Action") == "revoked":
            for rule in by_rule.get(str(finding.get("SecurityGroupRuleId")), []):
                if id(rule) not in claimed:
                    claimed.add(id(rule))
                    unit.append(("RevokedSecurityGroupRules", rule))
        yield unit
    for key in lists:
        if key == "Findings":
            continue
        for item in document[key]:
            if key == "RevokedSecurityGroupRules" and id(item) in claimed:
                continue
            too_long = isinstance(item, str) and _cost(key, item, dumps) > room
            yield [(key, _shorten(item, max(room // 16, 64)) if too_long else item)]


def _unit_cost(unit: Sequence[tuple[str, Any]], dumps: Dumps) -> int:
    """Bytes a unit adds to a part: its items measured together, as a notice's text renders
    a revoked finding with its rule; for JSON the sum of the items' `_cost`."""
    keys = dict.fromkeys(key for key, _ in unit)
    full = {key: [item for owner, item in unit if owner == key] for key in keys}
    empty: dict[str, list[Any]] = {key: [] for key in keys}
    return utf8_size(dumps(full)) - utf8_size(dumps(empty)) + len(unit)


def _cost(key: str, item: Any, dumps: Dumps) -> int:
    """Bytes one more item adds to a part's list `key` (the comma included): exact for
    json's compact and indented forms, whose nesting depth is the same here."""
    return utf8_size(dumps({key: [item]})) - utf8_size(dumps({key: []})) + 1


def _part(
    document: Mapping[str, Any],
    lists: Sequence[str],
    chunk: Sequence[tuple[str, Any]],
    number: int,
    total: int,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in document.items():
        if key not in lists:
            out[key] = value
            continue
        items = [item for owner, item in chunk if owner == key]
        if items or key in ALWAYS_LISTED:
            out[key] = items
    out["Part"] = number
    out["Parts"] = total
    return out


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters, shortened)"


def log_result(output: Mapping[str, Any]) -> None:
    """The result as one log line when it fits; otherwise a summary line "result" (counts,
    Return, EventId, the first errors) and one line "result part k of n" per part."""
    parts = split_result(output, LOG_LINE_BUDGET, log_text)
    if len(parts) == 1:
        logger.info("result", result=output)
        return
    logger.info("result", result=result_summary(output, len(parts)))
    for part in parts:
        number, total = part["Part"], part["Parts"]
        logger.info(f"result part {number} of {total}", part=number, parts=total, result=part)


def result_summary(output: Mapping[str, Any], parts: int) -> dict[str, Any]:
    """What a split result's first line says: its context, how many of each list (and of
    each action) its parts hold, and the first errors (all of them are in the parts)."""
    out = {key: value for key, value in output.items() if not isinstance(value, list)}
    out["Counts"] = {key: len(value) for key, value in output.items() if isinstance(value, list)}
    findings = output.get("Findings") or []
    out["Actions"] = dict(Counter(str(f.get("Action")) for f in findings if isinstance(f, Mapping)))
    errors = output.get("Errors") or []
    if errors:
        out["Errors"] = [_shorten(str(e), SUMMARY_ERROR_CHARS) for e in errors[:SUMMARY_ERRORS]]
    out["Parts"] = parts
    return out


def record_metrics(metrics: Metrics, result: Result) -> None:
    metrics.add_metric("RulesJudged", MetricUnit.Count, result.rules_judged)
    metrics.add_metric("RulesOffending", MetricUnit.Count, len(result.findings))
    metrics.add_metric("RulesRevoked", MetricUnit.Count, result.count("revoked"))
    metrics.add_metric("RulesWouldRevoke", MetricUnit.Count, result.count("would-revoke"))
    metrics.add_metric("RulesExempt", MetricUnit.Count, result.count("exempt"))
    metrics.add_metric("RevocationsFailed", MetricUnit.Count, result.count("failed"))
    # Over the blast-radius limit: nothing was revoked; alarm on it (docs/configuration.md).
    metrics.add_metric("RevocationsHeld", MetricUnit.Count, result.count("held"))


@dataclass(frozen=True, slots=True)
class Notice:
    """One SNS message: a whole result, or part `part` of `parts`."""

    subject: str
    body: str
    attributes: dict[str, str]
    part: int | None = None
    parts: int | None = None


def notify(
    clients: Clients,
    topic_arn: str,
    result: Result,
    metrics: Metrics,
    *,
    ec2: Ec2 | None = None,
    judge: Judge | None = None,
    exempt_tag: str | None = None,
) -> None:
    """One SNS message when something was (or in a dry run would be) revoked; numbered
    parts when the result is too large for one. Each part is published even when another
    fails; each failure is logged and counted (NotifyFailed), and nothing is undone.

    `ec2` names the groups (names already read cost nothing), `judge` the deny entries'
    descriptions; without them the notice shows ids only."""
    acted = sum(1 for finding in result.findings if finding.action in ACTED)
    if not acted:
        return
    context = notice_context(result, ec2, judge, exempt_tag)
    sns = clients.client("sns", _topic_region(topic_arn))
    failed = sum(1 for notice in notices(result, context) if not _publish(sns, topic_arn, notice))
    if failed:
        metrics.add_metric("NotifyFailed", MetricUnit.Count, failed)


def notice_context(
    result: Result, ec2: Ec2 | None, judge: Judge | None, exempt_tag: str | None
) -> NoticeContext:
    """What the notice names beyond the result; a name that cannot be read is left out."""
    groups: dict[str, GroupInfo] = {}
    if ec2 is not None and result.findings:
        wanted = sorted({f.rule.group_id for f in result.findings})
        try:
            groups = ec2.group_info(wanted)
        except AwsErrors as exc:
            logger.warning("group names not read for the notice", error=error_text(exc))
    descriptions = descriptions_of(judge.denylist.document) if judge is not None else {}
    if exempt_tag is None:
        return NoticeContext(groups, descriptions)
    return NoticeContext(groups, descriptions, exempt_tag)


def notices(result: Result, context: NoticeContext | None = None) -> list[Notice]:
    """The result as it goes to SNS: one notice when it fits, else its parts."""
    context = context or NoticeContext()
    document = result.to_dict()
    common = {"account": result.account or "", "region": result.region or ""}
    common["mode"] = result.mode
    subject = notice_subject(result, context)

    def body(part: Mapping[str, Any]) -> str:
        return notice_body(part, context)

    parts = split_notice(document, body)
    if len(parts) == 1:
        groups = sorted({f.rule.group_id for f in result.findings})
        attributes = {**common, "group": _group_attribute(groups)}
        return [Notice(subject, body(document), attributes)]
    return [
        Notice(
            part_subject(subject, part["Part"], part["Parts"]),
            body(part),
            {
                **common,
                "group": _group_attribute(_groups_named(part)),
                "part": str(part["Part"]),
                "parts": str(part["Parts"]),
            },
            part["Part"],
            part["Parts"],
        )
        for part in parts
    ]


def split_notice(document: Mapping[str, Any], body: Dumps) -> list[dict[str, Any]]:
    """`split_result` for notices, whose text counts too: every part's body is checked
    against the budget, and the split made again with less room should one be over."""
    if utf8_size(body(document)) <= NOTICE_BODY_BUDGET:
        return [dict(document)]
    budget = NOTICE_BODY_BUDGET - NOTICE_TEXT_SLACK
    while True:
        parts = split_result(document, budget, body)
        over = max(utf8_size(body(part)) for part in parts) - NOTICE_BODY_BUDGET
        if over <= 0 or budget <= NOTICE_TEXT_SLACK:
            return parts
        budget -= max(over, NOTICE_TEXT_SLACK)


def _publish(sns: Any, topic_arn: str, notice: Notice) -> bool:
    """Publishes one notice; False (logged) when SNS would not take it."""
    numbering = {"part": notice.part, "parts": notice.parts} if notice.part else {}
    try:
        message_id = publish(
            sns, topic_arn, subject=notice.subject, body=notice.body, attributes=notice.attributes
        )
    except AwsErrors as exc:
        logger.error(
            "notice not published",
            extra={"topic_arn": topic_arn, "error": error_text(exc), **numbering},
        )
        return False
    logger.info(
        "notice published",
        extra={"topic_arn": topic_arn, "message_id": message_id, **numbering},
    )
    return True


def part_subject(subject: str, number: int, total: int) -> str:
    """The subject with " (part k of n)", shortened first so that SNS's limit keeps it."""
    suffix = f" (part {number} of {total})"
    return subject[: SUBJECT_LIMIT - len(suffix)] + suffix


def _groups_named(part: Mapping[str, Any]) -> list[str]:
    groups = {
        str(item["GroupId"])
        for key in ("Findings", "RevokedSecurityGroupRules", "PermissionChecks")
        for item in part.get(key) or []
        if isinstance(item, Mapping) and item.get("GroupId")
    }
    return sorted(groups)


def _group_attribute(groups: Sequence[str]) -> str:
    return ",".join(groups)[:256]


def notice_subject(result: Result, context: NoticeContext | None = None) -> str:
    """`egress-guard revoked tcp/25 -> 0.0.0.0/0 on sg-0abc (web) in ACCOUNT/REGION` for
    one rule; for several, the counts and the group (or how many groups). ASCII, within
    SNS's 100 characters: the group's name is shortened first, then the traffic."""
    context = context or NoticeContext()
    where = f"{result.account or 'this account'}/{result.region or '?'}"
    acted = [f for f in result.findings if f.action in ACTED]
    groups = sorted({f.rule.group_id for f in acted})
    if len(acted) == 1:
        what = f"{_verb(acted[0])} {acted[0].rule.describe()}"
    else:
        what = counts_phrase(Counter(f.action for f in result.findings))
    if len(groups) != 1:
        return _ascii(f"egress-guard {what} in {len(groups)} groups in {where}")[:SUBJECT_LIMIT]
    info = context.groups.get(groups[0])
    return _fit_subject(what, groups[0], info.name if info else "", where)


def _verb(finding: Finding) -> str:
    return {"revoked": "revoked", "would-revoke": "would revoke", "held": "HELD"}.get(
        finding.action, "FAILED to revoke"
    )


def _fit_subject(what: str, group_id: str, name: str, where: str) -> str:
    what, name = _ascii(what), _ascii(name)

    def subject(what: str, name: str) -> str:
        label = f"{group_id} ({name})" if name else group_id
        return f"egress-guard {what} on {label} in {where}"

    if len(subject(what, name)) <= SUBJECT_LIMIT:
        return subject(what, name)
    room = len(name) - (len(subject(what, name)) - SUBJECT_LIMIT)
    if name and room >= 8:
        return subject(what, name[: room - 3] + "...")
    bare = subject(what, "")
    if len(bare) <= SUBJECT_LIMIT:
        return bare
    keep = len(what) - (len(bare) - SUBJECT_LIMIT) - 3
    return subject(what[: max(keep, 0)] + "...", "")[:SUBJECT_LIMIT]


def _ascii(text: str) -> str:
    """SNS takes a subject of printable ASCII on one line."""
    return "".join(c if " " <= c <= "~" else "?" for c in text)


def config_evaluations(
    targets: Targets, invocation: ConfigInvocation, result: Result
) -> list[dict[str, Any]]:
    """The compliance of every group judged: NON_COMPLIANT while an offending rule remains."""
    stamp = _timestamp(invocation.ordering_timestamp)
    resource_type = targets.extra.get("resource_type")
    if invocation.left_scope or (resource_type and resource_type != SECURITY_GROUP):
        resource_id = targets.extra.get("resource_id")
        if not resource_id:
            return []
        return [
            _evaluation(
                resource_type or SECURITY_GROUP,
                str(resource_id),
                "NOT_APPLICABLE",
                "out of scope",
                stamp,
            )
        ]
    out = []
    for group_id in sorted(result.groups_judged):
        if group_id in result.noncompliant_groups:
            entries = sorted({f.entry_id for f in result.findings if f.rule.group_id == group_id})
            annotation = "offending egress rules remain: " + ", ".join(entries)
            out.append(_evaluation(SECURITY_GROUP, group_id, "NON_COMPLIANT", annotation, stamp))
        else:
            out.append(
                _evaluation(
                    SECURITY_GROUP, group_id, "COMPLIANT", "no offending egress rule", stamp
                )
            )
    return out


def report_to_config(
    clients: Clients, targets: Targets, result: Result, *, role_name: str | None = None
) -> None:
    """PutEvaluations with the invocation's result token, in the account and region whose
    rule invoked the function: a member account's (an organisation Config rule runs in
    each member and invokes the central function) through the member role `role_name`,
    the function's own with its own credentials. AWS answers a token with the credentials
    of the account where the rule runs; those of the account that owns the function do not
    do (README "Config and Security Hub across accounts")."""
    invocation = targets.config
    if invocation is None:
        return
    evaluations = config_evaluations(targets, invocation, result)
    if not evaluations:
        return
    try:
        config = clients.client_in("config", result.account, result.region, role_name)
        put_evaluations(config, invocation.result_token, evaluations)
        logger.info("compliance reported to Config", evaluations=len(evaluations))
    except AwsErrors as exc:
        # The remediation stands; Config re-evaluates on its next trigger.
        result.errors.append(f"PutEvaluations failed: {error_text(exc)}")


def _evaluation(
    resource_type: str, resource_id: str, compliance: str, annotation: str, stamp: datetime
) -> dict[str, Any]:
    return {
        "ComplianceResourceType": resource_type,
        "ComplianceResourceId": resource_id,
        "ComplianceType": compliance,
        "Annotation": annotation[:256],
        "OrderingTimestamp": stamp,
    }


def _timestamp(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(UTC)


def _topic_region(topic_arn: str) -> str | None:
    parts = topic_arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else None
