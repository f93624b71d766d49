"""Routes: /api/v1/run-tasks and /api/v1/workspaces/{ws}/run-tasks (the user API)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from iacp.http import (
    Caller,
    CursorQuery,
    LimitQuery,
    PublicBaseUrl,
    ResourceId,
    provided,
    responses,
)
from iacp.pagination import DEFAULT_LIMIT, Page
from iacp.runtasks.models import (
    RunTask,
    RunTaskCreate,
    RunTaskUpdate,
    WorkspaceRunTask,
    WorkspaceRunTaskCreate,
    WorkspaceRunTaskUpdate,
)
from iacp.runtasks.protocol import Links
from iacp.runtasks.service import RunTaskService

router = APIGatewayRouter()
RunTasks = Annotated[RunTaskService, provided("run_tasks")]
TAGS = ["run tasks"]
TASK = "/api/v1/run-tasks/<run_task_id>"
ATTACHMENTS = "/api/v1/workspaces/<workspace_id>/run-tasks"
VERIFIED = (
    "The platform first sends the service the signed verification request; nothing is "
    "saved unless it answers 2xx (else 422, saying what the service did)."
)


@router.post(
    "/api/v1/run-tasks",
    status_code=201,
    tags=TAGS,
    summary="Create a run task (admin)",
    description=VERIFIED,
    responses=responses(201, "The new run task (never its HMAC key)", 409),
)
def create_run_task(
    body: RunTaskCreate, caller: Caller, service: RunTasks, base_url: PublicBaseUrl
) -> RunTask:
    return service.create(caller, body, Links(base_url))


@router.get(
    "/api/v1/run-tasks",
    tags=TAGS,
    summary="List run tasks, by name",
    responses=responses(200, "A page of run tasks"),
)
def list_run_tasks(
    caller: Caller,
    service: RunTasks,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[RunTask]:
    return service.page(caller, limit, cursor)


@router.get(
    TASK, tags=TAGS, summary="Show a run task", responses=responses(200, "The run task", 404)
)
def get_run_task(run_task_id: ResourceId, caller: Caller, service: RunTasks) -> RunTask:
    return service.get(caller, run_task_id)


@router.patch(
    TASK,
    tags=TAGS,
    summary="Change a run task (admin)",
    description="Changing the URL or the HMAC key is verified as on create. " + VERIFIED,
    responses=responses(200, "The changed run task", 404, 409),
)
def update_run_task(
    run_task_id: ResourceId,
    body: RunTaskUpdate,
    caller: Caller,
    service: RunTasks,
    base_url: PublicBaseUrl,
) -> RunTask:
    return service.update(caller, run_task_id, body, Links(base_url))


@router.delete(
    TASK,
    status_code=204,
    tags=TAGS,
    summary="Delete a run task (admin); it stops applying to every workspace",
    responses=responses(204, "Deleted", 404, 409),
)
def delete_run_task(run_task_id: ResourceId, caller: Caller, service: RunTasks) -> Response[None]:
    service.delete(caller, run_task_id)
    return Response(204)


@router.post(
    ATTACHMENTS,
    status_code=201,
    tags=TAGS,
    summary="Attach a run task to a workspace at some stages (admin)",
    responses=responses(201, "The attachment", 404, 409),
)
def attach_run_task(
    workspace_id: ResourceId, body: WorkspaceRunTaskCreate, caller: Caller, service: RunTasks
) -> WorkspaceRunTask:
    return service.attach(caller, workspace_id, body)


@router.get(
    ATTACHMENTS,
    tags=TAGS,
    summary="List the run tasks attached to a workspace",
    responses=responses(200, "The attachments", 404),
)
def list_workspace_run_tasks(
    workspace_id: ResourceId, caller: Caller, service: RunTasks
) -> Page[WorkspaceRunTask]:
    return service.attachments(caller, workspace_id)


@router.patch(
    ATTACHMENTS + "/<attachment_id>",
    tags=TAGS,
    summary="Change an attachment's stages or enforcement level (admin)",
    responses=responses(200, "The changed attachment", 404),
)
def update_workspace_run_task(
    workspace_id: ResourceId,
    attachment_id: ResourceId,
    body: WorkspaceRunTaskUpdate,
    caller: Caller,
    service: RunTasks,
) -> WorkspaceRunTask:
    return service.update_attachment(caller, workspace_id, attachment_id, body)


@router.delete(
    ATTACHMENTS + "/<attachment_id>",
    status_code=204,
    tags=TAGS,
    summary="Detach a run task from a workspace (admin)",
    responses=responses(204, "Detached", 404),
)
def detach_run_task(
    workspace_id: ResourceId, attachment_id: ResourceId, caller: Caller, service: RunTasks
) -> Response[None]:
    service.detach(caller, workspace_id, attachment_id)
    return Response(204)
