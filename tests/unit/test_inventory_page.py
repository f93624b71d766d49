"""A workspace's inventory page never says its sync is newer than its entries: a client that
waits for "synced at serial N" (as the e2e pipeline test does) reads N's entries."""

from datetime import UTC, datetime, timedelta
from typing import Any

from iacp.inventory.models import Resource
from iacp.inventory.service import InventoryService
from iacp.inventory.sync import InventorySyncer
from iacp.principal import Principal, Role
from iacp.states.models import StateVersion, state_key
from tests.fakes.inventory import InMemoryResourceStore

NOW = datetime(2026, 1, 1, tzinfo=UTC)
READER = Principal(token_id="at-reader", role=Role.READ)


class States:
    """Workspace ws-1's state versions, the last one current, and each one's state file."""

    def __init__(self) -> None:
        self.versions: list[StateVersion] = []
        self.files: dict[str, dict[str, Any]] = {}

    def add_current(self, version: StateVersion) -> None:
        self.versions.append(version)

    def current(self, workspace_id: str) -> StateVersion | None:
        return self.versions[-1] if self.versions else None

    def applied(self, serial: int, keys: str) -> None:
        """A state of ``terraform_data.item[<key>]`` for each of ``keys``, now current."""
        version = StateVersion(
            id=f"sv-{serial}",
            created_at=NOW,
            workspace_id="ws-1",
            run_id=f"run-{serial}",
            serial=serial,
            lineage="lineage",
        )
        item = {"mode": "managed", "type": "terraform_data", "name": "item"}
        instances = [{"index_key": key, "attributes": {"id": f"id-{key}"}} for key in keys]
        self.files[state_key("ws-1", version.id)] = {"resources": [item | {"instances": instances}]}
        self.add_current(version)


def addresses(items: list[Resource]) -> set[str]:
    return {item.address for item in items}


def test_a_page_read_while_a_sync_finishes_is_never_older_than_its_sync_record() -> None:
    states = States()
    syncer: InventorySyncer

    class SyncFinishingDuringTheRead(InMemoryResourceStore):
        """The entries are read; then, before the service's other read, the sync of serial
        2 (a and c; b is gone) finishes, as it can when the two reads are two requests."""

        def page(
            self, workspace_id: str, limit: int, cursor: str | None
        ) -> tuple[list[Resource], str | None]:
            page = super().page(workspace_id, limit, cursor)
            if len(states.versions) == 1:
                states.applied(2, "ac")
                syncer.sync(workspace_id)
            return page

    store = SyncFinishingDuringTheRead()
    syncer = InventorySyncer(
        store,
        states,
        states.files.__getitem__,
        deadline=timedelta(minutes=5),
        max_attempts=3,
        clock=lambda: NOW,
    )
    states.applied(1, "ab")
    syncer.sync("ws-1")
    service = InventoryService(
        store,
        existing=lambda ids: set(ids),
        current_state=states.current,
        send_request=lambda request: None,
    )

    page = service.page(READER, "ws-1", limit=10, cursor=None)

    assert page.sync is not None
    if page.sync.synced_serial == 2:
        assert addresses(page.items) == {'terraform_data.item["a"]', 'terraform_data.item["c"]'}
    else:  # the record was read before the sync finished: the entries may be as new or newer
        assert page.sync.synced_serial == 1
    again = service.page(READER, "ws-1", limit=10, cursor=None)
    assert again.sync is not None and again.sync.synced_serial == 2
    assert addresses(again.items) == {'terraform_data.item["a"]', 'terraform_data.item["c"]'}
