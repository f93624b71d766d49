"""Reconciling a run whose workflow execution ended without ending the run (design §7).

The workflow normally ends its run itself. When the execution is stopped (a cancel), fails in
a way its own failure handler could not record, or times out, a rule on the workflow's status
changes calls this: the run becomes ``canceled`` or ``errored``, a canceled apply's partial
state is kept, and the lock and queue are released. A run that already ended is only checked
for anything it still holds.

The rule's event can be lost (its retries and dead-letter queue exhausted, the rule disabled
during a deployment); the periodic sweep then finds the executions that ended recently and
reconciles their runs that are still open.
"""

from collections.abc import Iterable

from iacp.observability import logger
from iacp.runs.artifacts import RunArtifacts, result_key
from iacp.runs.finish import RunFinisher
from iacp.runs.models import Phase, RunError
from iacp.runs.status import RunStatus
from iacp.runs.store import RunStore
from iacp.states.service import StateService

ABORTED, FAILED, TIMED_OUT = "ABORTED", "FAILED", "TIMED_OUT"
RUNNER_STOP_TIMEOUT_SECONDS = 120  # the runner task's stopTimeout (Fargate's maximum)


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
    ):
        self._runs = runs
        self._states = states
        self._artifacts = artifacts
        self._finisher = finisher

    def reconcile(self, execution_arn: str, status: str) -> None:
        run = self._runs.get(run_id_of(execution_arn))
        if run is None:
            logger.warning("execution of an unknown run", extra={"execution_arn": execution_arn})
            return
        if run.status.terminal:
            self._finisher.release(run)
            return
        if run.apply_recorded:  # stopped in post_apply: the apply itself is done
            self._finisher.end(run, RunStatus.APPLIED, None, reason=f"execution {status}")
            return
        if status == ABORTED:
            if run.status is RunStatus.APPLYING:
                self._keep_partial_state(run.workspace_id, run.id)
            self._finisher.end(run, RunStatus.CANCELED, error=None, reason="execution aborted")
            return
        what = "timed out" if status == TIMED_OUT else "failed"
        error = RunError(
            stage="workflow",
            message=f"The run's workflow {what} before the run was finished ({status}).",
        )
        self._finisher.end(run, RunStatus.ERRORED, error, reason=f"execution {status}")

    def sweep(self, ended: Iterable[tuple[str, str]]) -> int:
        """Reconcile the runs of ``ended`` executions (ARN, status) that are still open;
        how many there were. Runs already ended are left alone: the rule handled them."""
        reconciled = 0
        for execution_arn, status in ended:
            run = self._runs.get(run_id_of(execution_arn))
            if run is None or run.status.terminal:
                continue
            logger.warning(
                "a run outlived its execution: reconciling",
                extra={"run_id": run.id, "execution_arn": execution_arn, "status": status},
            )
            self.reconcile(execution_arn, status)
            reconciled += 1
        return reconciled

    def _keep_partial_state(self, workspace_id: str, run_id: str) -> None:
        """The execution ends the moment it is stopped, while the runner is still interrupting
        Terraform and saving its state; its ``result.json`` comes last, so wait for it (at
        most the task's stop timeout) before looking for the state."""
        self._artifacts.wait_for(result_key(run_id, Phase.APPLY), RUNNER_STOP_TIMEOUT_SECONDS)
        self._states.record_if_written(workspace_id, run_id)
