"""An in-memory ``WorkspaceStore`` over a ``FakeTable`` it shares with the stores that keep
items under a workspace (so deleting a workspace deletes them too)."""

from datetime import datetime
from typing import Any

from iacp.dynamo import TransactionCanceled
from iacp.vcs.models import WorkspaceVcs, repository_key
from iacp.workspaces.models import DEFAULT_SESSION_DURATION, Workspace, WorkspaceLock
from iacp.workspaces.store import WORKSPACE_SK, NameTaken, WorkspaceStore
from tests.fakes.pages import page_of
from tests.fakes.table import FakeTable

# What a removed (None) attribute reads back as.
_ABSENT: dict[str, Any] = {
    "description": "",
    "working_directory": "",
    "auto_apply": False,
    "aws_session_duration": DEFAULT_SESSION_DURATION,
    "execution_mode": "remote",
    "tags": {},
    "execution": "fargate",
}
_UPDATABLE = (
    "name",
    "description",
    "terraform_version",
    "working_directory",
    "auto_apply",
    "vcs",
    "aws_role_arn",
    "aws_external_id",
    "aws_session_duration",
    "execution_mode",
    "tags",
    "execution",
    "phase_timeout_seconds",
)


def name_claim(name: str) -> tuple[str, str]:
    return f"name#{name.lower()}", "name"


class InMemoryWorkspaceStore:
    def __init__(self, table: FakeTable | None = None):
        self.table = FakeTable() if table is None else table

    def create(self, workspace: Workspace) -> None:
        exists = (workspace.id, WORKSPACE_SK) in self.table
        taken = name_claim(workspace.name) in self.table
        if taken:
            raise NameTaken(workspace.name)
        if exists:
            raise TransactionCanceled([True, False])
        self.table[(workspace.id, WORKSPACE_SK)] = workspace.model_copy(deep=True)
        self.table[name_claim(workspace.name)] = workspace.id

    def get(self, workspace_id: str) -> Workspace | None:
        found = self.table.get((workspace_id, WORKSPACE_SK))
        return None if found is None else found.model_copy(deep=True)

    def get_many(self, workspace_ids: list[str]) -> list[Workspace]:
        found = [w for w in (self.get(i) for i in set(workspace_ids)) if w is not None]
        return sorted(found, key=lambda w: w.name)

    def get_by_name(self, name: str) -> Workspace | None:
        workspace_id = self.table.get(name_claim(name))
        return None if workspace_id is None else self.get(workspace_id)

    def page(
        self, limit: int, cursor: str | None, name_prefix: str = ""
    ) -> tuple[list[Workspace], str | None]:
        named = [w for w in self._all() if w.name.startswith(name_prefix)]
        return page_of(named, lambda w: w.id, limit, cursor, "workspaces")

    def update(self, current: Workspace, changes: dict[str, Any], at: datetime) -> Workspace | None:
        stored = self.get(current.id)
        if stored is None:
            return None
        role_kept = "aws_role_arn" not in changes
        if changes.get("aws_external_id") is not None and role_kept and stored.aws_role_arn is None:
            return None  # an external id goes with a role: not onto a workspace without one
        for changed, other in (
            ("execution", "phase_timeout_seconds"),
            ("phase_timeout_seconds", "execution"),
        ):
            stale = getattr(stored, other) != getattr(current, other)
            if changed in changes and other not in changes and stale:
                return None  # checked against the other as it was read
        new_name = str(changes.get("name") or current.name)
        renamed = new_name.lower() != current.name.lower()
        if renamed:
            if name_claim(new_name) in self.table:
                raise NameTaken(new_name)
            if self.table.get(name_claim(current.name)) != current.id:
                return None
        data = stored.model_dump()
        for field in _UPDATABLE:
            if field in changes:
                value = changes[field]
                data[field] = _ABSENT.get(field) if value is None else value
        data["updated_at"] = at
        if data["vcs"] is not None:
            data["vcs"] = WorkspaceVcs.model_validate(data["vcs"])
        updated = Workspace.model_validate(data)
        self.table[(current.id, WORKSPACE_SK)] = updated
        if renamed:
            del self.table[name_claim(current.name)]
            self.table[name_claim(new_name)] = current.id
        return updated.model_copy(deep=True)

    def delete(self, workspace: Workspace) -> bool:
        stored = self.get(workspace.id)
        if (
            stored is None
            or stored.name != workspace.name
            or stored.lock is not None
            or stored.current_run_id is not None
        ):
            return False
        self.table.pop(name_claim(workspace.name), None)
        self.table.drop_partition(workspace.id)
        return True

    def lock(self, workspace_id: str, lock: WorkspaceLock) -> Workspace | None:
        stored = self.get(workspace_id)
        if stored is None or stored.lock is not None:
            return None
        return self._put(stored.model_copy(update={"lock": lock}))

    def unlock(self, workspace_id: str, holder: str | None) -> Workspace | None:
        stored = self.get(workspace_id)
        if stored is None or stored.lock is None:
            return None
        if holder is not None and stored.lock.holder != holder:
            return None
        return self._put(stored.model_copy(update={"lock": None}))

    def claim_queue(self, workspace_id: str, run_id: str) -> bool:
        stored = self.get(workspace_id)
        if stored is None or stored.current_run_id not in (None, run_id):
            return False
        self._put(stored.model_copy(update={"current_run_id": run_id}))
        return True

    def release_queue(self, workspace_id: str, run_id: str) -> bool:
        stored = self.get(workspace_id)
        if stored is None or stored.current_run_id != run_id:
            return False
        self._put(stored.model_copy(update={"current_run_id": None}))
        return True

    def tracking(self, connection_id: str, repository: str) -> list[Workspace]:
        key = repository_key(repository)
        return [
            w
            for w in self._all()
            if w.vcs is not None
            and w.vcs.connection_id == connection_id
            and repository_key(w.vcs.repository) == key
        ]

    def uses_connection(self, connection_id: str) -> bool:
        return any(w.vcs is not None and w.vcs.connection_id == connection_id for w in self._all())

    def _all(self) -> list[Workspace]:
        found = [item for (_, sk), item in self.table.items() if sk == WORKSPACE_SK]
        return [w.model_copy(deep=True) for w in sorted(found, key=lambda w: w.name)]

    def _put(self, workspace: Workspace) -> Workspace:
        self.table[(workspace.id, WORKSPACE_SK)] = workspace
        return workspace.model_copy(deep=True)


_: WorkspaceStore = InMemoryWorkspaceStore()
