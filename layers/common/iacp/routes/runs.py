"""Routes: /api/v1/workspaces/{ws}/runs and /api/v1/runs/{run}."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import Field

from iacp.http import (
    Caller,
    CursorQuery,
    LimitQuery,
    ResourceId,
    document_reply,
    provided,
    responses,
)
from iacp.orchestration.run_service import RunService
from iacp.pagination import DEFAULT_LIMIT, Page
from iacp.runs.models import LogPage, RunAction, RunCreate, RunView
from iacp.runs.phase import Phase
from iacp.runtasks.models import TaskResult

router = APIGatewayRouter()
Runs = Annotated[RunService, provided("runs")]
TAGS = ["runs"]
RUN = "/api/v1/runs/<run_id>"
ActionBody = Annotated[RunAction | None, Body()]


@router.post(
    "/api/v1/workspaces/<workspace_id>/runs",
    status_code=201,
    tags=TAGS,
    summary="Start a run (it waits its turn unless it is plan-only)",
    responses=responses(201, "The new run", 404),
)
def create_run(workspace_id: ResourceId, body: RunCreate, caller: Caller, service: Runs) -> RunView:
    return service.view(caller, service.create(caller, workspace_id, body))


@router.get(
    "/api/v1/workspaces/<workspace_id>/runs",
    tags=TAGS,
    summary="List a workspace's runs, newest first",
    responses=responses(200, "A page of runs", 404),
)
def list_runs(
    workspace_id: ResourceId,
    caller: Caller,
    service: Runs,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[RunView]:
    return service.views(caller, service.page(caller, workspace_id, limit, cursor))


@router.get(RUN, tags=TAGS, summary="Show a run", responses=responses(200, "The run", 404))
def get_run(run_id: ResourceId, caller: Caller, service: Runs) -> RunView:
    return service.view(caller, service.get(caller, run_id))


@router.post(
    RUN + "/actions/apply",
    status_code=202,
    tags=TAGS,
    summary="Confirm a planned run: apply its plan",
    responses=responses(202, "Confirmed; the apply starts", 404, 409),
)
def apply_run(
    run_id: ResourceId, caller: Caller, service: Runs, body: ActionBody = None
) -> RunView:
    return service.view(caller, service.apply(caller, run_id, body or RunAction()))


@router.post(
    RUN + "/actions/discard",
    status_code=202,
    tags=TAGS,
    summary="Discard a planned run",
    responses=responses(202, "Discarded", 404, 409),
)
def discard_run(
    run_id: ResourceId, caller: Caller, service: Runs, body: ActionBody = None
) -> RunView:
    return service.view(caller, service.discard(caller, run_id, body or RunAction()))


@router.post(
    RUN + "/actions/cancel",
    status_code=202,
    tags=TAGS,
    summary="Cancel a run gracefully: Terraform is interrupted and what it wrote is kept",
    responses=responses(202, "Cancel under way", 404, 409),
)
def cancel_run(
    run_id: ResourceId, caller: Caller, service: Runs, body: ActionBody = None
) -> RunView:
    return service.view(caller, service.cancel(caller, run_id, body or RunAction()))


@router.post(
    RUN + "/actions/force-cancel",
    status_code=202,
    tags=TAGS,
    summary="End a run at once, after a cancel that did not finish",
    responses=responses(202, "Force-canceled", 404, 409),
)
def force_cancel_run(
    run_id: ResourceId, caller: Caller, service: Runs, body: ActionBody = None
) -> RunView:
    return service.view(caller, service.force_cancel(caller, run_id, body or RunAction()))


@router.get(
    RUN + "/logs",
    tags=TAGS,
    summary="A phase's log from a byte offset; follow with next_offset until complete",
    responses=responses(200, "Log text", 404),
)
def get_run_logs(
    run_id: ResourceId,
    caller: Caller,
    service: Runs,
    phase: Annotated[Phase, Query()] = Phase.PLAN,
    offset: Annotated[int, Query(), Field(ge=0)] = 0,
) -> LogPage:
    return service.logs(caller, run_id, phase, offset)


@router.get(
    RUN + "/plan-json",
    tags=TAGS,
    summary="Terraform's JSON plan (terraform show -json)",
    description="A plan too large for one reply is a 307 to a short-lived download URL.",
    responses=responses(200, "The JSON plan", 404),
)
def get_run_plan_json(run_id: ResourceId, caller: Caller, service: Runs) -> Response[Any]:
    return document_reply(service.plan_json(caller, run_id))


@router.post(
    RUN + "/actions/override-tasks",
    status_code=202,
    tags=TAGS,
    summary="Override the failed run tasks of the stage the run is stopped at, and resume it",
    description=(
        "Write access overrides failed advisory results; a failed mandatory result needs "
        "the admin role. The comment is recorded with who overrode."
    ),
    responses=responses(202, "Overridden; the run goes on", 404, 409),
)
def override_run_tasks(
    run_id: ResourceId, caller: Caller, service: Runs, body: ActionBody = None
) -> RunView:
    return service.view(caller, service.override_tasks(caller, run_id, body or RunAction()))


@router.get(
    RUN + "/task-results",
    tags=TAGS,
    summary="The run's run-task results, in stage order",
    responses=responses(200, "The results", 404),
)
def list_run_task_results(run_id: ResourceId, caller: Caller, service: Runs) -> Page[TaskResult]:
    return service.task_results(caller, run_id)
