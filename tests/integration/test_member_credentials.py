"""Member-account credentials: one AssumeRole per account, shared and refreshed by botocore.

Every client of one member account, whatever its service or region, signs with the same
role credentials; botocore assumes the role again before they expire. AssumeRole calls
are counted at the proxy in front of moto.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from support.proxy import Forward, Proxy, Request, Response, fail

from egress_guard.aws import Clients

pytestmark = pytest.mark.integration

MEMBER = "210987654321"
OTHER_MEMBER = "310987654321"
ROLE = "egress-guard-member"
ROLE_LIFETIME = timedelta(hours=1)


def assumed(proxy: Proxy) -> list[str]:
    """The role ARNs assumed so far, in order."""
    return [c.request.params["RoleArn"] for c in proxy.calls if c.action == "AssumeRole"]


def describe(clients: Clients, account: str, region: str) -> None:
    clients.ec2(account, region, ROLE).client.describe_security_groups()


@pytest.fixture
def clients(proxy: Proxy) -> Clients:
    fresh = Clients()
    fresh.set_own_account("123456789012")
    return fresh


def test_clients_of_one_member_account_share_one_assume_role(
    clients: Clients, proxy: Proxy
) -> None:
    describe(clients, MEMBER, "us-east-1")
    describe(clients, MEMBER, "eu-west-1")

    assert assumed(proxy) == [f"arn:aws:iam::{MEMBER}:role/{ROLE}"]


def test_other_services_of_the_member_account_share_it_too(clients: Clients, proxy: Proxy) -> None:
    describe(clients, MEMBER, "us-east-1")
    clients.client_in("sns", MEMBER, "eu-west-1", ROLE).list_topics()

    assert len(assumed(proxy)) == 1


def test_each_member_account_assumes_its_own_role_once(clients: Clients, proxy: Proxy) -> None:
    for _ in range(2):
        describe(clients, MEMBER, "us-east-1")
        describe(clients, OTHER_MEMBER, "us-east-1")

    assert sorted(assumed(proxy)) == [
        f"arn:aws:iam::{MEMBER}:role/{ROLE}",
        f"arn:aws:iam::{OTHER_MEMBER}:role/{ROLE}",
    ]


def test_own_account_assumes_no_role(clients: Clients, proxy: Proxy) -> None:
    describe(clients, "123456789012", "us-east-1")

    assert assumed(proxy) == []


def test_member_calls_sign_with_the_role_credentials(clients: Clients, proxy: Proxy) -> None:
    """moto maps the role's credentials to the member account: its own view, not ours."""
    member = clients.ec2(MEMBER, "us-east-1", ROLE).client
    vpc = member.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]

    assert vpc["OwnerId"] == MEMBER


@pytest.mark.parametrize(
    ("region", "role_arn"),
    [
        ("cn-north-1", f"arn:aws-cn:iam::{MEMBER}:role/{ROLE}"),
        ("us-gov-west-1", f"arn:aws-us-gov:iam::{MEMBER}:role/{ROLE}"),
    ],
)
def test_member_role_is_named_in_the_partition_of_the_region(
    clients: Clients, proxy: Proxy, region: str, role_arn: str
) -> None:
    describe(clients, MEMBER, region)

    assert assumed(proxy) == [role_arn]


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def expiring_by(clock: FakeClock) -> Callable[[Request, Forward], Response]:
    """AssumeRole answers whose credentials expire an hour after the fake clock's now."""

    def hook(request: Request, forward: Forward) -> Response:
        response = forward(request)
        root = response.xml()
        for node in root.iter():
            if node.tag.rsplit("}", 1)[-1] == "Expiration":
                node.text = (clock() + ROLE_LIFETIME).strftime("%Y-%m-%dT%H:%M:%SZ")
        return response.with_xml(root)

    return hook


@pytest.fixture
def clock(proxy: Proxy) -> FakeClock:
    fake = FakeClock()
    proxy.on("AssumeRole", expiring_by(fake))
    return fake


def test_member_credentials_are_refreshed_before_they_expire(
    clock: FakeClock, proxy: Proxy
) -> None:
    clients = Clients(clock=clock)
    clients.set_own_account("123456789012")
    describe(clients, MEMBER, "us-east-1")
    clock.now += timedelta(minutes=30)
    describe(clients, MEMBER, "us-east-1")
    assert len(assumed(proxy)) == 1, "still valid for 30 minutes: no refresh"

    clock.now += timedelta(minutes=20)  # 10 minutes left: within botocore's refresh window
    describe(clients, MEMBER, "eu-west-1")

    assert len(assumed(proxy)) == 2


def test_failed_assume_role_is_tried_again_on_the_next_call(clients: Clients, proxy: Proxy) -> None:
    proxy.on("AssumeRole", fail("AccessDenied", "not yet", status=403, times=1))
    with pytest.raises(Exception, match="AccessDenied"):
        describe(clients, MEMBER, "us-east-1")

    describe(clients, MEMBER, "us-east-1")

    assert [c.status for c in proxy.calls if c.action == "AssumeRole"] == [403, 200]
