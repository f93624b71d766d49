"""What every step of the run workflow shares, the run's own steps (``workflow``) and its
run-task stages (``task_stages``): how a step fails, and how it moves the run.

A step that cannot do its part raises a ``StepFailed`` subclass; the workflow's Catch matches
it by name (``STEP_ERRORS``) and passes it to the failure handler, which makes it the run's
error.
"""

from datetime import datetime
from typing import Any, ClassVar

from iacp.runs.models import Run
from iacp.runs.status import InvalidTransition, RunStatus
from iacp.runs.store import RunStore


class StepFailed(Exception):
    stage: ClassVar[str] = "workflow"


class LockFailed(StepFailed):
    stage = "lock"


class StateNotSaved(StepFailed):
    stage = "state"


class ResultMissing(StepFailed):
    stage = "runner"


class RunNotRunnable(StepFailed):
    stage = "workflow"


class StepInterrupted(StepFailed):
    """A step that did not finish for a reason outside the run (an AWS error, throttling): the
    workflow retries it (every step is safe to run again); after the last retry the run errors
    with this message."""

    stage = "workflow"

    @classmethod
    def of(cls, step: str, error: Exception) -> "StepInterrupted":
        what = f"{type(error).__name__}: {error}"
        return cls(f"The workflow step {step} did not finish ({what[:300]}).")


STEP_ERRORS: dict[str, type[StepFailed]] = {
    cls.__name__: cls
    for cls in (
        StepFailed,
        LockFailed,
        StateNotSaved,
        ResultMissing,
        RunNotRunnable,
        StepInterrupted,
    )
}


def advance(
    runs: RunStore,
    run_id: str,
    to: RunStatus,
    at: datetime,
    fields: dict[str, Any] | None = None,
    remove: tuple[str, ...] = (),
) -> Run:
    """A workflow step's move of the run to ``to``. A run already there is a retry of the
    step, done before: it carries on; a run anywhere else cannot go on (it ended meanwhile:
    canceled, errored)."""
    try:
        return runs.transition(run_id, to, at, fields, remove)
    except InvalidTransition as refused:
        if refused.current is not to:
            raise RunNotRunnable(refused.detail) from None
    run = runs.get(run_id)
    if run is None:
        raise RunNotRunnable(f"No run {run_id}.")
    return run
