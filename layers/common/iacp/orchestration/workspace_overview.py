"""Workspaces as a list of them shows them: each with its latest run and how many resources
its inventory holds, so that a client (the web UI) draws a page of workspaces with one
request instead of three per workspace."""

from __future__ import annotations

from pydantic import Field

from iacp.inventory.store import ResourceStore
from iacp.pagination import Page
from iacp.principal import Principal
from iacp.runs.models import RunSummary
from iacp.runs.store import RunStore
from iacp.workspaces.models import Workspace
from iacp.workspaces.service import WorkspaceService


class WorkspaceView(Workspace):
    latest_run: RunSummary | None = Field(description="The workspace's newest run, if any")
    resource_count: int | None = Field(
        description="Resources in the inventory's last sync; null before the first"
    )


class WorkspaceOverview:
    def __init__(self, workspaces: WorkspaceService, runs: RunStore, inventory: ResourceStore):
        self._workspaces = workspaces
        self._runs = runs
        self._inventory = inventory

    def page(
        self, principal: Principal, limit: int, cursor: str | None, name_prefix: str = ""
    ) -> Page[WorkspaceView]:
        listed = self._workspaces.page(principal, limit, cursor, name_prefix)
        views = [self.view(w) for w in listed.items]
        return Page[WorkspaceView](items=views, next_cursor=listed.next_cursor)

    def get(self, principal: Principal, workspace_id: str) -> WorkspaceView:
        return self.view(self._workspaces.get(principal, workspace_id))

    def view(self, workspace: Workspace) -> WorkspaceView:
        """``workspace`` as every workspace route shows it."""
        # Two reads a workspace (a page is at most 100): the latest run is the first of the
        # workspace's runs index, newest first; the count is the sync's own item.
        runs, _ = self._runs.page(workspace.id, 1, None)
        sync = self._inventory.get_sync(workspace.id)
        return WorkspaceView(
            **dict(workspace),
            latest_run=RunSummary.of(runs[0]) if runs else None,
            resource_count=sync.resource_count if sync else None,
        )
