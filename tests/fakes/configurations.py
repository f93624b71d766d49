"""An in-memory ``ConfigurationStore``: versions under their workspace in the shared table."""

from iacp.configurations.models import ConfigurationStatus, ConfigurationVersion
from iacp.configurations.store import VERSION_POINTER_SK, ConfigurationStore
from iacp.errors import NotFound
from iacp.workspaces.store import WORKSPACE_SK
from tests.fakes.table import FakeTable

LATEST = "latest-configuration-version"


class InMemoryConfigurationStore:
    def __init__(self, table: FakeTable):
        self.table = table

    def add(self, version: ConfigurationVersion, *, latest: bool = True) -> bool:
        if (version.workspace_id, WORKSPACE_SK) not in self.table:
            raise NotFound(f"No workspace {version.workspace_id}.")
        key = (version.workspace_id, f"cv#{version.id}")
        if key in self.table:
            return False
        self.table[key] = version.model_copy(deep=True, update={"upload_url": None})
        if latest:
            self.table[(version.workspace_id, LATEST)] = version.id
        self.table[(version.id, VERSION_POINTER_SK)] = version.workspace_id
        return True

    def workspace_of(self, version_id: str) -> str | None:
        workspace_id: str | None = self.table.get((version_id, VERSION_POINTER_SK))
        return workspace_id

    def get(self, workspace_id: str, version_id: str) -> ConfigurationVersion | None:
        found = self.table.get((workspace_id, f"cv#{version_id}"))
        return None if found is None else found.model_copy(deep=True)

    def latest_id(self, workspace_id: str) -> str | None:
        latest: str | None = self.table.get((workspace_id, LATEST))
        return latest

    def mark(self, version: ConfigurationVersion, status: ConfigurationStatus) -> None:
        key = (version.workspace_id, f"cv#{version.id}")
        stored = self.table.get(key)
        if stored is not None and stored.status is ConfigurationStatus.PENDING:
            self.table[key] = stored.model_copy(update={"status": status})


_: ConfigurationStore = InMemoryConfigurationStore(FakeTable())
