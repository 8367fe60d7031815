"""The organisation (README "Organization"): a place swept through the member role, and the
org sweep's state machine run from its real definition by moto's Step Functions engine.

Two emulators:
- the session's moto server (fixture ``aws_env``) for the function itself: a "sweep one
  place" event naming a member account makes the handler assume the member role there
  (real AssumeRole against moto's STS) and revoke in that account and region only;
- a server of this module's own for the state machine, started with MOTO_PORT set to its
  port (moto's engine calls Organizations, Lambda, S3 and SNS on localhost:MOTO_PORT) and
  configured through ``/moto-api/config`` to execute state machines, with Lambda's
  Docker-less backend. That backend answers each invocation with its payload, or with the
  next result queued through ``/moto-api/static/lambda-simple/response``: the tests assert
  the per-place payloads and the coverage summary, not the function's work (which the
  first part covers). See MOTO_NOTES.md, "Step Functions".
"""

from __future__ import annotations

import io
import json
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from support.egress import use_denylist
from support.emulator import ACCOUNT_ID, REGION, MotoServer, create_group, free_port
from support.org import CENTRAL_ROLE, MEMBER, ROLE, create_member_role

from egress_guard import handler

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DEFINITION = REPO / "statemachine" / "org-sweep.asl.json"
MEMBER_REGION = "eu-west-1"
SMTP = {"IpProtocol": "tcp", "Port": 25, "CidrIpv4": "0.0.0.0/0"}


# -- one place, through the member role ---------------------------------------------------


@pytest.fixture
def member_role(member_session: boto3.Session, aws_env: str) -> str:
    """The member kit's role (org/member.yaml), trusting the central function's role."""
    return create_member_role(member_session, aws_env, central_role=CENTRAL_ROLE)


@pytest.fixture
def sweep_env(monkeypatch: pytest.MonkeyPatch, fresh_container: None) -> None:
    use_denylist(monkeypatch, {"version": 1, "deny": [{"id": "smtp", "ports": "25"}]})


def place_event(account: str, region: str) -> dict[str, Any]:
    return {"egress-guard": "sweep-place", "account": account, "region": region, "run": "r1"}


def test_a_place_of_a_member_account_is_swept_there_through_the_member_role(
    member_role: str,
    member_session: boto3.Session,
    sweep_env: None,
    lambda_context: Any,
    aws_env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MEMBER_ROLE_NAME", ROLE)
    member_ec2 = member_session.client("ec2", endpoint_url=aws_env, region_name=MEMBER_REGION)
    group = create_group(member_ec2, [SMTP], keep_default_egress=False)

    result = handler.lambda_handler(place_event(MEMBER, MEMBER_REGION), lambda_context)

    live = member_ec2.describe_security_group_rules(
        Filters=[{"Name": "group-id", "Values": [group.group_id]}]
    )["SecurityGroupRules"]
    assert (result["Source"], result["Account"], result["Region"], live) == (
        "org-sweep",
        MEMBER,
        MEMBER_REGION,
        [],
    )
    # A sweep judges every group there, the default VPC's default group too.
    assert set(group.rule_ids) <= {
        r["SecurityGroupRuleId"] for r in result["RevokedSecurityGroupRules"]
    }


def test_a_member_place_leaves_the_functions_own_account_and_other_regions_alone(
    member_role: str,
    member_session: boto3.Session,
    sweep_env: None,
    lambda_context: Any,
    aws_env: str,
    ec2: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MEMBER_ROLE_NAME", ROLE)
    own = create_group(ec2, [SMTP], keep_default_egress=False)
    member_home = create_group(
        member_session.client("ec2", endpoint_url=aws_env, region_name=REGION),
        [SMTP],
        keep_default_egress=False,
    )

    handler.lambda_handler(place_event(MEMBER, MEMBER_REGION), lambda_context)

    for client, group in (
        (ec2, own),
        (member_session.client("ec2", endpoint_url=aws_env, region_name=REGION), member_home),
    ):
        live = client.describe_security_group_rules(
            Filters=[{"Name": "group-id", "Values": [group.group_id]}]
        )["SecurityGroupRules"]
        assert [r["SecurityGroupRuleId"] for r in live] == list(group.rule_ids)


def test_a_member_place_without_member_role_name_is_refused_naming_the_account(
    sweep_env: None, lambda_context: Any
) -> None:
    with pytest.raises(Exception, match=f"names account {MEMBER}.*MEMBER_ROLE_NAME is not set"):
        handler.lambda_handler(place_event(MEMBER, MEMBER_REGION), lambda_context)


# -- the state machine ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def sfn_server() -> Iterator[MotoServer]:
    port = free_port()
    with pytest.MonkeyPatch.context() as patch:
        # The server's engine reaches the other services at localhost:MOTO_PORT.
        patch.setenv("MOTO_PORT", str(port))
        server = MotoServer(port=port).start()
    try:
        _post(
            server,
            "/moto-api/config",
            {
                "stepfunctions": {"execute_state_machine": True},
                "lambda": {"use_docker": False},
            },
        )
        yield server
    finally:
        server.stop()


def _post(server: MotoServer, path: str, body: Any) -> None:
    request = urllib.request.Request(
        server.url + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10):
        pass


class SweepOrg:
    """An organisation on the module's server, and everything the state machine needs."""

    def __init__(self, server: MotoServer) -> None:
        self.server = server
        self.organizations = self.client("organizations")
        self.organizations.create_organization(FeatureSet="ALL")
        self.root = self.organizations.list_roots()["Roots"][0]["Id"]
        self.s3 = self.client("s3")
        self.s3.create_bucket(Bucket="egress-guard-results")
        iam = self.client("iam")
        role = iam.create_role(RoleName="org-sweep", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        self.role = role
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zipped:
            zipped.writestr("handler.py", "")
        self.function = self.client("lambda").create_function(
            FunctionName="egress-guard",
            Runtime="python3.13",
            Role=role,
            Handler="handler.lambda_handler",
            Code={"ZipFile": archive.getvalue()},
        )["FunctionArn"]
        self.sfn = self.client("stepfunctions")

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.server.url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def account(self, name: str, parent: str | None = None, *, closed: bool = False) -> str:
        status = self.organizations.create_account(Email=f"{name}@example.com", AccountName=name)
        account: str = status["CreateAccountStatus"]["AccountId"]
        if parent:
            self.organizations.move_account(
                AccountId=account, SourceParentId=self.root, DestinationParentId=parent
            )
        if closed:
            self.organizations.close_account(AccountId=account)
        return account

    def topic_queue(self) -> tuple[str, str]:
        """A topic and a queue subscribed to it, to read what the sweep publishes."""
        sns, sqs = self.client("sns"), self.client("sqs")
        topic = sns.create_topic(Name="egress-guard-notices")["TopicArn"]
        queue = sqs.create_queue(QueueName="notices")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        return topic, queue

    def answers(self, *results: Any) -> None:
        """What the function answers to the next invocations, in order."""
        _post(
            self.server,
            "/moto-api/static/lambda-simple/response",
            {
                "results": [r if isinstance(r, str) else json.dumps(r) for r in results],
                "account_id": ACCOUNT_ID,
                "region": REGION,
            },
        )

    def run(self, name: str, **settings: str) -> dict[str, Any]:
        """Create the state machine from the real definition file and run it once."""
        substitutions = {
            "FunctionArn": self.function,
            "Regions": REGION,
            "ExcludedAccounts": "",
            "OrganizationalUnitId": "",
            "ResultsBucket": "egress-guard-results",
            "NotifyTopicArn": "",
            "MaxConcurrency": "4",
            "ToleratedFailurePercentage": "100",
            **settings,
        }
        definition = substitute(DEFINITION.read_text(), substitutions)
        machine = self.sfn.create_state_machine(
            name=f"org-sweep-{name}", definition=definition, roleArn=self.role
        )["stateMachineArn"]
        execution = self.sfn.start_execution(stateMachineArn=machine, name=name)["executionArn"]
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            described = self.sfn.describe_execution(executionArn=execution)
            if described["status"] != "RUNNING":
                break
            time.sleep(0.5)
        assert described["status"] == "SUCCEEDED", described
        summary: dict[str, Any] = json.loads(described["output"])
        return summary

    def records(self, run: str) -> dict[str, Any]:
        """Every object the run wrote, by key, parsed."""
        listed = self.s3.list_objects_v2(Bucket="egress-guard-results", Prefix=f"{run}/")
        return {
            o["Key"]: json.loads(
                self.s3.get_object(Bucket="egress-guard-results", Key=o["Key"])["Body"].read()
            )
            for o in listed.get("Contents", [])
        }


def substitute(definition: str, substitutions: dict[str, str]) -> str:
    """What CloudFormation's DefinitionSubstitutions do: every ${Name}, and no other."""
    for name, value in substitutions.items():
        definition = definition.replace("${" + name + "}", value)
    assert "${" not in definition, "a placeholder of the definition was not substituted"
    return definition


@pytest.fixture
def sweep_org(sfn_server: MotoServer) -> SweepOrg:
    sfn_server.reset()
    return SweepOrg(sfn_server)


def result(account: str, region: str, revoked: int) -> dict[str, Any]:
    """A function result (SPEC section 4) of a place, with `revoked` rules revoked."""
    rules = [
        {"SecurityGroupRuleId": f"sgr-{i:017x}", "GroupId": "sg-0123456789abcdef0"}
        for i in range(revoked)
    ]
    return {
        "Return": True,
        "DryRun": False,
        "RevokedSecurityGroupRules": rules,
        "UnknownIpPermissions": [],
        "Findings": [
            {"SecurityGroupRuleId": r["SecurityGroupRuleId"], "Action": "revoked"} for r in rules
        ],
        "Source": "org-sweep",
        "Account": account,
        "Region": region,
    }


def test_every_place_gets_one_sweep_place_event(sweep_org: SweepOrg) -> None:
    """Accounts x regions, each ACTIVE and not excluded account once per region; the
    Docker-less Lambda echoes each payload, which is not a function result, so every
    place is counted failed and its record keeps the answer."""
    members = [sweep_org.account(f"m{i}") for i in range(3)]
    excluded = members[0]
    closed = sweep_org.account("closed", closed=True)

    summary = sweep_org.run(
        "echo", Regions=f"{REGION},{MEMBER_REGION}", ExcludedAccounts=f"{excluded},999999999999"
    )

    swept_accounts = [ACCOUNT_ID, members[1], members[2]]
    regions = [REGION, MEMBER_REGION]
    records = sweep_org.records("echo")
    payloads = sorted(
        json.dumps(r["Answer"], sort_keys=True) for r in records.values() if "Answer" in r
    )
    assert payloads == sorted(
        json.dumps(
            {"egress-guard": "sweep-place", "account": a, "region": r, "run": "echo"},
            sort_keys=True,
        )
        for a in swept_accounts
        for r in regions
    )
    skipped = {k: v["Reason"] for k, v in records.items() if v.get("Status") == "skipped"}
    by_stack = "excluded by the stack's OrgSweepExcludedAccounts"
    assert skipped == {
        f"echo/skipped/{excluded}/{REGION}.json": by_stack,
        f"echo/skipped/{excluded}/{MEMBER_REGION}.json": by_stack,
        f"echo/skipped/{closed}/{REGION}.json": "account status SUSPENDED",
        f"echo/skipped/{closed}/{MEMBER_REGION}.json": "account status SUSPENDED",
    }
    assert (summary["PlacesSwept"], summary["PlacesFailed"], summary["PlacesSkipped"]) == (0, 6, 4)
    assert records["echo/summary.json"] == summary


def test_coverage_summary_counts_swept_failed_skipped_and_revoked_and_is_published(
    sweep_org: SweepOrg,
) -> None:
    member = sweep_org.account("m")
    excluded = sweep_org.account("x")
    topic, queue = sweep_org.topic_queue()
    # Four places run (the management account and the member, two regions each), in any
    # order: three answers are results (2, 1 and 0 rules revoked), one is not (a failure).
    sweep_org.answers(
        result(member, REGION, 2),
        result(member, MEMBER_REGION, 1),
        "not a result",
        result(ACCOUNT_ID, REGION, 0),
    )

    summary = sweep_org.run(
        "counted",
        Regions=f"{REGION},{MEMBER_REGION}",
        ExcludedAccounts=excluded,
        NotifyTopicArn=topic,
    )

    assert {
        k: summary[k] for k in ("PlacesSwept", "PlacesFailed", "PlacesSkipped", "RulesRevoked")
    } == {
        "PlacesSwept": 3,
        "PlacesFailed": 1,
        "PlacesSkipped": 2,
        "RulesRevoked": 3,
    }
    assert summary["Results"] == "s3://egress-guard-results/counted/"
    [message] = sweep_org.client("sqs").receive_message(QueueUrl=queue, WaitTimeSeconds=1)[
        "Messages"
    ]
    notice = json.loads(message["Body"])
    assert notice["Subject"] == "egress-guard org sweep: 3 swept, 1 failed, 2 skipped, 3 revoked"
    assert json.loads(notice["Message"]) == summary
    failed = [k for k in sweep_org.records("counted") if k.startswith("counted/failed/")]
    assert len(failed) == 1


def test_an_ou_sweep_reads_every_page_of_its_accounts_and_nothing_outside(
    sweep_org: SweepOrg,
) -> None:
    unit = sweep_org.organizations.create_organizational_unit(
        ParentId=sweep_org.root, Name="workloads"
    )["OrganizationalUnit"]["Id"]
    inside = {sweep_org.account(f"w{i}", unit) for i in range(21)}  # two pages of at most 20
    sweep_org.account("outside")

    summary = sweep_org.run("ou", OrganizationalUnitId=unit)

    places = {k.split("/")[2] for k in sweep_org.records("ou") if k != "ou/summary.json"}
    assert (places, summary["PlacesFailed"], summary["OrganizationalUnit"]) == (inside, 21, unit)
