"""An SNS topic whose messages land in an SQS queue, so a test can read what was published."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from support.emulator import REGION


def sns_to_sqs(aws_env: str) -> tuple[str, Any, str]:
    """A topic subscribed by a queue on the emulator: (topic ARN, SQS client, queue URL)."""
    sns = boto3.client("sns", endpoint_url=aws_env, region_name=REGION)
    sqs = boto3.client("sqs", endpoint_url=aws_env, region_name=REGION)
    topic = sns.create_topic(Name="egress-guard")["TopicArn"]
    queue = sqs.create_queue(QueueName="notices")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    return topic, sqs, queue


def notified(aws_env: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, str]:
    """NOTIFY_TOPIC_ARN set to a topic a queue subscribes: (SQS client, queue URL)."""
    topic, sqs, queue = sns_to_sqs(aws_env)
    monkeypatch.setenv("NOTIFY_TOPIC_ARN", topic)
    return sqs, queue
