"""The SNS notice as a person reads it: plain text first, the result's JSON after it.

Pure: rendered from a result document (or one part of it), so that the size of what is
sent can be measured and split exactly as the document is (sinks/). The text names,
per rule, the group with its name and VPC, the traffic, the deny entry with its
description, who made the change (CloudTrail events), what was done, and an AWS CLI
command that puts a revoked rule back. Below a marker line follows the result itself, the
input of `egress-guard restore`, which reads a notice saved as it came (`result_in_notice`).

Nothing here may fail a notice: a group whose name was not read is shown by its id, an
entry without a description by its id.
"""

from __future__ import annotations

import json
import shlex
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from egress_guard.result_document import FindingRecord, ResultDocument, read
from egress_guard.rules import GroupInfo, Rule
from egress_guard.settings import DEFAULT_EXEMPT_TAG

# The line after which a notice holds the result's JSON (to the end, or to a mail footer).
RESULT_MARKER = "----- egress-guard result (JSON), the input of egress-guard restore -----"
# Free text (errors, notes, descriptions) is cut in the text: the JSON below holds it whole.
TEXT_CHARS = 300
ACTED = ("revoked", "would-revoke", "failed", "held")


@dataclass(frozen=True, slots=True)
class NoticeContext:
    """What a notice names beyond the result: groups' names and VPCs (by group id), deny
    entries' descriptions (by entry id), and the exemption tag key a restore may add."""

    groups: Mapping[str, GroupInfo] = field(default_factory=dict)
    descriptions: Mapping[str, str] = field(default_factory=dict)
    exempt_tag: str = DEFAULT_EXEMPT_TAG

    def group_label(self, group_id: str) -> str:
        """`sg-0abc (web) in vpc-0def`, or as much of it as is known."""
        info = self.groups.get(group_id)
        if info is None:
            return group_id
        label = f"{group_id} ({info.name})" if info.name else group_id
        return f"{label} in {info.vpc_id}" if info.vpc_id else label


def descriptions_of(document: Mapping[str, Any]) -> dict[str, str]:
    """Entry id -> description of a (normalised) denylist document's deny entries."""
    out: dict[str, str] = {}
    for entry in document.get("deny") or ():
        if isinstance(entry, Mapping):
            text = entry.get("description")
            if isinstance(text, str) and text.strip():
                out[str(entry.get("id"))] = text.strip()
    return out


def counts_phrase(actions: Counter[str]) -> str:
    """`revoked 3 egress rules, FAILED on 1`: what was (or would be) done, by action."""
    revoked, would, failed, held = (actions[a] for a in ACTED)
    parts = []
    if revoked:
        parts.append(f"revoked {revoked} egress rule{'s' * (revoked != 1)}")
    if would:
        parts.append(f"would revoke {would} egress rule{'s' * (would != 1)}")
    if failed:
        parts.append(f"FAILED on {failed}")
    if held:
        parts.append(f"HELD {held} egress rule{'s' * (held != 1)} (over the limit)")
    return ", ".join(parts)


def notice_body(document: Mapping[str, Any], context: NoticeContext) -> str:
    """The whole message: the text, then the marker line, then the document's JSON."""
    return f"{notice_message(document, context)}\n\n{RESULT_MARKER}\n{result_json(document)}\n"


def result_json(document: Any) -> str:
    """The result part of a notice: indented for people reading it in a mail."""
    return json.dumps(document, indent=2, default=str)


def result_in_notice(text: str) -> Any:
    """The result a notice carries, or None when `text` holds no marker line. Whatever
    follows the JSON (an e-mail's unsubscribe footer) is ignored; ValueError when what
    follows the marker is not JSON."""
    at = text.rfind(f"\n{RESULT_MARKER}\n")
    if at < 0:
        if not text.startswith(f"{RESULT_MARKER}\n"):
            return None
        at = -1
    rest = text[at + len(RESULT_MARKER) + 2 :].lstrip()
    try:
        document, _ = json.JSONDecoder().raw_decode(rest)
    except json.JSONDecodeError as exc:
        raise ValueError(f"the notice's result part is not JSON: {exc}") from None
    except RecursionError:
        raise ValueError("the notice's result part is nested too deeply") from None
    return document


def notice_message(document: Mapping[str, Any], context: NoticeContext) -> str:
    """The text a person reads: a headline, a block per finding, errors and notes, and
    how to put back what this message revoked."""
    result = read(document)
    region = result.region or ""
    revoked = result.revoked_items()
    lines = _headline(result)
    for finding in result.findings:
        lines.append("")
        lines.extend(_finding_block(finding, revoked, region, context))
    for texts, title in ((result.errors, "Errors"), (result.notes, "Notes")):
        if texts:
            lines.append("")
            lines.append(f"{title}:")
            lines.extend(f"  - {_cut(t)}" for t in texts)
    if any(f.restorable for f in result.findings):
        lines.append("")
        lines.extend(_restore_all(result, context))
    return "\n".join(lines)


def _headline(result: ResultDocument) -> list[str]:
    actions = Counter(str(f.action) for f in result.findings)
    what = counts_phrase(actions) or "found no rule to revoke"
    where = f"account {result.account or '?'}, region {result.region or '?'}"
    lines = [f"egress-guard {what} in {where}."]
    if result.source:
        event = f" (event {result.event_id})" if result.event_id else ""
        lines.append(f"Triggered by {result.source}{event}, mode {result.mode or '?'}.")
    if result.part:
        lines.append(
            f"This is part {result.part} of {result.parts}: it names its own"
            " rules, and its result below restores them by itself."
        )
    return lines


def _finding_block(
    finding: FindingRecord,
    revoked: Mapping[str, Mapping[str, Any]],
    region: str,
    context: NoticeContext,
) -> list[str]:
    group_id = str(finding.group_id)
    entry = str(finding.entry_id)
    rule = _rule_of(finding, revoked)
    traffic = f"{finding.rule_id}: {finding.traffic}"
    if rule is not None and rule.description:
        traffic += f' ("{_cut(rule.description)}")'
    description = context.descriptions.get(entry)
    lines = [
        _field("Group", context.group_label(group_id), bullet="-"),
        _field("Rule", traffic),
        _field("Denylist", entry + (f": {_cut(description)}" if description else "")),
    ]
    if finding.actor is not None:
        lines.append(_field("Changed by", finding.actor.describe()))
    lines.append(_field("Action", _action_text(finding, context)))
    if rule is not None and region:
        how = "If it is gone, put it back" if finding.action == "failed" else "Put back"
        lines.append(f"  {how} with:")
        lines.append(f"    {authorize_command(rule, region)}")
    return lines


def _field(label: str, value: str, bullet: str = " ") -> str:
    return f"{bullet} {label + ':':<11} {value}"


def _action_text(finding: FindingRecord, context: NoticeContext) -> str:
    action = str(finding.action)
    error = f": {_cut(finding.error)}" if finding.error else ""
    if action == "revoked":
        return "revoked"
    if action == "would-revoke":
        return "would revoke (report mode or dry run: left in place)"
    if action == "failed":
        maybe = " It may have been revoked after all." if finding.maybe_revoked else ""
        return f"FAILED to revoke{error}.{maybe}"
    if action == "exempt":
        return f"exempt ({context.exempt_tag} tag): left in place"
    if action == "gone":
        return "gone: removed before egress-guard revoked it"
    if action == "held":
        return "held: more rules were due than the blast-radius limit allows; left in place"
    return f"{action}{error}"


def _restore_all(result: ResultDocument, context: NoticeContext) -> list[str]:
    account = result.account or "?"
    region = result.region or "?"
    return [
        f"To put back every rule this message revoked, with credentials for account {account}:",
        "save this message as it is (or the result below) as notice.txt, then run",
        f"  egress-guard restore notice.txt --region {region}",
        "In enforce mode egress-guard revokes a restored rule again unless it is exempt: add",
        f"  --tag {context.exempt_tag}=true  to the restore, or tag the rule or its group.",
    ]


def authorize_command(rule: Rule, region: str) -> str:
    """The AWS CLI command that re-creates `rule` (with its description and tags)."""
    words = [
        "aws ec2 authorize-security-group-egress",
        f"--region {shlex.quote(region)}",
        f"--group-id {shlex.quote(rule.group_id)}",
        f"--ip-permissions {_json_word([rule.to_ip_permission()])}",
    ]
    if rule.tags:
        spec = {
            "ResourceType": "security-group-rule",
            "Tags": [{"Key": key, "Value": value} for key, value in rule.tags],
        }
        words.append(f"--tag-specifications {_json_word([spec])}")
    return " ".join(words)


def _json_word(value: Any) -> str:
    return shlex.quote(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


def _rule_of(finding: FindingRecord, revoked: Mapping[str, Mapping[str, Any]]) -> Rule | None:
    """The full rule a revoked (or maybe revoked) finding names, with its tags and a
    referenced group's owner; None for other findings or a definition not at hand."""
    if not finding.restorable:
        return None
    item = revoked.get(str(finding.rule_id)) if finding.action == "revoked" else finding.rule
    if item is None or item.get("GroupId") != finding.group_id:
        return None
    owner = finding.referenced.owner if finding.referenced is not None else None
    try:
        return Rule.from_revoked(item, finding.tags or (), owner or None)
    except (KeyError, TypeError, ValueError):
        return None


def _cut(text: str) -> str:
    """One line of at most TEXT_CHARS characters."""
    line = " ".join(text.split())
    return line if len(line) <= TEXT_CHARS else f"{line[: TEXT_CHARS - 3]}..."
