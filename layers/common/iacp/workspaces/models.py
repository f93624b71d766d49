"""Workspaces and their lock (design §4, §9)."""

from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    computed_field,
    field_validator,
)

from iacp.timestamps import UtcDatetime

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


def _inside_configuration(path: str) -> str:
    if ".." in path.split("/"):
        raise ValueError("must stay inside the configuration: '..' is not allowed")
    return path


WorkingDirectory = Annotated[
    str,
    StringConstraints(max_length=200, pattern=r"^([A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*)?$"),
    AfterValidator(_inside_configuration),
    Field(description="A relative path inside the configuration, without '..'."),
]
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


class WorkspaceUpdate(_Input):
    """Only the fields present change; ``terraform_version: null`` returns to the default."""

    name: WorkspaceName | None = None
    description: Description | None = None
    terraform_version: TerraformVersion | None = None
    working_directory: WorkingDirectory | None = None
    auto_apply: StrictBool | None = None

    @field_validator("name", "description", "working_directory", "auto_apply", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may be changed but not set to null")
        return value


class LockRequest(_Input):
    reason: str = Field("", max_length=500)
