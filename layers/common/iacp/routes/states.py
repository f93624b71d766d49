"""Routes: /api/v1/workspaces/{ws}/current-state-version, /api/v1/workspaces/{ws}/state-versions
and /api/v1/state-versions/{sv}."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from iacp.http import Caller, CursorQuery, LimitQuery, ResourceId, provided, responses
from iacp.pagination import DEFAULT_LIMIT, Page
from iacp.states.models import (
    NamedStateOutput,
    StateVersion,
    StateVersionCreate,
    StateVersionSummary,
)
from iacp.states.service import StateService

router = APIGatewayRouter()
States = Annotated[StateService, provided("states")]
TAGS = ["state"]
STATE_VERSION = "/api/v1/state-versions/<state_version_id>"


@router.get(
    "/api/v1/workspaces/<workspace_id>/current-state-version",
    tags=TAGS,
    summary="The workspace's current state: serial, lineage, outputs (sensitive ones null)",
    responses=responses(200, "The current state version", 404),
)
def get_current_state_version(
    workspace_id: ResourceId, caller: Caller, service: States
) -> StateVersion:
    return service.current(caller, workspace_id)


@router.get(
    "/api/v1/workspaces/<workspace_id>/state-versions",
    tags=TAGS,
    summary="List the workspace's state versions, newest (highest serial) first",
    description=(
        "Every state version the workspace's applies and rollbacks recorded. `run_id` names "
        "the run whose apply wrote a version; a rollback's has none, and `rolled_back_from` "
        "names the version it restored."
    ),
    responses=responses(200, "A page of state versions", 404),
)
def list_state_versions(
    workspace_id: ResourceId,
    caller: Caller,
    service: States,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[StateVersionSummary]:
    return service.page(caller, workspace_id, limit, cursor)


@router.post(
    "/api/v1/workspaces/<workspace_id>/state-versions",
    status_code=201,
    tags=TAGS,
    summary="Roll the workspace back: a new current state with an earlier version's content",
    description=(
        "The new version holds the content of `rollback_to` (a version of this workspace, of "
        "the current state's lineage) with the next serial. It needs the `write` role and "
        "the workspace free of runs: either locked by the caller's token "
        "(`POST /workspaces/{ws}/actions/lock`), or unlocked, and then the write itself is "
        "conditional on the workspace staying unlocked and idle (no lock is left behind). "
        "409 when a run holds the workspace or someone else holds its lock; 422 for a "
        "version of another workspace or another lineage; 404 for an unknown version. The "
        "inventory is synced from the new version."
    ),
    responses=responses(201, "The new current state version", 404, 409),
)
def create_state_version(
    workspace_id: ResourceId, body: StateVersionCreate, caller: Caller, service: States
) -> StateVersion:
    return service.rollback(caller, workspace_id, body)


@router.get(
    STATE_VERSION,
    tags=TAGS,
    summary="Show a state version: serial, lineage, outputs (sensitive ones null)",
    description="`download_url` (a presigned GET of the state file) only for write tokens.",
    responses=responses(200, "The state version", 404),
)
def get_state_version(
    state_version_id: ResourceId, caller: Caller, service: States
) -> StateVersion:
    return service.get(caller, state_version_id)


@router.get(
    STATE_VERSION + "/outputs",
    tags=TAGS,
    summary="A state version's outputs; sensitive values only for the admin role",
    description=(
        "A sensitive output is flagged `sensitive: true`; its value is null unless the token "
        "has the admin role."
    ),
    responses=responses(200, "The outputs, by name", 404),
)
def list_state_version_outputs(
    state_version_id: ResourceId, caller: Caller, service: States
) -> Page[NamedStateOutput]:
    return service.outputs(caller, state_version_id)
