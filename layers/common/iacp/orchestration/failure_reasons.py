"""Why a run failed, in words its user can act on: the run's error, made from what the run
workflow's Catch caught when a step failed. In order: a step's own error (a ``StepFailed``
subclass, which names its stage), the runner's report of its phase (``result.json``), and
what ECS or Lambda says about a runner that left none."""

import json
from collections.abc import Callable
from typing import Any

from iacp.orchestration.steps import STEP_ERRORS
from iacp.runs.models import Run
from iacp.runs.phase import Phase, PhaseResult, PhaseStatus, RunError
from iacp.runs.status import RunStatus

# What the workflow's RunnerFunctionFailed adds to the error of a phase that ran in the
# runner's Lambda function, and the errors that function raises (runner/lambda_handler.py).
LAMBDA_EXECUTOR = "lambda"
LAMBDA_PHASE_FAILED = "RunnerPhaseFailed"
LAMBDA_PHASE_TIMED_OUT = "RunnerPhaseTimedOut"

ResultOf = Callable[[Phase], PhaseResult | None]
"""The runner's report of one of the run's phases, if it left one."""
PhaseLimit = Callable[[], tuple[int, str]]
"""How long a phase of the run's workspace may run, and the setting that says so."""


def went_on_to_apply(run: Run, planned: PhaseResult | None) -> bool:
    """Whether a run's plan task that applies too had gone on to the apply: its plan
    succeeded with changes (the runner applies next, in the same process)."""
    return (
        run.applies_in_plan_task
        and run.status is RunStatus.PLANNING
        and planned is not None
        and planned.status is PhaseStatus.SUCCEEDED
        and planned.has_changes
    )


def explain_failure(
    run: Run, caught: dict[str, Any], result_of: ResultOf, phase_limit: PhaseLimit
) -> RunError:
    """The run's error from what the workflow caught (``{"Error", "Cause"}``, and
    ``"executor"`` when the phase ran in Lambda)."""
    name = str(caught.get("Error", ""))
    cause = _json(caught.get("Cause"))
    if caught.get("executor") == LAMBDA_EXECUTOR:
        return _explain_lambda(run, name, cause, result_of, phase_limit)
    if name in STEP_ERRORS:
        return RunError(stage=STEP_ERRORS[name].stage, message=str(cause.get("errorMessage", name)))
    if "errorMessage" in cause:  # a Lambda step that failed on its own (e.g. timed out)
        return RunError(
            stage="workflow",
            message=f"A workflow step failed ({name}): {cause['errorMessage']}",
        )
    running = {RunStatus.APPLYING: Phase.APPLY, RunStatus.FETCHING: Phase.FETCH}
    phase, result = _failed_phase(run, running.get(run.status, Phase.PLAN), result_of)
    if result is not None and result.error is not None:
        return result.error
    failures = cause.get("Failures") or cause.get("failures")
    if failures:  # RunTask started nothing, even when retried (AmazonECS.Unknown)
        reasons = "; ".join(str(f.get("Reason") or f.get("reason")) for f in failures)
        return RunError(
            stage=phase.value,
            message=f"ECS could not start the runner's task for the {phase} phase ({reasons}).",
        )
    containers = cause.get("Containers") or cause.get("containers") or [{}]
    exit_code = containers[0].get("ExitCode", containers[0].get("exitCode"))
    reason = cause.get("StoppedReason") or cause.get("stoppedReason") or name or "unknown"
    if (cause.get("StopCode") or cause.get("stopCode")) == "TaskFailedToStart":
        return RunError(
            stage=phase.value,
            message=f"The runner's task for the {phase} phase did not start ({reason}).",
        )
    return RunError(
        stage=phase.value,
        message=(
            f"The runner stopped without reporting a result (exit code {exit_code}, "
            f"{reason}). The {phase} log has what it printed."
        ),
    )


def _explain_lambda(
    run: Run, name: str, cause: dict[str, Any], result_of: ResultOf, phase_limit: PhaseLimit
) -> RunError:
    """A phase in the runner's Lambda function failed: the function has ended, and with it
    the runner (runner/lambda_handler.py), so what the runner reported is final."""
    phase, result = _failed_phase(
        run, Phase.APPLY if run.status is RunStatus.APPLYING else Phase.PLAN, result_of
    )
    said = str(cause.get("errorMessage") or name or "unknown")
    if name == LAMBDA_PHASE_TIMED_OUT:  # the runner was stopped as a cancel stops it
        limit, named = phase_limit()
        return RunError(
            stage=phase.value,
            message=(
                f"The {phase} phase ran longer than its limit of {limit} s ({named}) in "
                "Lambda and was stopped; what Terraform wrote was kept."
            ),
        )
    if result is not None and result.error is not None:
        return result.error
    if name == LAMBDA_PHASE_FAILED:
        return RunError(
            stage=phase.value, message=f"{said} It left no result; the {phase} log has more."
        )
    return RunError(
        stage=phase.value,
        message=f"The runner's Lambda function failed in the {phase} phase ({name}): {said}",
    )


def _failed_phase(run: Run, phase: Phase, result_of: ResultOf) -> tuple[Phase, PhaseResult | None]:
    """The phase that failed, the run's status says which, and the runner's report of it; a
    plan task whose plan succeeded had gone on to the apply in the same task, and it is the
    apply that failed (or died, or ran out of time)."""
    result = result_of(phase)
    if phase is Phase.PLAN and went_on_to_apply(run, result):
        return Phase.APPLY, result_of(Phase.APPLY)
    return phase, result


def _json(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value) if isinstance(value, str) else {}
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
