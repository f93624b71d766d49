"""The inventory's syncer (functions/inventory_sync, functions/inventory_sweep)."""

from datetime import timedelta
from functools import partial

from iacp.artifacts import S3ArtifactStore
from iacp.inventory.store import DynamoResourceStore
from iacp.inventory.sync import InventorySyncer
from iacp.settings import (
    InventorySettings,
)
from iacp.states.files import read_state_file
from iacp.states.store import DynamoStateStore


def build_inventory_syncer(settings: InventorySettings) -> InventorySyncer:
    return InventorySyncer(
        DynamoResourceStore(settings.resources_table),
        DynamoStateStore(settings.workspaces_table),
        partial(read_state_file, S3ArtifactStore(settings.artifacts_bucket)),
        deadline=timedelta(seconds=settings.inventory_sync_deadline_seconds),
        max_attempts=settings.inventory_sync_max_attempts,
    )
