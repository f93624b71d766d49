"""What every route shares: the error shape, the request limits, and the caller and services
as dependencies.

A route's service comes from the request's context, where the function's handler put what the
wiring (``iacp.services``) built (``provided``): so a router imports only the service it uses,
and this module never imports the wiring.

Errors are ``{"errors": [{"status", "title", "detail", "source"}]}`` (design §9). Client
mistakes are 4xx naming the field; anything unexpected is a 500 that says nothing of the
internals (the details go to the log, never to the client). No error repeats a long submitted
value: what it quotes is ``capped``.

Every API function's handler is ``screened``: a request over the limits of ``RequestLimits``
(body size, JSON nesting and number length, id length) is refused before any route, store or
parser sees it (docs/api.md, "Limits").
"""

import base64
import binascii
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from http import HTTPStatus
from typing import Annotated, Any, cast

from aws_lambda_powertools.event_handler import (
    APIGatewayRestResolver,
    Depends,
    Response,
    content_types,
)
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.event_handler.request import Request
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from pydantic import Field, ValidationError

from iacp.documents import StoredDocument
from iacp.errors import (
    QUOTED_LIMIT,
    BadRequest,
    DomainError,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
    capped,
    pointer_of,
)
from iacp.model import Model
from iacp.observability import logger
from iacp.pagination import Limit
from iacp.principal import Principal
from iacp.timestamps import utcnow


class ErrorSource(Model):
    pointer: str | None = Field(None, description="JSON pointer to the body field at fault")
    parameter: str | None = Field(None, description="The query or path parameter at fault")
    header: str | None = Field(None, description="The header at fault")


class Error(Model):
    status: str
    title: str
    detail: str
    source: ErrorSource | None = None


class ErrorDocument(Model):
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
    """OpenAPI responses of a route: its success, plus the errors it can answer in the API's
    error shape: 401, 403 and 422 always, and 413 and 415, the answers of ``screened`` to a
    body over the limits or not JSON."""
    documented: dict[int, OpenAPIResponse] = {status: {"description": description}}
    if status == HTTPStatus.NO_CONTENT or 300 <= status < 400:  # no body
        documented[status]["content"] = {}
    for code in sorted({401, 403, 413, 415, 422, *errors}):
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


@dataclass(frozen=True)
class RequestLimits:
    """What one request may be at most (docs/api.md, "Limits"). Every limit is far above
    what a real client sends, and far below what would break a parser or a store."""

    body_bytes: int = 1024 * 1024
    """The body, in bytes (after base64 decoding): 413 beyond."""
    json_depth: int = 64
    """Nested arrays and objects in a JSON body: 422 beyond (Python's parser recurses)."""
    number_chars: int = 100
    """Characters of one JSON number: 422 beyond (Python refuses an int of 4,300 digits)."""
    id_chars: int = 64
    """Characters of one path segment: 404 beyond. No id is longer (``ws-`` and 16
    characters, say), and DynamoDB refuses a key of more than 2 KB."""


API_LIMITS = RequestLimits()
SERVICE_LIMITS = RequestLimits(body_bytes=5 * 1024 * 1024)
"""What other services send: run-task callbacks (a JSON escape can make each character of the
300 KB a result stores 12 bytes) and GitHub's deliveries (GitHub sends up to 25 MB, but a
Lambda request is at most 6 MB)."""

ResourceId = Annotated[
    str,
    Path(
        max_length=API_LIMITS.id_chars,
        description=f"An id. A path segment over {API_LIMITS.id_chars} characters is a 404.",
    ),
]
"""A route's id parameter. ``screened`` refuses a longer one before any route; this documents
the limit (``maxLength`` in the OpenAPI document)."""

_JSON_MEDIA_TYPE = re.compile(r"application/(json|[a-z0-9.+-]+\+json)")
# A JSON string with its escapes; once strings are out, what nests is a bracket, and a run of
# number characters is one number.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")
_INNERMOST = re.compile(r"[\[{][\]}]")
_NOT_A_JSON_NUMBER = re.compile(r"NaN|Infinity")


ProxyHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


def screened(limits: RequestLimits = API_LIMITS) -> Callable[[ProxyHandler], ProxyHandler]:
    """A Lambda proxy handler that answers a request over ``limits`` itself, in the error
    shape, before its resolver (and so any route, dependency or store) sees the request.
    The event is not changed: a route reads the same bytes (the webhook's signature check)."""

    def decorate(handler: ProxyHandler) -> ProxyHandler:
        @functools.wraps(handler)
        def screened_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
            try:
                screen(event, limits)
            except DomainError as refusal:
                logger.info(
                    "request refused before routing",
                    extra={"status": refusal.status.value, "reason": refusal.detail},
                )
                response = error_response(refusal.status, refusal.detail, refusal.source)
                return {
                    "statusCode": response.status_code,
                    "headers": {"Content-Type": content_types.APPLICATION_JSON},
                    "body": response.body,
                    "isBase64Encoded": False,
                }
            return handler(event, context)

        return screened_handler

    return decorate


def screen(event: Mapping[str, Any], limits: RequestLimits) -> None:
    """Raises the 4xx for a proxy event over ``limits``: an over-long path segment (404), a
    body too large (413), a body that is not JSON (415), or JSON too deep or with an
    over-long number (422)."""
    path = str(event.get("path") or "")
    longest = max((len(part) for part in path.split("/")), default=0)
    if longest > limits.id_chars:
        raise NotFound(
            f"No such object: a part of the path has {longest} characters, and no id has "
            f"more than {limits.id_chars}."
        )
    body = event.get("body")
    if not body:
        return
    data = _body_bytes(str(body), bool(event.get("isBase64Encoded")))
    if len(data) > limits.body_bytes:
        raise PayloadTooLarge(
            f"The body has {len(data)} bytes; at most {limits.body_bytes} are accepted."
        )
    headers = event.get("headers") or {}
    content_type = next((str(v) for k, v in headers.items() if k.lower() == "content-type"), "")
    media_type = content_type.split(";")[0].strip().lower()
    if media_type and not _JSON_MEDIA_TYPE.fullmatch(media_type):
        raise UnsupportedMediaType(
            f"Content-Type is '{capped(media_type)}': the body must be JSON "
            "(Content-Type: application/json).",
            header="Content-Type",
        )
    try:
        text = data.decode()
    except UnicodeDecodeError:
        raise BadRequest("The body is not UTF-8 text.") from None
    _screen_json(text, limits)


def _body_bytes(body: str, base64_encoded: bool) -> bytes:
    if not base64_encoded:
        return body.encode("utf-8", "surrogatepass")
    try:
        return base64.b64decode(body, validate=True)
    except binascii.Error:
        raise BadRequest("The body is not valid base64.") from None


def _screen_json(text: str, limits: RequestLimits) -> None:
    """Checked on the text, without parsing it: Python's parser recurses once a level, and
    converts a number before any hook could refuse its length. Text that is not JSON at all
    passes: the route that reads it answers (a 4xx) in its own words."""
    outside_strings = _JSON_STRING.sub('""', text)
    if _nesting(outside_strings, limits.json_depth) > limits.json_depth:
        raise InvalidInput(
            f"The body nests arrays or objects more than {limits.json_depth} deep.", pointer=""
        )
    longest = re.search(rf"[-+.0-9eE]{{{limits.number_chars + 1},}}", outside_strings)
    if longest:
        raise InvalidInput(
            f"The body has a number of {len(longest[0])} characters; at most "
            f"{limits.number_chars} are accepted.",
            pointer="",
        )
    constant = _NOT_A_JSON_NUMBER.search(outside_strings)
    if constant:
        raise InvalidInput(
            f"The body is not valid JSON: {constant[0]} is not a number.", pointer=""
        )


def _nesting(outside_strings: str, limit: int) -> int:
    """How deep arrays and objects nest, counted up to ``limit + 1``: each pass removes the
    innermost pairs of brackets, so the passes until none is left are the depth."""
    brackets = _NOT_A_BRACKET.sub("", outside_strings)
    if re.search(rf"[\[{{]{{{limit + 1}}}", brackets):
        return limit + 1  # as many opening brackets in a row
    depth = 0
    while brackets and depth <= limit:
        fewer = _INNERMOST.sub("", brackets)
        if len(fewer) == len(brackets):
            break  # unbalanced: not JSON
        brackets, depth = fewer, depth + 1
    return depth


def document_reply(document: StoredDocument) -> Response[Any]:
    """A stored JSON document, or a 307 to its download URL when it is too large for a Lambda
    reply (standard HTTP clients drop ``Authorization`` on that cross-host redirect, as S3
    requires)."""
    if document.body is None:
        return Response(307, headers={"Location": document.url})
    return Response(200, content_types.APPLICATION_JSON, document.body.decode())


def provided(name: str) -> Depends:
    """A route parameter's dependency on what the function's handler put in the request's
    context under ``name`` (``app.append_context``), as ``Annotated[TheService,
    provided("name")]``."""

    def from_context(request: Request) -> Any:
        return request.context[name]

    return Depends(from_context)


def context_of(wiring: Any) -> dict[str, Any]:
    """What a handler puts in the request's context (``app.append_context``) from the
    dataclass its function wired once: each field under its name, as ``provided`` finds it."""
    return {field.name: getattr(wiring, field.name) for field in fields(wiring)}


def header(request: Request, name: str) -> str | None:
    """A request header, whatever the case the client sent it in."""
    wanted = name.lower()
    return next((v for k, v in (request.headers or {}).items() if k.lower() == wanted), None)


def public_base_url(request: Request) -> str:
    """Where clients reach this API: the configured public base URL (a custom domain), else
    the URL this request came to (API Gateway's domain name and stage)."""
    configured: str = request.context.get("public_base_url", "")
    if configured:
        return configured
    context = _rest_event(request).request_context
    return f"https://{context.domain_name}/{context.stage}"


def _rest_event(request: Request) -> APIGatewayProxyEvent:
    """The request's event as a REST API (API Gateway v1) delivers it: every resolver here
    is an ``APIGatewayRestResolver``."""
    return cast(APIGatewayProxyEvent, request.resolved_event)


def current_principal(request: Request) -> Principal:
    """The caller, as the authorizer vouched for it. A request that reached a protected
    route without an authorizer context is refused, never served anonymously."""
    authorizer = _rest_event(request).request_context.authorizer
    try:
        principal = Principal.from_authorizer_context(dict(authorizer))
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

    @app.exception_handler(RequestUnsupportedContentType)
    def unsupported_content_type(error: RequestUnsupportedContentType) -> Response[str]:
        return error_response(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            "This route takes a JSON body: send Content-Type: application/json.",
            {"header": "Content-Type"},
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

PublicBaseUrl = Annotated[str, Depends(public_base_url)]
"""A route parameter that receives the API's public base URL."""

LimitQuery = Annotated[Limit, Query(description="Items per page (1-100).")]
CursorQuery = Annotated[str | None, Query(description="next_cursor of the previous page.")]
