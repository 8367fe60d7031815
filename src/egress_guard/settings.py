"""Typed settings: the environment read and validated once, at the entry (docs/configuration.md).

The Lambda handler reads them once per invocation, the command line once per command (its
options override them: `Settings.overriding`); both pass the value down. A bad value is a
`SettingsError` whose one line names the variable. Powertools' variables (POWERTOOLS_*) and
those boto3 reads itself (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL...) are the libraries' own.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

from egress_guard.limits import DEFAULT_MAX_PERCENT, DEFAULT_MAX_REVOCATIONS, Limits
from egress_guard.pacing import DEFAULT_BURST, DEFAULT_RATE, Pace

Mode = Literal["enforce", "report"]
DEFAULT_EXEMPT_TAG = "egress-guard:exempt"


class SettingsError(ValueError):
    """An environment variable has a value egress-guard cannot use."""


@dataclass(frozen=True, slots=True)
class AwsTimeouts:
    """AWS_CONNECT_TIMEOUT and AWS_READ_TIMEOUT (seconds per attempt; botocore reads no
    variable for them) and AWS_MAX_ATTEMPTS (boto3's own: attempts, the first included).
    None: the AWS layer's default (aws/clients.py)."""

    connect: float | None = None
    read: float | None = None
    attempts: int | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AwsTimeouts:
        env = os.environ if env is None else env
        attempts = _number(env, "AWS_MAX_ATTEMPTS", int, 1)
        return cls(
            connect=_number(env, "AWS_CONNECT_TIMEOUT", float, 0.001),
            read=_number(env, "AWS_READ_TIMEOUT", float, 0.001),
            attempts=None if attempts is None else int(attempts),
        )


def _number(
    env: Mapping[str, str], name: str, kind: type[int] | type[float], minimum: float
) -> float | None:
    text = env.get(name, "").strip()
    if not text:
        return None
    try:
        value = kind(text)
    except ValueError:
        raise SettingsError(f"{name}: {text!r} is not a number") from None
    if not value >= minimum:  # also refuses nan
        raise SettingsError(f"{name}: {text!r} is below {minimum}")
    return value


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
    max_revocations: int = DEFAULT_MAX_REVOCATIONS
    max_revocations_percent: int = DEFAULT_MAX_PERCENT
    revoke_rate: float = DEFAULT_RATE
    revoke_burst: int = DEFAULT_BURST
    aws: AwsTimeouts = AwsTimeouts()

    @property
    def pace(self) -> Pace:
        """How fast revokes (and restores) may go in one account and region."""
        return Pace(self.revoke_rate, self.revoke_burst)

    @property
    def report_only(self) -> bool:
        return self.mode == "report"

    @property
    def limits(self) -> Limits:
        """The blast-radius limits (docs/configuration.md); both 0: none."""
        return Limits(self.max_revocations, self.max_revocations_percent)

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
        max_revocations = _count(get("MAX_REVOCATIONS"), "MAX_REVOCATIONS", None)
        max_percent = _count(get("MAX_REVOCATIONS_PERCENT"), "MAX_REVOCATIONS_PERCENT", 100)
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
            max_revocations=DEFAULT_MAX_REVOCATIONS if max_revocations is None else max_revocations,
            max_revocations_percent=DEFAULT_MAX_PERCENT if max_percent is None else max_percent,
            revoke_rate=pace.rate,
            revoke_burst=pace.burst,
            aws=AwsTimeouts.from_env(env),
        )

    def overriding(
        self,
        *,
        mode: str | None = None,
        denylist_file: str | None = None,
        max_revocations: int | None = None,
    ) -> Settings:
        """These settings with the command line's options (None: not given) in place of
        the environment's: a denylist file wins over an inline DENYLIST, and a number of
        revocations the operator names is that run's only limit (no percentage)."""
        changed = self
        if mode is not None:
            changed = replace(changed, mode="report" if mode == "report" else "enforce")
        if denylist_file is not None:
            changed = replace(changed, denylist_file=denylist_file, denylist_inline=None)
        if max_revocations is not None:
            changed = replace(changed, max_revocations=max_revocations, max_revocations_percent=0)
        return changed


def _count(value: str | None, name: str, top: int | None) -> int | None:
    """A whole number 0..`top` (no bound: None), or None when not set."""
    if value is None:
        return None
    if not (value.isascii() and value.isdigit()) or (top is not None and int(value) > top):
        bound = f"0-{top}" if top is not None else "0 or more (0: no limit)"
        raise SettingsError(f"{name}: {value!r} is not an integer {bound}")
    return int(value)


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
