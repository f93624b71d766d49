"""Run events: the runs table's stream, each status change and completed run-task stage
published to the stack's EventBridge bus. A record that fails is reported alone (partial
batch response), so the stream retries it and what follows, and nothing before it is
published twice."""

from iacp.cold_start import collector_paused

# Everything the function loads at a cold start (iacp.cold_start says why).
with collector_paused():
    from aws_lambda_powertools.utilities.batch import EventType
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

    from iacp.batches import partial_batch_handler
    from iacp.observability import logger
    from iacp.runs.events import publish, run_events
    from iacp.settings import RunEventsSettings
    from iacp.timestamps import utcnow

    settings = RunEventsSettings.from_env()


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


lambda_handler = partial_batch_handler(publish_change, source=EventType.DynamoDBStreams)
