"""Run tasks, their attachments to workspaces and their results (design §3, §6, §9)."""

from enum import StrEnum
from typing import Annotated

from pydantic import (
    AnyHttpUrl,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
)

from iacp.changes import not_nullable
from iacp.model import Model
from iacp.timestamps import UtcDatetime


class Stage(StrEnum):
    PRE_PLAN = "pre_plan"
    POST_PLAN = "post_plan"
    PRE_APPLY = "pre_apply"
    POST_APPLY = "post_apply"

    @property
    def blocking(self) -> bool:
        """A mandatory failure stops the run here; post_apply comes after the state is saved
        and never rolls back (design §4)."""
        return self is not Stage.POST_APPLY


class Enforcement(StrEnum):
    ADVISORY = "advisory"
    MANDATORY = "mandatory"


class ResultStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"
    ERRORED = "errored"
    TIMEOUT = "timeout"
    CANCELED = "canceled"
    OVERRIDDEN = "overridden"

    @property
    def final(self) -> bool:
        return self not in OPEN

    @property
    def unsuccessful(self) -> bool:
        return self in UNSUCCESSFUL


OPEN = frozenset({ResultStatus.PENDING, ResultStatus.RUNNING})
UNSUCCESSFUL = frozenset({ResultStatus.FAILED, ResultStatus.ERRORED, ResultStatus.TIMEOUT})


class StageStatus(StrEnum):
    RUNNING = "running"
    PASSED = "passed"
    AWAITING_OVERRIDE = "awaiting_override"
    OVERRIDDEN = "overridden"
    CANCELED = "canceled"


DEFAULT_TIMEOUT_SECONDS = 600
DEFAULT_MAX_RUN_SECONDS = 3600

RunTaskName = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,90}$"),
    Field(description="Letters, digits, '-' and '_'; unique, ignoring case."),
]
HmacKey = Annotated[
    str, Field(min_length=1, max_length=1000, description="Write-only; stored encrypted.")
]
TimeoutSeconds = Annotated[
    int, Field(ge=60, le=600, description="No progress for this long: the result times out.")
]
MaxRunSeconds = Annotated[
    int, Field(ge=60, le=3600, description="Running past this: the result times out.")
]
Stages = Annotated[list[Stage], Field(min_length=1, max_length=4)]
Description = Annotated[str, Field(max_length=1000)]


class _Input(Model):
    model_config = ConfigDict(extra="forbid")


class GlobalSettings(_Input):
    """A global run task applies to every workspace at these stages, unless the workspace
    attaches the task itself (its own attachment wins)."""

    enabled: StrictBool = False
    stages: list[Stage] = Field(default_factory=list, max_length=4)
    enforcement_level: Enforcement = Enforcement.ADVISORY

    @field_validator("stages")
    @classmethod
    def _unique(cls, stages: list[Stage]) -> list[Stage]:
        return _unique_stages(stages)


def _unique_stages(stages: list[Stage]) -> list[Stage]:
    if len(set(stages)) != len(stages):
        raise ValueError("lists a stage twice")
    return sorted(stages, key=list(Stage).index)


class RunTask(Model):
    id: str
    created_at: UtcDatetime
    updated_at: UtcDatetime
    name: str
    url: str
    description: str
    enabled: bool
    timeout_seconds: int
    max_run_seconds: int
    hmac_key_set: bool
    global_: GlobalSettings = Field(alias="global", serialization_alias="global")

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class RunTaskCreate(_Input):
    name: RunTaskName
    url: AnyHttpUrl = Field(description="Where the platform POSTs each run's webhook.")
    hmac_key: HmacKey | None = Field(None, repr=False)
    description: Description = ""
    enabled: StrictBool = True
    timeout_seconds: TimeoutSeconds = DEFAULT_TIMEOUT_SECONDS
    max_run_seconds: MaxRunSeconds = DEFAULT_MAX_RUN_SECONDS
    global_: GlobalSettings = Field(default_factory=GlobalSettings, alias="global")


class RunTaskUpdate(_Input):
    """Only the fields present change. ``hmac_key: null`` removes the key. Changing the URL
    or the key sends the verification request again."""

    name: RunTaskName | None = None
    url: AnyHttpUrl | None = None
    hmac_key: HmacKey | None = Field(None, repr=False)
    description: Description | None = None
    enabled: StrictBool | None = None
    timeout_seconds: TimeoutSeconds | None = None
    max_run_seconds: MaxRunSeconds | None = None
    global_: GlobalSettings | None = Field(None, alias="global")

    _not_null = not_nullable(
        "name", "url", "description", "enabled", "timeout_seconds", "max_run_seconds", "global_"
    )


class WorkspaceRunTask(Model):
    id: str
    created_at: UtcDatetime
    workspace_id: str
    run_task_id: str
    stages: list[Stage]
    enforcement_level: Enforcement


class WorkspaceRunTaskCreate(_Input):
    run_task_id: Annotated[str, StringConstraints(pattern=r"^task-[A-Za-z0-9]{16}$")]
    stages: Stages
    enforcement_level: Enforcement

    @field_validator("stages")
    @classmethod
    def _unique(cls, stages: list[Stage]) -> list[Stage]:
        return _unique_stages(stages)


class WorkspaceRunTaskUpdate(_Input):
    stages: Stages | None = None
    enforcement_level: Enforcement | None = None

    _not_null = not_nullable("stages", "enforcement_level")

    @field_validator("stages")
    @classmethod
    def _unique(cls, stages: list[Stage]) -> list[Stage]:
        return _unique_stages(stages)


# --- results --------------------------------------------------------------------------------

TagLevel = Annotated[str, StringConstraints(pattern=r"^(none|info|warning|error)$")]


class OutcomeTag(Model):
    model_config = ConfigDict(extra="ignore")

    label: Annotated[str, Field(max_length=200)]
    level: TagLevel = "none"


class Outcome(Model):
    outcome_id: str | None = None
    description: str
    body: str | None = None
    url: str | None = None
    tags: dict[str, list[OutcomeTag]] = Field(default_factory=dict)


class Override(Model):
    by: str
    comment: str
    at: UtcDatetime


class TaskResult(Model):
    """A run task's result for one run and stage: public, without any secret."""

    id: str
    created_at: UtcDatetime
    updated_at: UtcDatetime
    run_id: str
    workspace_id: str
    run_task_id: str
    run_task_name: str
    workspace_run_task_id: str | None = Field(None, description="null for a global run task")
    stage: Stage
    enforcement_level: Enforcement
    status: ResultStatus
    message: str = ""
    url: str | None = None
    outcomes: list[Outcome] = Field(default_factory=list)
    override: Override | None = None

    @property
    def blocks(self) -> bool:
        """Stops the run: a mandatory result that did not pass at a stage that can stop it."""
        return (
            self.status.unsuccessful
            and self.enforcement_level is Enforcement.MANDATORY
            and self.stage.blocking
        )


class TaskResultSummary(Model):
    """A result as the run's stage summary lists it: without its outcomes, which can be
    large (the run's item must stay small); ``GET /runs/{run}/task-results`` has them."""

    id: str
    run_task_id: str
    run_task_name: str
    enforcement_level: Enforcement
    status: ResultStatus
    message: str = ""

    @classmethod
    def of(cls, result: TaskResult) -> "TaskResultSummary":
        return cls.model_validate(result.model_dump(include=set(cls.model_fields)))


class TaskStage(Model):
    """A run's summary of one stage: how it ended, with advisory failures (and any failure
    at post_apply) as warnings."""

    stage: Stage
    status: StageStatus
    warnings: list[str] = Field(default_factory=list)
    results: list[TaskResultSummary] = Field(default_factory=list)
