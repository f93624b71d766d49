"""Workspaces and their lock (design §4, §9)."""

from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    computed_field,
)

from iacp.changes import not_nullable
from iacp.paths import RelativePath
from iacp.timestamps import UtcDatetime
from iacp.vcs.models import WorkspaceVcs

WorkspaceName = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,90}$"),
    Field(description="Letters, digits, '-' and '_'; unique, ignoring case."),
]
TerraformVersion = Annotated[
    str,
    StringConstraints(pattern=r"^\d+\.\d+\.\d+$"),
    Field(description="An exact Terraform release such as 1.9.8; null means the platform's."),
]


WorkingDirectory = RelativePath
Description = Annotated[str, Field(max_length=1000)]


class WorkspaceLock(BaseModel):
    holder: str = Field(description="The run (run-...) or API token (at-...) holding the lock.")
    reason: str
    locked_at: UtcDatetime


class Workspace(BaseModel):
    id: str
    created_at: UtcDatetime
    updated_at: UtcDatetime
    name: str
    description: str
    terraform_version: str | None
    working_directory: str
    auto_apply: bool
    vcs: WorkspaceVcs | None = Field(None, description="Where pushes and pull requests come from")
    lock: WorkspaceLock | None = None
    current_run_id: str | None = Field(
        None, description="The run that holds the workspace's queue."
    )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def locked(self) -> bool:
        return self.lock is not None


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WorkspaceCreate(_Input):
    name: WorkspaceName
    description: Description = ""
    terraform_version: TerraformVersion | None = None
    working_directory: WorkingDirectory = ""
    auto_apply: StrictBool = False
    vcs: WorkspaceVcs | None = None


class WorkspaceUpdate(_Input):
    """Only the fields present change; ``terraform_version: null`` returns to the default,
    ``vcs: null`` disconnects the repository."""

    name: WorkspaceName | None = None
    description: Description | None = None
    terraform_version: TerraformVersion | None = None
    working_directory: WorkingDirectory | None = None
    auto_apply: StrictBool | None = None
    vcs: WorkspaceVcs | None = None

    _not_null = not_nullable("name", "description", "working_directory", "auto_apply")


class LockRequest(_Input):
    reason: str = Field("", max_length=500)
