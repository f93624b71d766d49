"""The fast tier: the run orchestration (RunWorkflow, TaskStages, RunQueue, RunFinisher) and
the services, wired as iacp.services wires them but on the in-memory fakes (tests/fakes):
no moto, no network, milliseconds a test."""

import gzip
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from iacp.configurations.service import ConfigurationService
from iacp.crypto import Sealer
from iacp.orchestration.finish import RunFinisher
from iacp.orchestration.queue import RunQueue
from iacp.orchestration.run_service import RunService
from iacp.orchestration.task_stages import TaskStages
from iacp.orchestration.workflow import ConfirmationInput, RunRef, RunWorkflow, StartInput
from iacp.outbound import Outbound, PostOutcome
from iacp.principal import Principal, Role
from iacp.runs.artifacts import RunArtifacts
from iacp.runs.models import Run, RunCreate
from iacp.runs.phase import Phase, result_key, run_state_key
from iacp.runtasks.access_tokens import AccessTokens
from iacp.runtasks.protocol import Links
from iacp.states.service import StateService
from iacp.workspaces.models import RunnerSize, WorkspaceCreate
from iacp.workspaces.service import WorkspaceService
from tests.fakes.artifacts import InMemoryArtifactStore
from tests.fakes.configurations import InMemoryConfigurationStore
from tests.fakes.runs import InMemoryRunStore
from tests.fakes.runtasks import InMemoryRunTaskStore, InMemoryTaskResultStore
from tests.fakes.states import InMemoryStateStore
from tests.fakes.table import FakeTable
from tests.fakes.workflow import RecordingWorkflowClient, StaticCredentials
from tests.fakes.workspaces import InMemoryWorkspaceStore

ADMIN = Principal(token_id="at-admin", role=Role.ADMIN)
WRITER = Principal(token_id="at-writer", role=Role.WRITE)
GZIP_ARCHIVE = gzip.compress(b"main.tf")


@dataclass
class Clock:
    now: datetime = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Deliveries:
    """What run tasks were called with, and how they answer (``accept``)."""

    sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    accept: bool = True

    def __call__(
        self, url: str, body: dict[str, Any], hmac_key: str | None, **_: Any
    ) -> PostOutcome:
        self.sent.append((url, body))
        return PostOutcome(accepted=True) if self.accept else PostOutcome(False, "HTTP 500", 500)


@dataclass
class World:
    clock: Clock
    table: FakeTable
    runs: InMemoryRunStore
    workspace_store: InMemoryWorkspaceStore
    configuration_store: InMemoryConfigurationStore
    state_store: InMemoryStateStore
    run_tasks: InMemoryRunTaskStore
    results: InMemoryTaskResultStore
    objects: InMemoryArtifactStore
    workflow: RecordingWorkflowClient
    credentials: StaticCredentials
    deliveries: Deliveries
    queue: RunQueue
    finisher: RunFinisher
    stages: TaskStages
    states: StateService
    steps: RunWorkflow
    workspaces: WorkspaceService
    configurations: ConfigurationService
    run_service: RunService

    # --- set-up, as a client and a runner would do it ---------------------------------------

    def workspace(self, name: str = "alpha", **fields: Any) -> str:
        return self.workspaces.create(ADMIN, WorkspaceCreate(name=name, **fields)).id

    def uploaded(self, workspace_id: str) -> str:
        version = self.configurations.create(ADMIN, workspace_id)
        self.objects.put(version.object_key(), GZIP_ARCHIVE)
        return version.id

    def new_run(self, workspace_id: str, **request: Any) -> str:
        if self.configuration_store.latest_id(workspace_id) is None:
            self.uploaded(workspace_id)
        return self.run_service.create(ADMIN, workspace_id, RunCreate(**request)).id

    def run(self, run_id: str) -> Run:
        run = self.runs.get(run_id)
        assert run is not None
        return run

    def plan_result(self, run_id: str, **fields: Any) -> None:
        result = {"phase": "plan", "status": "succeeded"} | fields
        self.objects.put(result_key(run_id, Phase.PLAN), json.dumps(result).encode())

    def apply_result(self, run_id: str, serial: int, **fields: Any) -> None:
        result = {"phase": "apply", "status": "succeeded", "state_serial": serial} | fields
        self.objects.put(result_key(run_id, Phase.APPLY), json.dumps(result).encode())
        self.state_file(run_id, serial)

    def state_file(self, run_id: str, serial: int) -> None:
        state = {"serial": serial, "lineage": "lin-1", "outputs": {"x": {"value": 1}}}
        self.objects.put(run_state_key(run_id), json.dumps(state).encode())

    # --- the workflow's steps, as the state machine runs them ------------------------------

    def start(self, run_id: str) -> None:
        arn = self.workflow.execution_arn(run_id)
        self.steps.start(StartInput(run_id=run_id, execution_arn=arn))

    def planning(self, run_id: str) -> None:
        self.start(run_id)
        self.steps.start_plan(RunRef(run_id=run_id))

    def applying(self, run_id: str) -> None:
        """Planned with changes in an auto-apply workspace, and its apply started."""
        self.planning(run_id)
        self.plan_result(run_id, has_changes=True)
        self.steps.record_plan(RunRef(run_id=run_id))
        self.steps.start_apply(RunRef(run_id=run_id))

    def planned(self, run_id: str, token: str = "confirm-token") -> None:  # noqa: S107
        """Planned with changes, waiting for confirmation."""
        self.planning(run_id)
        self.plan_result(run_id, has_changes=True, resource_additions=1)
        decision = self.steps.record_plan(RunRef(run_id=run_id))
        assert decision.next == "confirm"
        self.steps.await_confirmation(ConfirmationInput(run_id=run_id, task_token=token))


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> World:
    clock = Clock()
    table = FakeTable()
    runs = InMemoryRunStore()
    workspace_store = InMemoryWorkspaceStore(table)
    configuration_store = InMemoryConfigurationStore(table)
    state_store = InMemoryStateStore(table)
    run_tasks = InMemoryRunTaskStore(table)
    results = InMemoryTaskResultStore()
    objects = InMemoryArtifactStore()
    workflow = RecordingWorkflowClient()
    credentials = StaticCredentials()
    deliveries = Deliveries()
    monkeypatch.setattr("iacp.orchestration.task_stages.deliver", deliveries)
    sealer = Sealer(bytes(32))
    queue = RunQueue(runs, workspace_store, workflow)
    stages = TaskStages(
        runs,
        workspace_store,
        run_tasks,
        results,
        workflow,
        AccessTokens(lambda: "platform-secret", clock),
        hmac_sealer=lambda: sealer,
        token_sealer=lambda: sealer,
        links=Links("https://iacp.example"),
        organization_name="acme",
        outbound=Outbound(),
        clock=clock,
    )
    finisher = RunFinisher(runs, workspace_store, queue, stages.close_open_results, clock)
    artifacts = RunArtifacts(objects)
    states = StateService(state_store, objects, clock, workspaces=workspace_store)
    configurations = ConfigurationService(configuration_store, objects, clock)
    steps = RunWorkflow(
        runs,
        workspace_store,
        states,
        artifacts,
        finisher,
        configuration_store,
        vcs_credentials=lambda connection_id: "",
        runner_credentials=credentials,
        variables_for=lambda run, sealed: [],
        stages_with_tasks=stages.stages_with_tasks,
        runner_size=RunnerSize(cpu=1024, memory=2048),
        phase_timeout_seconds=600,
        clock=clock,
    )
    run_service = RunService(
        runs,
        workspace_store,
        configurations,
        queue,
        workflow,
        artifacts,
        finisher,
        stages,
        results,
        lambda: sealer,
        clock,
    )
    return World(
        clock=clock,
        table=table,
        runs=runs,
        workspace_store=workspace_store,
        configuration_store=configuration_store,
        state_store=state_store,
        run_tasks=run_tasks,
        results=results,
        objects=objects,
        workflow=workflow,
        credentials=credentials,
        deliveries=deliveries,
        queue=queue,
        finisher=finisher,
        stages=stages,
        states=states,
        steps=steps,
        workspaces=WorkspaceService(workspace_store, clock),
        configurations=configurations,
        run_service=run_service,
    )
