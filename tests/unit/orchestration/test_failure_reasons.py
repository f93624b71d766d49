"""iacp.orchestration.failure_reasons: the error a failed run shows, from what the workflow
caught, in the order a user needs it: the step's own words, then the runner's report, then
what ECS or Lambda says about a runner that left none."""

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from iacp.orchestration.failure_reasons import explain_failure
from iacp.orchestration.steps import LockFailed
from iacp.runs.models import Run
from iacp.runs.phase import Phase, PhaseResult, PhaseStatus, RunError
from iacp.runs.status import RunStatus
from tests.fakes.runs import pending_run

AT = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
LIMIT = (600, "LambdaRunnerTimeoutSeconds")


def a_run(status: RunStatus, **fields: Any) -> Run:
    return pending_run(AT).model_copy(update={"status": status, **fields})


def explained(
    run: Run, caught: dict[str, Any], results: dict[Phase, PhaseResult] | None = None
) -> RunError:
    return explain_failure(run, caught, result_of=(results or {}).get, phase_limit=lambda: LIMIT)


def cause(**fields: Any) -> str:
    return json.dumps(fields)  # Step Functions hands the Cause over as a JSON string


def test_a_steps_own_error_names_its_stage_and_says_its_message():
    caught = {"Error": LockFailed.__name__, "Cause": cause(errorMessage="Workspace is locked.")}

    error = explained(a_run(RunStatus.PLANNING), caught)

    assert error.message == "Workspace is locked."
    assert error.stage == LockFailed.stage


def test_a_lambda_step_that_failed_on_its_own_is_the_workflows():
    caught = {"Error": "Sandbox.Timedout", "Cause": cause(errorMessage="Task timed out")}

    error = explained(a_run(RunStatus.PLANNING), caught)

    assert error == RunError(
        stage="workflow", message="A workflow step failed (Sandbox.Timedout): Task timed out"
    )


def test_the_runners_report_comes_before_what_ecs_says():
    reported = RunError(stage="plan", message="Error: Unsupported argument")
    results = {Phase.PLAN: PhaseResult(phase=Phase.PLAN, status=PhaseStatus.FAILED, error=reported)}
    caught = {"Error": "States.TaskFailed", "Cause": cause(StoppedReason="Essential container")}

    assert explained(a_run(RunStatus.PLANNING), caught, results) == reported


def test_a_plan_task_that_had_gone_on_to_apply_is_explained_by_its_apply():
    planned = PhaseResult(phase=Phase.PLAN, has_changes=True)
    failed = RunError(stage="apply", message="Error: creating bucket")
    results = {
        Phase.PLAN: planned,
        Phase.APPLY: PhaseResult(phase=Phase.APPLY, status=PhaseStatus.FAILED, error=failed),
    }
    run = a_run(RunStatus.PLANNING, applies_in_plan_task=True)

    assert explained(run, {"Error": "States.TaskFailed", "Cause": cause()}, results) == failed


@pytest.mark.parametrize(
    ("ecs", "said"),
    [
        (
            {"Failures": [{"Reason": "RESOURCE:MEMORY"}]},
            "ECS could not start the runner's task for the apply phase (RESOURCE:MEMORY).",
        ),
        (
            {"StopCode": "TaskFailedToStart", "StoppedReason": "CannotPullContainerError"},
            "The runner's task for the apply phase did not start (CannotPullContainerError).",
        ),
        (
            {"Containers": [{"ExitCode": 137}], "StoppedReason": "OutOfMemoryError"},
            "The runner stopped without reporting a result (exit code 137, OutOfMemoryError)."
            " The apply log has what it printed.",
        ),
    ],
)
def test_a_runner_that_left_no_report_is_explained_from_ecs(ecs, said):
    caught = {"Error": "States.TaskFailed", "Cause": cause(**ecs)}

    assert explained(a_run(RunStatus.APPLYING), caught) == RunError(stage="apply", message=said)


def test_a_lambda_phase_past_its_limit_names_the_limit_and_the_setting():
    caught = {"Error": "RunnerPhaseTimedOut", "Cause": cause(), "executor": "lambda"}

    error = explained(a_run(RunStatus.PLANNING), caught)

    assert error == RunError(
        stage="plan",
        message="The plan phase ran longer than its limit of 600 s (LambdaRunnerTimeoutSeconds)"
        " in Lambda and was stopped; what Terraform wrote was kept.",
    )


def test_a_lambda_phase_that_failed_without_a_report_says_where_to_look():
    caught = {
        "Error": "RunnerPhaseFailed",
        "Cause": cause(errorMessage="The runner ended the apply phase with exit code 1."),
        "executor": "lambda",
    }

    error = explained(a_run(RunStatus.APPLYING), caught)

    assert error == RunError(
        stage="apply",
        message="The runner ended the apply phase with exit code 1. It left no result; the"
        " apply log has more.",
    )


def test_a_cause_that_is_not_json_is_read_as_none():
    error = explained(a_run(RunStatus.PLANNING), {"Error": "States.Runtime", "Cause": "{oops"})

    assert error.stage == "plan"
    assert "exit code None, States.Runtime" in error.message
