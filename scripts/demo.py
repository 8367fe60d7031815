#!/usr/bin/env python3
"""egress-guard, end to end, on this machine (`make demo`).

1. Starts a local EC2 emulator (moto's server) on a free port of 127.0.0.1.
2. With the real AWS CLI, creates a VPC and a security group with two egress rules:
   tcp/25 (smtp) to 0.0.0.0/0, which the packaged default denylist forbids, and tcp/443 to
   0.0.0.0/0, which it allows. The group keeps the all-traffic egress rule that EC2 gives
   every new group: the packaged denylist forbids that one too, but the event below names
   only the smtp rule, and egress-guard judges only the rules an event names. So the demo
   shows both that a rule is revoked and that the function touches nothing else; the
   default rule is the business of the CreateSecurityGroup event or the scheduled sweep.
3. Takes the sample CloudTrail event events/cloudtrail-authorize-egress.json (the
   EventBridge event for that AuthorizeSecurityGroupEgress call), with its group and rule
   ids replaced by the ones just created.
4. Calls egress_guard.handler.lambda_handler(event, context) in this process, as Lambda
   would, with AWS_ENDPOINT_URL pointing at the emulator, and prints the result.
5. Shows the group's rules afterwards, and stops the emulator (also on errors and Ctrl-C).

Options: --denylist FILE (instead of the packaged default), --mode report.

With --every-sample (`make try`), instead: every sample event of events/ goes through the
command line, `egress-guard invoke`, against a fresh emulator each, and one line per sample
says what happened. Before each, the group, rules and VPC the sample names are created, and
the sample's ids are rewritten to the created ones (moto chooses ids; the samples' are
fixed). The emulator is moto behind the tests' proxy (tests/support/emulator.py, proxy.py), which
makes up for what moto lacks: PutEvaluations (answered by moto only in TestMode) and the
RevokedSecurityGroupRules of EC2's revoke answer.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_EVENT = ROOT / "events" / "cloudtrail-authorize-egress.json"
REFERENCE_EVENTS = ROOT / "tests" / "reference_events"
REFERENCE_RECORD = REFERENCE_EVENTS / "cloudtrail-record-authorize-egress.elastic-integrations.json"

OFFENDING = {
    "IpProtocol": "tcp",
    "FromPort": 25,
    "ToPort": 25,
    "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "direct mail"}],
}
LEGITIMATE = {
    "IpProtocol": "tcp",
    "FromPort": 443,
    "ToPort": 443,
    "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "https"}],
}


# The moto server starter and proxy the tests use too (tests/support; importable without
# pytest, which `make demo`'s light extra does not install).
sys.path.insert(0, str(ROOT / "tests"))
from support import emulator  # noqa: E402  (after the path tweak)
from support import proxy as emulator_proxy  # noqa: E402

# egress-guard's own settings (docs/configuration.md): the demo sets them from its options only.
from support.environment import CONFIGURATION_VARIABLES  # noqa: E402

# --------------------------------------------------------------------------- output


def heading(text: str) -> None:
    print(f"\n== {text} " + "=" * max(0, 74 - len(text)), flush=True)


def describe_rule(rule: dict[str, Any]) -> str:
    protocol = {"-1": "all"}.get(rule["IpProtocol"], rule["IpProtocol"])
    ports = ""
    if rule["IpProtocol"] != "-1":
        low, high = rule.get("FromPort"), rule.get("ToPort")
        ports = f"/{low}" if low == high else f"/{low}-{high}"
    destination = (
        rule.get("CidrIpv4")
        or rule.get("CidrIpv6")
        or rule.get("PrefixListId")
        or rule.get("ReferencedGroupInfo", {}).get("GroupId", "?")
    )
    text = f"{rule['SecurityGroupRuleId']}  {protocol + ports:<12} -> {destination}"
    return text + (f"  ({rule['Description']})" if rule.get("Description") else "")


def print_rules(endpoint: str, env: dict[str, str], group_id: str) -> list[dict[str, Any]]:
    answer = aws(
        endpoint,
        env,
        "ec2",
        "describe-security-group-rules",
        "--filters",
        f"Name=group-id,Values={group_id}",
    )
    rules: list[dict[str, Any]] = [r for r in answer["SecurityGroupRules"] if r["IsEgress"]]
    print(f"security group {group_id}, egress rules:")
    for rule in rules:
        print("  " + describe_rule(rule))
    if not rules:
        print("  (none)")
    return rules


# --------------------------------------------------------------------------- setup


def lambda_env(endpoint: str) -> dict[str, str]:
    """The variables of a Lambda whose AWS is the emulator at `endpoint`."""
    base = {k: v for k, v in os.environ.items() if k not in CONFIGURATION_VARIABLES}
    return {
        **emulator.emulator_environment(endpoint, base),
        "AWS_LAMBDA_FUNCTION_NAME": "egress-guard",
    }


def aws(endpoint: str, env: dict[str, str], *args: str) -> Any:
    return emulator.run_aws_cli(*args, endpoint_url=endpoint, env=env)


@dataclass(frozen=True)
class DemoGroup:
    group_id: str
    offending_rule_id: str
    legitimate_rule_id: str
    default_rule_id: str


def create_demo_group(endpoint: str, env: dict[str, str]) -> DemoGroup:
    """A VPC and a group with one offending and one legitimate egress rule (AWS CLI)."""
    vpc_id = aws(endpoint, env, "ec2", "create-vpc", "--cidr-block", "10.0.0.0/16")["Vpc"]["VpcId"]
    group_id = aws(
        endpoint,
        env,
        "ec2",
        "create-security-group",
        "--group-name",
        "demo-web",
        "--description",
        "egress-guard demo",
        "--vpc-id",
        vpc_id,
    )["GroupId"]
    (default_rule,) = aws(
        endpoint,
        env,
        "ec2",
        "describe-security-group-rules",
        "--filters",
        f"Name=group-id,Values={group_id}",
    )["SecurityGroupRules"]
    ids = []
    for permission in (OFFENDING, LEGITIMATE):  # one call each: the answer names its rule
        answer = aws(
            endpoint,
            env,
            "ec2",
            "authorize-security-group-egress",
            "--group-id",
            group_id,
            "--ip-permissions",
            json.dumps([permission]),
        )
        ids.append(answer["SecurityGroupRules"][0]["SecurityGroupRuleId"])
    return DemoGroup(group_id, ids[0], ids[1], default_rule["SecurityGroupRuleId"])


def build_event(group: DemoGroup, sample: Path = SAMPLE_EVENT) -> dict[str, Any]:
    """The EventBridge event of the AuthorizeSecurityGroupEgress call that added the
    offending rule: the sample event with the sample's ids replaced by the demo's."""
    if not sample.exists():  # before events/ had its sample: the reference record
        sample = REFERENCE_RECORD
    event: dict[str, Any] = json.loads(sample.read_text())
    if "detail" not in event:  # a bare CloudTrail record: wrap it as EventBridge does
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "AWS API Call via CloudTrail",
            "source": "aws.ec2",
            "account": emulator.ACCOUNT_ID,
            "time": event["eventTime"],
            "region": emulator.REGION,
            "resources": [],
            "detail": event,
        }
    detail = event["detail"]
    old_group = detail["requestParameters"]["groupId"]
    old_rules = [
        i["securityGroupRuleId"]
        for i in detail["responseElements"]["securityGroupRuleSet"]["items"]
    ]
    old_accounts = {event.get("account"), detail.get("recipientAccountId")} - {None}

    text = json.dumps(event)
    text = text.replace(old_group, group.group_id)
    for old_rule in old_rules:
        text = text.replace(old_rule, group.offending_rule_id)
    for old_account in old_accounts:
        text = text.replace(f'"{old_account}"', f'"{emulator.ACCOUNT_ID}"')
        text = text.replace(f":{old_account}:", f":{emulator.ACCOUNT_ID}:")
    event = json.loads(text)
    event["region"] = detail_region = emulator.REGION
    event["detail"]["awsRegion"] = detail_region
    # What the call asked for: the offending permission, in CloudTrail's spelling.
    event["detail"]["requestParameters"]["ipPermissions"] = {
        "items": [
            {
                "ipProtocol": "tcp",
                "fromPort": 25,
                "toPort": 25,
                "groups": {},
                "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0", "description": "direct mail"}]},
                "ipv6Ranges": {},
                "prefixListIds": {},
            }
        ]
    }
    items = event["detail"]["responseElements"]["securityGroupRuleSet"]["items"]
    item = copy.deepcopy(items[0])
    item.update(
        groupId=group.group_id,
        securityGroupRuleId=group.offending_rule_id,
        isEgress=True,
        ipProtocol="tcp",
        fromPort=25,
        toPort=25,
        cidrIpv4="0.0.0.0/0",
    )
    event["detail"]["responseElements"]["securityGroupRuleSet"]["items"] = [item]
    return event


# --------------------------------------------------------------------------- run


def invoke(event: dict[str, Any]) -> dict[str, Any] | None:
    """lambda_handler(event, context) as Lambda calls it; None if there is no handler."""
    try:
        from egress_guard.handler import lambda_handler  # the environment is set by now
    except ImportError as exc:
        print(f"egress_guard.handler.lambda_handler cannot be imported ({exc}).")
        print("Install the project (`make .venv`), or wait for the handler to be written.")
        return None
    context = emulator.FakeLambdaContext(timeout_seconds=60)
    result: dict[str, Any] = lambda_handler(event, context)
    return result


def run(args: argparse.Namespace) -> int:
    heading("Starting the local EC2 emulator (moto server)")
    with emulator.running_moto() as moto:
        print(f"listening on {moto.url}")
        env = lambda_env(moto.url)
        if args.denylist:
            env["DENYLIST_FILE"] = str(Path(args.denylist).resolve())
        if args.mode:
            env["MODE"] = args.mode

        heading("Creating a VPC and a security group with the AWS CLI")
        group = create_demo_group(moto.url, env)
        print(f"offending:  {group.offending_rule_id}  tcp/25 to 0.0.0.0/0 (direct mail out)")
        print(f"legitimate: {group.legitimate_rule_id}  tcp/443 to 0.0.0.0/0 (https)")
        print(f"default:    {group.default_rule_id}  all traffic to 0.0.0.0/0 (EC2's own;")
        print("            not named by the event below, so not judged in this invocation)")

        heading("Before")
        print_rules(moto.url, env, group.group_id)

        heading("The event: AuthorizeSecurityGroupEgress, via CloudTrail and EventBridge")
        event = build_event(group)
        source = SAMPLE_EVENT.relative_to(ROOT) if SAMPLE_EVENT.exists() else REFERENCE_RECORD
        print(f"from {source}, with this demo's ids:")
        rule_ids = [
            i["securityGroupRuleId"]
            for i in event["detail"]["responseElements"]["securityGroupRuleSet"]["items"]
        ]
        detail = event["detail"]
        group_named = detail["requestParameters"]["groupId"]
        print(f"  {detail['eventName']} on {group_named}, rules {rule_ids}")
        denylist = args.denylist or "the packaged default denylist"
        print(f"  denylist: {denylist}; mode: {env.get('MODE', 'enforce')}")

        heading("lambda_handler(event, context): its log lines and metrics, then its result")
        os.environ.clear()
        os.environ.update(env)
        result = invoke(event)
        if result is None:
            return 2
        print(json.dumps(result, indent=2, default=str))

        heading("After")
        after = {r["SecurityGroupRuleId"] for r in print_rules(moto.url, env, group.group_id)}
        revoked = group.offending_rule_id not in after
        kept = {group.legitimate_rule_id, group.default_rule_id} <= after
        print()
        if args.mode == "report":
            print(
                "report mode: nothing revoked" if not revoked else "UNEXPECTED: a rule was revoked"
            )
            return 0 if not revoked else 1
        print(f"smtp rule revoked: {_yes(revoked)}; other rules kept: {_yes(kept)}")
        return 0 if revoked and kept and result.get("Return") else 1


# --------------------------------------------------------------------------- every sample

EVENTS = ROOT / "events"
# The ids the samples name (events/README.md), rewritten to the ones the emulator gives.
SAMPLE_GROUP = "sg-0f1e2d3c4b5a69780"
SAMPLE_EGRESS_RULE = "sgr-0aa11bb22cc33dd44"  # tcp/25 to 0.0.0.0/0
SAMPLE_INGRESS_RULE = "sgr-0bb22cc33dd44ee55"
SAMPLE_VPC = "vpc-0a1b2c3d4e5f67890"
SAMPLE_PREFIX_LIST = "pl-0123456789abcdef0"  # the list ModifyManagedPrefixList changed


def config_test_mode(sent: list[dict[str, Any]]) -> Any:
    """A proxy hook: moto answers PutEvaluations only in TestMode (MOTO_NOTES.md); add it,
    and keep what was sent, to show it."""

    def hook(request: Any, forward: Any) -> Any:
        body = json.loads(request.body)
        sent.extend(body.get("Evaluations") or ())
        body["TestMode"] = True
        return forward(dataclasses.replace(request, body=json.dumps(body).encode()))

    return hook


@dataclass(frozen=True)
class SampleIds:
    vpc_id: str
    group_id: str
    egress_rule_id: str
    ingress_rule_id: str
    prefix_list_id: str

    def rewrite(self, text: str) -> str:
        for old, new in (
            (SAMPLE_GROUP, self.group_id),
            (SAMPLE_EGRESS_RULE, self.egress_rule_id),
            (SAMPLE_INGRESS_RULE, self.ingress_rule_id),
            (SAMPLE_VPC, self.vpc_id),
            (SAMPLE_PREFIX_LIST, self.prefix_list_id),
        ):
            text = text.replace(old, new)
        return text


def create_sample_group(endpoint: str) -> SampleIds:
    """What the samples name: a VPC, a group in it with an egress rule tcp/25 to the
    internet (besides EC2's default all-traffic one) and an ingress rule tcp/443, and a
    managed prefix list that has just been given 0.0.0.0/0, with a tcp/25 rule to it."""
    import boto3  # the emulator's own helper takes a boto3 client

    ec2 = boto3.client(
        "ec2",
        endpoint_url=endpoint,
        region_name=emulator.REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    partners = ec2.create_managed_prefix_list(
        PrefixListName="sample-partners",
        MaxEntries=5,
        AddressFamily="IPv4",
        Entries=[{"Cidr": "198.51.100.0/24"}, {"Cidr": "0.0.0.0/0"}],
    )["PrefixList"]["PrefixListId"]
    group = emulator.create_group(
        ec2,
        egress=[
            {"IpProtocol": "tcp", "Port": 25, "CidrIpv4": "0.0.0.0/0"},
            {"IpProtocol": "tcp", "Port": 25, "PrefixListId": partners},
        ],
        ingress=[{"IpProtocol": "tcp", "Port": 443, "CidrIpv4": "0.0.0.0/0"}],
        name="sample-web",
        description="the group the samples name",
    )
    return SampleIds(
        group.vpc_id, group.group_id, group.rule_ids[0], group.ingress_rule_ids[0], partners
    )


def summarize(result: dict[str, Any], evaluations: list[dict[str, Any]]) -> str:
    """What an invocation did, in a few words: `revoked tcp/25 -> 0.0.0.0/0 [entry]`."""
    by_action: dict[str, list[str]] = {}
    for finding in result.get("Findings") or ():
        by_action.setdefault(finding["Action"], []).append(
            f"{finding['Traffic']} [{finding['DenylistEntry']}]"
        )
    parts = [
        f"{action} " + ", ".join(t + (f" x{n}" if n > 1 else "") for t, n in Counter(found).items())
        for action, found in by_action.items()
    ]
    if not parts:
        notes = [n for n in result.get("Notes") or () if n.startswith("no action")]
        parts.append(notes[0] if notes else f"nothing offending in {result['RulesJudged']} rules")
    if evaluations:
        verdicts = sorted({e["ComplianceType"] for e in evaluations})
        parts.append(f"PutEvaluations {len(evaluations)}x {'/'.join(verdicts)}")
    return "; ".join(parts)


def run_every_sample(args: argparse.Namespace) -> int:
    samples = [EVENTS / name for name in args.samples] or sorted(EVENTS.glob("*.json"))
    heading(f"Every sample of events/ through `egress-guard invoke` ({len(samples)} samples)")
    print("Each against a fresh emulator holding the group the sample names (ids rewritten).")
    denylist = args.denylist or "the packaged default denylist"
    print(f"denylist: {denylist}; mode: {args.mode or 'enforce'}\n")
    failures = 0
    with emulator.running_moto() as moto, emulator_proxy.Proxy(moto.url) as proxy:
        evaluations: list[dict[str, Any]] = []
        proxy.on("PutEvaluations", config_test_mode(evaluations))
        proxy.on("RevokeSecurityGroupEgress", emulator_proxy.add_revoked_security_group_rules)
        # moto lacks GetManagedPrefixListAssociations (an HTML 500 page); EC2 answers it.
        proxy.on(
            "GetManagedPrefixListAssociations", emulator_proxy.answer_prefix_list_associations()
        )
        cli_env = {**lambda_env(proxy.url), "PYTHONPATH": str(ROOT / "src")}
        if args.denylist:
            cli_env["DENYLIST_FILE"] = str(Path(args.denylist).resolve())
        if args.mode:
            cli_env["MODE"] = args.mode
        width = max(len(p.name) for p in samples)
        with tempfile.TemporaryDirectory(prefix="egress-guard-try-") as scratch:
            for sample in samples:
                moto.reset()
                evaluations.clear()
                ids = create_sample_group(moto.url)
                event = Path(scratch) / sample.name
                event.write_text(ids.rewrite(sample.read_text()))
                done = subprocess.run(
                    [sys.executable, "-m", "egress_guard", "invoke", str(event)],
                    capture_output=True, text=True, env=cli_env, timeout=300, check=False,
                )  # fmt: skip
                if done.returncode == 0:
                    line = summarize(json.loads(done.stdout), evaluations)
                else:
                    failures += 1
                    errors = [x for x in done.stderr.splitlines() if not x.startswith("{")]
                    line = f"FAILED (exit {done.returncode}): {' '.join(errors)[:300]}"
                print(f"{sample.name:<{width}}  {line}", flush=True)
    print(f"\n{len(samples) - failures} of {len(samples)} samples ran; see events/README.md")
    return 1 if failures else 0


def _yes(flag: bool) -> str:
    return "yes" if flag else "NO"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--denylist", help="a denylist file (default: the packaged one)")
    parser.add_argument("--mode", choices=["enforce", "report"], help="MODE (default enforce)")
    parser.add_argument(
        "--every-sample",
        action="store_true",
        help="run every sample of events/ through `egress-guard invoke` (make try)",
    )
    parser.add_argument(
        "samples", nargs="*", metavar="SAMPLE", help="with --every-sample: only these (file names)"
    )
    args = parser.parse_args(argv)
    try:
        return run_every_sample(args) if args.every_sample else run(args)
    except KeyboardInterrupt:
        print("\ninterrupted; the emulator is stopped", file=sys.stderr)
        return 130
    except emulator.AwsCliError as exc:
        print(f"\nAWS CLI failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
