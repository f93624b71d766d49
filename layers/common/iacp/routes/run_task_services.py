"""Routes: /api/v1/run-task-results/{id}, served to run-task services (design §6).

No API token here: the callback and data endpoints take the result's access token (checked
by ``CallbackService``), and the result itself is public, without any secret. They are a
function of their own (template.yaml: RunTaskCallbackFunction), outside the user API's
authorizer.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.event_handler.request import Request
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from iacp.errors import InvalidInput
from iacp.http import ResourceId, document_reply, header, provided, responses
from iacp.orchestration.task_callbacks import CallbackService
from iacp.runtasks.models import TaskResult

router = APIGatewayRouter()
TAGS = ["run-task services"]
RESULT = "/api/v1/run-task-results/<result_id>"
TOKEN: list[dict[str, list[str]]] = [{"runTaskToken": []}]


def _authorization(request: Request) -> str | None:
    return header(request, "Authorization")


def _json_body(request: Request) -> Any:
    try:
        return request.json_body
    except ValueError:
        raise InvalidInput("The request body is not valid JSON.", pointer="") from None


# No token, so no 401 or 403.
PUBLIC_RESPONSES = {
    code: response
    for code, response in responses(200, "The result", 404).items()
    if code not in (401, 403)
}

Callbacks = Annotated[CallbackService, provided("callbacks")]
Authorization = Annotated[str | None, Depends(_authorization)]
Body = Annotated[Any, Depends(_json_body)]


@router.get(
    RESULT,
    tags=TAGS,
    summary="Show a task result (public: no token, no secret)",
    security=[],
    responses=PUBLIC_RESPONSES,
)
def get_task_result(result_id: ResourceId, callbacks: Callbacks) -> TaskResult:
    return callbacks.public(result_id)


@router.route(
    RESULT + "/callback",
    method=["PATCH", "POST"],
    tags=TAGS,
    summary="The service's callback: running (a heartbeat), passed or failed, with outcomes",
    description=(
        'Body: JSON:API, {"data": {"type": "task-results", "attributes": {"status", '
        '"message", "url"}, "relationships": {"outcomes": {"data": [...]}}}}.'
    ),
    security=TOKEN,
    responses=responses(200, "Recorded", 404, 410),
)
def task_result_callback(
    result_id: ResourceId, callbacks: Callbacks, authorization: Authorization, body: Body
) -> TaskResult:
    return callbacks.callback(result_id, authorization, body)


@router.get(
    RESULT + "/plan-json",
    tags=TAGS,
    summary="Terraform's JSON plan of the run",
    description="A plan too large for one reply is a 307 to a short-lived download URL.",
    security=TOKEN,
    responses=responses(200, "The JSON plan", 404, 410),
)
def task_result_plan_json(
    result_id: ResourceId, callbacks: Callbacks, authorization: Authorization
) -> Response[Any]:
    return document_reply(callbacks.plan_json(result_id, authorization))


@router.get(
    RESULT + "/resource-changes",
    tags=TAGS,
    summary='The plan\'s resource changes ({"resource_changes": [...]})',
    description="Changes too large for one reply are a 307 to a short-lived download URL.",
    security=TOKEN,
    responses=responses(200, "The resource changes", 404, 410),
)
def task_result_resource_changes(
    result_id: ResourceId, callbacks: Callbacks, authorization: Authorization
) -> Response[Any]:
    return document_reply(callbacks.resource_changes(result_id, authorization))


@router.get(
    RESULT + "/configuration-version",
    tags=TAGS,
    summary="Download the run's configuration (.tar.gz): a 307 to a short-lived URL",
    security=TOKEN,
    responses=responses(307, "Redirect to the archive", 404, 410),
)
def task_result_configuration(
    result_id: ResourceId, callbacks: Callbacks, authorization: Authorization
) -> Response[None]:
    return Response(
        307, headers={"Location": callbacks.configuration_url(result_id, authorization)}
    )
