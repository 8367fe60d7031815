"""The blast-radius limit: when one invocation would revoke too much, it revokes nothing.

Pure code. A typo in a denylist entry looks like a sudden wave of offending rules; the limit
turns that wave into `held` findings and an error instead of an outage (docs/safety.md).
Counted in rules, not groups: one group may hold hundreds of rules.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MAX_REVOCATIONS = 25
DEFAULT_MAX_PERCENT = 10
# The share limit never holds this many rules or fewer: a small estate with a few bad
# rules is not what a bad denylist looks like.
PERCENT_FLOOR = 10


@dataclass(frozen=True, slots=True)
class Limits:
    """`max_revocations`: at most this many rules per invocation (0: no limit).
    `max_percent`: for sweeps, at most this share of the judged egress rules (0: no limit)."""

    max_revocations: int = DEFAULT_MAX_REVOCATIONS
    max_percent: int = DEFAULT_MAX_PERCENT

    @property
    def unlimited(self) -> bool:
        return self.max_revocations == 0 and self.max_percent == 0


NO_LIMITS = Limits(0, 0)


def hold_reason(due: int, judged: int, *, sweep: bool, limits: Limits) -> str | None:
    """Why `due` revocations out of `judged` egress rules must be held, or None to go on."""
    if limits.max_revocations and due > limits.max_revocations:
        return (
            f"{due} rules due for revocation exceed MAX_REVOCATIONS={limits.max_revocations}: "
            "none revoked (held)"
        )
    if sweep and limits.max_percent and due > PERCENT_FLOOR and judged:
        share = 100 * due / judged
        if share > limits.max_percent:
            return (
                f"{due} of {judged} judged egress rules ({share:.0f}%) due for revocation "
                f"exceed MAX_REVOCATIONS_PERCENT={limits.max_percent}: none revoked (held)"
            )
    return None
