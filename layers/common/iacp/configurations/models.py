from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from iacp.timestamps import UtcDatetime
from iacp.vcs.models import CommitSource


class ConfigurationStatus(StrEnum):
    PENDING = "pending"  # created, waiting for its upload (or, from VCS, for its fetch)
    UPLOADED = "uploaded"
    ERRORED = "errored"


class ConfigurationVersion(BaseModel):
    id: str
    created_at: UtcDatetime
    workspace_id: str
    status: ConfigurationStatus
    upload_url: str | None = Field(
        None, description="PUT the .tar.gz here (only in the reply that creates the version)"
    )
    vcs: CommitSource | None = Field(
        None, description="From VCS: the commit, which the run's first step fetches"
    )

    def object_key(self) -> str:
        return archive_key(self.workspace_id, self.id)


def archive_key(workspace_id: str, configuration_version_id: str) -> str:
    return f"configurations/{workspace_id}/{configuration_version_id}.tar.gz"


class ConfigurationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
