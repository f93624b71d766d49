"""The inventory through the API: a workspace's resources, a resource found across
workspaces, and a sync asked for by hand."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from pydantic import Field

from iacp.errors import Conflict, InvalidInput, NotFound, capped
from iacp.inventory.models import InventorySync, Resource, SyncRequest, SyncRequested
from iacp.inventory.store import ResourceStore
from iacp.observability import logger
from iacp.pagination import Page
from iacp.principal import Principal, Role
from iacp.states.models import StateVersion
from iacp.timestamps import utcnow


# Here, not with the models: only the API lists resources, and a Page[X] is a class pydantic
# makes when its module loads, which the inventory's sync functions need not pay for.
class ResourcePage(Page[Resource]):
    """A workspace's resources, with the state of the sync that indexed them."""

    sync: InventorySync | None = Field(
        description="null until the workspace's first apply has been indexed"
    )


ExistingWorkspaces = Callable[[Iterable[str]], set[str]]
"""Of some workspace ids, those whose workspace exists."""

CurrentState = Callable[[str], StateVersion | None]
"""A workspace's current state version, if it has one."""

SendSyncRequest = Callable[[SyncRequest], None]
"""Puts a request on the InventoryQueue, where the sync function takes it."""


class InventoryService:
    def __init__(
        self,
        store: ResourceStore,
        existing: ExistingWorkspaces,
        current_state: CurrentState,
        send_request: SendSyncRequest,
        clock: Callable[[], datetime] = utcnow,
    ):
        self._store = store
        self._existing = existing
        self._current_state = current_state
        self._send_request = send_request
        self._clock = clock

    def page(
        self, principal: Principal, workspace_id: str, limit: int, cursor: str | None
    ) -> ResourcePage:
        principal.require_workspace(workspace_id, Role.READ)
        if not self._existing([workspace_id]):
            raise NotFound(f"No workspace {capped(workspace_id)}.")
        # The sync record first: a sync finishing between the two reads then leaves a page
        # newer than its record says, never one older (a client that waits for "synced at
        # serial N" must not get the entries of N-1).
        sync = self._store.get_sync(workspace_id)
        items, next_cursor = self._store.page(workspace_id, limit, cursor)
        return ResourcePage(items=items, next_cursor=next_cursor, sync=sync)

    def request_sync(self, principal: Principal, workspace_id: str) -> SyncRequested:
        """Index the workspace's current state again, on the durable path: after a sync that
        failed for good, or an event that was dead-lettered. A sync under way or already
        done makes the request a no-op; one that gave up starts over with all its
        attempts."""
        principal.require_workspace(workspace_id, Role.WRITE)
        if not self._existing([workspace_id]):
            raise NotFound(f"No workspace {capped(workspace_id)}.")
        current = self._current_state(workspace_id)
        if current is None:
            raise Conflict(f"Workspace {workspace_id} has no state yet: there is nothing to index.")
        request = SyncRequest(
            workspace_id=workspace_id, requested_by=principal.token_id, requested_at=self._clock()
        )
        self._send_request(request)
        logger.info("inventory sync requested", extra={"workspace_id": workspace_id})
        return SyncRequested(
            workspace_id=workspace_id,
            state_version_id=current.id,
            serial=current.serial,
            sync=self._store.get_sync(workspace_id),
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
