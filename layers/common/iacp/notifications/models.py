"""Notification configurations and their delivery log (design §9; docs/notifications.md)."""

from enum import StrEnum
from typing import Annotated

from pydantic import (
    AnyHttpUrl,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
)

from iacp.changes import not_nullable
from iacp.model import Model
from iacp.timestamps import UtcDatetime


class DestinationType(StrEnum):
    GENERIC = "generic"  # HCP Terraform's notification format, signed with the token
    SLACK = "slack"  # a Slack incoming webhook
    SNS = "sns"  # an SNS topic (email, SMS, ... subscriptions)


class Trigger(StrEnum):
    RUN_CREATED = "run:created"
    RUN_PLANNING = "run:planning"
    RUN_NEEDS_ATTENTION = "run:needs_attention"
    RUN_APPLYING = "run:applying"
    RUN_COMPLETED = "run:completed"
    RUN_ERRORED = "run:errored"
    RUN_CANCELED = "run:canceled"
    TASK_FAILED = "task:failed"


VERIFICATION = "verification"  # the trigger of the message the verify action sends

Name = Annotated[str, StringConstraints(min_length=1, max_length=90, strip_whitespace=True)]
Secret = Annotated[str, Field(min_length=1, max_length=1000, description="Write-only.")]
TopicArn = Annotated[
    str,
    StringConstraints(pattern=r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$"),
]
Triggers = Annotated[list[Trigger], Field(max_length=len(Trigger))]


def _unique(triggers: list[Trigger]) -> list[Trigger]:
    if len(set(triggers)) != len(triggers):
        raise ValueError("lists a trigger twice")
    return sorted(triggers, key=list(Trigger).index)


class NotificationConfiguration(Model):
    """As the API returns it: the URL and the token are write-only (a Slack webhook URL is
    itself a credential); ``url_origin`` says where messages go."""

    id: str
    created_at: UtcDatetime
    updated_at: UtcDatetime
    workspace_id: str
    name: str
    destination_type: DestinationType
    enabled: bool
    triggers: list[Trigger]
    url_set: bool
    url_origin: str | None = Field(description="The URL's scheme and host, e.g. https://x.y")
    token_set: bool
    topic_arn: str | None


class _Input(Model):
    model_config = ConfigDict(extra="forbid")


class NotificationConfigurationCreate(_Input):
    name: Name
    destination_type: DestinationType
    url: AnyHttpUrl | None = Field(None, repr=False, description="generic and slack; write-only")
    topic_arn: TopicArn | None = Field(None, description="sns: the topic, in this account")
    token: Secret | None = Field(
        None, repr=False, description="generic: signs each message (HMAC-SHA512); write-only"
    )
    triggers: Triggers = Field(default_factory=list)
    enabled: StrictBool = True

    @field_validator("triggers")
    @classmethod
    def _unique_triggers(cls, triggers: list[Trigger]) -> list[Trigger]:
        return _unique(triggers)


class NotificationConfigurationUpdate(_Input):
    """Only the fields present change; ``token: null`` removes the token. The destination
    type cannot change (create another configuration)."""

    name: Name | None = None
    url: AnyHttpUrl | None = Field(None, repr=False)
    topic_arn: TopicArn | None = None
    token: Secret | None = Field(None, repr=False)
    triggers: Triggers | None = None
    enabled: StrictBool | None = None

    @field_validator("triggers")
    @classmethod
    def _unique_triggers(cls, triggers: list[Trigger] | None) -> list[Trigger] | None:
        return None if triggers is None else _unique(triggers)

    _not_null = not_nullable("name", "url", "topic_arn", "triggers", "enabled")


class DeliveryStatus(StrEnum):
    SENDING = "sending"  # an attempt is under way
    RETRYING = "retrying"  # the last attempt failed; SQS brings the event back
    DELIVERED = "delivered"
    FAILED = "failed"  # every attempt failed; the event is in the dead-letter queue


class NotificationDelivery(Model):
    """One message to one configuration, with every attempt it took."""

    id: str = Field(description="Derived from the event and the configuration")
    created_at: UtcDatetime
    updated_at: UtcDatetime
    notification_configuration_id: str
    event_id: str
    trigger: str
    run_id: str | None
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None = Field(description="The receiver's last HTTP status")
    last_error: str | None


class VerificationResult(Model):
    delivered: bool
    status_code: int | None
    error: str | None
    delivery: NotificationDelivery
