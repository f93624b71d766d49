"""Routes: /api/v1/tokens (admin only), and /api/v1/account (the calling token itself)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from iacp.http import Caller, CursorQuery, LimitQuery, ResourceId, provided, responses
from iacp.pagination import DEFAULT_LIMIT, Page
from iacp.principal import Principal
from iacp.tokens.models import ApiToken, CreatedToken, TokenCreate
from iacp.tokens.service import TokenService

router = APIGatewayRouter()
Tokens = Annotated[TokenService, provided("tokens")]
TAGS = ["tokens"]


@router.post(
    "/api/v1/tokens",
    status_code=201,
    tags=TAGS,
    summary="Create an API token; the token is in this reply only",
    responses=responses(201, "The new token, with its secret (shown once)"),
)
def create_token(body: TokenCreate, caller: Caller, service: Tokens) -> CreatedToken:
    return service.create(caller, body)


@router.get(
    "/api/v1/tokens",
    tags=TAGS,
    summary="List API tokens (never their secrets)",
    responses=responses(200, "A page of tokens"),
)
def list_tokens(
    caller: Caller,
    service: Tokens,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[ApiToken]:
    return service.page(caller, limit, cursor)


@router.delete(
    "/api/v1/tokens/<token_id>",
    status_code=204,
    tags=TAGS,
    summary="Revoke an API token",
    responses=responses(204, "Revoked: it stops working within the authorizer cache time", 404),
)
def revoke_token(token_id: ResourceId, caller: Caller, service: Tokens) -> Response[None]:
    service.revoke(caller, token_id)
    return Response(status_code=204)


@router.get(
    "/api/v1/account",
    tags=["account"],
    summary="The calling token: its role and the workspaces it may use (any role)",
    description="A client (the web UI) offers only what this role may do.",
    responses=responses(200, "The token's id, role, workspaces (null: all) and expiry"),
)
def get_account(caller: Caller) -> Principal:
    return caller
