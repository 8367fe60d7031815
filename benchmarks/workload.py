"""Synthetic denylists and rules, the same for every figure that needs them (seeded)."""

from __future__ import annotations

import ipaddress
import json
import random
from typing import Any

# Ports a security team might forbid towards the internet (tcp unless noted).
RISKY_PORTS = [21, 23, 25, 110, 135, 137, 139, 143, 445, 1433, 1521, 2049, 3306, 3389,
               5432, 5900, 6379, 9200, 11211, 27017]  # fmt: skip


def denylist(entries: int, seed: int = 1) -> dict[str, Any]:
    """A denylist document of `entries` deny entries: the packaged default's three, port
    entries to the internet, then threat-intelligence style CIDRs (all protocols), with the
    default's allow entries for private address space."""
    rng = random.Random(seed)
    deny: list[dict[str, Any]] = [
        {"id": "all-traffic-to-internet", "protocol": "-1", "cidr": ["0.0.0.0/0", "::/0"],
         "match": "covers"},
        {"id": "smtp-to-internet", "protocol": "tcp", "ports": "25", "cidr": ["0.0.0.0/0", "::/0"]},
        {"id": "smb-to-internet", "protocol": "tcp", "ports": "445", "cidr": ["0.0.0.0/0", "::/0"]},
    ]  # fmt: skip
    for port in RISKY_PORTS:
        if len(deny) >= min(entries, 20):
            break
        if port not in (25, 445):
            deny.append(
                {"id": f"port-{port}", "protocol": "tcp", "ports": str(port),
                 "cidr": ["0.0.0.0/0", "::/0"]}
            )  # fmt: skip
    seen: set[str] = set()
    while len(deny) < entries:
        cidr = threat_cidr(rng)
        if cidr in seen:
            continue
        seen.add(cidr)
        deny.append({"id": f"intel-{len(deny)}", "cidr": [cidr]})
    return {
        "version": 1,
        "deny": deny[:entries],
        "allow": [
            {"id": "private-ipv4", "cidr": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]},
            {"id": "private-ipv6", "cidr": ["fc00::/7"]},
        ],
    }


def threat_cidr(rng: random.Random) -> str:
    """A public IPv4 network, /16 to /32 (mostly hosts and /24s, as intel feeds are)."""
    prefix = rng.choice([32, 32, 32, 32, 24, 24, 24, 20, 16])
    while True:
        address = ipaddress.IPv4Address(rng.getrandbits(32))
        if address.is_global:
            return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def denylist_json(entries: int, seed: int = 1) -> str:
    return json.dumps(denylist(entries, seed))


def rule_items(count: int, seed: int = 2, groups: int | None = None) -> list[dict[str, Any]]:
    """`count` egress rules in DescribeSecurityGroupRules' item shape: a realistic mix of
    protocols, ports and destinations (private ranges, public hosts, the internet, IPv6)."""
    rng = random.Random(seed)
    groups = groups or max(1, count // 10)
    items = []
    for i in range(count):
        kind = rng.random()
        item: dict[str, Any] = {
            "SecurityGroupRuleId": f"sgr-{i:017x}",
            "GroupId": f"sg-{i % groups:017x}",
            "GroupOwnerId": "123456789012",
            "IsEgress": True,
        }
        if kind < 0.1:
            item.update(IpProtocol="-1", FromPort=-1, ToPort=-1)
        elif kind < 0.8:
            port = rng.choice([*RISKY_PORTS, 80, 443, 443, 8080, 8443, 53])
            item.update(IpProtocol="tcp", FromPort=port, ToPort=port)
        elif kind < 0.9:
            low = rng.randrange(1024, 60000)
            item.update(IpProtocol="tcp", FromPort=low, ToPort=low + rng.randrange(1, 2000))
        else:
            item.update(IpProtocol="udp", FromPort=53, ToPort=53)
        where = rng.random()
        if where < 0.3:
            item["CidrIpv4"] = f"10.{rng.randrange(256)}.{rng.randrange(256)}.0/24"
        elif where < 0.6:
            item["CidrIpv4"] = f"{threat_cidr(rng).split('/')[0]}/32"
        elif where < 0.75:
            item["CidrIpv4"] = threat_cidr(rng)
        elif where < 0.9:
            item["CidrIpv4"] = "0.0.0.0/0"
        else:
            item["CidrIpv6"] = rng.choice(["::/0", "2001:db8::/32", "fd00::/8"])
        items.append(item)
    return items
