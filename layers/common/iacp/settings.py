"""Environment of each function, validated when the function loads: a missing variable
fails the cold start instead of the first request that needs it.

Each setting is declared once, in a small group named for what it reaches (``_Runs``,
``_Artifacts``, ...); a function's settings are the groups it needs. A field reads the
environment variable of its name in capitals (``runs_table`` from ``RUNS_TABLE``), which is
also how a validation error names it.

The classes are plain pydantic models validated from ``os.environ``: every setting is a
string, a number, a flag or a choice, which pydantic reads from the variable's text as it is.
pydantic-settings did the same here, and its other sources (dotenv files, a CLI, secret
directories), which no function uses, cost every cold start about 20 ms of its import
(docs/performance.md, "Cold imports").
"""

import os
from typing import Annotated, Literal, Self

from pydantic import AliasGenerator, ConfigDict, Field

from iacp.model import Model

_URL = r"https?://[^/\s]+(/[^\s]*)?"
_Name = Annotated[str, Field(min_length=1)]


class _EnvironmentSettings(Model):
    # A function reads one of these classes: only that one is built (iacp.model).
    model_config = ConfigDict(
        frozen=True,
        alias_generator=AliasGenerator(validation_alias=str.upper),
        extra="ignore",  # the environment holds more than a function's settings
        validate_default=True,
    )

    @classmethod
    def from_env(cls) -> Self:
        return cls.model_validate(os.environ)


class _Tokens(_EnvironmentSettings):
    tokens_table: _Name


class _Workspaces(_EnvironmentSettings):
    workspaces_table: _Name


class _RunsTable(_EnvironmentSettings):
    runs_table: _Name


class RunQueueSettings(_Workspaces, _RunsTable):
    """Starting and queueing runs: the tables and the run workflow (the queue sweep and the
    follow-ups need no more)."""

    run_state_machine_arn: _Name
    confirmation_timeout_seconds: int = Field(604800, ge=60, le=1209600)


class _Artifacts(_EnvironmentSettings):
    artifacts_bucket: _Name


class _TaskResults(_EnvironmentSettings):
    task_results_table: _Name


class _PlatformSecret(_EnvironmentSettings):
    platform_secret_arn: _Name


class _Resources(_EnvironmentSettings):
    resources_table: _Name


class _NotificationDeliveries(_EnvironmentSettings):
    notification_deliveries_table: _Name


class _VcsSecrets(_EnvironmentSettings):
    vcs_secrets_prefix: str = Field(
        pattern=r"^[A-Za-z0-9/_+=.@-]+$",
        description="Secrets Manager name prefix of the VCS connections' secrets",
    )


class _PublicBaseUrl(_EnvironmentSettings):
    public_base_url: str = Field(
        pattern=f"^{_URL}$",
        description="The API's public URL: links in run-task webhooks and run events.",
    )


class _Outbound(_EnvironmentSettings):
    """Calling run-task services and notification destinations."""

    organization_name: _Name = "default"
    outbound_private_addresses: Literal["deny", "allow"] = Field(
        description="Whether run-task and notification URLs may lead to non-public addresses."
    )


class _LambdaRunner(_EnvironmentSettings):
    # The longest phase a workspace with execution lambda runs (LambdaRunnerTimeoutSeconds):
    # under Lambda's 900 s, less the 60 s the runner keeps to stop Terraform gracefully.
    lambda_runner_timeout_seconds: int = Field(600, ge=60, le=840)


class AuthorizerSettings(_Tokens):
    pass


class VcsEventsSettings(RunQueueSettings, _VcsSecrets):
    """The GitHub webhook and CodeCommit push functions: they start runs."""


class RunSettings(
    RunQueueSettings, _Artifacts, _TaskResults, _PlatformSecret, _PublicBaseUrl, _Outbound
):
    """What every function that moves runs along needs (the API's run actions included)."""


class WorkflowSettings(RunSettings, _LambdaRunner):
    """What the run workflow's own functions (steps, reconcile, execution sweep) need."""

    # The role whose narrowed sessions the runner gets (iacp.isolation).
    runner_session_role_arn: _Name
    # At most an hour: a phase's narrowed credentials (role chaining) last no longer.
    runner_phase_timeout_seconds: int = Field(3600, ge=60, le=3600)
    # The runner's task size when a workspace names none (the task definition's own:
    # RunnerCpu, RunnerMemory), passed as RunTask's task-level overrides.
    runner_cpu: int = Field(gt=0)
    runner_memory: int = Field(gt=0)


class ApiSettings(
    RunSettings, _Tokens, _Resources, _NotificationDeliveries, _VcsSecrets, _LambdaRunner
):
    inventory_queue_url: _Name
    # Empty: the URL each request came to (the API function cannot name its own API in
    # template.yaml without a dependency cycle).
    public_base_url: str = Field("", pattern=f"^({_URL})?$")
    allow_plain_http_urls: bool = Field(
        description="Whether run-task and notification URLs may be http://, not only https://."
    )
    notification_topic_arn_prefix: str = Field(
        pattern=r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]*$",
        description="The topics the functions may publish to: an sns destination must be one.",
    )
    runner_terraform_version: str = Field(
        pattern=r"^\d+\.\d+\.\d+$",
        description="The Terraform release of the runner's image (RunnerTerraformVersion).",
    )


class RunEventsSettings(_PublicBaseUrl):
    """The runs table's stream, published as run events."""

    run_events_bus: _Name


class NotificationSettings(_Workspaces, _NotificationDeliveries, _PlatformSecret, _Outbound):
    """Delivering run events to notification configurations, from the NotificationQueue."""

    # The queue's maxReceiveCount: the last receive marks a delivery failed.
    notification_max_receives: int = Field(ge=1, le=100)
    notification_retry_seconds: int = Field(ge=0, le=900)


class VcsFeedbackSettings(
    _Workspaces, _RunsTable, _TaskResults, _Artifacts, _VcsSecrets, _PublicBaseUrl
):
    """Reporting VCS-driven runs to their repository host, from the VcsFeedbackQueue."""

    outbound_private_addresses: Literal["deny", "allow"] = Field(
        description="Whether a connection's api_url may lead to non-public addresses."
    )
    allow_plain_http_urls: bool = Field(
        description="Whether a connection's api_url may be http://, not only https://."
    )
    # The queue's maxReceiveCount: the last receive logs the failure for good.
    vcs_feedback_max_receives: int = Field(ge=1, le=100)
    vcs_feedback_retry_seconds: int = Field(ge=0, le=900)


class RunTaskCallbackSettings(_RunsTable, _Artifacts, _TaskResults, _PlatformSecret):
    """The run-task services' endpoints: results, the run's files, the token key."""


class RunTaskSweepSettings(_TaskResults):
    pass


class InventorySettings(_Workspaces, _Resources, _Artifacts):
    """The inventory sync after each apply, and its sweep."""

    # Longer than the sync function's timeout: once it passes, the attempt's worker is gone.
    inventory_sync_deadline_seconds: int = Field(300, ge=60, le=3600)
    inventory_sync_max_attempts: int = Field(3, ge=1, le=10)
