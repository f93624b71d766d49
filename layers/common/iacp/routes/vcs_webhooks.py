"""Routes: /api/v1/webhooks/github/{vcs} and /api/v1/webhooks/gitlab/{vcs}, where GitHub and
GitLab deliver (a function of its own, outside the user API's authorizer: template.yaml
VcsWebhookFunction)."""

from __future__ import annotations

import base64
from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.request import Request
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from iacp.http import ResourceId, provided, responses
from iacp.orchestration.github_webhooks import GitHubWebhooks
from iacp.orchestration.gitlab_webhooks import GitLabWebhooks
from iacp.orchestration.vcs_triggers import TriggerReport

router = APIGatewayRouter()
TAGS = ["vcs"]


Webhooks = Annotated[GitHubWebhooks, provided("webhooks")]
GitLabDeliveries = Annotated[GitLabWebhooks, provided("gitlab_webhooks")]

RESPONSES = responses(200, "", 400, 404, 413, 415)
RESPONSES[200] = {
    "description": "Handled: the runs it started, or why none",
    "content": {content_types.APPLICATION_JSON: {"model": TriggerReport}},
}
RESPONSES[202] = {
    "description": "An event that starts nothing",
    "content": {content_types.APPLICATION_JSON: {"model": TriggerReport}},
}
del RESPONSES[403]  # no roles here
GITHUB_RESPONSES = RESPONSES | {
    401: RESPONSES[401] | {"description": "X-Hub-Signature-256 is missing or wrong"}
}
GITLAB_RESPONSES = RESPONSES | {
    401: RESPONSES[401] | {"description": "X-Gitlab-Token is missing or wrong"}
}


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
    responses=GITHUB_RESPONSES,
)
def github_webhook(
    connection_id: ResourceId, request: Request, webhooks: Webhooks
) -> Response[str]:
    status, report = webhooks.receive(connection_id, *_delivery(request))
    return Response(status.value, content_types.APPLICATION_JSON, report.model_dump_json())


@router.post(
    "/api/v1/webhooks/gitlab/<connection_id>",
    tags=TAGS,
    summary="GitLab webhook deliveries (Push Hook, Tag Push Hook, Merge Request Hook)",
    description=(
        "Authenticated only by X-Gitlab-Token (the webhook's secret token). A push to a "
        "tracked branch or a tag matching a workspace's tags: a plan_and_apply run per "
        "matching workspace; a merge request opened, reopened or updated with new commits: a "
        "speculative plan-only run; other events: 202. A repeated delivery (the same "
        "Idempotency-Key) starts nothing new."
    ),
    security=[],
    responses=GITLAB_RESPONSES,
)
def gitlab_webhook(
    connection_id: ResourceId, request: Request, webhooks: GitLabDeliveries
) -> Response[str]:
    status, report = webhooks.receive(connection_id, *_delivery(request))
    return Response(status.value, content_types.APPLICATION_JSON, report.model_dump_json())


def _delivery(request: Request) -> tuple[dict[str, str], bytes]:
    """The headers, with lower-case names, and the raw body: the bytes the host sent."""
    event = request.resolved_event
    raw = event.body or ""
    body = base64.b64decode(raw) if event.is_base64_encoded else raw.encode()
    headers = {name.lower(): value for name, value in (event.headers or {}).items()}
    return headers, body
