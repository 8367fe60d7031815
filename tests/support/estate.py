"""A small estate of security groups for the safety tests, and the checks they share.

`build_estate` makes groups (in one VPC) that each hold offending rules (the denylist
forbids them), legitimate rules (it does not) and, in some groups, an offending rule
tagged exempt. Two of each group's rules go to managed prefix lists, judged through the
lists' entries: one list holds a denied range (its rule is offending), the other does not
(its rule is legitimate), so a failed GetManagedPrefixListEntries must fail those rules,
never revoke the legitimate one nor pass the offending one as clean. `Estate` knows every
rule's id and definition, so a test can tell from the live state alone whether anything
was wrongly revoked or wrongly left behind.
`WriteGuard` is a proxy hook that records every EC2 write naming a rule or group the
test did not set up as offending: the tests assert that it stays empty.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from support.emulator import Group, create_group, create_vpc
from support.proxy import Forward, Request, Response
from support.samples import authorize_egress, pointed

DENYLIST: dict[str, Any] = {
    "version": 1,
    "deny": [
        {"id": "smtp-out", "protocol": "tcp", "ports": "25", "cidr": ["0.0.0.0/0", "::/0"]},
        {"id": "known-bad-range", "protocol": "udp", "cidr": ["203.0.113.0/24"]},
    ],
}
EXEMPT_TAG = "egress-guard:exempt"

# Offending under DENYLIST: (rule, the deny entry that names it).
OFFENDING: tuple[dict[str, Any], ...] = (
    {"IpProtocol": "tcp", "Port": 25, "CidrIpv4": "0.0.0.0/0", "Description": "mail out"},
    {"IpProtocol": "udp", "FromPort": 1000, "ToPort": 2000, "CidrIpv4": "203.0.113.0/24"},
    {"IpProtocol": "tcp", "Port": 25, "CidrIpv6": "::/0"},
)
# Never offending under DENYLIST.
LEGITIMATE: tuple[dict[str, Any], ...] = (
    {"IpProtocol": "tcp", "Port": 443, "CidrIpv4": "0.0.0.0/0", "Description": "https"},
    {"IpProtocol": "udp", "Port": 53, "CidrIpv4": "10.0.0.0/8"},
    {"IpProtocol": "tcp", "Port": 587, "CidrIpv6": "::/0"},
)
# Managed prefix lists (`build_estate` creates them) and one rule to each per group.
BAD_LIST_CIDRS = ("203.0.113.64/26", "10.20.0.0/16")  # holds part of known-bad-range
GOOD_LIST_CIDRS = ("10.30.0.0/16", "192.0.2.0/24")


def offending_list_rule(prefix_list_id: str) -> dict[str, Any]:
    return {"IpProtocol": "udp", "Port": 500, "PrefixListId": prefix_list_id}


def legitimate_list_rule(prefix_list_id: str) -> dict[str, Any]:
    return {"IpProtocol": "udp", "Port": 123, "PrefixListId": prefix_list_id}


EXEMPT_RULE = {
    "IpProtocol": "tcp",
    "Port": 25,
    "CidrIpv4": "198.51.100.0/24",
    "Description": "exempt mail relay",
    "Tags": {EXEMPT_TAG: "true"},
}

WRITE_ACTIONS = frozenset(
    {
        "RevokeSecurityGroupEgress",
        "RevokeSecurityGroupIngress",
        "AuthorizeSecurityGroupEgress",
        "AuthorizeSecurityGroupIngress",
        "ModifySecurityGroupRules",
        "DeleteSecurityGroup",
        "UpdateSecurityGroupRuleDescriptionsEgress",
        "UpdateSecurityGroupRuleDescriptionsIngress",
    }
)


@dataclass
class Estate:
    groups: list[Group] = field(default_factory=list)
    offending: set[str] = field(default_factory=set)  # rule ids the function must revoke
    protected: set[str] = field(default_factory=set)  # rule ids it must never revoke
    exempt: set[str] = field(default_factory=set)  # offending but exempt (in `protected`)
    group_of: dict[str, str] = field(default_factory=dict)  # rule id -> group id
    definition: dict[str, dict[str, Any]] = field(default_factory=dict)  # rule id -> rule

    def rules_of(self, group_id: str) -> set[str]:
        return {rid for rid, gid in self.group_of.items() if gid == group_id}

    def offending_in(self, group_ids: Iterable[str]) -> set[str]:
        wanted = set(group_ids)
        return {rid for rid in self.offending if self.group_of[rid] in wanted}


def build_estate(
    ec2: Any, groups: int, exempt_every: int = 10, seed: int = 0, *, prefix_lists: bool = True
) -> Estate:
    """`groups` groups, each with every OFFENDING and LEGITIMATE rule (in a seeded order)
    and, with `prefix_lists`, one offending and one legitimate rule to a managed prefix
    list; every `exempt_every`-th group also holds EXEMPT_RULE (offending, tagged exempt)."""
    rng = random.Random(seed)
    vpc_id = create_vpc(ec2)
    estate = Estate()
    offending, legitimate = OFFENDING, LEGITIMATE
    if prefix_lists:
        bad_list = create_prefix_list(ec2, f"bad-{seed}", BAD_LIST_CIDRS)
        good_list = create_prefix_list(ec2, f"good-{seed}", GOOD_LIST_CIDRS)
        offending = (*OFFENDING, offending_list_rule(bad_list))
        legitimate = (*LEGITIMATE, legitimate_list_rule(good_list))
    for number in range(groups):
        rules: list[tuple[str, dict[str, Any]]] = [("offending", r) for r in offending]
        rules += [("legitimate", r) for r in legitimate]
        if exempt_every and number % exempt_every == exempt_every - 1:
            rules.append(("exempt", EXEMPT_RULE))
        rng.shuffle(rules)
        group = create_group(
            ec2,
            [rule for _, rule in rules],
            keep_default_egress=False,
            vpc_id=vpc_id,
            name=f"safety-{number}-{uuid.uuid4().hex[:6]}",
        )
        estate.groups.append(group)
        for (role, rule), rule_id in zip(rules, group.rule_ids, strict=True):
            estate.group_of[rule_id] = group.group_id
            estate.definition[rule_id] = rule
            if role == "offending":
                estate.offending.add(rule_id)
            else:
                estate.protected.add(rule_id)
                if role == "exempt":
                    estate.exempt.add(rule_id)
    adopt_default_rules(ec2, estate)
    return estate


def create_prefix_list(ec2: Any, name: str, cidrs: Iterable[str]) -> str:
    prefix_list_id: str = ec2.create_managed_prefix_list(
        PrefixListName=f"safety-{name}-{uuid.uuid4().hex[:6]}",
        MaxEntries=10,
        AddressFamily="IPv4",
        Entries=[{"Cidr": cidr} for cidr in cidrs],
    )["PrefixList"]["PrefixListId"]
    return prefix_list_id


def adopt_default_rules(ec2: Any, estate: Estate) -> None:
    """The egress rules the test did not make (the all-traffic rules of the VPCs' default
    groups) are offending under DENYLIST too: a sweep rightly revokes them."""
    for page in ec2.get_paginator("describe_security_group_rules").paginate():
        for rule in page["SecurityGroupRules"]:
            rule_id = rule["SecurityGroupRuleId"]
            if not rule["IsEgress"] or rule_id in estate.group_of:
                continue
            if rule["IpProtocol"] != "-1" or not {rule.get("CidrIpv4"), rule.get("CidrIpv6")} & {
                "0.0.0.0/0",
                "::/0",
            }:
                raise AssertionError(f"unexpected rule in the emulator: {rule}")
            estate.group_of[rule_id] = rule["GroupId"]
            estate.offending.add(rule_id)
            estate.definition[rule_id] = {
                key: rule[key] for key in ("IpProtocol", "CidrIpv4", "CidrIpv6") if key in rule
            } | {"FromPort": rule["FromPort"], "ToPort": rule["ToPort"]}


def live_rule_ids(ec2: Any, group_ids: Iterable[str] | None = None) -> set[str]:
    """The egress rule ids that exist now (read from moto directly, not via the proxy)."""
    kwargs: dict[str, Any] = {}
    if group_ids is not None:
        kwargs["Filters"] = [{"Name": "group-id", "Values": sorted(set(group_ids))}]
    found: set[str] = set()
    for page in ec2.get_paginator("describe_security_group_rules").paginate(**kwargs):
        found.update(r["SecurityGroupRuleId"] for r in page["SecurityGroupRules"] if r["IsEgress"])
    return found


@dataclass(frozen=True)
class Planned:
    """An event and the offending rules it points the function at (all of its group's,
    or those of the rules it names): afterwards each must be gone, or reported."""

    event: dict[str, Any]
    targeted: frozenset[str]


def events_for(estate: Estate, count: int, seed: int) -> list[Planned]:
    """`count` events spread over the estate's groups, in a seeded order: CloudTrail
    (naming all the group's rules, or one offending and one legitimate rule), Config
    item changes and Security Hub findings (naming the whole group)."""
    rng = random.Random(seed)
    out: list[Planned] = []
    for number in range(count):
        group = estate.groups[number % len(estate.groups)]
        gid = group.group_id
        shape = number // len(estate.groups) % 4
        targeted = estate.offending_in([gid])
        if shape == 0:
            event = authorize_egress(gid, *group.rule_ids)
        elif shape == 1:
            mine = sorted(estate.rules_of(gid))
            pick = [r for r in mine if r in estate.offending][:1]
            pick += [r for r in mine if r not in estate.offending][:1]
            event = authorize_egress(gid, *pick)
            targeted = set(pick) & estate.offending
        elif shape == 2:
            event = pointed("config-configuration-item-change.json", gid)
        else:
            event = pointed("securityhub-finding-imported.json", gid)
        event["id"] = f"safety-{seed}-{number}"
        out.append(Planned(event, frozenset(targeted)))
    rng.shuffle(out)
    return out


def sweep(estate: Estate, event_id: str = "sweep") -> Planned:
    return Planned(sweep_event(event_id), frozenset(estate.offending))


def sweep_event(event_id: str = "sweep") -> dict[str, Any]:
    event = pointed("scheduled-event.json", "sg-00000000")
    event["id"] = event_id
    return event


def revoke_rule_ids(request: Request) -> list[str]:
    params = request.params
    return [v for k, v in params.items() if k.startswith("SecurityGroupRuleId")]


@dataclass
class WriteGuard:
    """Proxy hook recording every EC2 write that names anything but `allowed` rule ids
    (a revoke by IpPermissions, of a protected rule, any other write action...)."""

    allowed: set[str]
    violations: list[str] = field(default_factory=list)
    writes: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __call__(self, request: Request, forward: Forward) -> Response:
        action = request.action or ""
        if action in WRITE_ACTIONS:
            with self._lock:
                self.writes += 1
                ids = revoke_rule_ids(request)
                dry_run = request.params.get("DryRun", "").lower() == "true"
                if action != "RevokeSecurityGroupEgress" or not ids:
                    if not dry_run:
                        self.violations.append(f"{action} {dict(request.params)}")
                elif set(ids) - self.allowed:
                    self.violations.append(f"revoke of {sorted(set(ids) - self.allowed)}")
        return forward(request)


def check_revoked_items(estate: Estate, revoked: list[Mapping[str, Any]]) -> list[str]:
    """Problems with the RevokedSecurityGroupRules of a result: a rule that was not
    offending, or a definition that would not restore the rule as it was."""
    problems: list[str] = []
    for item in revoked:
        rule_id = item.get("SecurityGroupRuleId", "")
        if rule_id not in estate.offending:
            problems.append(f"{rule_id} revoked but not offending")
            continue
        rule = estate.definition[rule_id]
        expected = {
            "GroupId": estate.group_of[rule_id],
            "IsEgress": True,
            "IpProtocol": rule["IpProtocol"],
            "FromPort": rule.get("FromPort", rule.get("Port")),
            "ToPort": rule.get("ToPort", rule.get("Port")),
        }
        for key in ("CidrIpv4", "CidrIpv6", "PrefixListId", "Description"):
            if key in rule:
                expected[key] = rule[key]
        got = {key: item.get(key) for key in expected}
        if got != expected:
            problems.append(f"{rule_id}: result says {got}, the rule was {expected}")
    return problems
