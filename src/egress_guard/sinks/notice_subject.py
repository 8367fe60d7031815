"""The SNS notice's subject line: what was done, to which rule and group, where.

Pure. `egress-guard revoked tcp/25 -> 0.0.0.0/0 on sg-0abc (web) in ACCOUNT/REGION` for
one rule; for several, the counts and the group (or how many groups). Printable ASCII on
one line and within SNS's 100 characters.
"""

from __future__ import annotations

from collections import Counter

from egress_guard.notice import ACTED, NoticeContext, counts_phrase
from egress_guard.result import Finding, Result

SUBJECT_LIMIT = 100


def part_subject(subject: str, number: int, total: int) -> str:
    """The subject with " (part k of n)", shortened first so that SNS's limit keeps it."""
    suffix = f" (part {number} of {total})"
    return subject[: SUBJECT_LIMIT - len(suffix)] + suffix


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
