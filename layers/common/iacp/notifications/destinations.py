"""What each destination receives, and sending it.

- **generic**: HCP Terraform's notification format (``payload_version`` 1), signed in
  ``X-TFE-Notification-Signature`` with the lower-case hex HMAC-SHA512 of the exact body,
  keyed with the configuration's token (no header without a token), so receivers written
  for HCP Terraform work unchanged.
- **slack**: an incoming-webhook message, ``{"text": ...}`` in Slack's markup.
- **sns**: a plain-text message (email subscribers read it) with the trigger and workspace
  as message attributes, for subscription filter policies.
"""

import json
from dataclasses import dataclass
from typing import Any

from iacp.aws import sns_client
from iacp.notifications.models import VERIFICATION, DestinationType
from iacp.notifications.triggers import Notification
from iacp.outbound import Outbound, PostOutcome, sign

SIGNATURE_HEADER = "X-TFE-Notification-Signature"
TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Destination:
    """A configuration's destination, its secrets opened for this delivery only."""

    configuration_id: str
    type: DestinationType
    url: str | None
    token: str | None
    topic_arn: str | None


@dataclass(frozen=True)
class Context:
    organization_name: str
    workspace_name: str


def generic_payload(
    configuration_id: str, notification: Notification | None, context: Context
) -> dict[str, Any]:
    """The body HCP Terraform sends; with no notification, its verification message (run
    fields null)."""
    run = notification
    return {
        "payload_version": 1,
        "notification_configuration_id": configuration_id,
        "run_url": run and run.run_url,
        "run_id": run and run.run_id,
        "run_message": run and run.run_message,
        "run_created_at": run and run.run_created_at,
        "run_created_by": run and run.run_created_by,
        "workspace_id": run and run.workspace_id,
        "workspace_name": context.workspace_name,
        "organization_name": context.organization_name,
        "notifications": [
            {
                "message": run.message if run else "Verification of " + configuration_id,
                "trigger": run.trigger.value if run else VERIFICATION,
                "run_status": run and run.run_status,
                "run_updated_at": run and run.run_updated_at,
                "run_updated_by": run and run.run_created_by,
            }
        ],
    }


def text_of(notification: Notification | None, context: Context) -> str:
    """For people (Slack, email)."""
    where = f"workspace {context.workspace_name} ({context.organization_name})"
    if notification is None:
        return f"Verification: notifications for {where} reach this destination."
    options = f" ({notification.run_options})" if notification.run_options else ""
    lines = [
        f"{notification.message}: run {notification.run_id}{options} in {where}",
        f"Status: {notification.run_status}. Message: {notification.run_message or '-'}",
        notification.run_url,
    ]
    if notification.detail:
        lines.insert(1, notification.detail)
    return "\n".join(lines)


def send(
    destination: Destination,
    notification: Notification | None,
    context: Context,
    outbound: Outbound,
) -> PostOutcome:
    """One attempt; ``notification`` None sends the verification message."""
    if destination.type is DestinationType.SNS:
        return _publish(destination, notification, context)
    if destination.url is None:
        return PostOutcome(False, "the configuration has no url")
    if destination.type is DestinationType.SLACK:
        body: dict[str, Any] = {"text": text_of(notification, context)}
    else:
        body = generic_payload(destination.configuration_id, notification, context)
    data = json.dumps(body, separators=(",", ":")).encode()
    # Only generic destinations have a token (the API refuses one on the others).
    headers = {SIGNATURE_HEADER: sign(data, destination.token)} if destination.token else {}
    return outbound.post_json(
        destination.url, data, headers, timeout=TIMEOUT_SECONDS, receiver="the receiver"
    )


def _publish(
    destination: Destination, notification: Notification | None, context: Context
) -> PostOutcome:
    trigger = notification.trigger.value if notification else VERIFICATION
    subject = (notification.message if notification else "Verification") + (
        f" - {context.workspace_name}"
    )
    try:
        sns_client().publish(
            TopicArn=str(destination.topic_arn),
            Subject=subject[:100],
            Message=text_of(notification, context),
            MessageAttributes={
                "trigger": {"DataType": "String", "StringValue": trigger},
                "workspace_name": {"DataType": "String", "StringValue": context.workspace_name},
            },
        )
    except Exception as error:
        code = getattr(error, "response", {}).get("Error", {}).get("Code", type(error).__name__)
        return PostOutcome(False, f"SNS refused the message ({code})")
    return PostOutcome(True)
