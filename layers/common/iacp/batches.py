"""The handler of the functions fed by SQS queues and DynamoDB streams: each record is
handled alone, and the ones that fail are reported one by one (a partial batch response).
SQS then retries only those, and dead-letters them after the queue's last receive; a stream
retries from the first that failed, so nothing before it is handled twice."""

from collections.abc import Callable
from functools import cache
from typing import Any

# Powertools' batch types import its parser's models (~70 ms) if pydantic is imported before
# them: a batch function imports this module before its other iacp modules, which import
# pydantic (tests/unit/test_cold_imports.py fails otherwise).
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from iacp.aws import sqs_client
from iacp.observability import logger, tracer

RecordHandler = Callable[[Any], None]
"""Handles one ``SQSRecord`` or ``DynamoDBRecord``, passed as ``record=`` (Powertools'
name); raising reports it failed."""

BatchHandler = Callable[[dict[str, Any], LambdaContext], PartialItemFailureResponse]


def partial_batch_handler(handle: RecordHandler, source: EventType = EventType.SQS) -> BatchHandler:
    processor = BatchProcessor(event_type=source)

    @logger.inject_lambda_context
    @tracer.capture_lambda_handler
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
        return process_partial_response(
            event=event, record_handler=handle, processor=processor, context=context
        )

    return lambda_handler


def delay_next_receive(message: SQSRecord, seconds: int) -> None:
    """Keep a failed message invisible for ``seconds`` instead of the queue's visibility
    timeout: a backoff of the handler's own choosing."""
    sqs_client().change_message_visibility(
        QueueUrl=_queue_url(message.event_source_arn),
        ReceiptHandle=message.receipt_handle,
        VisibilityTimeout=seconds,
    )


@cache
def _queue_url(queue_arn: str) -> str:
    *_, account, name = queue_arn.split(":")
    return sqs_client().get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
