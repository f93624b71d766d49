"""Every minute: inventory syncs past their deadline are reset and synced again, or failed
after their last attempt (``iacp.inventory.sync.InventorySyncer.sweep``)."""

from typing import Any

from iacp.cold_start import collector_paused

# Everything the function loads at a cold start (iacp.cold_start says why).
with collector_paused():
    from aws_lambda_powertools.metrics import MetricUnit
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from iacp.observability import logger, metrics
    from iacp.services.inventory import build_inventory_syncer
    from iacp.settings import InventorySettings

    syncer = build_inventory_syncer(InventorySettings.from_env())


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    report = syncer.sweep()
    metrics.add_metric(name="InventorySyncsPastDeadline", unit=MetricUnit.Count, value=report.due)
    return {"due": report.due, "retried": report.retried}
