"""The resource inventory after each apply, from the InventoryQueue (a rule on the run events
bus): the workspace's current state is indexed. A message that fails is reported alone
(partial batch response); SQS retries it after its visibility timeout, then dead-letters it."""

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
from iacp.services import build_inventory_syncer
from iacp.settings import InventorySettings

syncer = build_inventory_syncer(InventorySettings.from_env())
processor = BatchProcessor(event_type=EventType.SQS)


def sync_inventory(record: SQSRecord) -> None:
    syncer.run_applied(record.json_body)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=sync_inventory, processor=processor, context=context
    )
