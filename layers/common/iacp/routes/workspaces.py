"""Routes: /api/v1/workspaces and their lock actions. Every reply shows the workspace with
its latest run and resource count (``WorkspaceView``)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import Field

from iacp.http import Caller, CursorQuery, LimitQuery, ResourceId, provided, responses
from iacp.orchestration.workspace_overview import WorkspaceOverview, WorkspaceView
from iacp.pagination import DEFAULT_LIMIT, Page
from iacp.workspaces.models import LockRequest, WorkspaceCreate, WorkspaceUpdate
from iacp.workspaces.service import WorkspaceService

router = APIGatewayRouter()
Workspaces = Annotated[WorkspaceService, provided("workspaces")]
Overview = Annotated[WorkspaceOverview, provided("workspace_overview")]
NamePrefix = Annotated[
    str,
    Query(description="Only the workspaces whose name begins with this (case matters)"),
    Field(pattern=r"^[A-Za-z0-9_-]{0,90}$"),
]
TAGS = ["workspaces"]


@router.post(
    "/api/v1/workspaces",
    status_code=201,
    tags=TAGS,
    summary="Create a workspace",
    responses=responses(201, "The new workspace", 409),
)
def create_workspace(
    body: WorkspaceCreate, caller: Caller, service: Workspaces, overview: Overview
) -> WorkspaceView:
    return overview.view(service.create(caller, body))


@router.get(
    "/api/v1/workspaces",
    tags=TAGS,
    summary="List workspaces, by name, each with its latest run and resource count",
    responses=responses(200, "A page of workspaces"),
)
def list_workspaces(
    caller: Caller,
    service: Overview,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
    name_prefix: NamePrefix = "",
) -> Page[WorkspaceView]:
    return service.page(caller, limit, cursor, name_prefix)


@router.get(
    "/api/v1/workspaces/<workspace_id>",
    tags=TAGS,
    summary="Show a workspace, with its latest run and resource count",
    responses=responses(200, "The workspace", 404),
)
def get_workspace(workspace_id: ResourceId, caller: Caller, service: Overview) -> WorkspaceView:
    return service.get(caller, workspace_id)


@router.patch(
    "/api/v1/workspaces/<workspace_id>",
    tags=TAGS,
    summary="Change a workspace",
    responses=responses(200, "The changed workspace", 404, 409),
)
def update_workspace(
    workspace_id: ResourceId,
    body: WorkspaceUpdate,
    caller: Caller,
    service: Workspaces,
    overview: Overview,
) -> WorkspaceView:
    return overview.view(service.update(caller, workspace_id, body))


@router.delete(
    "/api/v1/workspaces/<workspace_id>",
    status_code=204,
    tags=TAGS,
    summary="Delete a workspace (refused while it is locked or has an active run)",
    responses=responses(204, "Deleted, with its variables", 404, 409),
)
def delete_workspace(
    workspace_id: ResourceId, caller: Caller, service: Workspaces
) -> Response[None]:
    service.delete(caller, workspace_id)
    return Response(status_code=204)


@router.post(
    "/api/v1/workspaces/<workspace_id>/actions/lock",
    tags=TAGS,
    summary="Lock a workspace",
    responses=responses(200, "The locked workspace", 404, 409),
)
def lock_workspace(
    workspace_id: ResourceId,
    caller: Caller,
    service: Workspaces,
    overview: Overview,
    body: Annotated[LockRequest | None, Body()] = None,
) -> WorkspaceView:
    return overview.view(service.lock(caller, workspace_id, body or LockRequest()))


@router.post(
    "/api/v1/workspaces/<workspace_id>/actions/unlock",
    tags=TAGS,
    summary="Unlock a workspace this token locked",
    responses=responses(200, "The unlocked workspace", 404, 409),
)
def unlock_workspace(
    workspace_id: ResourceId, caller: Caller, service: Workspaces, overview: Overview
) -> WorkspaceView:
    return overview.view(service.unlock(caller, workspace_id))


@router.post(
    "/api/v1/workspaces/<workspace_id>/actions/force-unlock",
    tags=TAGS,
    summary="Release whoever's lock (admin)",
    responses=responses(200, "The unlocked workspace", 404, 409),
)
def force_unlock_workspace(
    workspace_id: ResourceId, caller: Caller, service: Workspaces, overview: Overview
) -> WorkspaceView:
    return overview.view(service.force_unlock(caller, workspace_id))
