"""An organisation on the emulator: member accounts, their roles, clients acting in them.

moto's server keeps one backend per account: credentials from AssumeRole act in the role's
account, so each member sees only its own resources, as in AWS (moto's STS does not check
that the role exists, nor its trust policy). A pytest plugin (tests/conftest.py):

- ``member_session``: credentials in `MEMBER`, as its own administrators would have them;
- ``member_ec2``: an EC2 client of that session in `REGION`;
- ``org``: an `Org` of three accounts, moto's default one (the management account, the
  caller's) and two members ("alpha", "beta"), each with the member role `ROLE`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from support.emulator import ACCOUNT_ID, REGION

MEMBER = "210987654321"
# MEMBER_ROLE_NAME: the role the central function assumes in a member account.
ROLE = "egress-guard-member"
# The central function's own role, which the member kit's role trusts (org/member.yaml).
CENTRAL_ROLE = "egress-guard-central"
# The role Organizations gives a new account, for its administrators (test setup).
ADMIN_ROLE = "OrganizationAccountAccessRole"


def session_in(url: str, account: str, role: str = ADMIN_ROLE) -> boto3.Session:
    """Credentials in `account` through `role` (moto's default credentials for its own)."""
    if account == ACCOUNT_ID:
        return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
    sts = boto3.client("sts", endpoint_url=url, region_name=REGION)
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{role}", RoleSessionName="setup")[
        "Credentials"
    ]
    return boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def create_member_role(session: boto3.Session, url: str, *, central_role: str | None = None) -> str:
    """The member role `ROLE` in the session's account, trusting the management account
    (only its role `central_role`, if given, as the member kit does). Returns its ARN."""
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
        "Action": "sts:AssumeRole",
    }
    if central_role:
        principal = f"arn:aws:iam::{ACCOUNT_ID}:role/{central_role}"
        statement["Condition"] = {"ArnEquals": {"aws:PrincipalArn": principal}}
    trust = {"Version": "2012-10-17", "Statement": [statement]}
    iam = session.client("iam", endpoint_url=url, region_name=REGION)
    arn: str = iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(trust))["Role"][
        "Arn"
    ]
    return arn


@dataclass
class Org:
    """An organisation on the emulator, managed from moto's default account."""

    url: str
    organizations: Any
    root: str
    members: list[str] = field(default_factory=list)

    @property
    def accounts(self) -> list[str]:
        return sorted([ACCOUNT_ID, *self.members])

    def ec2(self, account: str, region: str = REGION) -> Any:
        """An EC2 client acting in `account`, as its own administrators would."""
        return session_in(self.url, account).client(
            "ec2", endpoint_url=self.url, region_name=region
        )

    def add_member(self, name: str, parent: str | None = None) -> str:
        """A new member account (under `parent`, else the root) with the member role."""
        status = self.organizations.create_account(Email=f"{name}@example.com", AccountName=name)
        account: str = status["CreateAccountStatus"]["AccountId"]
        if parent:
            self.organizations.move_account(
                AccountId=account, SourceParentId=self.root, DestinationParentId=parent
            )
        create_member_role(session_in(self.url, account), self.url)
        self.members.append(account)
        return account


@pytest.fixture
def member_session(aws_env: str) -> boto3.Session:
    return session_in(aws_env, MEMBER)


@pytest.fixture
def member_ec2(member_session: boto3.Session, aws_env: str) -> Any:
    return member_session.client("ec2", endpoint_url=aws_env, region_name=REGION)


@pytest.fixture
def org(aws_env: str) -> Org:
    organizations = boto3.client("organizations", endpoint_url=aws_env, region_name=REGION)
    organizations.create_organization(FeatureSet="ALL")
    root = organizations.list_roots()["Roots"][0]["Id"]
    made = Org(aws_env, organizations, root)
    made.add_member("alpha")
    made.add_member("beta")
    return made
