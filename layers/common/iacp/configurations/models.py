from enum import StrEnum

from pydantic import ConfigDict, Field

from iacp.model import Model
from iacp.timestamps import UtcDatetime
from iacp.vcs.models import VcsProvider


class ConfigurationStatus(StrEnum):
    PENDING = "pending"  # created, waiting for its upload (or, from VCS, for its fetch)
    UPLOADED = "uploaded"
    ERRORED = "errored"


class CommitSource(Model):
    """Where a VCS-driven configuration version, and so its runs, came from: the commit the
    runner clones and design §6's ``vcs_*`` fields of the run-task payload."""

    provider: VcsProvider
    connection_id: str
    repository: str = Field(description="As the workspace names it")
    repository_path: str | None = Field(
        None,
        description="The repository as the host's API names it: GitHub owner/name, GitLab "
        "the project's path with its namespace",
    )
    clone_url: str
    repository_url: str | None = Field(None, description="The repository's web page")
    branch: str = Field(description="The commit's branch (a pull request's head branch)")
    ref: str | None = Field(None, description="A ref holding the commit, for hosts refusing SHAs")
    commit_sha: str
    commit_url: str | None = None
    pull_request_number: int | None = None
    pull_request_url: str | None = None
    sender: str | None = Field(None, description="Who pushed or opened the pull request")


class ConfigurationVersion(Model):
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
    speculative: bool = Field(
        False, description="Its runs only plan (TFE's speculative configuration versions)"
    )
    provisional: bool = Field(
        False, description="Not the workspace's latest version (TFE's provisional ones)"
    )

    def object_key(self) -> str:
        return archive_key(self.workspace_id, self.id)


def archive_key(workspace_id: str, configuration_version_id: str) -> str:
    return f"configurations/{workspace_id}/{configuration_version_id}.tar.gz"


class ConfigurationCreate(Model):
    model_config = ConfigDict(extra="forbid")
