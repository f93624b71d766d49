"""Reading the inventory: a workspace's resources, and a resource found across workspaces."""

from collections.abc import Callable, Iterable

from iacp.errors import InvalidInput, NotFound
from iacp.inventory.models import Resource, ResourcePage
from iacp.inventory.store import ResourceStore
from iacp.pagination import Page
from iacp.tokens.models import Principal, Role

ExistingWorkspaces = Callable[[Iterable[str]], set[str]]
"""Of some workspace ids, those whose workspace exists."""


class InventoryService:
    def __init__(self, store: ResourceStore, existing: ExistingWorkspaces):
        self._store = store
        self._existing = existing

    def page(
        self, principal: Principal, workspace_id: str, limit: int, cursor: str | None
    ) -> ResourcePage:
        principal.require_workspace(workspace_id, Role.READ)
        if not self._existing([workspace_id]):
            raise NotFound(f"No workspace {workspace_id}.")
        items, next_cursor = self._store.page(workspace_id, limit, cursor)
        return ResourcePage(
            items=items, next_cursor=next_cursor, sync=self._store.get_sync(workspace_id)
        )

    def search(
        self,
        principal: Principal,
        resource_type: str | None,
        cloud_id: str | None,
        limit: int,
        cursor: str | None,
    ) -> Page[Resource]:
        """Which workspaces manage resources of this type, or with this ARN or id. A token
        limited to workspaces finds only theirs."""
        principal.require(Role.READ)
        if resource_type is None and cloud_id is None:
            raise InvalidInput("Give type, id or both.", parameter="type")
        items, next_cursor = self._store.search(
            resource_type, cloud_id, principal.workspaces, limit, cursor
        )
        # A workspace deleted while its inventory was being synced may leave entries behind.
        live = self._existing({item.workspace_id for item in items})
        return Page[Resource](
            items=[item for item in items if item.workspace_id in live], next_cursor=next_cursor
        )
