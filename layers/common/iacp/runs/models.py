"""Runs, their requests and replies (design §3, §9)."""

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from iacp.runs.status import RunStatus
from iacp.timestamps import UtcDatetime


class Operation(StrEnum):
    PLAN_AND_APPLY = "plan_and_apply"
    PLAN_ONLY = "plan_only"


class Phase(StrEnum):
    PLAN = "plan"
    APPLY = "apply"


class RunError(BaseModel):
    stage: str = Field(description="Where the run failed: configuration, init, plan, apply, ...")
    message: str


class TaskStage(BaseModel):
    stage: str
    status: str
    results: list[dict[str, object]] = Field(default_factory=list)


class Run(BaseModel):
    id: str
    created_at: UtcDatetime
    workspace_id: str
    operation: Operation
    is_speculative: bool
    auto_apply: bool
    status: RunStatus
    status_timestamps: dict[str, UtcDatetime]
    message: str
    created_by: str
    configuration_version_id: str
    has_changes: bool | None = None
    resource_additions: int | None = None
    resource_changes: int | None = None
    resource_destructions: int | None = None
    error: RunError | None = None
    task_stages: list[TaskStage] = Field(default_factory=list)
    state_version_id: str | None = None
    execution_arn: str | None = Field(None, description="The run's workflow execution")


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunCreate(_Input):
    operation: Operation = Operation.PLAN_AND_APPLY
    message: Annotated[str, Field(max_length=1000)] = ""
    configuration_version_id: str | None = Field(
        None, description="Defaults to the workspace's latest uploaded configuration version"
    )
    auto_apply: StrictBool | None = Field(None, description="Defaults to the workspace's")


class RunAction(_Input):
    comment: Annotated[str, Field(max_length=1000)] = ""


class LogPage(BaseModel):
    data: str
    next_offset: int
    complete: bool
