"""What every route shares: the error shape, and the caller and services as dependencies.

Errors are ``{"errors": [{"status", "title", "detail", "source"}]}`` (design §9). Client
mistakes are 4xx naming the field; anything unexpected is a 500 that says nothing of the
internals (the details go to the log, never to the client). No error repeats a long submitted
value: what it quotes is ``capped``.
"""

import re
from http import HTTPStatus
from typing import Annotated, Any, cast

from aws_lambda_powertools.event_handler import (
    APIGatewayRestResolver,
    Depends,
    Response,
    content_types,
)
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.event_handler.request import Request
from pydantic import BaseModel, Field, ValidationError

from iacp.errors import QUOTED_LIMIT, DomainError, Unauthorized, capped, pointer_of
from iacp.observability import logger
from iacp.pagination import Limit
from iacp.runs.artifacts import StoredDocument
from iacp.services import Services
from iacp.timestamps import utcnow
from iacp.tokens.models import Principal


class ErrorSource(BaseModel):
    pointer: str | None = Field(None, description="JSON pointer to the body field at fault")
    parameter: str | None = Field(None, description="The query or path parameter at fault")
    header: str | None = Field(None, description="The header at fault")


class Error(BaseModel):
    status: str
    title: str
    detail: str
    source: ErrorSource | None = None


class ErrorDocument(BaseModel):
    errors: list[Error]


_ERROR_DESCRIPTIONS = {
    400: "The request cannot be read (not JSON, a required header missing)",
    401: "No valid API token (missing, malformed, unknown, revoked or expired)",
    403: "The token's role or workspace limits do not allow this",
    404: "No such object",
    409: "The current state does not allow this (name taken, lock held, ...)",
    410: "The task result is final: its access token died with it",
    413: "The body is too large",
    415: "The body's content type is not one this route takes",
    422: "The body or a parameter is invalid; each error names its field",
}


def responses(status: int, description: str, *errors: int) -> dict[int, OpenAPIResponse]:
    """OpenAPI responses of a route: its success, plus the errors it can answer (401, 403
    and 422 always) in the API's error shape."""
    documented: dict[int, OpenAPIResponse] = {status: {"description": description}}
    if status == HTTPStatus.NO_CONTENT:
        documented[status]["content"] = {}
    for code in sorted({401, 403, 422, *errors}):
        documented[code] = {
            "description": _ERROR_DESCRIPTIONS[code],
            "content": {content_types.APPLICATION_JSON: {"model": ErrorDocument}},
        }
    return documented


def error_response(
    status: HTTPStatus, detail: str, source: dict[str, str] | None = None
) -> Response[str]:
    return error_list_response(status, [(detail, source)])


def error_list_response(
    status: HTTPStatus, problems: list[tuple[str, dict[str, str] | None]]
) -> Response[str]:
    document = ErrorDocument(
        errors=[
            Error(
                status=str(status.value),
                title=status.phrase,
                detail=_long_runs_capped(detail),
                source=None if source is None else ErrorSource.model_validate(source),
            )
            for detail, source in problems
        ]
    )
    return Response(
        status_code=status.value,
        content_type=content_types.APPLICATION_JSON,
        body=document.model_dump_json(exclude_none=True),
    )


# More characters than a quoted value may have, none of them a blank, a '/' (the parts of a
# JSON pointer or of a path are not one run) or the ellipsis that ends a capped value.
_LONG_RUN = re.compile(rf"[^\s/…]{{{QUOTED_LIMIT + 1},}}")


def _long_runs_capped(detail: str) -> str:
    """The last guard that no error repeats a long submitted value: a run the message quoted
    without ``capped`` (an id from the path, say) is capped here."""
    return _LONG_RUN.sub(lambda run: capped(run[0]), detail)


def document_reply(document: StoredDocument) -> Response[Any]:
    """A stored JSON document, or a 307 to its download URL when it is too large for a Lambda
    reply (standard HTTP clients drop ``Authorization`` on that cross-host redirect, as S3
    requires)."""
    if document.body is None:
        return Response(307, headers={"Location": document.url})
    return Response(200, content_types.APPLICATION_JSON, document.body.decode())


def current_services(request: Request) -> Services:
    return cast(Services, request.context["services"])


def header(request: Request, name: str) -> str | None:
    """A request header, whatever the case the client sent it in."""
    wanted = name.lower()
    return next((v for k, v in (request.headers or {}).items() if k.lower() == wanted), None)


def public_base_url(request: Request) -> str:
    """Where clients reach this API: the configured public base URL (a custom domain), else
    the URL this request came to (API Gateway's domain name and stage)."""
    configured = current_services(request).public_base_url
    if configured:
        return configured
    context = request.resolved_event.raw_event.get("requestContext") or {}
    return f"https://{context.get('domainName')}/{context.get('stage')}"


def current_principal(request: Request) -> Principal:
    """The caller, as the authorizer vouched for it. A request that reached a protected
    route without an authorizer context is refused, never served anonymously."""
    request_context = request.resolved_event.raw_event.get("requestContext") or {}
    authorizer = request_context.get("authorizer") or {}
    try:
        principal = Principal.from_authorizer_context(authorizer)
    except ValidationError:
        raise Unauthorized("A valid API token is required.", header="Authorization") from None
    # API Gateway reuses the authorizer's Allow for its cache time (ReauthorizeEvery), and a
    # REST API cannot cache one token for less: the expiry is checked here, on every request.
    if principal.expired(utcnow()):
        raise Unauthorized("The API token has expired.", header="Authorization")
    return principal


def register_error_handlers(app: APIGatewayRestResolver) -> None:
    @app.exception_handler(RequestValidationError)
    def invalid_request(error: RequestValidationError) -> Response[str]:
        return error_list_response(
            HTTPStatus.UNPROCESSABLE_ENTITY, [_describe(e) for e in error.errors()]
        )

    @app.exception_handler(DomainError)
    def domain_error(error: DomainError) -> Response[str]:
        return error_response(error.status, error.detail, error.source)

    @app.not_found
    def no_route(error: NotFoundError) -> Response[str]:
        event = app.current_event
        return error_response(
            HTTPStatus.NOT_FOUND, f"No route for {event.http_method} {capped(event.path)}."
        )

    @app.exception_handler(Exception)
    def unexpected(error: Exception) -> Response[str]:
        logger.exception("unhandled error")
        return error_response(
            HTTPStatus.INTERNAL_SERVER_ERROR, "The platform could not handle the request."
        )


def _describe(error: dict[str, Any]) -> tuple[str, dict[str, str] | None]:
    """One pydantic error as (detail, source), from its location and message only: its
    ``input`` is never echoed back (it may be a secret), and the location is ``capped`` (an
    unknown field's name is the caller's text)."""
    where, *path = error.get("loc") or ("body",)
    if error.get("type") == "json_invalid":
        return "The request body is not valid JSON.", {"pointer": ""}
    if where == "body":
        pointer = pointer_of(path)
        name = pointer.lstrip("/") or "body"
        return f"{name}: {error.get('msg', 'is invalid')}", {"pointer": pointer}
    name = capped(path[0] if path else where)
    return f"{name}: {error.get('msg', 'is invalid')}", {"parameter": name}


Caller = Annotated[Principal, Depends(current_principal)]
"""A route parameter that receives the authenticated caller."""

ServicesDep = Annotated[Services, Depends(current_services)]
"""A route parameter that receives the process's services."""

PublicBaseUrl = Annotated[str, Depends(public_base_url)]
"""A route parameter that receives the API's public base URL."""

LimitQuery = Annotated[Limit, Query(description="Items per page (1-100).")]
CursorQuery = Annotated[str | None, Query(description="next_cursor of the previous page.")]
