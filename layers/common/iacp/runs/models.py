"""Runs, their requests and replies (design §3, §9)."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Self

from pydantic import ConfigDict, Field, StrictBool, model_validator

from iacp.configurations.models import CommitSource
from iacp.model import Model
from iacp.runs.phase import Phase, PlanOptions, RunError
from iacp.runs.status import RunStatus
from iacp.runtasks.models import TaskStage
from iacp.timestamps import UtcDatetime
from iacp.variables.run_scoped import RunScopedVariables
from iacp.vcs.models import VcsFeedback


class Operation(StrEnum):
    PLAN_AND_APPLY = "plan_and_apply"
    PLAN_ONLY = "plan_only"


class Run(PlanOptions):
    """A run; its plan options (``PlanOptions``) are among its fields, as in HCP's runs."""

    id: str
    created_at: UtcDatetime
    workspace_id: str
    operation: Operation
    is_speculative: bool
    auto_apply: bool
    allow_empty_apply: bool = Field(
        False, description="A plan with no changes is applied all the same (HCP's flag)"
    )
    save_plan: bool = Field(
        False,
        description="A saved-plan run: it plans without holding the workspace, which it "
        "takes only when its apply is confirmed",
    )
    variable_keys: list[str] = Field(
        default_factory=list,
        description="The keys of the run's variables; their values are never returned",
    )
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
    vcs: CommitSource | None = Field(None, description="The commit a VCS-driven run plans")
    vcs_feedback: VcsFeedback | None = Field(
        None, description="A VCS-driven run's last report to its repository host"
    )
    applies_in_plan_task: bool = Field(
        False,
        description="The run's plan task also applies (an auto-apply run without post_plan or "
        "pre_apply tasks, its workspace locked before the plan began): one runner task, not two",
    )

    @classmethod
    def pending(
        cls,
        *,
        run_id: str,
        workspace_id: str,
        configuration_version_id: str,
        operation: Operation,
        auto_apply: bool,
        message: str,
        created_by: str,
        at: datetime,
        vcs: CommitSource | None = None,
        options: PlanOptions | None = None,
        allow_empty_apply: bool = False,
        variable_keys: list[str] | None = None,
        save_plan: bool = False,
    ) -> "Run":
        """A new run, waiting to start; plan-only runs are speculative (they never queue),
        and saved plans never apply by themselves."""
        return cls(
            id=run_id,
            created_at=at,
            workspace_id=workspace_id,
            operation=operation,
            is_speculative=operation is Operation.PLAN_ONLY,
            auto_apply=auto_apply and not save_plan,
            save_plan=save_plan,
            status=RunStatus.PENDING,
            status_timestamps={RunStatus.PENDING.value: at},
            message=message,
            created_by=created_by,
            configuration_version_id=configuration_version_id,
            vcs=vcs,
            allow_empty_apply=allow_empty_apply,
            variable_keys=variable_keys or [],
            **(options or PlanOptions()).model_dump(),
        )

    @property
    def queues(self) -> bool:
        """Whether the run waits its turn in the workspace's queue and holds the workspace
        from its start (design §4): not a speculative run, not a saved plan (which takes the
        workspace only when its apply is confirmed)."""
        return not (self.is_speculative or self.save_plan)

    @property
    def runner_phase(self) -> Phase | None:
        """The phase whose runner may be running now, by the run's status: a VCS-driven
        run's fetch, the plan, or the apply until its state is recorded. (Right after the
        status changes, its task may not have started yet; later, it may have ended.)"""
        if self.status is RunStatus.APPLYING and self.state_version_id is None:
            return Phase.APPLY
        if self.status is RunStatus.PLANNING:
            # A plan task that also applies may be applying: what it leaves is an apply's.
            return Phase.APPLY if self.applies_in_plan_task else Phase.PLAN
        if self.status is RunStatus.FETCHING and self.vcs is not None:
            return Phase.FETCH
        return None

    @property
    def apply_recorded(self) -> bool:
        """The apply saved its state version: the run can only end ``applied`` now."""
        return self.state_version_id is not None and self.status in (
            RunStatus.APPLYING,
            RunStatus.POST_APPLY_RUNNING,
        )


class RunSummary(Model):
    """A run in one line, as a list of workspaces shows its latest."""

    id: str
    status: RunStatus
    operation: Operation
    created_at: UtcDatetime
    status_at: UtcDatetime = Field(description="When the run came to its status")

    @classmethod
    def of(cls, run: Run) -> "RunSummary":
        status_at = run.status_timestamps.get(run.status.value, run.created_at)
        return cls(
            **run.model_dump(include={"id", "status", "operation", "created_at"}),
            status_at=status_at,
        )


class RunActions(Model):
    """What the caller may do with the run now (HCP's run actions), by its status and the
    caller's role, so that a client offers only what the API would accept."""

    is_confirmable: bool = Field(description="Apply may be pressed")
    is_discardable: bool
    is_cancelable: bool
    is_force_cancelable: bool = Field(description="A cancel was asked for and has not ended it")
    is_overridable: bool = Field(
        description="The run is stopped at a run-task stage this caller may override"
    )


class RunView(Run):
    """A run as the API shows it: with what the caller may do with it."""

    actions: RunActions


class _Input(Model):
    model_config = ConfigDict(extra="forbid")


class RunCreate(_Input, PlanOptions):
    operation: Operation = Operation.PLAN_AND_APPLY
    message: Annotated[str, Field(max_length=1000)] = ""
    configuration_version_id: str | None = Field(
        None, description="Defaults to the workspace's latest uploaded configuration version"
    )
    auto_apply: StrictBool | None = Field(None, description="Defaults to the workspace's")
    allow_empty_apply: StrictBool = Field(
        False,
        description="Apply a plan with no changes too (e.g. to rewrite the state with a newer "
        "Terraform); otherwise such a run ends planned_and_finished",
    )
    save_plan: StrictBool = Field(
        False,
        description="A saved-plan run (HCP's): it plans at once without holding the workspace "
        "or its lock, then waits as planned; a confirmed apply takes the workspace (409 while "
        "another run or a user holds it) and applies the plan if the state has not changed",
    )
    variables: RunScopedVariables = Field(
        default_factory=list,
        description="Terraform variables for this run alone (HCP's run variables), overriding "
        "the workspace's of the same key; never stored in the workspace, never returned",
    )

    @model_validator(mode="after")
    def _applies(self) -> Self:
        for flag in ("allow_empty_apply", "save_plan"):
            if getattr(self, flag) and self.operation is Operation.PLAN_ONLY:
                raise ValueError(f"{flag} needs a plan_and_apply run: a plan_only never applies")
        if self.save_plan and self.auto_apply:
            raise ValueError("save_plan cannot auto-apply: a saved plan waits for its apply")
        return self


class RunAction(_Input):
    comment: Annotated[str, Field(max_length=1000)] = ""


class LogPage(Model):
    data: str
    next_offset: int
    complete: bool
