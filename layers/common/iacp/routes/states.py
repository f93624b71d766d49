"""Routes: /api/v1/workspaces/{ws}/current-state-version."""

from typing import Annotated

from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from iacp.http import Caller, ResourceId, provided, responses
from iacp.states.models import StateVersion
from iacp.states.service import StateService

router = APIGatewayRouter()
States = Annotated[StateService, provided("states")]


@router.get(
    "/api/v1/workspaces/<workspace_id>/current-state-version",
    tags=["state"],
    summary="The workspace's current state: serial, lineage, outputs (sensitive ones null)",
    responses=responses(200, "The current state version", 404),
)
def get_current_state_version(
    workspace_id: ResourceId, caller: Caller, service: States
) -> StateVersion:
    return service.current(caller, workspace_id)
