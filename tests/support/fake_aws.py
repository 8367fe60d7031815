"""One in-memory EC2 (and the command line's clients) for the unit tests, with scripted faults.

`FakeEc2` answers the calls of the `egress_guard.aws.Ec2Calls` protocol (those the
remediation, the plan and restore make), with the same signatures, over an in-memory
estate: rules (in pages, as DescribeSecurityGroupRules gives them), groups with names and
tags, prefix lists. It keeps a log of the calls in the order they were made (`calls`), so
a test can say *when* something happened, and EC2's own rules hold: a revoke by rule ids
removes every rule it names or, when one is unknown, fails as a whole with not-found.

Faults are scripted per call: `ec2.script("revoke", Lost(error))` makes the next revoke
take effect and then raise (its answer lost); `ec2.fail("prefix_list_cidrs", error)`
fails every call of that kind; the errors are the AWS layer's own (`client_error` builds
one from EC2's answer, as the layer would translate it). `tests/unit/test_fake_ec2.py`
holds the fake to the protocol and the real class's signatures.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import ClientError

from egress_guard.aws import AwsError, DryRunAnswer, GroupInfo, NotFound, translate
from egress_guard.rules import Rule

ACCOUNT = "123456789012"
REGION = "us-east-1"


def client_error(
    code: str, message: str | None = None, *, operation: str = "Operation", retried: int = 0
) -> AwsError:
    """EC2's error answer (its message the code unless given), as the AWS layer raises it;
    `retried`: the answer came to a retry of boto3's (RetryAttempts)."""
    response: Any = {
        "Error": {"Code": code, "Message": code if message is None else message},
        "ResponseMetadata": {"RetryAttempts": retried},
    }
    return aws_error(ClientError(response, operation))


def aws_error(exc: Exception) -> AwsError:
    """The AWS layer's error for a botocore exception (what a fake of the layer raises)."""
    error = translate(exc)
    assert error is not None, exc
    return error


def throttled(operation: str, retried: int = 0) -> AwsError:
    return client_error("RequestLimitExceeded", "slow down", operation=operation, retried=retried)


@dataclass(frozen=True)
class Lost:
    """A write that takes effect, whose answer is then lost: `error` is raised after it."""

    error: Exception


@dataclass(frozen=True)
class Answer:
    """A write that takes effect (or not, `applies=False`) and answers `response`."""

    response: dict[str, Any]
    applies: bool = True


AS_USUAL = None  # in a script: this call answers as the estate says
Scripted = Exception | Lost | Answer | None


class FakeEc2:
    """The calls of `aws.Ec2` over an in-memory estate, logged, with scripted faults."""

    def __init__(
        self,
        rules: Sequence[Rule] = (),
        *,
        pages: Sequence[Sequence[Rule]] | None = None,
        page_size: int = 1000,
        groups: Mapping[str, GroupInfo] | None = None,
        tags: Mapping[str, Mapping[str, str]] | None = None,
        prefix_lists: Mapping[str, Sequence[str]] | None = None,
        region: str = REGION,
        account: str | None = None,
    ) -> None:
        """`rules` in pages of `page_size`, or `pages` as given. The groups that exist are
        those of the rules, those named in `groups` (name and VPC) and in `tags`."""
        self.page_size = page_size
        self.pages: list[list[Rule]] = [list(p) for p in pages] if pages is not None else []
        if pages is None:
            self.rules = list(rules)
        self.infos: dict[str, GroupInfo] = dict(groups or {})
        self.tags: dict[str, dict[str, str]] = {g: dict(t) for g, t in (tags or {}).items()}
        self.existing = {r.group_id for r in self.rules} | set(self.infos) | set(self.tags)
        self.lists: dict[str, list[str]] = {k: list(v) for k, v in (prefix_lists or {}).items()}
        self.region = region
        self.account = account
        self.groups_seen: dict[str, GroupInfo] = {}
        self.calls: list[str] = []
        self.revoked: list[tuple[str, list[str]]] = []
        self.dry_runs: list[tuple[str, list[str]]] = []
        self.authorized: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self._scripts: dict[str, list[Scripted]] = {}
        self._failing: dict[str, Exception] = {}
        self._next_rule = 100

    # --- the estate ---------------------------------------------------------------------

    @property
    def rules(self) -> list[Rule]:
        return [rule for page in self.pages for rule in page]

    @rules.setter
    def rules(self, rules: Sequence[Rule]) -> None:
        size = max(self.page_size, 1)
        self.pages = [list(rules[i : i + size]) for i in range(0, len(rules), size)] or [[]]

    def made(self, prefix: str) -> list[str]:
        """The calls logged so far that start with `prefix` ("revoke", "page ", ...)."""
        return [call for call in self.calls if call.startswith(prefix)]

    def live_ids(self) -> set[str]:
        return {rule.rule_id for rule in self.rules}

    def _remove(self, rule_ids: Sequence[str]) -> None:
        self.pages = [[r for r in page if r.rule_id not in rule_ids] for page in self.pages]

    # --- faults -------------------------------------------------------------------------

    def script(self, call: str, *outcomes: Scripted) -> None:
        """The next calls of `call` (a method name) in turn: an exception is raised (a
        write does not take effect), `Lost` and `Answer` are for writes, AS_USUAL answers
        from the estate. After the script, calls answer as usual again."""
        self._scripts.setdefault(call, []).extend(outcomes)

    def fail(self, call: str, error: Exception) -> None:
        """Every call of `call` from now on raises `error` (after any script)."""
        self._failing[call] = error

    def _next(self, call: str, note: str) -> Scripted:
        self.calls.append(note)
        script = self._scripts.get(call)
        outcome = script.pop(0) if script else self._failing.get(call)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    # --- reads --------------------------------------------------------------------------

    def rules_by_ids(self, group_id: str, rule_ids: Sequence[str]) -> list[Rule]:
        self._next("rules_by_ids", f"read ids {group_id}")
        return [r for r in self.rules if r.group_id == group_id and r.rule_id in rule_ids]

    def rules_of_group(self, group_id: str) -> list[Rule]:
        self._next("rules_of_group", f"read {group_id}")
        return [r for r in self.rules if r.group_id == group_id]

    def all_rule_pages(self) -> Iterator[list[Rule]]:
        for number, page in enumerate(list(self.pages), 1):
            self._next("all_rule_pages", f"page {number}")
            yield list(page)

    def group_tags(self, group_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        self._next("group_tags", f"tags {','.join(group_ids)}")
        found = [g for g in group_ids if g in self.existing]
        self.groups_seen.update({g: self.infos[g] for g in found if g in self.infos})
        return {g: dict(self.tags.get(g, {})) for g in found}

    def groups_tagged(self, keys: Sequence[str]) -> dict[str, dict[str, str]]:
        self._next("groups_tagged", f"tagged {','.join(keys)}")
        return {g: dict(t) for g, t in self.tags.items() if any(k in t for k in keys)}

    def group_info(self, group_ids: Sequence[str]) -> dict[str, GroupInfo]:
        self._next("group_info", "info")
        return {g: self.infos[g] for g in group_ids if g in self.infos}

    def prefix_list_cidrs(self, prefix_list_id: str) -> list[str]:
        self._next("prefix_list_cidrs", f"list {prefix_list_id}")
        return list(self.lists.get(prefix_list_id, []))

    def default_group_of_vpc(self, vpc_id: str) -> str | None:
        """The `default` group among the groups named in `groups` with this VPC."""
        self._next("default_group_of_vpc", f"default {vpc_id}")
        found = [g for g, i in self.infos.items() if i.vpc_id == vpc_id and i.name == "default"]
        return found[0] if found else None

    def prefix_list_associations(self, prefix_list_id: str) -> list[tuple[str, str]] | None:
        """None, as where EC2 lacks the call: the caller lists the rules instead."""
        self._next("prefix_list_associations", f"associations {prefix_list_id}")
        return None

    # --- writes -------------------------------------------------------------------------

    def revoke(self, group_id: str, rule_ids: Sequence[str]) -> dict[str, Any]:
        """As EC2: every rule named goes, or (one unknown) none, and NotFound is raised."""
        outcome = self._next("revoke", f"revoke {group_id} {len(rule_ids)}")
        applies = not (isinstance(outcome, Answer) and not outcome.applies)
        unknown = set(rule_ids) - {r.rule_id for r in self.rules if r.group_id == group_id}
        if unknown and applies:
            raise NotFound(f"InvalidSecurityGroupRuleId.NotFound: {sorted(unknown)[0]}")
        if applies:
            self.revoked.append((group_id, list(rule_ids)))
            self._remove(rule_ids)
        if isinstance(outcome, Lost):
            raise outcome.error
        return dict(outcome.response) if isinstance(outcome, Answer) else {"Return": True}

    def revoke_dry_run(self, group_id: str, rule_ids: Sequence[str]) -> DryRunAnswer:
        self.dry_runs.append((group_id, list(rule_ids)))
        self._next("revoke_dry_run", f"dry-run {group_id} {len(rule_ids)}")
        return DryRunAnswer(True, "DryRunOperation")

    def authorize(self, group_id: str, permission: dict[str, Any], tags: dict[str, str]) -> str:
        """Re-creates one egress rule from its IpPermissions, with a new id."""
        self._next("authorize", f"authorize {group_id}")
        self.authorized.append((group_id, permission, tags))
        self._next_rule += 1
        rule_id = f"sgr-{self._next_rule:017d}"
        item: dict[str, Any] = {
            "SecurityGroupRuleId": rule_id,
            "GroupId": group_id,
            "IsEgress": True,
            "IpProtocol": permission["IpProtocol"],
            "FromPort": permission.get("FromPort"),
            "ToPort": permission.get("ToPort"),
            "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
        }
        ranges = permission.get("IpRanges") or []
        if ranges:
            item["CidrIpv4"] = ranges[0]["CidrIp"]
            item["Description"] = ranges[0].get("Description")
        self.rules = [*self.rules, Rule.from_ec2(item)]
        return rule_id


class FakeClients:
    """The command line's `aws.Clients`: one FakeEc2 for every place, and the own account."""

    def __init__(self, ec2: FakeEc2, account: str = ACCOUNT) -> None:
        self.fake_ec2 = ec2
        self.account = account
        self.ec2_calls: list[tuple[str | None, str | None, str | None]] = []
        self.sts_calls = 0

    def own_account(self) -> str:
        self.sts_calls += 1
        return self.account

    def set_own_account(self, account: str | None) -> None:
        pass

    def default_region(self) -> str:
        return REGION

    def ec2(self, account: str | None, region: str | None, role_name: str | None) -> FakeEc2:
        self.ec2_calls.append((account, region, role_name))
        self.fake_ec2.region = region or REGION
        return self.fake_ec2

    def client(self, service: str, region: str | None = None) -> Any:
        raise AssertionError(f"no {service} client expected")


class FakeMetrics:
    """Powertools' Metrics as the sinks see it (sinks.base.MetricCounter): counts per name,
    added up, in a store of its own (Powertools shares one between instances)."""

    def __init__(self) -> None:
        self.counts: dict[str, float] = {}

    def add_metric(self, name: str, unit: MetricUnit, value: float) -> None:
        self.counts[name] = self.counts.get(name, 0) + value
