"""The result document (docs/result.md): written from typed values, read back into them.

The field tables at the end (RESULT_FIELDS, FINDING_FIELDS) are the one place that decides
the document's keys, their order and how each is read and written: a new key is one line
there. `Result.to_dict` and `Finding.to_dict` build a `ResultDocument` and call `write`.
`read` turns a document (the handler's return value, a notice's or a log line's result,
one part of a split result, a file given to `restore`: result_input.py finds it there)
back into the same values, so that
readers (restore, the tables, the notice text, the command line) use fields instead of
string keys: `write(read(doc)) == doc` for every document `write` makes.

Reading is lenient, as the readers were: an item that is not an object is left out, a
value of the wrong type reads as missing (None, or empty), and keys this module does not
know are kept in `extra` and written back after the known ones. Items of
`RevokedSecurityGroupRules`, `UnknownIpPermissions` and a finding's `Rule` are EC2's own
shapes and stay as they are (`restore` checks them, naming the item and field).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from egress_guard.events.actor import Actor
from egress_guard.rules import Tags

Item = Mapping[str, Any]  # an item in EC2's own shape, kept as it is


@dataclass(frozen=True, slots=True)
class ReferencedGroup:
    """`ReferencedGroupInfo`: a referenced group of another account, with its owner."""

    group_id: str | None
    owner: str | None


@dataclass(frozen=True, slots=True)
class FindingRecord:
    """One item of `Findings` (docs/result.md, "Findings")."""

    group_id: str | None
    rule_id: str | None
    entry_id: str | None
    action: str | None
    traffic: str | None
    tags: Tags | None = None
    referenced: ReferencedGroup | None = None
    exempt_until: str | None = None
    error: str | None = None
    rule: Item | None = None
    maybe_revoked: bool = False
    actor: Actor | None = None

    @property
    def restorable(self) -> bool:
        """Revoked, or failed with an unknown outcome: `restore` may put it back."""
        return self.action == "revoked" or self.maybe_revoked


@dataclass(frozen=True, slots=True)
class PermissionRecord:
    """One item of `PermissionChecks`: would EC2 have permitted the group's revoke?"""

    group_id: str | None
    permitted: bool
    detail: str | None


@dataclass(frozen=True, slots=True)
class ResultDocument:
    """A whole result, or one part of a split one (`part` of `parts`)."""

    ok: bool
    dry_run: bool
    revoked: tuple[Item, ...] = ()
    unknown_permissions: tuple[Item, ...] = ()
    findings: tuple[FindingRecord, ...] = ()
    event_id: str | None = None
    source: str | None = None
    account: str | None = None
    region: str | None = None
    mode: str | None = None
    rules_judged: int | None = None
    actor: Actor | None = None
    permission_checks: tuple[PermissionRecord, ...] = ()
    errors: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    part: int | None = None
    parts: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def revoked_items(self) -> dict[str, Item]:
        """The items of `RevokedSecurityGroupRules` by rule id (the last of each)."""
        out: dict[str, Item] = {}
        for item in self.revoked:
            rule_id = item.get("SecurityGroupRuleId")
            if rule_id:
                out[str(rule_id)] = item
        return out


# --- writing -------------------------------------------------------------------------------


def write(document: ResultDocument) -> dict[str, Any]:
    """The JSON-ready dict of a result (or a part of one)."""
    out = _write_fields(document, RESULT_FIELDS)
    out.update(document.extra)
    if document.part is not None:
        out["Part"] = document.part
        out["Parts"] = document.parts
    return out


def write_finding(finding: FindingRecord) -> dict[str, Any]:
    return _write_fields(finding, FINDING_FIELDS)


def _write_fields(value: Any, fields: tuple[Field, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field_ in fields:
        found = getattr(value, field_.attr)
        if field_.written(found):
            out[field_.key] = field_.write(found)
    return out


# --- reading -------------------------------------------------------------------------------


def read(document: Mapping[str, Any]) -> ResultDocument:
    """The typed values of a result document (or of one part of a split result)."""
    return ResultDocument(
        **_read_fields(document, RESULT_FIELDS),
        part=_int(document.get("Part")),
        parts=_int(document.get("Parts")),
        extra={k: v for k, v in document.items() if k not in RESULT_KEYS},
    )


def read_finding(finding: Mapping[str, Any]) -> FindingRecord:
    return FindingRecord(**_read_fields(finding, FINDING_FIELDS))


def _read_fields(item: Mapping[str, Any], fields: tuple[Field, ...]) -> dict[str, Any]:
    return {field_.attr: field_.read(item.get(field_.key)) for field_ in fields}


def read_actor(value: Any) -> Actor | None:
    """An `Actor` object read back; None when it names nobody."""
    if not isinstance(value, Mapping):
        return None

    def field_(key: str) -> str | None:
        found = value.get(key)
        return found if isinstance(found, str) and found else None

    actor = Actor(
        arn=field_("Arn"),
        identity_type=field_("Type"),
        session_issuer=field_("SessionIssuer"),
        source_ip=field_("SourceIPAddress"),
        user_agent=field_("UserAgent"),
    )
    return actor if actor.to_dict() else None


def text(value: Any) -> str | None:
    """A scalar as text (None stays None); a list or an object reads as missing."""
    if value is None or isinstance(value, list | dict):
        return None
    return value if isinstance(value, str) else str(value)


def _objects(value: Any) -> tuple[Item, ...]:
    items = value if isinstance(value, list) else ()
    return tuple(item for item in items if isinstance(item, Mapping))


def _texts(value: Any) -> tuple[str, ...]:
    return tuple(str(item) for item in value) if isinstance(value, list) else ()


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _tags(value: Any) -> Tags | None:
    """The tags a finding recorded: each object with a text `Key`."""
    if not isinstance(value, list):
        return None
    return tuple(
        (tag["Key"], str(tag.get("Value", "")))
        for tag in value
        if isinstance(tag, Mapping) and isinstance(tag.get("Key"), str)
    )


def _referenced(value: Any) -> ReferencedGroup | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        return ReferencedGroup(None, None)
    return ReferencedGroup(text(value.get("GroupId")), text(value.get("UserId")))


def _read_check(check: Mapping[str, Any]) -> PermissionRecord | None:
    permitted = check.get("RevokePermitted")
    if not isinstance(permitted, bool):
        return None
    return PermissionRecord(text(check.get("GroupId")), permitted, text(check.get("Detail")))


def _checks(value: Any) -> tuple[PermissionRecord, ...]:
    checks = (_read_check(c) for c in _objects(value))
    return tuple(c for c in checks if c is not None)


def _write_check(check: PermissionRecord) -> dict[str, Any]:
    return {"GroupId": check.group_id, "RevokePermitted": check.permitted, "Detail": check.detail}


def _write_referenced(referenced: ReferencedGroup) -> dict[str, Any]:
    return {"GroupId": referenced.group_id, "UserId": referenced.owner}


# --- the field tables: each key of the document, in the order written ---------------------


def _dicts(items: tuple[Item, ...]) -> list[dict[str, Any]]:
    return [dict(item) for item in items]


def _is_set(value: Any) -> bool:
    return value is not None


@dataclass(frozen=True, slots=True)
class Field:
    """One key: the value's attribute, how the key's value is read into it (leniently) and
    written back, and when it is written (`written`: always, when set, or when not empty)."""

    attr: str
    key: str
    read: Callable[[Any], Any]
    write: Callable[[Any], Any] = lambda value: value
    written: Callable[[Any], bool] = lambda _: True


FINDING_FIELDS = (
    Field("group_id", "GroupId", text),
    Field("rule_id", "SecurityGroupRuleId", text),
    Field("entry_id", "DenylistEntry", text),
    Field("action", "Action", text),
    Field("traffic", "Traffic", text),
    Field("tags", "Tags", _tags, lambda tags: [{"Key": k, "Value": v} for k, v in tags], bool),
    Field("referenced", "ReferencedGroupInfo", _referenced, _write_referenced, _is_set),
    Field("exempt_until", "ExemptUntil", text, written=_is_set),
    Field("error", "Error", text, written=bool),
    Field("rule", "Rule", lambda v: v if isinstance(v, Mapping) else None, dict, _is_set),
    Field("maybe_revoked", "MaybeRevoked", lambda v: v is True, written=bool),
    Field("actor", "Actor", read_actor, Actor.to_dict, _is_set),
)
RESULT_FIELDS = (
    Field("ok", "Return", lambda v: v is True),
    Field("dry_run", "DryRun", bool),
    Field("revoked", "RevokedSecurityGroupRules", _objects, _dicts),
    Field("unknown_permissions", "UnknownIpPermissions", _objects, _dicts),
    Field(
        "findings",
        "Findings",
        lambda v: tuple(map(read_finding, _objects(v))),
        lambda findings: list(map(write_finding, findings)),
    ),
    Field("event_id", "EventId", text),
    Field("source", "Source", text),
    Field("account", "Account", text),
    Field("region", "Region", text),
    Field("mode", "Mode", text),
    Field("rules_judged", "RulesJudged", _int),
    Field("actor", "Actor", read_actor, Actor.to_dict, _is_set),
    Field(
        "permission_checks", "PermissionChecks", _checks, lambda c: [*map(_write_check, c)], bool
    ),
    Field("errors", "Errors", _texts, list, bool),
    Field("notes", "Notes", _texts, list, bool),
)
# The keys `read` knows; anything else is `extra`, written after them (before Part, Parts).
RESULT_KEYS = frozenset(f.key for f in RESULT_FIELDS) | {"Part", "Parts"}
