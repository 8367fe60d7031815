"""Typed settings, read once per invocation from the environment (docs/configuration.md)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

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
        return cls(
            mode="report" if mode == "report" else "enforce",
            exempt_tag=get("EXEMPT_TAG") or DEFAULT_EXEMPT_TAG,
            denylist_inline=get("DENYLIST"),
            denylist_file=get("DENYLIST_FILE"),
            denylist_parameter=get("DENYLIST_PARAMETER"),
            member_role_name=get("MEMBER_ROLE_NAME"),
            notify_topic_arn=get("NOTIFY_TOPIC_ARN"),
            sweep_concurrency=int(concurrency),
        )
