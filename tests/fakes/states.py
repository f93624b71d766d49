"""An in-memory ``StateStore``: state versions under their workspace in the shared table (the
version, its place in the history by serial, and the id's lookup item), the workspace's
pointer to the current one beside them; the same conditions (a newer serial, recorded by the
run that holds the workspace; a rollback only from the current version, with no run holding
the workspace and its lock free or the caller's; a client's version, pending or not, only
under the client's own lock)."""

from iacp.states.models import PendingState, StateVersion, StateVersionStatus
from iacp.states.store import (
    HISTORY_PREFIX,
    LOOKUP_SK,
    StaleState,
    StateStore,
    WorkspaceBusy,
    WorkspaceMovedOn,
    history_sk,
)
from iacp.workspaces.store import WORKSPACE_SK
from tests.fakes.pages import page_of
from tests.fakes.table import FakeTable

CURRENT = "current-state-version"
PENDING = "pending"


class InMemoryStateStore:
    def __init__(self, table: FakeTable):
        self.table = table

    def add_current(self, version: StateVersion) -> None:
        if version.run_id is None:
            raise ValueError("a run's state version names its run")
        workspace = self.table.get((version.workspace_id, WORKSPACE_SK))
        current = self.current(version.workspace_id)
        if workspace is None or workspace.current_run_id != version.run_id:
            raise WorkspaceMovedOn(
                f"run {version.run_id} no longer holds workspace {version.workspace_id}"
            )
        if self._taken(version) or (current is not None and current.serial >= version.serial):
            raise StaleState(
                f"serial {version.serial} is not newer than the workspace's current state"
            )
        self._write(version)

    def add_rollback(self, version: StateVersion, *, replaces: str, holder: str) -> None:
        workspace = self.table.get((version.workspace_id, WORKSPACE_SK))
        current = self.current(version.workspace_id)
        if workspace is not None and (
            workspace.current_run_id is not None
            or (workspace.lock is not None and workspace.lock.holder != holder)
        ):
            raise WorkspaceBusy(
                f"workspace {version.workspace_id} is held by a run or locked by someone else"
            )
        if (
            workspace is None
            or current is None
            or current.id != replaces
            or current.serial >= version.serial
            or self._taken(version)
        ):
            raise StaleState(
                f"the current state of workspace {version.workspace_id} changed meanwhile"
            )
        self._write(version)

    def add_pushed(self, version: StateVersion, *, replaces: str | None, holder: str) -> None:
        self._add_client_version(version, replaces=replaces, holder=holder, pending=False)

    def finalize(self, version: StateVersion, *, replaces: str | None, holder: str) -> None:
        self._add_client_version(version, replaces=replaces, holder=holder, pending=True)

    def _add_client_version(
        self, version: StateVersion, *, replaces: str | None, holder: str, pending: bool
    ) -> None:
        if version.run_id is not None or version.status is not StateVersionStatus.FINALIZED:
            raise ValueError("a client's recorded state version is finalized and has no run")
        workspace = self.table.get((version.workspace_id, WORKSPACE_SK))
        current = self.current(version.workspace_id)
        if workspace is not None and (
            workspace.current_run_id is not None
            or workspace.lock is None
            or workspace.lock.holder != holder
        ):
            raise WorkspaceBusy(
                f"workspace {version.workspace_id} is held by a run or not locked by {holder}"
            )
        own = self.table.get((version.workspace_id, f"sv#{version.id}"))
        still_pending = own is not None and own.status is StateVersionStatus.PENDING
        if (
            workspace is None
            or (current.id if current is not None else None) != replaces
            or (current is not None and current.serial >= version.serial)
            or (pending and not still_pending)
            or (not pending and self._taken(version))
            or (version.workspace_id, history_sk(version.serial)) in self.table
        ):
            raise StaleState(
                f"the current state of workspace {version.workspace_id} changed meanwhile"
            )
        self._write(version)

    def add_pending(self, pending: PendingState) -> None:
        version = pending.version
        if version.status is not StateVersionStatus.PENDING:
            raise ValueError("a pending state version has the status pending")
        if (version.workspace_id, WORKSPACE_SK) not in self.table or self._taken(version):
            raise StaleState(f"workspace {version.workspace_id} is gone")
        self.table[(version.workspace_id, f"sv#{version.id}")] = version.model_copy(deep=True)
        self.table[(version.id, LOOKUP_SK)] = version.workspace_id
        self.table[(version.id, PENDING)] = pending.model_copy(deep=True)

    def pending(self, state_version_id: str) -> PendingState | None:
        version = self.get(state_version_id)
        if version is None or version.status is not StateVersionStatus.PENDING:
            return None
        found = self.table.get((state_version_id, PENDING))
        return None if found is None else found.model_copy(deep=True, update={"version": version})

    def discard(self, workspace_id: str, state_version_id: str) -> bool:
        found = self.table.get((workspace_id, f"sv#{state_version_id}"))
        if found is None or found.status is not StateVersionStatus.PENDING:
            return False
        found.status = StateVersionStatus.DISCARDED
        return True

    def _taken(self, version: StateVersion) -> bool:
        keys = (
            (version.workspace_id, f"sv#{version.id}"),
            (version.workspace_id, history_sk(version.serial)),
            (version.id, LOOKUP_SK),
        )
        return any(key in self.table for key in keys)

    def _write(self, version: StateVersion) -> None:
        stored = version.model_copy(deep=True, update={"outputs": {}, "download_url": None})
        self.table[(version.workspace_id, f"sv#{version.id}")] = stored
        self.table[(version.workspace_id, history_sk(version.serial))] = stored
        self.table[(version.id, LOOKUP_SK)] = version.workspace_id
        self.table[(version.workspace_id, CURRENT)] = version.id

    def current(self, workspace_id: str) -> StateVersion | None:
        version_id = self.table.get((workspace_id, CURRENT))
        return None if version_id is None else self._version(workspace_id, version_id)

    def get(self, state_version_id: str) -> StateVersion | None:
        workspace_id = self.table.get((state_version_id, LOOKUP_SK))
        return None if workspace_id is None else self._version(workspace_id, state_version_id)

    def _version(self, workspace_id: str, version_id: str) -> StateVersion | None:
        found = self.table.get((workspace_id, f"sv#{version_id}"))
        return None if found is None else found.model_copy(deep=True)

    def page(
        self, workspace_id: str, limit: int, cursor: str | None
    ) -> tuple[list[StateVersion], str | None]:
        history = self.table.under(workspace_id, HISTORY_PREFIX)
        newest_first = [version for _, version in reversed(history)]
        page, next_cursor = page_of(newest_first, lambda v: v.id, limit, cursor, workspace_id)
        return [version.model_copy(deep=True) for version in page], next_cursor


_: StateStore = InMemoryStateStore(FakeTable())
