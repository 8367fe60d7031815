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

from egress_guard.aws import GroupInfo
from egress_guard.events.actor import Actor
from egress_guard.rules import Rule
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
    region = str(document.get("Region") or "")
    findings = [f for f in document.get("Findings") or () if isinstance(f, Mapping)]
    revoked = _revoked_rules(document)
    lines = _headline(document, findings)
    for finding in findings:
        lines.append("")
        lines.extend(_finding_block(finding, revoked, region, context))
    for key, title in (("Errors", "Errors"), ("Notes", "Notes")):
        texts = [t for t in document.get(key) or () if isinstance(t, str)]
        if texts:
            lines.append("")
            lines.append(f"{title}:")
            lines.extend(f"  - {_cut(t)}" for t in texts)
    if any(_restorable(f) for f in findings):
        lines.append("")
        lines.extend(_restore_all(document, context))
    return "\n".join(lines)


def _headline(document: Mapping[str, Any], findings: list[Mapping[str, Any]]) -> list[str]:
    actions = Counter(str(f.get("Action")) for f in findings)
    what = counts_phrase(actions) or "found no rule to revoke"
    where = f"account {document.get('Account') or '?'}, region {document.get('Region') or '?'}"
    lines = [f"egress-guard {what} in {where}."]
    source = document.get("Source")
    if source:
        event = f" (event {document['EventId']})" if document.get("EventId") else ""
        lines.append(f"Triggered by {source}{event}, mode {document.get('Mode') or '?'}.")
    if document.get("Part"):
        lines.append(
            f"This is part {document['Part']} of {document.get('Parts')}: it names its own"
            " rules, and its result below restores them by itself."
        )
    return lines


def _finding_block(
    finding: Mapping[str, Any],
    revoked: Mapping[str, Mapping[str, Any]],
    region: str,
    context: NoticeContext,
) -> list[str]:
    group_id = str(finding.get("GroupId"))
    rule_id = str(finding.get("SecurityGroupRuleId"))
    entry = str(finding.get("DenylistEntry"))
    rule = _rule_of(finding, revoked)
    traffic = f"{rule_id}: {finding.get('Traffic')}"
    if rule is not None and rule.description:
        traffic += f' ("{_cut(rule.description)}")'
    description = context.descriptions.get(entry)
    lines = [
        _field("Group", context.group_label(group_id), bullet="-"),
        _field("Rule", traffic),
        _field("Denylist", entry + (f": {_cut(description)}" if description else "")),
    ]
    actor = _actor(finding.get("Actor"))
    if actor is not None:
        lines.append(_field("Changed by", actor.describe()))
    lines.append(_field("Action", _action_text(finding, context)))
    if rule is not None and region:
        how = "If it is gone, put it back" if finding.get("Action") == "failed" else "Put back"
        lines.append(f"  {how} with:")
        lines.append(f"    {authorize_command(rule, region)}")
    return lines


def _field(label: str, value: str, bullet: str = " ") -> str:
    return f"{bullet} {label + ':':<11} {value}"


def _action_text(finding: Mapping[str, Any], context: NoticeContext) -> str:
    action = str(finding.get("Action"))
    error = f": {_cut(str(finding['Error']))}" if finding.get("Error") else ""
    if action == "revoked":
        return "revoked"
    if action == "would-revoke":
        return "would revoke (report mode or dry run: left in place)"
    if action == "failed":
        maybe = " It may have been revoked after all." if finding.get("MaybeRevoked") else ""
        return f"FAILED to revoke{error}.{maybe}"
    if action == "exempt":
        return f"exempt ({context.exempt_tag} tag): left in place"
    if action == "gone":
        return "gone: removed before egress-guard revoked it"
    if action == "held":
        return "held: more rules were due than the blast-radius limit allows; left in place"
    return f"{action}{error}"


def _restorable(finding: Mapping[str, Any]) -> bool:
    return finding.get("Action") == "revoked" or finding.get("MaybeRevoked") is True


def _restore_all(document: Mapping[str, Any], context: NoticeContext) -> list[str]:
    account = document.get("Account") or "?"
    region = document.get("Region") or "?"
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


def _revoked_rules(document: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    out: dict[str, Mapping[str, Any]] = {}
    for item in document.get("RevokedSecurityGroupRules") or ():
        if isinstance(item, Mapping) and item.get("SecurityGroupRuleId"):
            out[str(item["SecurityGroupRuleId"])] = item
    return out


def _rule_of(finding: Mapping[str, Any], revoked: Mapping[str, Mapping[str, Any]]) -> Rule | None:
    """The full rule a revoked (or maybe revoked) finding names, with its tags and a
    referenced group's owner; None for other findings or a definition not at hand."""
    if not _restorable(finding):
        return None
    if finding.get("Action") == "revoked":
        item = revoked.get(str(finding.get("SecurityGroupRuleId")))
    else:
        item = finding.get("Rule")
    if not isinstance(item, Mapping) or item.get("GroupId") != finding.get("GroupId"):
        return None
    tags = tuple(
        (str(t.get("Key")), str(t.get("Value", "")))
        for t in finding.get("Tags") or ()
        if isinstance(t, Mapping)
    )
    ref = finding.get("ReferencedGroupInfo")
    owner = ref.get("UserId") if isinstance(ref, Mapping) else None
    try:
        return Rule.from_revoked(item, tags, str(owner) if owner else None)
    except (KeyError, TypeError, ValueError):
        return None


def _actor(value: Any) -> Actor | None:
    if not isinstance(value, Mapping):
        return None

    def text(key: str) -> str | None:
        found = value.get(key)
        return found if isinstance(found, str) and found else None

    actor = Actor(
        arn=text("Arn"),
        identity_type=text("Type"),
        session_issuer=text("SessionIssuer"),
        source_ip=text("SourceIPAddress"),
        user_agent=text("UserAgent"),
    )
    return actor if actor.to_dict() else None


def _cut(text: str) -> str:
    """One line of at most TEXT_CHARS characters."""
    line = " ".join(text.split())
    return line if len(line) <= TEXT_CHARS else f"{line[: TEXT_CHARS - 3]}..."
