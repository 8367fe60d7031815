"""Typed settings, read once per invocation from the environment (docs/configuration.md)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from egress_guard.pacing import DEFAULT_BURST, DEFAULT_RATE, Pace

Mode = Literal["enforce", "report"]
DEFAULT_EXEMPT_TAG = "egress-guard:exempt"


class SettingsError(ValueError):
    """An environment variable has a value egress-guard cannot use."""


@dataclass(frozen=True, slots=True)
class Settings:
    mode: Mode = "enforce"
    exempt_tag: str = DEFAULT_EXEMPT_TAG
    denylist_inline: str | None = None
    denylist_file: str | None = None
    denylist_parameter: str | None = None
    member_role_name: str | None = None
    notify_topic_arn: str | None = None
    sweep_concurrency: int = 8
    revoke_rate: float = DEFAULT_RATE
    revoke_burst: int = DEFAULT_BURST

    @property
    def pace(self) -> Pace:
        """How fast revokes (and restores) may go in one account and region."""
        return Pace(self.revoke_rate, self.revoke_burst)

    @property
    def report_only(self) -> bool:
        return self.mode == "report"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            # SAM passes unset parameters as empty strings; both mean "not set".
            value = env.get(name, "").strip()
            return value or None

        mode = (get("MODE") or "enforce").lower()
        if mode not in ("enforce", "report"):
            raise SettingsError(f"MODE: {mode!r} is not 'enforce' or 'report'")
        concurrency = get("SWEEP_CONCURRENCY") or "8"
        if not concurrency.isdigit() or not 1 <= int(concurrency) <= 64:
            raise SettingsError(f"SWEEP_CONCURRENCY: {concurrency!r} is not an integer 1-64")
        pace = pace_from_env(env)
        return cls(
            mode="report" if mode == "report" else "enforce",
            exempt_tag=get("EXEMPT_TAG") or DEFAULT_EXEMPT_TAG,
            denylist_inline=get("DENYLIST"),
            denylist_file=get("DENYLIST_FILE"),
            denylist_parameter=get("DENYLIST_PARAMETER"),
            member_role_name=get("MEMBER_ROLE_NAME"),
            notify_topic_arn=get("NOTIFY_TOPIC_ARN"),
            sweep_concurrency=int(concurrency),
            revoke_rate=pace.rate,
            revoke_burst=pace.burst,
        )


# Pacing (pacing.py): limits that keep clear of EC2's own bucket while allowing for accounts
# whose EC2 limits were raised.
MAX_REVOKE_RATE = 100.0
MAX_REVOKE_BURST = 1000


def pace_from_env(env: Mapping[str, str] | None = None) -> Pace:
    """REVOKE_RATE and REVOKE_BURST as a Pace; SettingsError naming a bad one."""
    env = os.environ if env is None else env
    rate_text = env.get("REVOKE_RATE", "").strip() or str(DEFAULT_RATE)
    try:
        rate = float(rate_text)
    except ValueError:
        rate = float("nan")
    if not 0 <= rate <= MAX_REVOKE_RATE:  # also refuses nan and inf
        raise SettingsError(
            f"REVOKE_RATE: {rate_text!r} is not a number of calls per second from 0 "
            f"(unpaced) to {MAX_REVOKE_RATE:g}"
        )
    burst_text = env.get("REVOKE_BURST", "").strip() or str(DEFAULT_BURST)
    if not burst_text.isdigit() or not 1 <= int(burst_text) <= MAX_REVOKE_BURST:
        raise SettingsError(f"REVOKE_BURST: {burst_text!r} is not an integer 1-{MAX_REVOKE_BURST}")
    return Pace(rate, int(burst_text))
