"""A run's run-task stages and results in TFE's shapes (``task-stages``, ``task-results``),
so that ``terraform plan`` prints each task's status and message as on HCP Terraform
(terraform's ``internal/cloud/backend_taskStages.go`` reads them).

The CLI asks for a run's stages once, right after creating it, and waits only on those: a
run lists the stages it has begun and those that would have tasks if it came to them now. A
stage reads ``running`` until the run has moved past it (so the CLI, once a stage passed,
finds the run planned and confirmable), and a stage a mandatory task stopped reads ``failed``,
which ends the CLI with the task's message.
"""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from iacp.http import Caller, ResourceId, provided
from iacp.orchestration.run_service import RunService
from iacp.principal import Principal
from iacp.runs.models import Run
from iacp.runs.status import RunStatus
from iacp.runtasks.models import ResultStatus, Stage, StageStatus, TaskResult, TaskStage
from iacp.tfe.jsonapi import (
    Attributes,
    Document,
    Ref,
    Relationship,
    Resource,
    page_meta,
    reply,
)
from iacp.tfe.plans import visible_run
from iacp.tfe.protocol import PREFIX
from iacp.tfe.run_phases import at_stage, stage_of, stage_passed_by, task_stage_id
from iacp.timestamps import UtcDatetime

router = APIGatewayRouter()
Runs = Annotated[RunService, provided("runs")]
Include = Annotated[str, Query()]

# TFE's result statuses: a timeout is an error; an overridden failure lets the run go on.
RESULT_STATUS = {
    ResultStatus.PENDING: "pending",
    ResultStatus.RUNNING: "running",
    ResultStatus.PASSED: "passed",
    ResultStatus.FAILED: "failed",
    ResultStatus.ERRORED: "errored",
    ResultStatus.TIMEOUT: "errored",
    ResultStatus.CANCELED: "errored",
    ResultStatus.OVERRIDDEN: "passed",
}


class TaskStageAttributes(Attributes):
    stage: Stage
    status: str
    status_timestamps: dict[str, UtcDatetime]
    created_at: UtcDatetime
    updated_at: UtcDatetime


class TaskResultAttributes(Attributes):
    status: str
    message: str
    url: str | None
    task_id: str
    task_name: str
    stage: Stage
    workspace_task_id: str | None
    workspace_task_enforcement_level: str
    status_timestamps: dict[str, UtcDatetime]
    created_at: UtcDatetime
    updated_at: UtcDatetime


def run_stages(service: RunService, run: Run) -> list[Stage]:
    """The stages the run has begun and those ahead of it that have tasks now."""
    stages = {summary.stage for summary in run.task_stages} | set(service.stages_ahead(run))
    return [stage for stage in Stage if stage in stages]


def stage_status(run: Run, stage: Stage) -> str:
    summary = _summary(run, stage)
    if summary is None:
        if stage_passed_by(run, stage):
            return "passed"
        return "unreachable" if run.status.terminal else "pending"
    if summary.status is StageStatus.AWAITING_OVERRIDE:
        return "failed"  # a mandatory task stopped the run (iacp's override is /api/v1's)
    if summary.status is StageStatus.CANCELED:
        return "canceled"
    if summary.status is StageStatus.RUNNING and run.status.terminal:
        return "errored" if run.status is RunStatus.ERRORED else "canceled"
    if summary.status is StageStatus.RUNNING or at_stage(run, stage):
        return "running"  # passed, but the run has not moved on yet
    return "passed"


def _summary(run: Run, stage: Stage) -> TaskStage | None:
    return next((s for s in run.task_stages if s.stage is stage), None)


def stage_resource(
    run: Run, stage: Stage, results: list[TaskResult] | None = None
) -> Resource[TaskStageAttributes]:
    """The stage; its results' ids from the run's summary, or from ``results`` when given."""
    status = stage_status(run, stage)
    summary = _summary(run, stage)
    ids = (
        [r.id for r in results if r.stage is stage]
        if results is not None
        else [r.id for r in summary.results]
        if summary
        else []
    )
    updated = max(run.status_timestamps.values(), default=run.created_at)
    stamps = {f"{status}-at": updated} if status not in ("pending", "unreachable") else {}
    return Resource(
        id=task_stage_id(run.id, stage),
        type="task-stages",
        attributes=TaskStageAttributes(
            stage=stage,
            status=status,
            status_timestamps=stamps,
            created_at=run.created_at,
            updated_at=updated,
        ),
        relationships={
            "run": Relationship.to("runs", run.id),
            "task-results": _refs("task-results", ids),
            "policy-evaluations": _refs("policy-evaluations", []),
        },
    )


def _refs(type_: str, ids: list[str]) -> Relationship:
    return Relationship(data=[Ref(id=i, type=type_) for i in ids])


def result_resource(run: Run, result: TaskResult) -> Resource[TaskResultAttributes]:
    status = RESULT_STATUS[result.status]
    return Resource(
        id=result.id,
        type="task-results",
        attributes=TaskResultAttributes(
            status=status,
            message=result.message,
            url=result.url,
            task_id=result.run_task_id,
            task_name=result.run_task_name,
            stage=result.stage,
            workspace_task_id=result.workspace_run_task_id,
            workspace_task_enforcement_level=result.enforcement_level.value,
            status_timestamps={f"{status}-at": result.updated_at},
            created_at=result.created_at,
            updated_at=result.updated_at,
        ),
        relationships={
            "task-stage": Relationship.to("task-stages", task_stage_id(run.id, result.stage))
        },
    )


def _includes(include: str | None) -> set[str]:
    return {name.strip() for name in (include or "").split(",") if name.strip()}


@router.get(f"{PREFIX}/runs/<run_id>/task-stages", include_in_schema=False)
def list_task_stages(run_id: ResourceId, caller: Caller, service: Runs) -> Response[str]:
    run = visible_run(service, caller, run_id)
    stages = [stage_resource(run, stage) for stage in run_stages(service, run)]
    return reply(Document(data=stages, meta=page_meta(1, max(1, len(stages)), len(stages))))


@router.get(f"{PREFIX}/task-stages/<stage_id>", include_in_schema=False)
def get_task_stage(
    stage_id: ResourceId, caller: Caller, service: Runs, include: Include = ""
) -> Response[str]:
    run_id, stage = stage_of(stage_id)
    run = visible_run(service, caller, run_id)
    results = task_results(service, caller, run, stage)
    included: list[Resource[Any]] | None = None
    if "task_results" in _includes(include):
        included = [result_resource(run, result) for result in results]
    return reply(Document(data=stage_resource(run, stage, results), included=included))


def task_results(
    service: RunService, caller: Principal, run: Run, stage: Stage
) -> list[TaskResult]:
    return [r for r in service.task_results(caller, run.id).items if r.stage is stage]
