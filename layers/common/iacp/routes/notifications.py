"""Routes: /api/v1/workspaces/{ws}/notification-configurations and
/api/v1/notification-configurations/{nc} (the user API)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from iacp.http import Caller, CursorQuery, LimitQuery, ResourceId, provided, responses
from iacp.notifications.models import (
    NotificationConfiguration,
    NotificationConfigurationCreate,
    NotificationConfigurationUpdate,
    NotificationDelivery,
    VerificationResult,
)
from iacp.notifications.service import NotificationService
from iacp.pagination import DEFAULT_LIMIT, Page

router = APIGatewayRouter()
Notifications = Annotated[NotificationService, provided("notifications")]
TAGS = ["notifications"]
OF_WORKSPACE = "/api/v1/workspaces/<workspace_id>/notification-configurations"
CONFIGURATION = "/api/v1/notification-configurations/<configuration_id>"


@router.post(
    OF_WORKSPACE,
    status_code=201,
    tags=TAGS,
    summary="Notify a webhook, Slack or an SNS topic of a workspace's runs (admin)",
    description=(
        "generic: a URL that receives HCP Terraform's notification format, signed with the "
        "token (X-TFE-Notification-Signature, HMAC-SHA512). slack: an incoming-webhook URL. "
        "sns: a topic ARN. The URL and the token are write-only."
    ),
    responses=responses(201, "The new configuration", 404),
)
def create_notification_configuration(
    workspace_id: ResourceId,
    body: NotificationConfigurationCreate,
    caller: Caller,
    service: Notifications,
) -> NotificationConfiguration:
    return service.create(caller, workspace_id, body)


@router.get(
    OF_WORKSPACE,
    tags=TAGS,
    summary="List a workspace's notification configurations, by name",
    responses=responses(200, "A page of configurations", 404),
)
def list_notification_configurations(
    workspace_id: ResourceId,
    caller: Caller,
    service: Notifications,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[NotificationConfiguration]:
    return service.page(caller, workspace_id, limit, cursor)


@router.get(
    CONFIGURATION,
    tags=TAGS,
    summary="Show a notification configuration",
    responses=responses(200, "The configuration", 404),
)
def get_notification_configuration(
    configuration_id: ResourceId, caller: Caller, service: Notifications
) -> NotificationConfiguration:
    return service.get(caller, configuration_id)


@router.patch(
    CONFIGURATION,
    tags=TAGS,
    summary="Change, enable or disable a notification configuration (admin)",
    description="Only the fields present change; token: null removes the token.",
    responses=responses(200, "The changed configuration", 404, 409),
)
def update_notification_configuration(
    configuration_id: ResourceId,
    body: NotificationConfigurationUpdate,
    caller: Caller,
    service: Notifications,
) -> NotificationConfiguration:
    return service.update(caller, configuration_id, body)


@router.delete(
    CONFIGURATION,
    status_code=204,
    tags=TAGS,
    summary="Delete a notification configuration (admin)",
    responses=responses(204, "Deleted", 404),
)
def delete_notification_configuration(
    configuration_id: ResourceId, caller: Caller, service: Notifications
) -> Response[None]:
    service.delete(caller, configuration_id)
    return Response(204)


@router.post(
    CONFIGURATION + "/actions/verify",
    tags=TAGS,
    summary="Send a test message now (admin)",
    description=(
        "The generic format's verification message (run fields null, trigger "
        '"verification"), or a test text for Slack and SNS. The answer says whether the '
        "destination took it; the attempt is in the delivery log."
    ),
    responses=responses(200, "What the destination did", 404),
)
def verify_notification_configuration(
    configuration_id: ResourceId, caller: Caller, service: Notifications
) -> VerificationResult:
    return service.verify(caller, configuration_id)


@router.get(
    CONFIGURATION + "/deliveries",
    tags=TAGS,
    summary="The configuration's delivery log, newest first (30 days)",
    responses=responses(200, "A page of deliveries", 404),
)
def list_notification_deliveries(
    configuration_id: ResourceId,
    caller: Caller,
    service: Notifications,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[NotificationDelivery]:
    return service.deliveries(caller, configuration_id, limit, cursor)
