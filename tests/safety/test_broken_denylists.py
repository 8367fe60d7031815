"""Broken denylists, end to end (issue 4; docs/denylist.md, "Validation": a
denylist that cannot be read or does not validate stops the invocation with an error
naming the entry and the field, and nothing is revoked under it).

Each malformed document reaches the Lambda handler the way an operator would supply it
(DENYLIST inline, DENYLIST_FILE, DENYLIST_PARAMETER in SSM), while an offending rule
waits in the emulator: the invocation must raise DenylistError naming the entry and the
field (or the source, for what is not a document at all), and send nothing to EC2.
tests/unit/test_denylist.py holds the parser's own tables; these go through the handler.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from support.emulator import REGION, FakeLambdaContext, create_group
from support.figures import record
from support.proxy import Proxy
from support.samples import authorize_egress

from egress_guard import handler
from egress_guard.denylist import DenylistError

pytestmark = pytest.mark.integration

SMTP = {"IpProtocol": "tcp", "Port": 25, "CidrIpv4": "0.0.0.0/0"}


def doc(*deny: dict[str, Any], **top: Any) -> str:
    return json.dumps({"version": 1, "deny": list(deny), **top})


YAML_BOMB = "\n".join(
    [
        "version: 1",
        'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
        "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]",
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]",
        "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]",
        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]",
        "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]",
        "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]",
        "deny: [*g]",
    ]
)

# (case id, how it is supplied, the document, a regex the error must match)
Case = tuple[str, str, str | bytes, str]


def entry_error(case: str, field: str, **fields: Any) -> Case:
    """Inline, one deny entry "x" made of `fields`: the error names the entry and `field`."""
    return (case, "inline", doc({"id": "x", **fields}), rf'\(id "x"\): {field}')


# One bad field of one entry.
ENTRY_ERRORS: list[Case] = [
    entry_error("cidr-without-prefix", "cidr", cidr="10.0.0.1"),
    entry_error("cidr-not-a-string", "cidr", cidr=[10]),
    entry_error("ports-70000", "ports", protocol="tcp", ports="70000"),
    entry_error("ports-from-over-to", "ports", protocol="tcp", ports="30-20"),
    entry_error("ports-a-list", "ports", protocol="tcp", ports=[25]),
    entry_error("ports-with-protocol-all", "ports", protocol="-1", ports="25"),
    entry_error("ports-for-icmp", "ports", protocol="icmp", ports="25"),
    entry_error("unknown-protocol", "protocol", protocol="tcpx"),
    entry_error("protocol-256", "protocol", protocol=256),
    entry_error("bad-prefix-list", "prefix_list", prefix_list="pl-xyz"),
    entry_error("hostile-group-id", "group", group="sg-../../x"),
    entry_error("icmp-type-for-tcp", "icmp_type", protocol="tcp", icmp_type=8),
    entry_error("icmp-type-300", "icmp_type", protocol="icmp", icmp_type=300),
    entry_error("icmp-code-true", "icmp_code", protocol="icmp", icmp_code=True),
    entry_error("match-sometimes", "match", match="sometimes"),
]
# (case id, the document DENYLIST holds, a regex the error must match)
INLINE: list[tuple[str, str, str]] = [
    ("bad-cidr", doc({"id": "x", "cidr": "300.0.0.0/8"}), r'deny\[0\] \(id "x"\): cidr'),
    ("ports-nan", '{"version": 1, "deny": [{"id": "x", "ports": NaN}]}', r'\(id "x"\): ports'),
    ("unknown-entry-key", doc({"id": "x", "port": "25"}), r"""\(id "x"\): unknown field 'port'"""),
    ("unknown-document-key", doc({"id": "x"}, denny=[]), r"document: unknown key 'denny'"),
    (
        "duplicate-ids",
        doc({"id": "x", "cidr": "10.0.0.0/8"}, {"id": "x", "cidr": "10.1.0.0/16"}),
        r'deny\[1\] \(id "x"\): id: duplicate',
    ),
    ("id-missing", doc({"cidr": "10.0.0.0/8"}), r"deny\[0\]: id"),
    ("id-not-a-string", doc({"id": 42, "cidr": "10.0.0.0/8"}), r"deny\[0\]: id"),
    ("id-too-long", doc({"id": "x" * 200}), r"deny\[0\] .*: id"),
    ("empty-deny", doc(), r"deny: empty"),
    ("deny-missing", json.dumps({"version": 1}), r"deny: missing"),
    ("deny-null", json.dumps({"version": 1, "deny": None}), r"deny: expected a list"),
    (
        "entry-a-string",
        json.dumps({"version": 1, "deny": ["smtp-out"]}),
        r"deny\[0\]: expected an object",
    ),
    ("version-2", json.dumps({"version": 2, "deny": [{"id": "x"}]}), r"version: expected 1"),
    ("version-a-string", json.dumps({"version": "1", "deny": [{"id": "x"}]}), r"version"),
    ("version-true", json.dumps({"version": True, "deny": [{"id": "x"}]}), r"version"),
    ("document-a-list", "[1, 2, 3]", r"document: expected an object"),
    (
        "two-destination-kinds",
        doc({"id": "x", "cidr": "10.0.0.0/8", "group": "sg-0123456789abcdef0"}),
        r'\(id "x"\): cidr, group',
    ),
    (
        "allow-with-match",
        doc({"id": "x", "cidr": "10.0.0.0/8"}, allow=[{"id": "y", "match": "covers"}]),
        r'allow\[0\] \(id "y"\): match',
    ),
    ("invalid-json", '{"version": 1, "deny": [', r"not valid JSON"),
    ("neither-json-nor-yaml", "version: 1\ndeny: [\n  - id: x", r"neither JSON nor YAML"),
    (
        "yaml-ports-99999",
        "version: 1\ndeny:\n  - id: x\n    protocol: tcp\n    ports: 99999\n",
        r'\(id "x"\): ports',
    ),
    ("yaml-bomb", YAML_BOMB, r"aliases are not allowed"),
    # A repeated key would let the last value win: a merge mistake widening an entry.
    (
        "json-repeated-ports",
        '{"version": 1, "deny": [{"id": "x", "protocol": "tcp",'
        ' "ports": "25", "ports": "0-65535"}]}',
        r'deny\[0\] \(id "x"\): ports: key given more than once',
    ),
    (
        "yaml-octal-port",
        "version: 1\ndeny:\n  - id: x\n    protocol: tcp\n    ports: 0025\n",
        r'\(id "x"\): ports: 0025 is a YAML octal number \(read as 21\)',
    ),
    (
        "yaml-octal-icmp-type",
        "version: 1\ndeny:\n  - id: x\n    protocol: icmp\n    icmp_type: 010\n",
        r'\(id "x"\): icmp_type: 010 is a YAML octal number',
    ),
    (
        "yaml-nested-100000-deep",
        "version: 1\ndeny: " + "[" * 100_000,
        r"nested too deeply|neither JSON nor YAML",
    ),
    (
        "json-nested-100000-deep",
        '{"version": 1, "deny": ' + "[" * 100_000 + "]" * 100_000 + "}",
        r"nested too deeply",
    ),
    ("over-4-MiB", doc({"id": "x", "description": "y" * (4 * 1024 * 1024)}), r"over 4194304"),
]
# From a file or an SSM parameter (or neither, when it is missing).
ELSEWHERE: list[Case] = [
    (
        "json-repeated-allow",
        "parameter",
        '{"version": 1, "deny": [{"id": "x", "protocol": "tcp", "ports": "25"}],'
        ' "allow": [], "allow": [{"id": "y"}]}',
        r"document: allow: key given more than once",
    ),
    (
        "yaml-repeated-ports",
        "file",
        "version: 1\ndeny:\n  - id: x\n    protocol: tcp\n    ports: 25\n    ports: 0-65535\n",
        r'DENYLIST_FILE .*\(id "x"\): ports: key given more than once',
    ),
    (
        "yaml-sexagesimal-port",
        "file",
        "version: 1\ndeny:\n  - id: x\n    protocol: tcp\n    ports: 1:05\n",
        r'\(id "x"\): ports: 1:05 is a YAML sexagesimal number \(read as 65\)',
    ),
    ("file-empty", "file", "", r"document is empty"),
    ("file-not-utf8", "file", b"\xff\xfe{\x00", r"DENYLIST_FILE.*(UTF-8|utf-8|cannot read)"),
    ("file-missing", "missing-file", "", r"DENYLIST_FILE.*cannot read"),
    (
        "file-broken-entry",
        "file",
        doc({"id": "x", "protocol": "tcp", "ports": "0-70000"}),
        r'DENYLIST_FILE .*\(id "x"\): ports',
    ),
    (
        "parameter-missing",
        "missing-parameter",
        "",
        r"DENYLIST_PARAMETER.*cannot read SSM parameter",
    ),
    (
        "parameter-broken-entry",
        "parameter",
        doc({"id": "x", "cidr": "10.0.0.0/33"}),
        r'DENYLIST_PARAMETER .*\(id "x"\): cidr',
    ),
]
CASES: list[Case] = [
    *ENTRY_ERRORS,
    *((case, "inline", document, pattern) for case, document, pattern in INLINE),
    *ELSEWHERE,
]


@pytest.mark.parametrize(
    ("supply", "document", "pattern"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_broken_denylist_stops_the_invocation_and_writes_nothing(
    supply: str,
    document: str | bytes,
    pattern: str,
    *,
    proxy: Proxy,
    ec2: Any,
    unlimited_container: None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    aws_env: str,
) -> None:  # fmt: skip
    group = create_group(ec2, [SMTP], keep_default_egress=False)
    if supply == "inline":
        assert isinstance(document, str)
        monkeypatch.setenv("DENYLIST", document)
    elif supply in ("file", "missing-file"):
        path = tmp_path / "denylist.json"
        if supply == "file":
            path.write_bytes(document if isinstance(document, bytes) else document.encode())
        monkeypatch.setenv("DENYLIST_FILE", str(path))
    else:
        name = f"/egress-guard/denylist-{uuid.uuid4().hex}"  # never cached before
        if supply == "parameter":
            ssm = boto3.client("ssm", endpoint_url=aws_env, region_name=REGION)
            ssm.put_parameter(Name=name, Value=str(document), Type="String")
        monkeypatch.setenv("DENYLIST_PARAMETER", name)

    with pytest.raises(DenylistError, match=pattern) as refused:
        handler.lambda_handler(
            authorize_egress(group.group_id, *group.rule_ids), FakeLambdaContext()
        )

    assert refused.value.problems  # each names its entry and field
    ec2_calls = [a for a in proxy.actions() if a not in ("GetParameter", "GetParameters")]
    assert ec2_calls == []  # not a read, let alone a write: the denylist comes first
    live = ec2.describe_security_group_rules(
        Filters=[{"Name": "group-id", "Values": [group.group_id]}]
    )["SecurityGroupRules"]
    assert [r["SecurityGroupRuleId"] for r in live] == list(group.rule_ids)


def test_the_table_is_long_enough() -> None:
    record("test_broken_denylists", {"malformed_denylists": len(CASES)})
    assert len(CASES) >= 25
    assert len({c[0] for c in CASES}) == len(CASES)
