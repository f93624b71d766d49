"""The per-workspace run queue (design §4): one non-speculative run active at a time, first in
first out; speculative (plan-only) runs and saved plans never wait (a saved plan takes the
workspace only when its apply is confirmed: ``RunService``).

A run holds the queue through the workspace item's ``current_run_id`` (a conditional write,
so exactly one run wins); waiting runs are found through the runs table's sparse ``queue``
index, oldest first.
"""

from iacp.observability import logger
from iacp.orchestration.workflow_client import WorkflowClient
from iacp.runs.models import Run
from iacp.runs.store import RunStore
from iacp.workspaces.store import WorkspaceStore


class RunQueue:
    def __init__(self, runs: RunStore, workspaces: WorkspaceStore, workflow: WorkflowClient):
        self._runs = runs
        self._workspaces = workspaces
        self._workflow = workflow

    def submit(self, run: Run) -> None:
        """A new run: start it now if it need not wait, else let the queue decide."""
        if not run.queues:
            self._start(run.id)
        else:
            self.start_next(run.workspace_id)

    def start_next(self, workspace_id: str) -> None:
        """Start the oldest waiting run of the workspace, if the workspace is free. Safe to
        call any number of times: claiming and starting are both idempotent."""
        waiting = self._runs.oldest_queued(workspace_id)
        if waiting is None:
            return
        if not self._workspaces.claim_queue(workspace_id, waiting.id):
            return  # another run is active; its end will call this again
        self._start(waiting.id)

    def start_waiting(self) -> int:
        """The periodic check (design §7): start the oldest waiting run of every free
        workspace. Ending a run starts the next one, but it finds it through an eventually
        consistent index: a run queued at that very moment would otherwise wait for the next
        run to end. Returns how many workspaces had runs waiting."""
        workspaces = self._runs.workspaces_with_queued_runs()
        for workspace_id in sorted(workspaces):
            self.start_next(workspace_id)
        return len(workspaces)

    def release(self, workspace_id: str, run_id: str) -> None:
        """The run has ended: free the workspace and start whoever waits."""
        self._workspaces.release_queue(workspace_id, run_id)
        self.start_next(workspace_id)

    def _start(self, run_id: str) -> None:
        execution_arn = self._workflow.start(run_id)
        self._runs.update(run_id, {"execution_arn": execution_arn})
        logger.info("run started", extra={"run_id": run_id, "execution_arn": execution_arn})
