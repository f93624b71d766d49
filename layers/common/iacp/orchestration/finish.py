"""Ending a run, however it ends: the one place that makes a run terminal and gives back what
it held (the workspace lock and the workspace's queue) and ends its open run-task results,
then starts the next run.

Idempotent on purpose: the workflow's last step, the failure handler, the reconcile of an
aborted execution and a force-cancel may all reach the same run; the first terminal status
wins and the rest only make sure nothing stays held.

One exception to "end, then release at once": a run force-canceled while its runner may still
be running ends at once but keeps its workspace (``end_before_runner``) until the reconcile
of its execution has seen the runner end and recorded what it left (iacp.orchestration.reconcile).
"""

from collections.abc import Callable
from datetime import datetime

from iacp.observability import logger
from iacp.orchestration.queue import RunQueue
from iacp.runs.models import Run
from iacp.runs.phase import Phase, RunError
from iacp.runs.status import InvalidTransition, RunStatus
from iacp.runs.store import AWAITING_RUNNER, RunStore
from iacp.timestamps import utcnow
from iacp.workspaces.store import WorkspaceStore


class RunFinisher:
    def __init__(
        self,
        runs: RunStore,
        workspaces: WorkspaceStore,
        queue: RunQueue,
        close_results: Callable[[Run], None] = lambda run: None,
        clock: Callable[[], datetime] = utcnow,
    ):
        self._runs = runs
        self._workspaces = workspaces
        self._queue = queue
        self._close_results = close_results  # the run's open run-task results end canceled
        self._clock = clock

    def end(self, run: Run, status: RunStatus, error: RunError | None, reason: str) -> Run:
        """Make the run ``status`` (terminal) unless it has already ended, then release."""
        fields = {"error": error.model_dump()} if error is not None else None
        try:
            ended = self._runs.transition(run.id, status, self._clock(), fields)
        except InvalidTransition:  # it ended already: the first ending stands
            ended = self._runs.get(run.id) or run
        else:
            logger.info(
                "run ended",
                extra={"run_id": run.id, "status": status.value, "reason": reason},
            )
        self._close_results(ended)
        self.release(ended)
        return ended

    def end_before_runner(
        self,
        run: Run,
        status: RunStatus,
        phase: Phase,
        reason: str,
        error: RunError | None = None,
    ) -> Run:
        """Make the run ``status`` (terminal) now, but keep its lock and queue: its ``phase``
        runner may still be running, and the state it leaves must be recorded before another
        run plans. The reconcile of the run's execution does both, then releases."""
        fields: dict[str, object] = {AWAITING_RUNNER: phase.value}
        if error is not None:
            fields["error"] = error.model_dump()
        try:
            ended = self._runs.transition(run.id, status, self._clock(), fields)
        except InvalidTransition:  # it ended meanwhile: nothing is awaited any more
            return self.end(run, status, error, reason)
        logger.info(
            "run ended; its runner is awaited",
            extra={"run_id": run.id, "status": status.value, "reason": reason, "phase": phase},
        )
        self._close_results(ended)
        return ended

    def release(self, run: Run) -> None:
        """Give back the lock and the queue if this run holds them; start the next run."""
        self._workspaces.unlock(run.workspace_id, holder=run.id)
        if not run.is_speculative:
            self._queue.release(run.workspace_id, run.id)
