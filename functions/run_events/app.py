"""Run events: the runs table's stream, each status change and completed run-task stage
published to the stack's EventBridge bus. A record that fails is reported alone (partial
batch response), so the stream retries it and what follows, and nothing before it is
published twice."""

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
from iacp.runs.events import publish, run_events
from iacp.settings import RunEventsSettings
from iacp.timestamps import utcnow

settings = RunEventsSettings.from_env()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def publish_change(record: DynamoDBRecord) -> None:
    stream = record.dynamodb
    if stream is None or not stream.new_image:  # a deleted run: no status change
        return
    new, old = stream.new_image, stream.old_image or None
    events = run_events(new, old, settings.public_base_url, utcnow())
    if events:
        publish(settings.run_events_bus, events)
        logger.info(
            "run events published",
            extra={"run_id": new["id"], "event_ids": [e.event_id for e in events]},
        )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=publish_change, processor=processor, context=context
    )
