"""Routes: /api/v1/vcs-connections (the user API)."""

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
from iacp.vcs.models import VcsConnection, VcsConnectionCreate
from iacp.vcs.service import VcsConnectionService

router = APIGatewayRouter()
VcsConnections = Annotated[VcsConnectionService, provided("vcs_connections")]
TAGS = ["vcs"]
CONNECTION = "/api/v1/vcs-connections/<connection_id>"


@router.post(
    "/api/v1/vcs-connections",
    status_code=201,
    tags=TAGS,
    summary="Connect a repository host (admin)",
    description=(
        "GitHub: give the webhook secret you set on the repository's webhook (content type "
        "application/json), and a token for private repositories; point the webhook at the "
        "returned webhook_url. CodeCommit: nothing else; pushes arrive through EventBridge. "
        "Secrets are never returned."
    ),
    responses=responses(201, "The new connection, with its webhook URL"),
)
def create_vcs_connection(
    body: VcsConnectionCreate, caller: Caller, service: VcsConnections, base_url: PublicBaseUrl
) -> VcsConnection:
    return service.create(caller, body, base_url)


@router.get(
    "/api/v1/vcs-connections",
    tags=TAGS,
    summary="List VCS connections",
    responses=responses(200, "A page of connections"),
)
def list_vcs_connections(
    caller: Caller,
    service: VcsConnections,
    base_url: PublicBaseUrl,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[VcsConnection]:
    return service.page(caller, limit, cursor, base_url)


@router.get(
    CONNECTION,
    tags=TAGS,
    summary="Show a VCS connection",
    responses=responses(200, "The connection", 404),
)
def get_vcs_connection(
    connection_id: ResourceId, caller: Caller, service: VcsConnections, base_url: PublicBaseUrl
) -> VcsConnection:
    return service.get(caller, connection_id, base_url)


@router.delete(
    CONNECTION,
    status_code=204,
    tags=TAGS,
    summary="Delete a VCS connection and its secrets (admin; refused while workspaces use it)",
    responses=responses(204, "Deleted", 404, 409),
)
def delete_vcs_connection(
    connection_id: ResourceId, caller: Caller, service: VcsConnections
) -> Response[None]:
    service.delete(caller, connection_id)
    return Response(status_code=204)
