"""Follow-up work after a run ends, from the FollowUpQueue (a rule on the run events bus):
its workspace's next run starts. A message that fails is reported alone (partial batch
response); SQS retries it after its visibility timeout, then dead-letters it."""

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from iacp.observability import logger, tracer
from iacp.runs.follow_ups import FollowUps
from iacp.services import run_queue
from iacp.settings import QueueSweepSettings

follow_ups = FollowUps(run_queue(QueueSweepSettings.from_env()))
processor = BatchProcessor(event_type=EventType.SQS)


def follow_up(record: SQSRecord) -> None:
    follow_ups.run_ended(record.json_body)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=follow_up, processor=processor, context=context
    )
