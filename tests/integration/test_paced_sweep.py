"""Polite sweeps (issue 11, item 5): a sweep of many offending groups under EC2's request
throttling, emulated by `emulator.ec2_throttle_hook` in front of moto (which never throttles).

The emulated bucket here is EC2's mutating bucket scaled in time (a smaller bucket, refilled
faster) so that the test takes seconds, not minutes; the pace is scaled the same way, still
inside it. No timing is asserted (CI machines are noisy): what counts is the answers. `make
bench` (benchmarks/paced_sweep.py) runs the real sizes and reports the times.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest
from support.egress import SMTP_V6_ONLY, use_denylist
from support.emulator import FakeLambdaContext, create_vpc
from support.proxy import (
    BucketSize,
    Ec2Throttle,
    Forward,
    Proxy,
    Request,
    Response,
    ec2_throttle_hook,
)
from support.samples import sample

from egress_guard import handler
from egress_guard.service import RemediationFailed

pytestmark = pytest.mark.integration

GROUPS = 120
# EC2's mutating bucket is 50 tokens refilled at 5 a second; here 8 refilled at 12: the
# first revokes of a sweep's eight workers, together, nearly empty it.
EMULATED = BucketSize(capacity=8, refill=12)
# The pace (REVOKE_RATE, REVOKE_BURST) inside it, as the defaults (2, 10) are inside EC2's.
PACE = {"REVOKE_RATE": "10", "REVOKE_BURST": "5"}
SMTP_V6 = {"IpProtocol": "tcp", "FromPort": 25, "ToPort": 25, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}
# IPv6 only: the all-traffic IPv4 egress rule of every new group stays compliant, so exactly
# one rule per group is due.


def revokes_like_ec2(request: Request, forward: Forward) -> Response:
    """For "*": RevokeSecurityGroupEgress answers with the rules it removed, as EC2 does
    (moto answers only `Return`). Named from the request, without reading the group before
    and after as `add_revoked_security_group_rules` does: those reads would make moto, not
    the pace, set the speed of the unpaced sweep."""
    params = request.params
    if request.action != "RevokeSecurityGroupEgress" or params.get("DryRun") == "true":
        return forward(request)
    response = forward(request)
    if response.status != 200:
        return response
    root = response.xml()
    ns = root.tag[1:].split("}", 1)[0]
    listed = ET.SubElement(root, f"{{{ns}}}revokedSecurityGroupRuleSet")
    for key, rule_id in sorted(params.items()):
        if key.startswith("SecurityGroupRuleId."):
            item = ET.SubElement(listed, f"{{{ns}}}item")
            ET.SubElement(item, f"{{{ns}}}securityGroupRuleId").text = rule_id
            ET.SubElement(item, f"{{{ns}}}groupId").text = params["GroupId"]
            ET.SubElement(item, f"{{{ns}}}isEgress").text = "true"
    return response.with_xml(root)


@pytest.fixture
def throttled(proxy: Proxy) -> Ec2Throttle:
    proxy.on("*", revokes_like_ec2)  # inside the throttle: its extra reads are not charged
    throttle = proxy.on("*", ec2_throttle_hook(mutating=EMULATED))
    assert isinstance(throttle, Ec2Throttle)
    return throttle


@pytest.fixture
def offending_groups(ec2: Any) -> list[str]:
    vpc_id = create_vpc(ec2)

    def make(i: int) -> str:
        group_id: str = ec2.create_security_group(
            GroupName=f"paced-{i}", Description="egress-guard pacing test", VpcId=vpc_id
        )["GroupId"]
        ec2.authorize_security_group_egress(GroupId=group_id, IpPermissions=[SMTP_V6])
        return group_id

    # One at a time: moto 5.2.5 sometimes answers concurrent CreateSecurityGroup calls
    # with an HTML 500 page.
    return [make(i) for i in range(GROUPS)]


@pytest.fixture
def sweep(monkeypatch: pytest.MonkeyPatch, fresh_container: None) -> Any:
    """A scheduled sweep through the Lambda handler, in a cold container, with the
    blast-radius limits lifted (they would hold a sweep of this size)."""
    use_denylist(monkeypatch, SMTP_V6_ONLY)
    monkeypatch.setenv("MAX_REVOCATIONS", "0")
    monkeypatch.setenv("MAX_REVOCATIONS_PERCENT", "0")
    monkeypatch.delenv("MODE", raising=False)

    def run(**env: str) -> dict[str, Any]:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        context = FakeLambdaContext(timeout_seconds=600)
        try:
            result: dict[str, Any] = handler.lambda_handler(sample("scheduled-event.json"), context)
        except RemediationFailed as exc:
            return exc.result.to_dict()
        return result

    return run


def revoked_groups(result: dict[str, Any]) -> set[str]:
    return {r["GroupId"] for r in result["RevokedSecurityGroupRules"]}


@pytest.mark.slow
def test_a_paced_sweep_is_never_throttled_and_revokes_every_rule(
    throttled: Ec2Throttle, offending_groups: list[str], sweep: Any
) -> None:
    result = sweep(**PACE)

    assert throttled.throttled == {}
    assert throttled.served["RevokeSecurityGroupEgress"] == GROUPS
    assert result["Return"] is True
    assert revoked_groups(result) == set(offending_groups)


@pytest.mark.slow
def test_an_unpaced_sweep_is_throttled(
    throttled: Ec2Throttle, offending_groups: list[str], sweep: Any
) -> None:
    """The same sweep with REVOKE_RATE=0 drains the emulated bucket: EC2 answers
    RequestLimitExceeded, and only boto3's retries (adaptive mode) get the revokes through,
    if they do. The count is the point: every one of them is a call that also failed for
    the account's own deployments."""
    result = sweep(REVOKE_RATE="0")

    throttled_revokes = throttled.throttled.get("RevokeSecurityGroupEgress", 0)
    print(f"unpaced: {throttled_revokes} RequestLimitExceeded for {GROUPS} revokes; "
          f"{len(revoked_groups(result))} groups revoked")  # fmt: skip
    assert throttled_revokes > 0
