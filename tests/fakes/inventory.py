"""An in-memory ``ResourceStore``: each workspace's sync record and its inventory entries,
with the conditions of the resources table (the record's ``version``; an entry never written
over by an older serial). The workspace's list is in address order, as the table's sort key
``resource#<address>``; a search in ``<workspace id>#<address>`` order, as its indexes. A
search pages over the index and filters each page afterwards, as DynamoDB does, so a page may
hold fewer than ``limit`` entries and still have a next one."""

from collections.abc import Callable
from datetime import UTC, datetime

from iacp.inventory.models import InventorySync, Resource, ResourceInstance, SyncStatus, SyncTarget
from iacp.inventory.store import BY_CLOUD_ID, BY_TYPE, ResourceStore, resource_id
from tests.fakes.pages import page_of


class InMemoryResourceStore:
    def __init__(self) -> None:
        self.syncs: dict[str, InventorySync] = {}
        self.entries: dict[tuple[str, str], Resource] = {}  # by (workspace id, address)

    # --- the sync record -------------------------------------------------------------------

    def get_sync(self, workspace_id: str) -> InventorySync | None:
        return self.syncs.get(workspace_id)  # frozen: safe to hand out

    def save_sync(self, sync: InventorySync) -> InventorySync | None:
        stored = self.syncs.get(sync.workspace_id)  # a stored record's version is at least 1
        if (0 if stored is None else stored.version) != sync.version:
            return None
        saved = sync.model_copy(update={"version": sync.version + 1})
        self.syncs[sync.workspace_id] = saved
        return saved

    def due_syncs(self, now: datetime) -> list[str]:
        return sorted(
            workspace_id
            for workspace_id, sync in self.syncs.items()
            if sync.status is SyncStatus.SYNCING
            and sync.deadline is not None
            and int(sync.deadline.timestamp()) <= int(now.timestamp())
        )

    # --- entries ---------------------------------------------------------------------------

    def put_resources(
        self, workspace_id: str, target: SyncTarget, found: list[ResourceInstance], at: datetime
    ) -> None:
        written = at.astimezone(UTC)
        for instance in found:
            key = (workspace_id, instance.address)
            current = self.entries.get(key)
            if current is not None and current.serial > target.serial:
                continue  # a newer state has indexed it: it stays as it is
            self.entries[key] = Resource(
                **instance.model_dump(),
                id=resource_id(workspace_id, instance.address),
                workspace_id=workspace_id,
                state_version_id=target.state_version_id,
                serial=target.serial,
                run_id=target.run_id,
                created_at=written if current is None else current.created_at,
                updated_at=written,
            )

    def remove_older(self, workspace_id: str, serial: int) -> int:
        stale = [
            key
            for key, entry in self.entries.items()
            if key[0] == workspace_id and entry.serial < serial
        ]
        for key in stale:
            del self.entries[key]
        return len(stale)

    def forget(self, workspace_id: str) -> None:
        self.syncs.pop(workspace_id, None)
        for key in [key for key in self.entries if key[0] == workspace_id]:
            del self.entries[key]

    # --- reading ---------------------------------------------------------------------------

    def page(
        self, workspace_id: str, limit: int, cursor: str | None
    ) -> tuple[list[Resource], str | None]:
        mine = sorted(
            (e for (ws, _), e in self.entries.items() if ws == workspace_id),
            key=lambda e: e.address,
        )
        page, next_cursor = page_of(mine, lambda e: e.address, limit, cursor, workspace_id)
        return [e.model_copy(deep=True) for e in page], next_cursor

    def search(
        self,
        resource_type: str | None,
        cloud_id: str | None,
        workspaces: frozenset[str] | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[Resource], str | None]:
        wanted: Callable[[Resource], bool]
        if cloud_id is not None:
            list_id = f"{BY_CLOUD_ID}#{cloud_id}"
            indexed = [e for e in self.entries.values() if e.cloud_id == cloud_id]
            wanted = lambda e: resource_type is None or e.type == resource_type  # noqa: E731
        elif resource_type is not None:
            list_id = f"{BY_TYPE}#{resource_type}"
            indexed = [e for e in self.entries.values() if e.type == resource_type]
            wanted = lambda e: True  # noqa: E731
        else:
            raise ValueError("a search needs a type or a cloud id")
        if workspaces is not None and not workspaces:
            return [], None
        ordered = sorted(indexed, key=_locator)
        read, next_cursor = page_of(ordered, _locator, limit, cursor, list_id)
        found = [
            e.model_copy(deep=True)
            for e in read
            if wanted(e) and (workspaces is None or e.workspace_id in workspaces)
        ]
        return found, next_cursor


def _locator(entry: Resource) -> str:
    return f"{entry.workspace_id}#{entry.address}"


_: ResourceStore = InMemoryResourceStore()
