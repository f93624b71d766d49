"""Routes: /api/v1/workspaces/{ws}/resources and /api/v1/resources."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import Field

from iacp.http import Caller, CursorQuery, LimitQuery, ResourceId, provided, responses
from iacp.inventory.models import Resource, SyncRequested
from iacp.inventory.service import InventoryService, ResourcePage
from iacp.pagination import DEFAULT_LIMIT, Page

router = APIGatewayRouter()
Inventory = Annotated[InventoryService, provided("inventory")]
TAGS = ["resources"]

TypeQuery = Annotated[
    str | None,
    Query(alias="type", description="A resource type, e.g. aws_s3_bucket"),
    Field(min_length=1, max_length=200, pattern=r"^[A-Za-z_][A-Za-z0-9_-]*$"),
]
CloudIdQuery = Annotated[
    str | None,
    Query(alias="id", description="A cloud id or ARN, exactly as the provider reports it"),
    Field(min_length=1, max_length=2048),
]


@router.get(
    "/api/v1/workspaces/<workspace_id>/resources",
    tags=TAGS,
    summary="The workspace's resources, indexed from its current state after each apply",
    description=(
        "In address order. `sync` tells how current the list is: the state it was indexed "
        "from, and whether a sync is under way, waiting for a retry or has failed."
    ),
    responses=responses(200, "A page of resources and the sync's status", 404),
)
def list_workspace_resources(
    workspace_id: ResourceId,
    caller: Caller,
    service: Inventory,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> ResourcePage:
    return service.page(caller, workspace_id, limit, cursor)


@router.post(
    "/api/v1/workspaces/<workspace_id>/actions/sync-resources",
    status_code=202,
    tags=TAGS,
    summary="Index the workspace's current state again (after a sync that failed for good)",
    description=(
        "The sync runs on the inventory's queue, as after an apply; follow it in `sync` of "
        "`GET /workspaces/{ws}/resources`. A sync under way or done already is left as it "
        "is; one that gave up starts over with all its attempts. 409 when the workspace has "
        "no state yet."
    ),
    responses=responses(202, "The state to be indexed, and the sync as it stood", 404, 409),
)
def sync_workspace_resources(
    workspace_id: ResourceId, caller: Caller, service: Inventory
) -> SyncRequested:
    return service.request_sync(caller, workspace_id)


@router.get(
    "/api/v1/resources",
    tags=TAGS,
    summary="Find resources across workspaces by type and/or cloud id (which workspace "
    "manages this ARN?)",
    description=(
        "At least one of `type` and `id` is required. In workspace and address order; a "
        "token limited to workspaces finds only theirs, so a page may hold fewer than "
        "`limit` items and still have a `next_cursor`."
    ),
    responses=responses(200, "A page of resources"),
)
def search_resources(
    caller: Caller,
    service: Inventory,
    resource_type: TypeQuery = None,
    cloud_id: CloudIdQuery = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[Resource]:
    return service.search(caller, resource_type, cloud_id, limit, cursor)
