"""A workspace's inventory page never says its sync is newer than its entries: a client that
waits for "synced at serial N" (as the e2e pipeline test does) reads N's entries."""

from datetime import UTC, datetime, timedelta

from iacp.inventory.models import InventorySync, Resource, ResourceInstance, SyncTarget
from iacp.inventory.service import InventoryService
from iacp.principal import Principal, Role
from tests.fakes.inventory import InMemoryResourceStore

NOW = datetime(2026, 1, 1, tzinfo=UTC)
DEADLINE = timedelta(minutes=5)
READER = Principal(token_id="at-reader", role=Role.READ)


def target(serial: int) -> SyncTarget:
    return SyncTarget(state_version_id=f"sv-{serial}", serial=serial, run_id=f"run-{serial}")


def instance(key: str) -> ResourceInstance:
    return ResourceInstance(
        address=f'terraform_data.item["{key}"]',
        module=None,
        type="terraform_data",
        name="item",
        provider="terraform.io/builtin/terraform",
        cloud_id=f"id-{key}",
    )


def sync(store: InMemoryResourceStore, serial: int, keys: str) -> None:
    """What InventorySyncer._index does for the state ``serial`` holding ``keys``."""
    previous = store.get_sync("ws-1")
    claim = (
        InventorySync.first("ws-1", target(serial), NOW, DEADLINE)
        if previous is None
        else previous.claim(target(serial), NOW, DEADLINE)
    )
    assert claim is not None
    claimed = store.save_sync(claim)
    assert claimed is not None
    store.put_resources("ws-1", target(serial), [instance(k) for k in keys], NOW)
    store.remove_older("ws-1", serial)
    assert store.save_sync(claimed.synced(len(keys), NOW)) is not None


class SyncFinishingDuringTheRead(InMemoryResourceStore):
    """The entries are read; then, before the service's other read, the sync of serial 2
    (a and c; b is gone) finishes, as it can when the two reads are two requests."""

    def page(
        self, workspace_id: str, limit: int, cursor: str | None
    ) -> tuple[list[Resource], str | None]:
        page = super().page(workspace_id, limit, cursor)
        record = self.get_sync(workspace_id)
        if record is not None and record.synced_serial == 1:
            sync(self, 2, "ac")
        return page


def test_a_page_read_while_a_sync_finishes_is_never_older_than_its_sync_record() -> None:
    store = SyncFinishingDuringTheRead()
    sync(store, 1, "ab")
    service = InventoryService(
        store,
        existing=lambda ids: set(ids),
        current_state=lambda workspace_id: None,
        send_request=lambda request: None,
    )

    page = service.page(READER, "ws-1", limit=10, cursor=None)

    keys = {r.address for r in page.items}
    assert page.sync is not None
    if page.sync.synced_serial == 2:
        assert keys == {'terraform_data.item["a"]', 'terraform_data.item["c"]'}, keys
    else:  # the record read before the sync finished: the entries may be as new or newer
        assert page.sync.synced_serial == 1
    again = service.page(READER, "ws-1", limit=10, cursor=None)
    assert again.sync is not None and again.sync.synced_serial == 2
    assert {r.address for r in again.items} == {
        'terraform_data.item["a"]',
        'terraform_data.item["c"]',
    }
