"""Where the denylist comes from (docs/configuration.md): inline, file, SSM parameter, default."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from support.egress import HTTPS, SMTP
from support.emulator import REGION
from support.samples import authorize_egress

from egress_guard import handler

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("fresh_container")]


def denying(port: int) -> str:
    return json.dumps(
        {"version": 1, "deny": [{"id": f"port-{port}", "protocol": "tcp", "ports": str(port)}]}
    )


def denylist_entries(make_group: Any, lambda_context: Any) -> list[str]:
    """The deny entries that judged a group with an smtp and an https rule."""
    group = make_group([SMTP, HTTPS], keep_default_egress=False)
    result = handler.lambda_handler(
        authorize_egress(group.group_id, *group.rule_ids), lambda_context
    )
    return [f["DenylistEntry"] for f in result["Findings"]]


def ssm_parameter(aws_env: str, value: str, **kind: str) -> str:
    """A new parameter holding `value`: a String, or whatever `kind` (Type, KeyId) says."""
    name = f"/egress-guard/denylist-{uuid.uuid4().hex}"
    boto3.client("ssm", endpoint_url=aws_env, region_name=REGION).put_parameter(
        Name=name, Value=value, **{"Type": "String", **kind}
    )
    return name


def customer_managed_key(aws_env: str) -> str:
    kms = boto3.client("kms", endpoint_url=aws_env, region_name=REGION)
    return str(kms.create_key(Description="egress-guard denylist")["KeyMetadata"]["Arn"])


def test_denylist_from_an_ssm_parameter(
    make_group: Any, aws_env: str, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DENYLIST_PARAMETER", ssm_parameter(aws_env, denying(443)))

    assert denylist_entries(make_group, lambda_context) == ["port-443"]


def test_denylist_from_a_securestring_parameter_under_the_aws_managed_key(
    make_group: Any, aws_env: str, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = ssm_parameter(aws_env, denying(443), Type="SecureString")
    monkeypatch.setenv("DENYLIST_PARAMETER", name)

    assert denylist_entries(make_group, lambda_context) == ["port-443"]


def test_denylist_from_a_securestring_parameter_under_a_customer_managed_key(
    make_group: Any, aws_env: str, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = customer_managed_key(aws_env)
    name = ssm_parameter(aws_env, denying(443), Type="SecureString", KeyId=key)
    monkeypatch.setenv("DENYLIST_PARAMETER", name)

    assert denylist_entries(make_group, lambda_context) == ["port-443"]


def test_parameter_is_asked_for_decrypted(
    make_group: Any, aws_env: str, proxy: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SSM ignores WithDecryption for a String, so one call serves both kinds."""
    monkeypatch.setenv("DENYLIST_PARAMETER", ssm_parameter(aws_env, denying(25)))

    denylist_entries(make_group, lambda_context)

    [call] = [c for c in proxy.calls if c.action == "GetParameter"]
    assert json.loads(call.request.body)["WithDecryption"] is True


def test_ssm_parameter_is_read_once_per_warm_container(
    make_group: Any, aws_env: str, proxy: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DENYLIST_PARAMETER", ssm_parameter(aws_env, denying(25)))

    denylist_entries(make_group, lambda_context)
    denylist_entries(make_group, lambda_context)

    assert proxy.actions().count("GetParameter") == 1


def test_denylist_from_a_file(
    make_group: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "denylist.yaml"
    path.write_text("version: 1\ndeny:\n  - id: port-443\n    protocol: tcp\n    ports: '443'\n")
    monkeypatch.setenv("DENYLIST_FILE", str(path))

    assert denylist_entries(make_group, lambda_context) == ["port-443"]


@pytest.mark.parametrize(
    ("inline", "in_file"),
    [(25, 443), (None, 25)],
    ids=["inline-wins-over-file-and-parameter", "file-wins-over-parameter"],
)
def test_denylist_source_precedence(
    inline: int | None,
    in_file: int,
    make_group: Any,
    aws_env: str,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """The parameter always denies 443: whatever wins over it denies 25."""
    path = tmp_path / "denylist.json"
    path.write_text(denying(in_file))
    if inline is not None:
        monkeypatch.setenv("DENYLIST", denying(inline))
    monkeypatch.setenv("DENYLIST_FILE", str(path))
    monkeypatch.setenv("DENYLIST_PARAMETER", ssm_parameter(aws_env, denying(443)))

    assert denylist_entries(make_group, lambda_context) == ["port-25"]


def test_packaged_default_when_nothing_is_set(make_group: Any, lambda_context: Any) -> None:
    assert denylist_entries(make_group, lambda_context) == ["smtp-to-internet"]
