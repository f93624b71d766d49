"""Routes: /api/v1/webhooks/github/{vcs}, where GitHub delivers (a function of its own,
outside the user API's authorizer: template.yaml VcsWebhookFunction)."""

import base64
from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.request import Request
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from iacp.http import ResourceId, provided, responses
from iacp.orchestration.github_webhooks import GitHubWebhooks
from iacp.orchestration.vcs_triggers import TriggerReport

router = APIGatewayRouter()
TAGS = ["vcs"]


Webhooks = Annotated[GitHubWebhooks, provided("webhooks")]

RESPONSES = responses(200, "", 400, 404, 413, 415)
RESPONSES[200] = {
    "description": "Handled: the runs it started, or why none",
    "content": {content_types.APPLICATION_JSON: {"model": TriggerReport}},
}
RESPONSES[202] = {
    "description": "An event that starts nothing",
    "content": {content_types.APPLICATION_JSON: {"model": TriggerReport}},
}
RESPONSES[401] = RESPONSES[401] | {"description": "X-Hub-Signature-256 is missing or wrong"}
del RESPONSES[403]  # no roles here


@router.post(
    "/api/v1/webhooks/github/<connection_id>",
    tags=TAGS,
    summary="GitHub webhook deliveries (push, pull_request, ping)",
    description=(
        "Authenticated only by X-Hub-Signature-256. push to a tracked branch: a "
        "plan_and_apply run per matching workspace; pull_request opened, reopened or "
        "synchronize: a speculative plan-only run; ping: 200; other events: 202. A repeated "
        "delivery starts nothing new."
    ),
    security=[],
    responses=RESPONSES,
)
def github_webhook(
    connection_id: ResourceId, request: Request, webhooks: Webhooks
) -> Response[str]:
    event = request.resolved_event
    raw = event.body or ""
    body = base64.b64decode(raw) if event.is_base64_encoded else raw.encode()
    headers = {name.lower(): value for name, value in (event.headers or {}).items()}
    status, report = webhooks.receive(connection_id, headers, body)
    return Response(status.value, content_types.APPLICATION_JSON, report.model_dump_json())
