"""Routes: /api/v1/workspaces/{ws}/vars."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from iacp.http import Caller, CursorQuery, LimitQuery, ResourceId, provided, responses
from iacp.pagination import DEFAULT_LIMIT, Page
from iacp.variables.models import Variable, VariableCreate, VariableUpdate
from iacp.variables.service import VariableService

router = APIGatewayRouter()
Variables = Annotated[VariableService, provided("variables")]
TAGS = ["variables"]
VARS = "/api/v1/workspaces/<workspace_id>/vars"


@router.post(
    VARS,
    status_code=201,
    tags=TAGS,
    summary="Create a variable",
    responses=responses(201, "The new variable", 404, 409),
)
def create_variable(
    workspace_id: ResourceId, body: VariableCreate, caller: Caller, service: Variables
) -> Variable:
    return service.create(caller, workspace_id, body)


@router.get(
    VARS,
    tags=TAGS,
    summary="List a workspace's variables (sensitive values are null)",
    responses=responses(200, "A page of variables", 404),
)
def list_variables(
    workspace_id: ResourceId,
    caller: Caller,
    service: Variables,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[Variable]:
    return service.page(caller, workspace_id, limit, cursor)


@router.patch(
    VARS + "/<variable_id>",
    tags=TAGS,
    summary="Change a variable",
    responses=responses(200, "The changed variable", 404, 409),
)
def update_variable(
    workspace_id: ResourceId,
    variable_id: ResourceId,
    body: VariableUpdate,
    caller: Caller,
    service: Variables,
) -> Variable:
    return service.update(caller, workspace_id, variable_id, body)


@router.delete(
    VARS + "/<variable_id>",
    status_code=204,
    tags=TAGS,
    summary="Delete a variable",
    responses=responses(204, "Deleted", 404),
)
def delete_variable(
    workspace_id: ResourceId, variable_id: ResourceId, caller: Caller, service: Variables
) -> Response[None]:
    service.delete(caller, workspace_id, variable_id)
    return Response(status_code=204)
