"""The other services' calls: Config evaluations, SNS notices, Security Hub finding updates
and the SQS failure queue; each raises only the shell's errors (errors.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast

from egress_guard.aws.errors import aws_call

if TYPE_CHECKING:
    from mypy_boto3_config.client import ConfigServiceClient
    from mypy_boto3_config.type_defs import EvaluationTypeDef
    from mypy_boto3_sns.client import SNSClient


@aws_call
def put_evaluations(
    config_client: ConfigServiceClient, token: str, evaluations: Sequence[dict[str, Any]]
) -> None:
    """Reports compliance to AWS Config, 100 evaluations a call (the API's limit)."""
    for start in range(0, len(evaluations), 100):
        config_client.put_evaluations(
            Evaluations=cast("list[EvaluationTypeDef]", list(evaluations[start : start + 100])),
            ResultToken=token,
        )


@aws_call
def publish(
    sns_client: SNSClient, topic_arn: str, subject: str, body: str, attributes: dict[str, str]
) -> str:
    response = sns_client.publish(
        TopicArn=topic_arn,
        Subject=subject[:100],
        Message=body,
        MessageAttributes={
            key: {"DataType": "String", "StringValue": value}
            for key, value in attributes.items()
            if value
        },
    )
    return str(response.get("MessageId", ""))


@aws_call
def batch_update_findings(securityhub_client: Any, request: dict[str, Any]) -> dict[str, Any]:
    """One BatchUpdateFindings (Security Hub); its answer names the findings not updated.
    `Any`: no boto3-stubs for Security Hub are installed."""
    return dict(securityhub_client.batch_update_findings(**request))


@dataclass(frozen=True)
class QueueMessage:
    """One message received from an SQS queue."""

    message_id: str
    receipt_handle: str
    body: str
    receive_count: int


class QueueCalls(Protocol):
    """The failure queue's calls the replay makes (`FailureQueue`; the tests' fake)."""

    url: str

    def receive(
        self, count: int, *, wait_seconds: int, hide_seconds: int
    ) -> list[QueueMessage]: ...

    def hide(self, message: QueueMessage, seconds: int) -> None: ...

    def delete(self, message: QueueMessage) -> None: ...

    def give_back(self, messages: Sequence[QueueMessage]) -> list[str]: ...


class FailureQueue:
    """The failure queue's calls (egress-guard replay): receive, hide, delete, give back.

    Received messages stay hidden (VisibilityTimeout) while they are replayed; what is not
    deleted is given back (visible again at once) when the replay ends, so a second replay
    finds it, and a replay that dies leaves it hidden no longer than `hide_seconds`.
    """

    MAX_BATCH = 10  # ReceiveMessage's and the batch calls' maximum

    def __init__(self, sqs_client: Any, queue_url: str) -> None:
        self.client = sqs_client
        self.url = queue_url

    @aws_call
    def receive(self, count: int, *, wait_seconds: int, hide_seconds: int) -> list[QueueMessage]:
        """Up to `count` (at most 10) messages, long-polling up to `wait_seconds`."""
        response = self.client.receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=max(1, min(count, self.MAX_BATCH)),
            WaitTimeSeconds=wait_seconds,
            VisibilityTimeout=hide_seconds,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        )
        return [
            QueueMessage(
                str(item["MessageId"]),
                str(item["ReceiptHandle"]),
                str(item.get("Body") or ""),
                int((item.get("Attributes") or {}).get("ApproximateReceiveCount") or 0),
            )
            for item in response.get("Messages") or ()
        ]

    @aws_call
    def hide(self, message: QueueMessage, seconds: int) -> None:
        """Hides the message for `seconds` from now (before its replay starts)."""
        self.client.change_message_visibility(
            QueueUrl=self.url, ReceiptHandle=message.receipt_handle, VisibilityTimeout=seconds
        )

    @aws_call
    def delete(self, message: QueueMessage) -> None:
        self.client.delete_message(QueueUrl=self.url, ReceiptHandle=message.receipt_handle)

    @aws_call
    def give_back(self, messages: Sequence[QueueMessage]) -> list[str]:
        """Makes the messages visible again at once; returns the ids that could not be."""
        failed: list[str] = []
        for start in range(0, len(messages), self.MAX_BATCH):
            chunk = messages[start : start + self.MAX_BATCH]
            response = self.client.change_message_visibility_batch(
                QueueUrl=self.url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m.receipt_handle, "VisibilityTimeout": 0}
                    for i, m in enumerate(chunk)
                ],
            )
            failed += [chunk[int(item["Id"])].message_id for item in response.get("Failed") or ()]
        return failed
