"""Each contract test runs twice: against the in-memory fakes (tests/fakes) and against the
DynamoDB and S3 stores in moto. A case that passes for one and fails for the other is a fake
that has drifted from the store it stands for."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import pytest

from iacp.artifacts import ArtifactStore, S3ArtifactStore
from iacp.configurations.store import ConfigurationStore, DynamoConfigurationStore
from iacp.inventory.store import DynamoResourceStore, ResourceStore
from iacp.notifications.store import (
    DeliveryLog,
    DynamoDeliveryLog,
    DynamoNotificationStore,
    NotificationStore,
)
from iacp.runs.store import DynamoRunStore, RunStore
from iacp.runtasks.results import DynamoTaskResultStore, TaskResultStore
from iacp.runtasks.store import DynamoRunTaskStore, RunTaskStore
from iacp.states.store import DynamoStateStore, StateStore
from iacp.tokens.store import DynamoTokenStore, TokenStore
from iacp.variables.store import DynamoVariableStore, VariableStore
from iacp.vcs.store import DynamoVcsConnectionStore, VcsConnectionStore
from iacp.workspaces.models import Workspace
from iacp.workspaces.store import DynamoWorkspaceStore, WorkspaceStore
from tests.fakes.artifacts import InMemoryArtifactStore
from tests.fakes.configurations import InMemoryConfigurationStore
from tests.fakes.inventory import InMemoryResourceStore
from tests.fakes.notifications import InMemoryDeliveryLog, InMemoryNotificationStore
from tests.fakes.runs import InMemoryRunStore
from tests.fakes.runtasks import InMemoryRunTaskStore, InMemoryTaskResultStore
from tests.fakes.states import InMemoryStateStore
from tests.fakes.table import FakeTable
from tests.fakes.tokens import InMemoryTokenStore
from tests.fakes.variables import InMemoryVariableStore
from tests.fakes.vcs import InMemoryVcsConnectionStore
from tests.fakes.workspaces import InMemoryWorkspaceStore

# Whole seconds: what every store gives back exactly as it was given.
NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
T = TypeVar("T")


@dataclass
class Stores:
    runs: RunStore
    workspaces: WorkspaceStore
    configurations: ConfigurationStore
    states: StateStore
    variables: VariableStore
    tokens: TokenStore
    run_tasks: RunTaskStore
    results: TaskResultStore
    notifications: NotificationStore
    deliveries: DeliveryLog
    connections: VcsConnectionStore
    artifacts: ArtifactStore
    resources: ResourceStore


@pytest.fixture(params=["in-memory", "dynamo"])
def stores(request: pytest.FixtureRequest) -> Stores:
    if request.param == "in-memory":
        table = FakeTable()
        return Stores(
            runs=InMemoryRunStore(),
            workspaces=InMemoryWorkspaceStore(table),
            configurations=InMemoryConfigurationStore(table),
            states=InMemoryStateStore(table),
            variables=InMemoryVariableStore(table),
            tokens=InMemoryTokenStore(),
            run_tasks=InMemoryRunTaskStore(table),
            results=InMemoryTaskResultStore(),
            notifications=InMemoryNotificationStore(),
            deliveries=InMemoryDeliveryLog(),
            connections=InMemoryVcsConnectionStore(),
            artifacts=InMemoryArtifactStore(),
            resources=InMemoryResourceStore(),
        )
    refs = request.getfixturevalue("aws").refs
    workspaces_table = refs["WorkspacesTable"]
    return Stores(
        runs=DynamoRunStore(refs["RunsTable"]),
        workspaces=DynamoWorkspaceStore(workspaces_table),
        configurations=DynamoConfigurationStore(workspaces_table),
        states=DynamoStateStore(workspaces_table),
        variables=DynamoVariableStore(workspaces_table),
        tokens=DynamoTokenStore(refs["TokensTable"]),
        run_tasks=DynamoRunTaskStore(workspaces_table),
        results=DynamoTaskResultStore(refs["TaskResultsTable"]),
        notifications=DynamoNotificationStore(workspaces_table),
        deliveries=DynamoDeliveryLog(refs["NotificationDeliveriesTable"]),
        connections=DynamoVcsConnectionStore(workspaces_table),
        artifacts=S3ArtifactStore(refs["ArtifactsBucket"]),
        resources=DynamoResourceStore(refs["ResourcesTable"]),
    )


def workspace(workspace_id: str = "ws-1", name: str = "alpha", **fields: object) -> Workspace:
    defaults = {"description": "", "terraform_version": None, "working_directory": ""}
    return Workspace.model_validate(
        {
            "id": workspace_id,
            "name": name,
            "created_at": NOW,
            "updated_at": NOW,
            "auto_apply": False,
        }
        | defaults
        | fields
    )


def every_page(
    read: Callable[[int, str | None], tuple[list[T], str | None]], limit: int
) -> list[T]:
    """Every item of a list, a page of at most ``limit`` at a time, following the cursor."""
    items: list[T] = []
    cursor: str | None = None
    for _ in range(100):
        page, cursor = read(limit, cursor)
        assert len(page) <= limit
        items.extend(page)
        if cursor is None:
            return items
    raise AssertionError("the cursor never ended")
