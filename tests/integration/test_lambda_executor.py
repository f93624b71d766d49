"""The lambda executor in the workflow's steps: the runner input names the workspace's
executor and its phase limit, and a phase that failed or ran out of time in the runner's
Lambda function ends the run as a failed ECS phase does (docs/run-pipeline.md, "Executors")."""

import json
from typing import Any

import pytest

from iacp.orchestration.workflow import FailureInput, RunRef
from iacp.services.machinery import RunMachinery
from iacp.settings import WorkflowSettings
from tests.runs_support import apply_result, plan_result, started, upload_configuration


@pytest.fixture
def machinery(aws) -> RunMachinery:
    return RunMachinery.build(WorkflowSettings.model_validate(aws.environment("WorkflowFunction")))


def workspace(aws, admin, **settings: Any) -> str:
    reply = admin.post("/workspaces", {"name": f"ws-{len(settings)}-{id(settings)}", **settings})
    assert reply.status == 201, reply.body
    ws = str(reply.json()["id"])
    upload_configuration(admin, aws, ws)
    return ws


def new_run(admin, ws: str, **body: Any) -> str:
    reply = admin.post(f"/workspaces/{ws}/runs", body)
    assert reply.status == 201, reply.body
    return str(reply.json()["id"])


def lambda_error(name: str, message: str) -> dict[str, Any]:
    """What the workflow's RunnerFunctionFailed hands HandleFailure: the Catch's error of
    the Lambda invocation, marked as the lambda executor's."""
    cause = json.dumps({"errorType": name, "errorMessage": message, "stackTrace": []})
    return {"Error": name, "Cause": cause, "executor": "lambda"}


@pytest.mark.parametrize(
    ("settings", "execution", "limit"),
    [
        ({}, "fargate", 3600),  # RunnerPhaseTimeoutSeconds
        ({"phase_timeout_seconds": 1800}, "fargate", 1800),
        ({"execution": "lambda"}, "lambda", 600),  # LambdaRunnerTimeoutSeconds
        ({"execution": "lambda", "phase_timeout_seconds": 120}, "lambda", 120),
    ],
)
def test_the_runner_input_names_the_executor_and_the_phase_limit(
    aws, admin, machinery, settings, execution, limit
):
    run_id = new_run(admin, workspace(aws, admin, **settings), auto_apply=True)
    workflow = machinery.run_workflow()
    started(machinery, run_id)
    plan = workflow.start_plan(RunRef(run_id=run_id))  # a retry of the step: the same input
    plan_result(aws, run_id, has_changes=True)
    workflow.record_plan(RunRef(run_id=run_id))
    apply = workflow.start_apply(RunRef(run_id=run_id))

    assert (plan.execution, plan.timeout_seconds) == (execution, limit)
    assert (apply.execution, apply.timeout_seconds) == (execution, limit)


def test_a_lambda_plan_that_failed_errors_the_run_with_the_runners_message(aws, admin, machinery):
    ws = workspace(aws, admin, execution="lambda")
    run_id = new_run(admin, ws)
    waiting = new_run(admin, ws)
    started(machinery, run_id)
    plan_result(
        aws, run_id, status="failed", error={"stage": "plan", "message": "Error: Invalid syntax"}
    )

    machinery.run_workflow().handle_failure(
        FailureInput(
            run_id=run_id,
            error=lambda_error("RunnerPhaseFailed", "The runner ended the plan phase with 1."),
        )
    )

    run = admin.get(f"/runs/{run_id}").json()
    assert run["status"] == "errored"
    assert run["error"] == {"stage": "plan", "message": "Error: Invalid syntax"}
    assert admin.get(f"/workspaces/{ws}").json()["current_run_id"] == waiting


def test_a_lambda_apply_that_ran_out_of_time_errors_and_keeps_its_partial_state(
    aws, admin, machinery
):
    ws = workspace(aws, admin, execution="lambda", phase_timeout_seconds=300)
    run_id = new_run(admin, ws, auto_apply=True)
    workflow = machinery.run_workflow()
    started(machinery, run_id)
    plan_result(aws, run_id, has_changes=True)
    workflow.record_plan(RunRef(run_id=run_id))
    workflow.start_apply(RunRef(run_id=run_id))
    # The function stopped its runner at the deadline: a canceled apply, its state uploaded.
    apply_result(aws, run_id, serial=1, status="canceled", state_uploaded=True)
    said = "The apply phase ran longer than its limit of 300 s in Lambda and was stopped."

    workflow.handle_failure(
        FailureInput(run_id=run_id, error=lambda_error("RunnerPhaseTimedOut", said))
    )

    run = admin.get(f"/runs/{run_id}").json()
    assert run["status"] == "errored"
    assert run["error"] == {
        "stage": "apply",
        "message": "The apply phase ran longer than its limit of 300 s (the workspace's "
        "phase_timeout_seconds) in Lambda and was stopped; what Terraform wrote was kept.",
    }
    state = admin.get(f"/workspaces/{ws}/current-state-version").json()
    assert state["partial"] is True and state["run_id"] == run_id
    after = admin.get(f"/workspaces/{ws}").json()
    assert after["locked"] is False and after["current_run_id"] is None


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Sandbox.Timedout", "Task timed out after 900.00 seconds"),
        ("Lambda.ServiceException", "Lambda was unable to start the function"),
    ],
)
def test_a_lambda_function_that_failed_without_a_result_is_explained_as_lambdas(
    aws, admin, machinery, name, message
):
    ws = workspace(aws, admin, execution="lambda")
    run_id = new_run(admin, ws)
    started(machinery, run_id)

    machinery.run_workflow().handle_failure(
        FailureInput(run_id=run_id, error=lambda_error(name, message))
    )

    run = admin.get(f"/runs/{run_id}").json()
    assert run["status"] == "errored"
    assert run["error"] == {
        "stage": "plan",
        "message": f"The runner's Lambda function failed in the plan phase ({name}): {message}",
    }
    assert admin.get(f"/workspaces/{ws}").json()["current_run_id"] is None
