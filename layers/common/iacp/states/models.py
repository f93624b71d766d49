"""State versions: the Terraform state a workspace's applies wrote, kept in S3."""

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from iacp.timestamps import UtcDatetime


class StateOutput(BaseModel):
    value: Any = Field(description="null when the output is sensitive")
    sensitive: bool
    type: Any = None


class NamedStateOutput(StateOutput):
    """An output of ``GET /state-versions/{id}/outputs``."""

    name: str
    value: Any = Field(
        description="A sensitive output's value only for tokens with the admin role, else null"
    )


class StateVersionSummary(BaseModel):
    """A state version as the workspace's history lists it."""

    id: str
    created_at: UtcDatetime
    workspace_id: str
    run_id: str | None = Field(
        description="The run whose apply wrote this state; null for a rollback's version"
    )
    rolled_back_from: str | None = Field(
        None, description="A rollback's version: the state version whose content it restored"
    )
    serial: int
    lineage: str
    partial: bool = Field(
        False,
        description="What an apply had saved when it failed, was canceled or its runner died",
    )
    resource_count: int | None = Field(
        None,
        description="Managed resource instances in the state (null: recorded before the "
        "history kept it)",
    )
    output_names: list[str] = Field(default_factory=list, description="The state's outputs")


class StateVersion(StateVersionSummary):
    outputs: dict[str, StateOutput] = Field(default_factory=dict)
    download_url: str | None = Field(
        None, description="Presigned GET of the state file, for tokens with write access"
    )

    def summary(self) -> StateVersionSummary:
        return StateVersionSummary.model_validate(
            self.model_dump(exclude={"outputs", "download_url"})
        )


StateVersionId = Annotated[str, StringConstraints(pattern=r"^sv-[A-Za-z0-9]{1,64}$")]


class StateVersionCreate(BaseModel):
    """``POST /workspaces/{ws}/state-versions``: today only a rollback."""

    model_config = ConfigDict(extra="forbid")

    rollback_to: StateVersionId = Field(
        description="A state version of this workspace: its content becomes the new current "
        "state, with the next serial"
    )


def state_key(workspace_id: str, state_version_id: str) -> str:
    return f"state/{workspace_id}/{state_version_id}.tfstate"


def state_facts(state: dict[str, Any]) -> tuple[int, list[str]]:
    """What the history keeps of a state file: its managed resource instances (data sources
    are reads, not things the workspace manages) and its outputs' names."""
    count = sum(
        len(resource.get("instances") or [])
        for resource in state.get("resources") or []
        if resource.get("mode", "managed") == "managed"
    )
    return count, sorted(state.get("outputs") or {})
