"""The other services' calls: Config evaluations, SNS notices and the SQS failure queue."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


def put_evaluations(config_client: Any, token: str, evaluations: Sequence[dict[str, Any]]) -> None:
    """Reports compliance to AWS Config, 100 evaluations a call (the API's limit)."""
    for start in range(0, len(evaluations), 100):
        config_client.put_evaluations(
            Evaluations=list(evaluations[start : start + 100]), ResultToken=token
        )


def publish(
    sns_client: Any, topic_arn: str, subject: str, body: str, attributes: dict[str, str]
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


@dataclass(frozen=True)
class QueueMessage:
    """One message received from an SQS queue."""

    message_id: str
    receipt_handle: str
    body: str
    receive_count: int


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

    def hide(self, message: QueueMessage, seconds: int) -> None:
        """Hides the message for `seconds` from now (before its replay starts)."""
        self.client.change_message_visibility(
            QueueUrl=self.url, ReceiptHandle=message.receipt_handle, VisibilityTimeout=seconds
        )

    def delete(self, message: QueueMessage) -> None:
        self.client.delete_message(QueueUrl=self.url, ReceiptHandle=message.receipt_handle)

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
