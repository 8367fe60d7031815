"""The sink protocol: where a finished result goes, and what a sink may need to get it there.

A sink delivers one invocation's result to one audience (the log, CloudWatch metrics, SNS,
AWS Config, Security Hub). Every sink has the same signature and the same rule: it never
raises for a failed delivery and never undoes a remediation. What it does on failure is its
own documented policy, one of:

- recorded in the result's `Errors` (the invocation then fails: Return is false);
- noted in the result's `Notes`, logged and counted (a metric), the invocation unchanged;
- logged and counted only.

The sinks and their order are wired in one table, `service.SINKS`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from aws_lambda_powertools.metrics import MetricUnit

from egress_guard.aws import GroupInfo
from egress_guard.result import Result
from egress_guard.settings import Settings
from egress_guard.targets import Targets

if TYPE_CHECKING:
    from collections.abc import Sequence

    from egress_guard.judge import Judge


class AwsClients(Protocol):
    """The clients a sink asks for (aws.Clients)."""

    def client(self, service: str, region: str | None = None) -> Any: ...

    def client_in(
        self, service: str, account: str | None, region: str | None, role_name: str | None
    ) -> Any: ...


class MetricCounter(Protocol):
    """Where counts go (Powertools Metrics)."""

    def add_metric(self, name: str, unit: MetricUnit, value: float) -> None: ...


class GroupNames(Protocol):
    """Names and VPCs of groups, for a notice (aws.Ec2)."""

    def group_info(self, group_ids: Sequence[str]) -> Mapping[str, GroupInfo]: ...


@dataclass(frozen=True, slots=True)
class Delivery:
    """What the sinks of one invocation share.

    `acted`: the rules were read and judged (False: the event needed no action).
    `writes`: the result may be written elsewhere; a dry run asked for by hand (the command
    line's --dry-run, a manual request's DryRun) writes nothing anywhere, as EC2's own
    DryRun. Report mode still writes: it tells Config and announces what it would revoke.
    `ec2` and `judge` name groups and deny entries in a notice, when the run had them.
    """

    clients: AwsClients
    targets: Targets
    metrics: MetricCounter
    writes: bool
    acted: bool = True
    settings: Settings = field(default_factory=Settings)  # role, topic, exempt tag
    ec2: GroupNames | None = None
    judge: Judge | None = None


class Sink(Protocol):
    """Delivers a result to one audience; never raises for a failed delivery."""

    def deliver(self, result: Result, run: Delivery) -> None: ...


def deliver(sinks: Iterable[Sink], result: Result, run: Delivery) -> None:
    """Each sink in turn: an earlier sink's `Errors` and `Notes` are in what later ones see."""
    for sink in sinks:
        sink.deliver(result, run)
