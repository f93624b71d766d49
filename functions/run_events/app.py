"""Run events: the runs table's stream, each status change published to the stack's
EventBridge bus. A record that fails is reported alone (partial batch response), so the
stream retries it and what follows, and nothing before it is published twice."""

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from iacp.observability import logger, tracer
from iacp.runs.events import publish, status_change
from iacp.settings import RunEventsSettings

settings = RunEventsSettings.from_env()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def publish_change(record: DynamoDBRecord) -> None:
    stream = record.dynamodb
    if stream is None or not stream.new_image:  # a deleted run: no status change
        return
    event = status_change(stream.new_image, stream.old_image or None, settings.public_base_url)
    if event is not None:
        publish(settings.run_events_bus, event)
        logger.info(
            "run event published",
            extra={"run_id": event.run_id, "status": event.status, "event_id": event.event_id},
        )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=publish_change, processor=processor, context=context
    )
