"""Notifications: run events from the NotificationQueue (a rule on the run events bus),
delivered to the workspace's notification configurations. An event that did not reach every
configuration is reported alone (partial batch response) and comes back after a delay that
doubles with each receive; after the last receive SQS dead-letters it."""

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from iacp.aws import sqs_client
from iacp.notifications.delivery import Attempt, DeliveryFailed
from iacp.observability import logger, tracer
from iacp.services import build_notification_dispatcher
from iacp.settings import NotificationSettings

settings = NotificationSettings.from_env()
dispatcher = build_notification_dispatcher(settings)
processor = BatchProcessor(event_type=EventType.SQS)


def deliver(record: SQSRecord) -> None:
    attempt = Attempt(int(record.attributes.approximate_receive_count), settings.max_receives)
    try:
        dispatcher.deliver(record.json_body, attempt)
    except DeliveryFailed:
        # The backoff: the message stays invisible until its next attempt is due.
        sqs_client().change_message_visibility(
            QueueUrl=queue_url(record.event_source_arn),
            ReceiptHandle=record.receipt_handle,
            VisibilityTimeout=attempt.delay_before_next(settings.first_retry_delay_seconds),
        )
        raise


@cache
def queue_url(queue_arn: str) -> str:
    *_, account, name = queue_arn.split(":")
    return sqs_client().get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=deliver, processor=processor, context=context
    )
