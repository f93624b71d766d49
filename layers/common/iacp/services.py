"""The platform's services, wired to their stores once per process."""

from dataclasses import dataclass

from iacp.configurations.service import ConfigurationService
from iacp.configurations.store import DynamoConfigurationStore
from iacp.runs.artifacts import RunArtifacts
from iacp.runs.finish import RunFinisher
from iacp.runs.queue import RunQueue
from iacp.runs.reconcile import RunReconciler
from iacp.runs.service import RunService
from iacp.runs.store import DynamoRunStore
from iacp.runs.workflow import RunWorkflow
from iacp.runs.workflow_client import WorkflowClient
from iacp.secrets import sealer_for
from iacp.settings import ApiSettings, WorkflowSettings
from iacp.states.service import StateService
from iacp.states.store import DynamoStateStore
from iacp.tokens.service import TokenService
from iacp.tokens.store import DynamoTokenStore
from iacp.variables.service import SEALING_PURPOSE, VariableService
from iacp.variables.store import DynamoVariableStore
from iacp.workspaces.service import WorkspaceService
from iacp.workspaces.store import DynamoWorkspaceStore


@dataclass(frozen=True)
class RunMachinery:
    """What both the API and the workflow's functions use to move runs along."""

    runs: DynamoRunStore
    workspaces: DynamoWorkspaceStore
    states: StateService
    artifacts: RunArtifacts
    workflow: WorkflowClient
    queue: RunQueue
    finisher: RunFinisher

    @classmethod
    def build(cls, settings: WorkflowSettings) -> "RunMachinery":
        runs = DynamoRunStore(settings.runs_table)
        workspaces = DynamoWorkspaceStore(settings.workspaces_table)
        workflow = WorkflowClient(
            settings.run_state_machine_arn, settings.confirmation_timeout_seconds
        )
        queue = RunQueue(runs, workspaces, workflow)
        return cls(
            runs=runs,
            workspaces=workspaces,
            states=StateService(
                DynamoStateStore(settings.workspaces_table), settings.artifacts_bucket
            ),
            artifacts=RunArtifacts(settings.artifacts_bucket),
            workflow=workflow,
            queue=queue,
            finisher=RunFinisher(runs, workspaces, queue),
        )

    def run_workflow(self) -> RunWorkflow:
        return RunWorkflow(self.runs, self.workspaces, self.states, self.artifacts, self.finisher)

    def reconciler(self) -> RunReconciler:
        return RunReconciler(self.runs, self.states, self.artifacts, self.finisher)


@dataclass(frozen=True)
class Services:
    workspaces: WorkspaceService
    variables: VariableService
    tokens: TokenService
    configurations: ConfigurationService
    states: StateService
    runs: RunService


def build_services(settings: ApiSettings) -> Services:
    machinery = RunMachinery.build(settings)
    workspace_store = machinery.workspaces
    workspaces = WorkspaceService(workspace_store)
    configurations = ConfigurationService(
        DynamoConfigurationStore(settings.workspaces_table), settings.artifacts_bucket
    )
    return Services(
        workspaces=workspaces,
        variables=VariableService(
            DynamoVariableStore(settings.workspaces_table),
            workspace_store,
            sealer=lambda: sealer_for(settings.platform_secret_arn, SEALING_PURPOSE),
        ),
        tokens=TokenService(
            DynamoTokenStore(settings.tokens_table), missing_workspaces=workspaces.missing
        ),
        configurations=configurations,
        states=machinery.states,
        runs=RunService(
            machinery.runs,
            workspace_store,
            configurations,
            machinery.queue,
            machinery.workflow,
            machinery.artifacts,
            machinery.finisher,
        ),
    )
