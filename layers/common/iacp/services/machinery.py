"""The stores and services that move runs along, built once per process: the run workflow's
functions (steps, reconcile, the execution sweep) and the API use them."""

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from iacp.artifacts import S3ArtifactStore
from iacp.configurations.store import ConfigurationStore, DynamoConfigurationStore
from iacp.orchestration.finish import RunFinisher
from iacp.orchestration.queue import RunQueue
from iacp.orchestration.reconcile import RunReconciler
from iacp.orchestration.runner_tasks import EcsRunnerTasks
from iacp.orchestration.task_stages import TaskStages
from iacp.orchestration.workflow_client import WorkflowClient
from iacp.runs.artifacts import RunArtifacts
from iacp.runs.models import Run
from iacp.runs.store import DynamoRunStore, RunStore
from iacp.runtasks import access_tokens
from iacp.runtasks.access_tokens import AccessTokens
from iacp.runtasks.protocol import Links
from iacp.runtasks.results import DynamoTaskResultStore, TaskResultStore
from iacp.runtasks.service import HMAC_SEALING_PURPOSE
from iacp.runtasks.store import DynamoRunTaskStore, RunTaskStore
from iacp.secrets import platform_secret, sealer_for
from iacp.services.common import outbound
from iacp.settings import (
    RunSettings,
    WorkflowSettings,
)
from iacp.states.service import StateService
from iacp.states.store import DynamoStateStore, StateStore
from iacp.variables.models import RunVariable
from iacp.variables.run_scoped import open_run_variables, overriding
from iacp.variables.service import SEALING_PURPOSE, variables_for_run
from iacp.variables.store import DynamoVariableStore, VariableStore
from iacp.vcs.store import DynamoVcsConnectionStore, VcsConnectionStore
from iacp.workspaces.models import RunnerSize
from iacp.workspaces.store import DynamoWorkspaceStore, WorkspaceStore

if TYPE_CHECKING:
    from iacp.orchestration.workflow import RunWorkflow


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

    def run_workflow(self) -> "RunWorkflow":
        # Imported here: only the workflow's own function runs its steps. The reconcile, the
        # sweep and the API build this machinery too, and would otherwise import the steps,
        # the runner's isolation and the variables' hand-off (docs/performance.md).
        from iacp.isolation.credentials import RunnerCredentialIssuer
        from iacp.orchestration.workflow import RunWorkflow

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
            stages_with_tasks=self.task_stages.stages_with_tasks,
            runner_size=RunnerSize(cpu=settings.runner_cpu, memory=settings.runner_memory),
            phase_timeout_seconds=settings.runner_phase_timeout_seconds,
            lambda_phase_timeout_seconds=settings.lambda_runner_timeout_seconds,
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
