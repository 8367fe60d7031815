"""Rules and estates the unit tests build: egress rules by destination, numbered rules.

One builder per shape, so a test names what matters to it (the port, the destination,
the group) and takes the rest from here.
"""

from __future__ import annotations

from typing import Any

from egress_guard.aws import GroupInfo
from egress_guard.denylist import build_denylist
from egress_guard.judge import Judge
from egress_guard.rules import Rule

GROUP = "sg-0123456789abcdef0"
OTHER_GROUP = "sg-0fedcba9876543210"
RULE_ID = "sgr-0123456789abcdef0"
ANYWHERE = "0.0.0.0/0"


def destination(to: str) -> dict[str, Any]:
    """Rule fields for a destination: a prefix list (pl-), a group (sg-) or a CIDR."""
    if to.startswith("pl-"):
        return {"prefix_list_id": to}
    if to.startswith("sg-"):
        return {"referenced_group_id": to}
    return {"cidr_ipv6": to} if ":" in to else {"cidr_ipv4": to}


def egress(
    to: str,
    protocol: str = "-1",
    low: int = -1,
    high: int | None = None,
    *,
    rule_id: str = RULE_ID,
    group: str = GROUP,
    **fields: Any,
) -> Rule:
    """An egress rule to `to` (see `destination`); `high` defaults to `low`."""
    top = low if high is None else high
    return Rule(rule_id, group, True, protocol, low, top, **destination(to), **fields)


def numbered(n: int) -> str:
    """The n-th rule id: sgr- and 17 digits."""
    return f"sgr-{n:017d}"


def tcp(port: int, group: str = GROUP, n: int = 1, to: str = ANYWHERE, **fields: Any) -> Rule:
    """Rule number n of the group: TCP on one port to `to`."""
    return egress(to, "tcp", port, rule_id=numbered(n), group=group, **fields)


def smtp(group: str, n: int) -> Rule:
    """Rule number n of the group: SMTP out to the internet (denied by an smtp entry)."""
    return tcp(25, group, n)


# The command line's estate (tests/unit/conftest.py): SMTP and HTTPS out of GROUP "web",
# SMTP out of OTHER_GROUP (whose name is unknown).
SMTP = egress(
    ANYWHERE,
    "tcp",
    25,
    rule_id="sgr-00000000000000001",
    description="mail relay",
    tags=(("team", "ops"),),
)
HTTPS = egress(ANYWHERE, "tcp", 443, rule_id="sgr-00000000000000002")
OTHER_SMTP = egress(ANYWHERE, "tcp", 25, rule_id="sgr-00000000000000003", group=OTHER_GROUP)
CLI_ESTATE = (SMTP, HTTPS, OTHER_SMTP)
WEB = GroupInfo("web", "vpc-0a1b2c3d4e5f67890")


def judge(*deny: dict[str, Any], allow: tuple[dict[str, Any], ...] = ()) -> Judge:
    """The judge of a denylist of these entries (an entry without an id is deny-<n>)."""
    entries = [{"id": f"deny-{n}", **entry} for n, entry in enumerate(deny)]
    return Judge(build_denylist({"version": 1, "deny": entries, "allow": list(allow)}))


SMTP_JUDGE = judge({"id": "smtp", "protocol": "tcp", "ports": "25"})
