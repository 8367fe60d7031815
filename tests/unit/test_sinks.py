"""Where a result goes (egress_guard.sinks): each sink delivered to in-process fakes, its
success, its failure policy (docs/invariants.md: no delivery undoes a remediation), and
the notice's split when a result is too large for one SNS message."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from support.cases import named
from support.fake_aws import FakeMetrics

from egress_guard.result import Finding, Result
from egress_guard.rules import Rule
from egress_guard.settings import Settings
from egress_guard.sinks import Delivery, Sink, deliver, log_line
from egress_guard.sinks.config import ConfigSink
from egress_guard.sinks.log_line import LogLineSink
from egress_guard.sinks.metrics import MetricsSink
from egress_guard.sinks.securityhub import SecurityHubSink
from egress_guard.sinks.sns_notice import NOTICE_BODY_BUDGET, SnsNoticeSink
from egress_guard.sinks.split import utf8_size
from egress_guard.targets import ConfigInvocation, HubFinding, HubFindings, Targets

ACCOUNT = "123456789012"
REGION = "us-east-1"
GROUP = "sg-0123456789abcdef0"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:egress-guard"


def refused(operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, operation)


class FakeService:
    """An SNS, Config or Security Hub client: records each call, or raises `error`."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.error: Exception | None = None

    def _call(self, **kwargs: Any) -> dict[str, Any]:
        if self.error is not None:
            raise self.error
        self.calls.append(kwargs)
        return {"MessageId": f"m-{len(self.calls)}", "UnprocessedFindings": []}

    publish = put_evaluations = batch_update_findings = _call


class FakeClients:
    """The clients a sink asks for (sinks.AwsClients), one fake per service."""

    def __init__(self) -> None:
        self.services: dict[str, FakeService] = {}

    def client(self, service: str, region: str | None = None) -> FakeService:
        return self.services.setdefault(service, FakeService())

    def client_in(
        self, service: str, account: str | None, region: str | None, role_name: str | None
    ) -> FakeService:
        return self.client(service, region)


def smtp(number: int = 25, description: str | None = None) -> Rule:
    return Rule(f"sgr-{number:017d}", GROUP, True, "tcp", number, number, "0.0.0.0/0", description)


def result_of(*findings: Finding) -> Result:
    result = Result("schedule", "evt-1", ACCOUNT, REGION, "enforce", dry_run=False)
    result.findings.extend(findings)
    result.revoked.extend(f.rule.to_revoked() for f in findings if f.action == "revoked")
    result.groups_judged.add(GROUP)
    result.noncompliant_groups.update(f.rule.group_id for f in findings if f.action != "revoked")
    result.rules_judged = len(findings)
    return result


def run(clients: FakeClients, metrics: FakeMetrics, **fields: Any) -> Delivery:
    targets = fields.pop("targets", None) or Targets(
        source="schedule", account=ACCOUNT, region=REGION
    )
    settings = Settings(notify_topic_arn=fields.pop("topic_arn", TOPIC))
    return Delivery(clients, targets, metrics, **{"writes": True, "settings": settings, **fields})


@pytest.fixture
def clients() -> FakeClients:
    return FakeClients()


@pytest.fixture
def metrics() -> FakeMetrics:
    return FakeMetrics()


# --- metrics ----------------------------------------------------------------------------------


def test_metrics_count_each_action(clients: FakeClients, metrics: FakeMetrics) -> None:
    result = result_of(Finding(smtp(25), "smtp", "revoked"), Finding(smtp(26), "smtp", "held"))
    MetricsSink().deliver(result, run(clients, metrics))
    assert metrics.counts["RulesRevoked"] == 1
    assert metrics.counts["RevocationsHeld"] == 1
    assert metrics.counts["RulesOffending"] == 2


def test_a_run_that_needed_no_action_counts_nothing(
    clients: FakeClients, metrics: FakeMetrics
) -> None:
    MetricsSink().deliver(result_of(), run(clients, metrics, acted=False))
    assert metrics.counts == {}


# --- the SNS notice ---------------------------------------------------------------------------


def test_a_revocation_is_published_once(clients: FakeClients, metrics: FakeMetrics) -> None:
    SnsNoticeSink().deliver(result_of(Finding(smtp(), "smtp", "revoked")), run(clients, metrics))
    [call] = clients.services["sns"].calls
    assert call["TopicArn"] == TOPIC
    assert call["Subject"].startswith("egress-guard revoked tcp/25 -> 0.0.0.0/0 on " + GROUP)


def test_nothing_is_published_without_a_topic_a_write_or_an_action(
    clients: FakeClients, metrics: FakeMetrics
) -> None:
    revoked = result_of(Finding(smtp(), "smtp", "revoked"))
    SnsNoticeSink().deliver(revoked, run(clients, metrics, topic_arn=None))
    SnsNoticeSink().deliver(revoked, run(clients, metrics, writes=False))
    SnsNoticeSink().deliver(result_of(Finding(smtp(), "smtp", "exempt")), run(clients, metrics))
    assert clients.services == {}


def test_a_result_too_large_for_one_message_is_published_in_parts(
    clients: FakeClients, metrics: FakeMetrics
) -> None:
    long = "relay " * 42  # 252 characters, near EC2's limit of 255
    findings = [Finding(smtp(n, long), "smtp", "revoked") for n in range(1, 1200)]
    SnsNoticeSink().deliver(result_of(*findings), run(clients, metrics))
    calls = clients.services["sns"].calls
    assert len(calls) > 1
    assert all(utf8_size(c["Message"]) <= NOTICE_BODY_BUDGET for c in calls)
    numbers = [c["MessageAttributes"]["part"]["StringValue"] for c in calls]
    assert numbers == [str(n) for n in range(1, len(calls) + 1)]
    assert sum(c["Message"].count("Put back with:") for c in calls) == len(findings)


# --- AWS Config -------------------------------------------------------------------------------

CONFIG = Targets(
    source="config",
    account=ACCOUNT,
    region=REGION,
    config=ConfigInvocation("token-1", "egress-guard", "2024-01-01T00:00:00Z"),
)


def test_config_is_told_each_groups_compliance(clients: FakeClients, metrics: FakeMetrics) -> None:
    result = result_of(Finding(smtp(), "smtp", "exempt"))
    ConfigSink().deliver(result, run(clients, metrics, targets=CONFIG))
    [call] = clients.services["config"].calls
    assert call["ResultToken"] == "token-1"
    assert [e["ComplianceType"] for e in call["Evaluations"]] == ["NON_COMPLIANT"]


# --- Security Hub -----------------------------------------------------------------------------

HUB = Targets(
    source="securityhub",
    account=ACCOUNT,
    region=REGION,
    securityhub=HubFindings(ACCOUNT, REGION, (HubFinding("f-1", "arn:product", (GROUP,)),)),
)


def test_a_security_hub_finding_is_resolved(clients: FakeClients, metrics: FakeMetrics) -> None:
    result = result_of(Finding(smtp(), "smtp", "revoked"))
    SecurityHubSink().deliver(result, run(clients, metrics, targets=HUB))
    [call] = clients.services["securityhub"].calls
    assert call["Workflow"] == {"Status": "RESOLVED"}
    assert metrics.counts == {"SecurityHubUpdated": 1}


# --- each sink's failure policy (docs/invariants.md: no delivery undoes a remediation) -------

# (sink, its service, the refused call, the run's targets, then what the result and the
# metrics say): a notice not published is counted and the result stands; a refused
# PutEvaluations is an error of the result (Lambda retries, Config re-evaluates); a failed
# Security Hub update is noted and counted.
FAILURES = [
    ("notice not published", SnsNoticeSink(), "sns", "Publish", None,
     True, [], [], {"NotifyFailed": 1}),
    ("PutEvaluations refused", ConfigSink(), "config", "PutEvaluations", CONFIG,
     False, ["PutEvaluations failed: AccessDenied: no"], [], {}),
    ("Security Hub update failed", SecurityHubSink(), "securityhub", "BatchUpdateFindings", HUB,
     True, [], ["Security Hub finding f-1 not updated: AccessDenied: no"],
     {"SecurityHubUpdateFailed": 1}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("sink", "service", "operation", "targets", "ok", "errors", "notes", "counts"),
    named(FAILURES),
)
def test_a_failed_delivery_leaves_the_result_as_its_sink_s_policy_says(
    clients: FakeClients,
    metrics: FakeMetrics,
    sink: Sink,
    service: str,
    operation: str,
    targets: Targets | None,
    ok: bool,
    errors: list[str],
    notes: list[str],
    counts: dict[str, float],
) -> None:
    clients.client(service).error = refused(operation)
    result = result_of(Finding(smtp(), "smtp", "revoked"))
    sink.deliver(result, run(clients, metrics, targets=targets))
    assert (result.ok, result.errors, result.notes, metrics.counts) == (ok, errors, notes, counts)


# --- the log line and the wiring --------------------------------------------------------------


class FakeLogger:
    def __init__(self) -> None:
        self.lines: list[tuple[str, dict[str, Any]]] = []

    def info(self, message: str, **fields: Any) -> None:
        self.lines.append((message, fields))


def test_the_result_is_logged_once_after_a_run_that_acted(
    clients: FakeClients, metrics: FakeMetrics, monkeypatch: pytest.MonkeyPatch
) -> None:
    logger = FakeLogger()
    monkeypatch.setattr(log_line, "logger", logger)
    result = result_of(Finding(smtp(), "smtp", "revoked"))
    LogLineSink().deliver(result, run(clients, metrics, acted=False))
    LogLineSink().deliver(result, run(clients, metrics))
    assert logger.lines == [("result", {"result": result.to_dict()})]


def test_later_sinks_see_what_earlier_ones_recorded(
    clients: FakeClients, metrics: FakeMetrics, monkeypatch: pytest.MonkeyPatch
) -> None:
    logger = FakeLogger()
    monkeypatch.setattr(log_line, "logger", logger)
    clients.client("config").error = refused("PutEvaluations")
    result = result_of(Finding(smtp(), "smtp", "revoked"))
    deliver([ConfigSink(), LogLineSink()], result, run(clients, metrics, targets=CONFIG))
    [(_, fields)] = logger.lines
    assert fields["result"]["Errors"] == ["PutEvaluations failed: AccessDenied: no"]
