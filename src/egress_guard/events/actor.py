"""Who made a CloudTrail-recorded change: the principal behind an offending rule.

Pure code. CloudTrail's `userIdentity` names the caller; for an assumed role its `arn` is
the session (`assumed-role/Name/session`) and `sessionContext.sessionIssuer.arn` the role
itself, which is what a person looks up. The source address and user agent tell a console
click from a pipeline. Everything is optional: AWS services act with little identity, and
hostile events may carry none; an actor is information for people, never a decision input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from egress_guard.events._access import Node

# Enough for any ARN, address or user agent a person reads; longer is cut, not refused.
MAX_FIELD = 512


@dataclass(frozen=True, slots=True)
class Actor:
    """The principal of one CloudTrail record, as the result's `Actor` shows it."""

    arn: str | None = None
    identity_type: str | None = None
    session_issuer: str | None = None
    source_ip: str | None = None
    user_agent: str | None = None

    def to_dict(self) -> dict[str, str]:
        fields = {
            "Arn": self.arn,
            "Type": self.identity_type,
            "SessionIssuer": self.session_issuer,
            "SourceIPAddress": self.source_ip,
            "UserAgent": self.user_agent,
        }
        return {key: value for key, value in fields.items() if value}

    def describe(self) -> str:
        """One line for a notice: the role (or user), then where from."""
        who = self.session_issuer or self.arn or self.identity_type or "unknown principal"
        if self.session_issuer and self.arn:
            who = f"{self.arn} (role {self.session_issuer})"
        where = ", ".join(v for v in (self.source_ip, self.user_agent) if v)
        return f"{who} from {where}" if where else who


def actor_of(record: Node) -> Actor | None:
    """The actor of a CloudTrail record (its `detail` on EventBridge), None without one."""
    identity = _object(record.raw("userIdentity"))
    issuer = _object(_object(identity.get("sessionContext")).get("sessionIssuer"))
    actor = Actor(
        arn=_text(identity.get("arn")),
        identity_type=_text(identity.get("type")),
        session_issuer=_text(issuer.get("arn")),
        source_ip=_text(record.raw("sourceIPAddress")),
        user_agent=_text(record.raw("userAgent")),
    )
    return actor if actor.to_dict() else None


def _object(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value[:MAX_FIELD]
