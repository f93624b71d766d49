"""The run queue, for the functions that start runs and nothing more (follow-ups, the
queue sweep, the VCS triggers)."""

from iacp.orchestration.queue import RunQueue
from iacp.orchestration.workflow_client import WorkflowClient
from iacp.runs.store import DynamoRunStore, RunStore
from iacp.settings import (
    RunQueueSettings,
)
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
