"""The platform's services, wired to their stores once per process."""

from dataclasses import dataclass, fields
from datetime import timedelta
from functools import partial
from typing import Any

from iacp.artifacts import S3ArtifactStore
from iacp.aws import send_message
from iacp.configurations.models import archive_key
from iacp.configurations.service import ConfigurationService
from iacp.configurations.store import ConfigurationStore, DynamoConfigurationStore
from iacp.inventory.service import InventoryService
from iacp.inventory.store import DynamoResourceStore
from iacp.inventory.sync import InventorySyncer
from iacp.isolation.credentials import RunnerCredentialIssuer
from iacp.notifications.delivery import NotificationDispatcher
from iacp.notifications.service import SEALING_PURPOSE as NOTIFICATION_SEALING_PURPOSE
from iacp.notifications.service import NotificationService
from iacp.notifications.store import DynamoDeliveryLog, DynamoNotificationStore
from iacp.orchestration.codecommit_pushes import CodeCommitPushes
from iacp.orchestration.finish import RunFinisher
from iacp.orchestration.github_webhooks import GitHubWebhooks
from iacp.orchestration.gitlab_webhooks import GitLabWebhooks
from iacp.orchestration.queue import RunQueue
from iacp.orchestration.reconcile import RunReconciler
from iacp.orchestration.run_service import RunService
from iacp.orchestration.runner_tasks import EcsRunnerTasks
from iacp.orchestration.task_callbacks import CallbackService
from iacp.orchestration.task_stages import TaskStages
from iacp.orchestration.vcs_feedback import VcsFeedbackReporter
from iacp.orchestration.vcs_triggers import VcsTriggers
from iacp.orchestration.workflow import RunWorkflow
from iacp.orchestration.workflow_client import WorkflowClient, resume
from iacp.orchestration.workspace_overview import WorkspaceOverview
from iacp.outbound import Outbound
from iacp.runs.artifacts import RunArtifacts
from iacp.runs.models import Run
from iacp.runs.store import DynamoRunStore, RunStore
from iacp.runtasks import access_tokens
from iacp.runtasks.access_tokens import AccessTokens
from iacp.runtasks.protocol import Links
from iacp.runtasks.results import DynamoTaskResultStore, TaskResultStore
from iacp.runtasks.service import HMAC_SEALING_PURPOSE, RunTaskService
from iacp.runtasks.store import DynamoRunTaskStore, RunTaskStore
from iacp.secrets import platform_secret, sealer_for
from iacp.settings import (
    ApiSettings,
    InventorySettings,
    NotificationSettings,
    RunQueueSettings,
    RunSettings,
    RunTaskCallbackSettings,
    VcsEventsSettings,
    VcsFeedbackSettings,
    WorkflowSettings,
)
from iacp.states.service import StateService, read_state_file
from iacp.states.store import DynamoStateStore, StateStore
from iacp.tfe.signed_urls import UrlSigner, signing_key
from iacp.tokens.service import TokenService
from iacp.tokens.store import DynamoTokenStore
from iacp.variables.run_scoped import open_run_variables, overriding
from iacp.variables.service import SEALING_PURPOSE, RunVariable, VariableService, variables_for_run
from iacp.variables.store import DynamoVariableStore, VariableStore
from iacp.vcs.secrets import ConnectionSecrets
from iacp.vcs.service import VcsConnectionService
from iacp.vcs.store import DynamoVcsConnectionStore, VcsConnectionStore
from iacp.workspaces.service import WorkspaceService
from iacp.workspaces.store import DynamoWorkspaceStore, WorkspaceStore


def run_queue(
    settings: RunQueueSettings,
    runs: RunStore | None = None,
    workspaces: WorkspaceStore | None = None,
) -> RunQueue:
    return RunQueue(
        runs or DynamoRunStore(settings.runs_table),
        workspaces or DynamoWorkspaceStore(settings.workspaces_table),
        WorkflowClient(settings.run_state_machine_arn, settings.confirmation_timeout_seconds),
    )


@dataclass(frozen=True)
class RunMachinery:
    """What both the API and the workflow's functions use to move runs along: each store
    built once, and the services over them."""

    runs: RunStore
    workspaces: WorkspaceStore
    state_store: StateStore
    states: StateService
    artifacts: RunArtifacts
    workflow: WorkflowClient
    queue: RunQueue
    finisher: RunFinisher
    run_tasks: RunTaskStore
    task_results: TaskResultStore
    task_stages: TaskStages
    configurations: ConfigurationStore
    connections: VcsConnectionStore
    variables: VariableStore
    settings: RunSettings

    @classmethod
    def build(cls, settings: RunSettings) -> "RunMachinery":
        """The API builds this too, for the run actions; it never dispatches run tasks, so
        its links may be empty (see ``ApiSettings.public_base_url``)."""
        runs = DynamoRunStore(settings.runs_table)
        workspaces = DynamoWorkspaceStore(settings.workspaces_table)
        workflow = WorkflowClient(
            settings.run_state_machine_arn, settings.confirmation_timeout_seconds
        )
        queue = RunQueue(runs, workspaces, workflow)
        run_tasks = DynamoRunTaskStore(settings.workspaces_table)
        task_results = DynamoTaskResultStore(settings.task_results_table)
        state_store = DynamoStateStore(settings.workspaces_table)
        secret = settings.platform_secret_arn
        objects = S3ArtifactStore(settings.artifacts_bucket)
        task_stages = TaskStages(
            runs,
            workspaces,
            run_tasks,
            task_results,
            workflow,
            AccessTokens(partial(platform_secret, secret)),
            hmac_sealer=partial(sealer_for, secret, HMAC_SEALING_PURPOSE),
            token_sealer=partial(sealer_for, secret, access_tokens.SEALING_PURPOSE),
            links=Links(settings.public_base_url),
            organization_name=settings.organization_name,
            outbound=outbound(settings.outbound_private_addresses),
        )
        return cls(
            runs=runs,
            workspaces=workspaces,
            state_store=state_store,
            states=StateService(state_store, objects, workspaces=workspaces),
            artifacts=RunArtifacts(objects),
            workflow=workflow,
            queue=queue,
            finisher=RunFinisher(runs, workspaces, queue, task_stages.close_open_results),
            run_tasks=run_tasks,
            task_results=task_results,
            task_stages=task_stages,
            configurations=DynamoConfigurationStore(settings.workspaces_table),
            connections=DynamoVcsConnectionStore(settings.workspaces_table),
            variables=DynamoVariableStore(settings.workspaces_table),
            settings=settings,
        )

    def run_workflow(self) -> RunWorkflow:
        settings = self.settings
        if not isinstance(settings, WorkflowSettings):  # the API never runs workflow steps
            raise TypeError("only the workflow's functions run its steps")
        return RunWorkflow(
            self.runs,
            self.workspaces,
            self.states,
            self.artifacts,
            self.finisher,
            self.configurations,
            self.vcs_credentials,
            RunnerCredentialIssuer(settings.runner_session_role_arn, settings.artifacts_bucket),
            self.variables_for,
            phase_timeout_seconds=settings.runner_phase_timeout_seconds,
        )

    def variables_for(self, run: Run, sealed_run_variables: str | None) -> list[RunVariable]:
        """The run's variables, unsealed, for its runner: the workspace's, and the run's own
        overriding them."""
        sealer = sealer_for(self.settings.platform_secret_arn, SEALING_PURPOSE)
        variables = variables_for_run(self.variables, run.workspace_id, sealer)
        if sealed_run_variables is None:
            return variables
        return overriding(variables, open_run_variables(sealed_run_variables, sealer, run.id))

    def vcs_credentials(self, connection_id: str) -> str:
        """The secret with the connection's clone token; '' without one (CodeCommit clones
        with the runner's role; public repositories need none)."""
        record = self.connections.get(connection_id)
        return record.secret_arn if record and record.connection.token_set else ""

    def reconciler(self) -> RunReconciler:
        runner_tasks = EcsRunnerTasks()
        return RunReconciler(self.runs, self.states, self.artifacts, self.finisher, runner_tasks)


@dataclass(frozen=True)
class Services:
    workspaces: WorkspaceService
    workspace_overview: WorkspaceOverview
    variables: VariableService
    tokens: TokenService
    configurations: ConfigurationService
    states: StateService
    runs: RunService
    run_tasks: RunTaskService
    vcs_connections: VcsConnectionService
    notifications: NotificationService
    inventory: InventoryService
    public_base_url: str  # configured (a custom domain), or "" for the request's own URL
    organization_name: str  # the stack's one organization, as /api/v2 names it
    runner_terraform_version: str  # the one release a workspace may pin through /api/v2
    signed_urls: UrlSigner  # /api/v2's URLs read without a token (a log's log-read-url)

    def by_name(self) -> dict[str, Any]:
        """The request context of the user API: each route finds its service there by name
        (``iacp.http.provided``)."""
        return {field.name: getattr(self, field.name) for field in fields(self)}


def build_services(settings: ApiSettings) -> Services:
    machinery = RunMachinery.build(settings)
    workspace_store = machinery.workspaces
    vcs_connections = VcsConnectionService(
        machinery.connections,
        ConnectionSecrets(settings.vcs_secrets_prefix),
        in_use=workspace_store.uses_connection,
        plain_http_allowed=settings.allow_plain_http_urls,
    )
    resources = DynamoResourceStore(settings.resources_table)
    notification_configurations = DynamoNotificationStore(settings.workspaces_table)

    def forget_workspace(workspace_id: str) -> None:
        """What a workspace leaves outside its own items goes with it."""
        resources.forget(workspace_id)
        notification_configurations.forget(workspace_id)

    workspaces = WorkspaceService(
        workspace_store,
        connection_provider=vcs_connections.provider,
        on_deleted=forget_workspace,
    )
    configurations = ConfigurationService(machinery.configurations, machinery.artifacts.objects)
    inventory = InventoryService(
        resources,
        workspaces.existing,
        current_state=machinery.state_store.current,
        send_request=partial(send_message, settings.inventory_queue_url),
    )
    states = StateService(
        machinery.state_store,
        machinery.artifacts.objects,
        workspaces=workspace_store,
        # The inventory follows a state no run wrote (a rollback's, a client's) as it
        # follows an apply's, on its queue.
        after_new_state=lambda principal, version: inventory.request_sync(
            principal, version.workspace_id
        ),
    )
    return Services(
        workspaces=workspaces,
        workspace_overview=WorkspaceOverview(workspaces, machinery.runs, resources),
        variables=VariableService(
            machinery.variables,
            workspace_store,
            sealer=partial(sealer_for, settings.platform_secret_arn, SEALING_PURPOSE),
        ),
        tokens=TokenService(
            DynamoTokenStore(settings.tokens_table), missing_workspaces=workspaces.missing
        ),
        configurations=configurations,
        states=states,
        runs=RunService(
            machinery.runs,
            workspace_store,
            configurations,
            machinery.queue,
            machinery.workflow,
            machinery.artifacts,
            machinery.finisher,
            machinery.task_stages,
            machinery.task_results,
            variable_sealer=partial(sealer_for, settings.platform_secret_arn, SEALING_PURPOSE),
        ),
        run_tasks=RunTaskService(
            machinery.run_tasks,
            workspace_store,
            sealer=partial(sealer_for, settings.platform_secret_arn, HMAC_SEALING_PURPOSE),
            organization_name=settings.organization_name,
            outbound=outbound(settings.outbound_private_addresses),
            plain_http_allowed=settings.allow_plain_http_urls,
        ),
        vcs_connections=vcs_connections,
        notifications=NotificationService(
            notification_configurations,
            DynamoDeliveryLog(settings.notification_deliveries_table),
            workspace_store,
            sealer=partial(sealer_for, settings.platform_secret_arn, NOTIFICATION_SEALING_PURPOSE),
            organization_name=settings.organization_name,
            outbound=outbound(settings.outbound_private_addresses),
            plain_http_allowed=settings.allow_plain_http_urls,
            topic_arn_prefix=settings.notification_topic_arn_prefix,
        ),
        inventory=inventory,
        public_base_url=settings.public_base_url,
        organization_name=settings.organization_name,
        runner_terraform_version=settings.runner_terraform_version,
        signed_urls=UrlSigner(partial(signing_key, settings.platform_secret_arn)),
    )


def build_notification_dispatcher(settings: NotificationSettings) -> NotificationDispatcher:
    return NotificationDispatcher(
        DynamoNotificationStore(settings.workspaces_table),
        DynamoDeliveryLog(settings.notification_deliveries_table),
        DynamoWorkspaceStore(settings.workspaces_table),
        sealer=partial(sealer_for, settings.platform_secret_arn, NOTIFICATION_SEALING_PURPOSE),
        organization_name=settings.organization_name,
        outbound=outbound(settings.outbound_private_addresses),
    )


def build_vcs_feedback(settings: VcsFeedbackSettings) -> VcsFeedbackReporter:
    return VcsFeedbackReporter(
        DynamoRunStore(settings.runs_table),
        DynamoWorkspaceStore(settings.workspaces_table),
        DynamoVcsConnectionStore(settings.workspaces_table),
        ConnectionSecrets(settings.vcs_secrets_prefix),
        S3ArtifactStore(settings.artifacts_bucket),
        DynamoTaskResultStore(settings.task_results_table),
        outbound(settings.outbound_private_addresses),
        settings.public_base_url,
        plain_http_allowed=settings.allow_plain_http_urls,
    )


def outbound(private_addresses: str) -> Outbound:
    return Outbound(private_addresses=private_addresses == "allow")


def build_inventory_syncer(settings: InventorySettings) -> InventorySyncer:
    return InventorySyncer(
        DynamoResourceStore(settings.resources_table),
        DynamoStateStore(settings.workspaces_table),
        partial(read_state_file, S3ArtifactStore(settings.artifacts_bucket)),
        deadline=timedelta(seconds=settings.inventory_sync_deadline_seconds),
        max_attempts=settings.inventory_sync_max_attempts,
    )


def build_callback_service(settings: RunTaskCallbackSettings) -> CallbackService:
    runs = DynamoRunStore(settings.runs_table)

    def configuration_key(run_id: str) -> str | None:
        run = runs.get(run_id)
        return None if run is None else archive_key(run.workspace_id, run.configuration_version_id)

    return CallbackService(
        DynamoTaskResultStore(settings.task_results_table),
        AccessTokens(partial(platform_secret, settings.platform_secret_arn)),
        resume,
        RunArtifacts(S3ArtifactStore(settings.artifacts_bucket)),
        configuration_key,
    )


def _vcs_triggers(settings: VcsEventsSettings) -> VcsTriggers:
    runs = DynamoRunStore(settings.runs_table)
    workspaces = DynamoWorkspaceStore(settings.workspaces_table)
    return VcsTriggers(
        workspaces,
        DynamoConfigurationStore(settings.workspaces_table),
        runs,
        run_queue(settings, runs, workspaces),
    )


def build_github_webhooks(settings: VcsEventsSettings) -> GitHubWebhooks:
    return GitHubWebhooks(
        DynamoVcsConnectionStore(settings.workspaces_table),
        ConnectionSecrets(settings.vcs_secrets_prefix),
        _vcs_triggers(settings),
    )


def build_gitlab_webhooks(settings: VcsEventsSettings) -> GitLabWebhooks:
    return GitLabWebhooks(
        DynamoVcsConnectionStore(settings.workspaces_table),
        ConnectionSecrets(settings.vcs_secrets_prefix),
        _vcs_triggers(settings),
    )


def build_codecommit_pushes(settings: VcsEventsSettings) -> CodeCommitPushes:
    return CodeCommitPushes(
        DynamoVcsConnectionStore(settings.workspaces_table), _vcs_triggers(settings)
    )
