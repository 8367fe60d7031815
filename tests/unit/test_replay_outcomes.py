"""`egress-guard replay` (issue 11, item 6), its decisions on an in-process queue: what is
deleted (only a run that succeeded), what stays and why, and that what stays is given back."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from botocore.exceptions import ClientError, NoCredentialsError
from support.event_samples import sample
from support.fake_aws import aws_error

from egress_guard import queue_url
from egress_guard.aws import QueueMessage, SetupProblem
from egress_guard.replay import QueueUnavailable, Report, replay
from egress_guard.replay_report import render_report
from egress_guard.targets import EventError

REGION = "us-east-1"


def record(payload: Any) -> str:
    return json.dumps(
        {
            "version": "1.0",
            "requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": 3},
            "requestPayload": payload,
            "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
            "responsePayload": {"errorMessage": "1 revocation(s) failed"},
        }
    )


class FakeQueue:
    """FailureQueue's four calls, on a list of bodies."""

    url = "https://sqs.us-east-1.amazonaws.com/123456789012/egress-guard-failures"

    def __init__(self, *bodies: str) -> None:
        self.visible = [QueueMessage(f"m{i}", f"r{i}", b, 1) for i, b in enumerate(bodies)]
        self.deleted: list[str] = []
        self.given_back: list[str] = []
        self.receive_error: Exception | None = None
        self.batches: list[int] = []

    def receive(self, count: int, *, wait_seconds: int, hide_seconds: int) -> list[QueueMessage]:
        if self.receive_error is not None:
            raise self.receive_error
        batch, self.visible = self.visible[: min(count, 10)], self.visible[min(count, 10) :]
        self.batches.append(len(batch))
        return batch

    def hide(self, message: QueueMessage, seconds: int) -> None:
        pass

    def delete(self, message: QueueMessage) -> None:
        self.deleted.append(message.message_id)

    def give_back(self, messages: Sequence[QueueMessage]) -> list[str]:
        self.given_back += [m.message_id for m in messages]
        return []


class Failed(Exception):
    def __init__(self, result: dict[str, Any]) -> None:
        super().__init__("1 revocation(s) failed")
        self.result = result


def result(ok: bool = True, **extra: Any) -> dict[str, Any]:
    action = "revoked" if ok else "failed"
    return {"Return": ok, "DryRun": False, "Findings": [{"Action": action}], **extra}


def run_ok(event: Mapping[str, Any]) -> Mapping[str, Any]:
    return result()


def go(queue: FakeQueue, run: Any = run_ok, **kwargs: Any) -> Report:
    return replay(
        queue,
        run,
        region=REGION,
        dry_run=kwargs.pop("dry_run", False),
        failure_of=lambda exc: exc.result if isinstance(exc, Failed) else None,
        **kwargs,
    )


def test_a_record_whose_run_succeeds_is_deleted() -> None:
    queue = FakeQueue(record(sample("cloudtrail-authorize-egress.json")))
    report = go(queue)
    assert queue.deleted == ["m0"]
    assert report.ok
    (done,) = report.to_dict()["Messages"]
    assert done["Outcome"] == "replayed"
    assert done["Source"] == "cloudtrail:AuthorizeSecurityGroupEgress"
    assert done["Result"]["Findings"] == {"revoked": 1}


def test_the_run_is_given_the_record_itself() -> None:
    seen: list[Mapping[str, Any]] = []
    body = record(sample("scheduled-event.json"))

    def run(event: Mapping[str, Any]) -> Mapping[str, Any]:
        seen.append(event)
        return result()

    go(FakeQueue(body), run)
    assert seen == [json.loads(body)]


def test_a_failed_run_stays_with_its_error_and_is_given_back() -> None:
    def run(event: Mapping[str, Any]) -> Mapping[str, Any]:
        raise Failed(result(ok=False))

    queue = FakeQueue(record(sample("cloudtrail-authorize-egress.json")))
    report = go(queue, run)
    assert queue.deleted == []
    assert queue.given_back == ["m0"]
    assert not report.ok
    (done,) = report.to_dict()["Messages"]
    assert (done["Outcome"], done["Deleted"], done["Error"]) == (
        "failed",
        False,
        "1 revocation(s) failed",
    )
    assert done["Result"]["Findings"] == {"failed": 1}


@pytest.mark.parametrize(
    ("body", "error"),
    [("not json {", "the body is not JSON"), ("[1, 2]", "the body is JSON but not an object")],
)
def test_an_unreadable_body_stays(body: str, error: str) -> None:
    queue = FakeQueue(body)
    report = go(queue)
    (done,) = report.to_dict()["Messages"]
    assert done["Outcome"] == "unreadable"
    assert done["Error"].startswith(error)
    assert queue.given_back == ["m0"]


def test_an_invalid_event_stays_refused() -> None:
    report = go(FakeQueue(record({"hello": "world"})))
    (done,) = report.to_dict()["Messages"]
    assert done["Outcome"] == "refused"
    assert "unrecognised event" in done["Error"]


def test_an_event_of_another_region_stays_and_says_how_to_replay_it() -> None:
    event = sample("cloudtrail-authorize-egress.json")
    event["region"] = event["detail"]["awsRegion"] = "eu-west-1"
    report = go(FakeQueue(record(event)))
    (done,) = report.to_dict()["Messages"]
    assert done["Outcome"] == "refused"
    assert done["Error"].endswith("replay with --region eu-west-1")


def test_an_account_the_run_refuses_stays_refused() -> None:
    def run(event: Mapping[str, Any]) -> Mapping[str, Any]:
        raise EventError("the event names account 444455556666, not this function's")

    report = go(FakeQueue(record(sample("cloudtrail-authorize-egress.json"))), run)
    assert report.to_dict()["Messages"][0]["Outcome"] == "refused"


def test_a_dry_run_deletes_nothing_and_succeeds_when_every_run_would() -> None:
    queue = FakeQueue(record(sample("scheduled-event.json")), record(sample("manual-revoke.json")))
    report = go(queue, dry_run=True)
    assert queue.deleted == []
    assert queue.given_back == ["m0", "m1"]
    assert report.ok
    assert [m["Outcome"] for m in report.to_dict()["Messages"]] == ["would-replay"] * 2


def test_messages_are_received_ten_at_a_time_up_to_the_maximum() -> None:
    queue = FakeQueue(*[record(sample("scheduled-event.json"))] * 25)
    report = go(queue, max_messages=23)
    assert queue.batches == [10, 10, 3]
    assert len(queue.deleted) == 23
    assert "stopped after 23 message(s)" in report.notes[0]


def test_a_queue_that_cannot_be_read_is_a_set_up_problem() -> None:
    queue = FakeQueue()
    queue.receive_error = aws_error(
        ClientError(
            {"Error": {"Code": "AWS.SimpleQueueService.NonExistentQueue", "Message": "no queue"}},
            "ReceiveMessage",
        )
    )
    with pytest.raises(QueueUnavailable, match="NonExistentQueue"):
        go(queue)


def test_missing_credentials_stop_the_replay_and_give_back_what_was_held() -> None:
    def run(event: Mapping[str, Any]) -> Mapping[str, Any]:
        raise aws_error(NoCredentialsError())

    queue = FakeQueue(record(sample("scheduled-event.json")))
    with pytest.raises(SetupProblem):
        go(queue, run)
    assert queue.given_back == ["m0"]


def test_the_table_names_each_message_and_sums_up() -> None:
    queue = FakeQueue(record(sample("scheduled-event.json")), "nope")
    text = render_report(go(queue).to_dict())
    lines = text.splitlines()
    assert lines[0].split() == ["MESSAGE", "OUTCOME", "DELETED", "SOURCE", "DETAIL"]
    assert lines[1].split()[:4] == ["m0", "replayed", "yes", "schedule"]
    assert lines[2].split()[:4] == ["m1", "unreadable", "no", "-"]
    assert lines[3] == (
        f"2 message(s) received, 1 replayed and deleted, 1 stayed in {FakeQueue.url}"
    )


@pytest.mark.parametrize(
    ("url", "region"),
    [
        ("https://sqs.eu-west-1.amazonaws.com/123456789012/q", "eu-west-1"),
        ("https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q", "cn-north-1"),
        ("https://us-west-2.queue.amazonaws.com/123456789012/q", "us-west-2"),
        ("http://127.0.0.1:5000/123456789012/q", None),
    ],
)
def test_the_queue_region_comes_from_its_url(url: str, region: str | None) -> None:
    assert queue_url.check_queue_url(url) == url
    assert queue_url.queue_region(url) == region


@pytest.mark.parametrize("url", ["egress-guard-failures", "https://sqs.x/q", "ftp://h/1/q"])
def test_a_queue_url_that_is_not_one_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="expected a queue URL"):
        queue_url.check_queue_url(url)
