"""Reconciling a run whose workflow execution ended without ending the run (design §7).

The workflow normally ends its run itself. When the execution is stopped (a cancel), fails in
a way its own failure handler could not record, or times out, a rule on the workflow's status
changes calls this: the run becomes ``canceled`` or ``errored``, and the lock and queue are
released. A run whose runner may still be running (a stopped execution stops its ECS task,
and the runner takes a moment to interrupt Terraform) ends only once that runner has
reported, or has surely been killed: the run's status never claims an end its runner has not
reached, and an apply's state (the runner's last upload or, if it was killed, its last
checkpoint) is recorded, as a partial state version, before the workspace is given back. A
run stopped before its runner's task started (or after it ended) has no runner to wait for:
its execution's history and ECS say so (``iacp.orchestration.runner_tasks``).

A run that already ended is only checked for anything it still holds. One force-canceled
while its runner ran (``RunFinisher.end_before_runner``) still holds its workspace: its
runner is awaited and its state recorded the same way, then it is released.

The rule's event can be lost (its retries and dead-letter queue exhausted, the rule disabled
during a deployment); the periodic sweep then finds the executions that ended recently and
reconciles their runs that are still open or still await their runner.
"""

import time
from collections.abc import Iterable

from iacp.observability import logger
from iacp.orchestration.finish import RunFinisher
from iacp.orchestration.runner_tasks import RunnerTasks
from iacp.runs.artifacts import RunArtifacts
from iacp.runs.models import Run
from iacp.runs.phase import Phase, RunError, result_key
from iacp.runs.status import RunStatus
from iacp.runs.store import AWAITING_RUNNER, RunStore
from iacp.states.service import StateService

ABORTED, FAILED, TIMED_OUT = "ABORTED", "FAILED", "TIMED_OUT"
RUNNER_STOP_TIMEOUT_SECONDS = 120  # the runner task's stopTimeout (Fargate's maximum)
# How long a stopping runner is waited for: its stop timeout, after which ECS has killed it,
# and a margin for the StopTask that Step Functions sends once the execution has ended.
RUNNER_WAIT_SECONDS = RUNNER_STOP_TIMEOUT_SECONDS + 10
# How long the runner's result is waited for between two looks at the run's runner task. An
# execution records the task it started just after RunTask has answered, so "no runner left"
# counts only when seen twice.
RUNNER_POLL_SECONDS = 3


def run_id_of(execution_arn: str) -> str:
    """Executions are named after their run (``WorkflowClient.start``)."""
    return execution_arn.rsplit(":", 1)[-1]


class RunReconciler:
    def __init__(
        self,
        runs: RunStore,
        states: StateService,
        artifacts: RunArtifacts,
        finisher: RunFinisher,
        runner_tasks: RunnerTasks,
        runner_wait_seconds: int = RUNNER_WAIT_SECONDS,
    ):
        self._runs = runs
        self._states = states
        self._artifacts = artifacts
        self._finisher = finisher
        self._runner_tasks = runner_tasks
        self._runner_wait_seconds = runner_wait_seconds

    def reconcile(self, execution_arn: str, status: str) -> None:
        run = self._runs.get(run_id_of(execution_arn))
        if run is None:
            logger.warning("execution of an unknown run", extra={"execution_arn": execution_arn})
            return
        if run.status.terminal:
            awaited = self._awaited_phase(run)
            if awaited is not None:  # force-canceled while its runner ran
                self._await_runner(execution_arn, run, awaited, stopping=True)
            self._finisher.release(run)
            if awaited is not None:
                self._runs.update(run.id, {}, remove=(AWAITING_RUNNER,))
            return
        if run.apply_recorded:  # stopped in post_apply: the apply itself is done
            self._finisher.end(run, RunStatus.APPLIED, None, reason=f"execution {status}")
            return
        phase = run.runner_phase
        if phase is not None:
            # A failed execution got past the runner's step, which ends once its task has.
            self._await_runner(execution_arn, run, phase, stopping=status != FAILED)
        if status == ABORTED:
            self._finisher.end(run, RunStatus.CANCELED, error=None, reason="execution aborted")
        else:
            what = "timed out" if status == TIMED_OUT else "failed"
            error = RunError(
                stage="workflow",
                message=f"The run's workflow {what} before the run was finished ({status}).",
            )
            self._finisher.end(run, RunStatus.ERRORED, error, reason=f"execution {status}")
        if phase is not None:  # a force-cancel while the runner was awaited is settled too
            self._runs.update(run.id, {}, remove=(AWAITING_RUNNER,))

    def sweep(self, ended: Iterable[tuple[str, str]]) -> int:
        """Reconcile the runs of ``ended`` executions (ARN, status) that are still open or
        still await their runner; how many there were. Other runs are left alone: the rule
        handled them."""
        ended = list(ended)
        unsettled = self._runs.unsettled([run_id_of(arn) for arn, _ in ended])
        reconciled = 0
        for execution_arn, status in ended:
            run_id = run_id_of(execution_arn)
            if run_id not in unsettled:
                continue
            logger.warning(
                "a run outlived its execution: reconciling",
                extra={"run_id": run_id, "execution_arn": execution_arn, "status": status},
            )
            self.reconcile(execution_arn, status)
            reconciled += 1
        return reconciled

    def _await_runner(self, execution_arn: str, run: Run, phase: Phase, stopping: bool) -> None:
        """Wait for a ``stopping`` runner's last word, its ``result.json``, until no task of
        the run is left or, at most, until ECS has surely killed it; then keep what an apply
        left: the runner's own last upload or, if it was killed, its last checkpoint
        (runner.checkpoint)."""
        if stopping:
            self._await_runner_end(execution_arn, result_key(run.id, phase))
        if phase is Phase.APPLY:
            self._states.record_if_written(run.workspace_id, run.id)

    def _await_runner_end(self, execution_arn: str, result: str) -> None:
        # A runner writes its result before it exits, and the result is looked for before
        # the tasks each time: the result of a runner that has ended is always seen.
        deadline = time.monotonic() + self._runner_wait_seconds
        seen_gone = False
        while time.monotonic() < deadline:
            if self._artifacts.wait_for(result, RUNNER_POLL_SECONDS):
                return
            gone = not self._runner_tasks.any_running(execution_arn)
            if gone and seen_gone:
                logger.info(
                    "no runner to wait for: its task has stopped, or never started",
                    extra={"execution_arn": execution_arn},
                )
                return
            seen_gone = gone

    def _awaited_phase(self, run: Run) -> Phase | None:
        awaited = self._runs.private(run.id).get(AWAITING_RUNNER)
        return None if awaited is None else Phase(str(awaited))
