"""The user API's services (functions/api), wired to their stores once per process."""

from dataclasses import dataclass
from functools import partial

from iacp.aws import send_message
from iacp.configurations.service import ConfigurationService
from iacp.inventory.service import InventoryService
from iacp.inventory.store import DynamoResourceStore
from iacp.notifications.service import SEALING_PURPOSE as NOTIFICATION_SEALING_PURPOSE
from iacp.notifications.service import NotificationService
from iacp.notifications.store import DynamoDeliveryLog, DynamoNotificationStore
from iacp.orchestration.run_service import RunService
from iacp.orchestration.workspace_overview import WorkspaceOverview
from iacp.runtasks.service import HMAC_SEALING_PURPOSE, RunTaskService
from iacp.secrets import sealer_for
from iacp.services.common import outbound
from iacp.services.machinery import RunMachinery
from iacp.settings import (
    ApiSettings,
)
from iacp.states.service import StateService
from iacp.tfe.signed_urls import UrlSigner, signing_key
from iacp.tokens.service import TokenService
from iacp.tokens.store import DynamoTokenStore
from iacp.variables.service import SEALING_PURPOSE, VariableService
from iacp.vcs.secrets import ConnectionSecrets
from iacp.vcs.service import VcsConnectionService
from iacp.workspaces.service import WorkspaceService


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
        lambda_phase_limit_seconds=settings.lambda_runner_timeout_seconds,
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
