"""Creating configuration versions and knowing when their archive has arrived.

The client PUTs the archive straight to S3 through a presigned URL, so no function sees the
bytes. A version turns ``uploaded`` the first time someone looks at it after the object
exists (a show, or a run that wants it); an object that is not a gzip archive makes it
``errored``.
"""

from collections.abc import Callable
from datetime import datetime

from iacp.artifacts import ArtifactStore
from iacp.configurations.models import ConfigurationStatus, ConfigurationVersion, archive_key
from iacp.configurations.store import ConfigurationStore
from iacp.errors import InvalidInput, NotFound, capped
from iacp.ids import new_id
from iacp.principal import Principal, Role
from iacp.timestamps import utcnow

_GZIP_MAGIC = b"\x1f\x8b"


class ConfigurationService:
    def __init__(
        self,
        store: ConfigurationStore,
        artifacts: ArtifactStore,
        clock: Callable[[], datetime] = utcnow,
    ):
        self._store = store
        self._artifacts = artifacts
        self._clock = clock

    def create(
        self,
        principal: Principal,
        workspace_id: str,
        *,
        speculative: bool = False,
        provisional: bool = False,
    ) -> ConfigurationVersion:
        """A new version, waiting for its upload. A speculative version's runs only plan; a
        speculative or provisional one does not become the workspace's latest (TFE's)."""
        principal.require_workspace(workspace_id, Role.WRITE)
        version = ConfigurationVersion(
            id=new_id("cv"),
            created_at=self._clock(),
            workspace_id=workspace_id,
            status=ConfigurationStatus.PENDING,
            speculative=speculative,
            provisional=provisional,
        )
        self._store.add(version, latest=not (speculative or provisional))
        version.upload_url = self._artifacts.upload_url(version.object_key())
        return version

    def get(self, principal: Principal, workspace_id: str, version_id: str) -> ConfigurationVersion:
        principal.require_workspace(workspace_id, Role.READ)
        version = self._store.get(workspace_id, version_id)
        if version is None:
            raise NotFound(_no_such_version(workspace_id, version_id))
        return self._settled(version)

    def get_by_id(self, principal: Principal, version_id: str) -> ConfigurationVersion:
        """A version by its id alone (TFE's ``/configuration-versions/{id}``)."""
        workspace_id = self._store.workspace_of(version_id)
        if workspace_id is None:
            raise NotFound(f"No configuration version {capped(version_id)}.")
        return self.get(principal, workspace_id, version_id)

    def uploaded(self, workspace_id: str, version_id: str | None) -> ConfigurationVersion:
        """The version a run will use: the one named, or the workspace's latest. It must have
        been uploaded; otherwise the run is refused (422) before anything starts."""
        version_id = version_id or self._store.latest_id(workspace_id)
        if version_id is None:
            raise InvalidInput(
                "The workspace has no configuration version: create one and upload a .tar.gz.",
                pointer="/configuration_version_id",
            )
        version = self._store.get(workspace_id, version_id)
        if version is None:
            raise InvalidInput(
                _no_such_version(workspace_id, version_id), pointer="/configuration_version_id"
            )
        version = self._settled(version)
        if version.status is not ConfigurationStatus.UPLOADED:
            raise InvalidInput(
                f"Configuration version {version.id} is {version.status}: "
                + (
                    "upload its .tar.gz first."
                    if version.status is ConfigurationStatus.PENDING
                    else "its upload is not a gzip archive."
                ),
                pointer="/configuration_version_id",
            )
        return version

    def _settled(self, version: ConfigurationVersion) -> ConfigurationVersion:
        if version.status is not ConfigurationStatus.PENDING:
            return version
        key = archive_key(version.workspace_id, version.id)
        head = self._artifacts.head(key, len(_GZIP_MAGIC))
        if head is None:
            return version
        gzip = head == _GZIP_MAGIC
        status = ConfigurationStatus.UPLOADED if gzip else ConfigurationStatus.ERRORED
        self._store.mark(version, status)
        return version.model_copy(update={"status": status})


def _no_such_version(workspace_id: str, version_id: str) -> str:
    return f"No configuration version {capped(version_id)} in workspace {capped(workspace_id)}."
