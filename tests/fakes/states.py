"""An in-memory ``StateStore``: state versions under their workspace in the shared table,
the workspace's pointer to the current one beside them; the same two conditions (a newer
serial, recorded by the run that holds the workspace)."""

from iacp.states.models import StateVersion
from iacp.states.store import StaleState, StateStore, WorkspaceMovedOn
from iacp.workspaces.store import WORKSPACE_SK
from tests.fakes.table import FakeTable

CURRENT = "current-state-version"


class InMemoryStateStore:
    def __init__(self, table: FakeTable):
        self.table = table

    def add_current(self, version: StateVersion) -> None:
        workspace = self.table.get((version.workspace_id, WORKSPACE_SK))
        current = self.current(version.workspace_id)
        key = (version.workspace_id, f"sv#{version.id}")
        if workspace is None or workspace.current_run_id != version.run_id:
            raise WorkspaceMovedOn(
                f"run {version.run_id} no longer holds workspace {version.workspace_id}"
            )
        if key in self.table or (current is not None and current.serial >= version.serial):
            raise StaleState(
                f"serial {version.serial} is not newer than the workspace's current state"
            )
        self.table[key] = version.model_copy(
            deep=True, update={"outputs": {}, "download_url": None}
        )
        self.table[(version.workspace_id, CURRENT)] = version.id

    def current(self, workspace_id: str) -> StateVersion | None:
        version_id = self.table.get((workspace_id, CURRENT))
        if version_id is None:
            return None
        found = self.table.get((workspace_id, f"sv#{version_id}"))
        return None if found is None else found.model_copy(deep=True)


_: StateStore = InMemoryStateStore(FakeTable())
