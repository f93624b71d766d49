"""The resource inventory, from the InventoryQueue: after each apply (a rule on the run
events bus) and when asked (the API's sync requests), the workspace's current state is
indexed. A message that fails is reported alone (partial batch response); SQS retries it
after its visibility timeout, then dead-letters it."""

from iacp.cold_start import collector_paused

# Everything the function loads at a cold start (iacp.cold_start says why).
with collector_paused():
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from iacp.batches import partial_batch_handler
    from iacp.services.inventory import build_inventory_syncer
    from iacp.settings import InventorySettings

    syncer = build_inventory_syncer(InventorySettings.from_env())


def sync_inventory(record: SQSRecord) -> None:
    syncer.handle(record.json_body)


lambda_handler = partial_batch_handler(sync_inventory)
