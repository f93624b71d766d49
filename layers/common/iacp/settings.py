"""Environment of each function, validated when the function loads: a missing variable
fails the cold start instead of the first request that needs it."""

import os
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field


class _EnvironmentSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    @classmethod
    def from_env(cls) -> Self:
        return cls.model_validate(dict(os.environ))


_URL = r"https?://[^/\s]+(/[^\s]*)?"
PublicBaseUrl = Annotated[
    str,
    Field(
        alias="PUBLIC_BASE_URL",
        pattern=f"^{_URL}$",
        description="The API's public URL: links in run-task webhooks and run events.",
    ),
]


OutboundPrivateAddresses = Annotated[
    Literal["deny", "allow"],
    Field(
        alias="OUTBOUND_PRIVATE_ADDRESSES",
        description="Whether run-task and notification URLs may lead to non-public addresses.",
    ),
]


class AuthorizerSettings(_EnvironmentSettings):
    tokens_table: str = Field(alias="TOKENS_TABLE", min_length=1)


class RunSettings(_EnvironmentSettings):
    """What every function that moves runs along needs (the API's run actions included)."""

    workspaces_table: str = Field(alias="WORKSPACES_TABLE", min_length=1)
    runs_table: str = Field(alias="RUNS_TABLE", min_length=1)
    artifacts_bucket: str = Field(alias="ARTIFACTS_BUCKET", min_length=1)
    run_state_machine_arn: str = Field(alias="RUN_STATE_MACHINE_ARN", min_length=1)
    confirmation_timeout_seconds: int = Field(
        604800, alias="CONFIRMATION_TIMEOUT_SECONDS", ge=60, le=1209600
    )
    task_results_table: str = Field(alias="TASK_RESULTS_TABLE", min_length=1)
    platform_secret_arn: str = Field(alias="PLATFORM_SECRET_ARN", min_length=1)
    public_base_url: PublicBaseUrl
    organization_name: str = Field("default", alias="ORGANIZATION_NAME", min_length=1)
    outbound_private_addresses: OutboundPrivateAddresses


class WorkflowSettings(RunSettings):
    """What the run workflow's own functions (steps, reconcile, execution sweep) need."""

    # The role whose narrowed sessions the runner gets (iacp.isolation).
    runner_session_role_arn: str = Field(alias="RUNNER_SESSION_ROLE_ARN", min_length=1)
    # At most an hour: a phase's narrowed credentials (role chaining) last no longer.
    runner_phase_timeout_seconds: int = Field(
        3600, alias="RUNNER_PHASE_TIMEOUT_SECONDS", ge=60, le=3600
    )


VcsSecretsPrefix = Annotated[
    str,
    Field(
        alias="VCS_SECRETS_PREFIX",
        pattern=r"^[A-Za-z0-9/_+=.@-]+$",
        description="Secrets Manager name prefix of the VCS connections' secrets",
    ),
]


class ApiSettings(RunSettings):
    tokens_table: str = Field(alias="TOKENS_TABLE", min_length=1)
    resources_table: str = Field(alias="RESOURCES_TABLE", min_length=1)
    vcs_secrets_prefix: VcsSecretsPrefix
    notification_deliveries_table: str = Field(alias="NOTIFICATION_DELIVERIES_TABLE", min_length=1)
    inventory_queue_url: str = Field(alias="INVENTORY_QUEUE_URL", min_length=1)
    # Empty: the URL each request came to (the API function cannot name its own API in
    # template.yaml without a dependency cycle).
    public_base_url: str = Field("", alias="PUBLIC_BASE_URL", pattern=f"^({_URL})?$")
    allow_plain_http_urls: bool = Field(
        alias="ALLOW_PLAIN_HTTP_URLS",
        description="Whether run-task and notification URLs may be http://, not only https://.",
    )
    notification_topic_arn_prefix: str = Field(
        alias="NOTIFICATION_TOPIC_ARN_PREFIX",
        pattern=r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]*$",
        description="The topics the functions may publish to: an sns destination must be one.",
    )


class QueueSweepSettings(_EnvironmentSettings):
    workspaces_table: str = Field(alias="WORKSPACES_TABLE", min_length=1)
    runs_table: str = Field(alias="RUNS_TABLE", min_length=1)
    run_state_machine_arn: str = Field(alias="RUN_STATE_MACHINE_ARN", min_length=1)
    confirmation_timeout_seconds: int = Field(
        604800, alias="CONFIRMATION_TIMEOUT_SECONDS", ge=60, le=1209600
    )


class VcsEventsSettings(QueueSweepSettings):
    """The GitHub webhook and CodeCommit push functions: they start runs."""

    vcs_secrets_prefix: VcsSecretsPrefix


class RunEventsSettings(_EnvironmentSettings):
    """The runs table's stream, published as run events."""

    run_events_bus: str = Field(alias="RUN_EVENTS_BUS", min_length=1)
    public_base_url: PublicBaseUrl


class NotificationSettings(_EnvironmentSettings):
    """Delivering run events to notification configurations, from the NotificationQueue."""

    workspaces_table: str = Field(alias="WORKSPACES_TABLE", min_length=1)
    notification_deliveries_table: str = Field(alias="NOTIFICATION_DELIVERIES_TABLE", min_length=1)
    platform_secret_arn: str = Field(alias="PLATFORM_SECRET_ARN", min_length=1)
    organization_name: str = Field("default", alias="ORGANIZATION_NAME", min_length=1)
    outbound_private_addresses: OutboundPrivateAddresses
    # The queue's maxReceiveCount: the last receive marks a delivery failed.
    max_receives: int = Field(alias="NOTIFICATION_MAX_RECEIVES", ge=1, le=100)
    first_retry_delay_seconds: int = Field(alias="NOTIFICATION_RETRY_SECONDS", ge=0, le=900)


class RunTaskCallbackSettings(_EnvironmentSettings):
    """The run-task services' endpoints: results, the run's files, the token key."""

    task_results_table: str = Field(alias="TASK_RESULTS_TABLE", min_length=1)
    runs_table: str = Field(alias="RUNS_TABLE", min_length=1)
    artifacts_bucket: str = Field(alias="ARTIFACTS_BUCKET", min_length=1)
    platform_secret_arn: str = Field(alias="PLATFORM_SECRET_ARN", min_length=1)


class RunTaskSweepSettings(_EnvironmentSettings):
    task_results_table: str = Field(alias="TASK_RESULTS_TABLE", min_length=1)


class InventorySettings(_EnvironmentSettings):
    """The inventory sync after each apply, and its sweep."""

    workspaces_table: str = Field(alias="WORKSPACES_TABLE", min_length=1)
    resources_table: str = Field(alias="RESOURCES_TABLE", min_length=1)
    artifacts_bucket: str = Field(alias="ARTIFACTS_BUCKET", min_length=1)
    # Longer than the sync function's timeout: once it passes, the attempt's worker is gone.
    sync_deadline_seconds: int = Field(300, alias="INVENTORY_SYNC_DEADLINE_SECONDS", ge=60, le=3600)
    sync_max_attempts: int = Field(3, alias="INVENTORY_SYNC_MAX_ATTEMPTS", ge=1, le=10)
