from typing import Any

from pydantic import BaseModel, Field

from iacp.timestamps import UtcDatetime


class StateOutput(BaseModel):
    value: Any = Field(description="null when the output is sensitive")
    sensitive: bool
    type: Any = None


class StateVersion(BaseModel):
    id: str
    created_at: UtcDatetime
    workspace_id: str
    run_id: str
    serial: int
    lineage: str
    partial: bool = Field(
        False,
        description="What an apply had saved when it failed, was canceled or its runner died",
    )
    outputs: dict[str, StateOutput] = Field(default_factory=dict)
    download_url: str | None = Field(
        None, description="Presigned GET of the state file, for tokens with write access"
    )


def state_key(workspace_id: str, state_version_id: str) -> str:
    return f"state/{workspace_id}/{state_version_id}.tfstate"
