"""A workflow step retried (docs/reliability.md): the workflow runs a step again when its
Lambda invocation failed for a reason outside the run, and the first attempt may have done its
writes before it failed. Each step, run a second time after its work, carries on from there;
what fails for good is explained in the run's error. tests/e2e/test_faults.py injects the same
faults into the real workflow."""

import inspect
import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from iacp.orchestration import workflow as workflow_module
from iacp.orchestration.steps import RunNotRunnable, StepInterrupted
from iacp.orchestration.workflow import ConfirmationInput, FailureInput, RunRef, StartInput
from iacp.runs.status import RunStatus
from iacp.services.machinery import RunMachinery
from local.functions import LambdaContext
from tests.integration.test_partial_state import applying, holder, new_run
from tests.runs_support import (
    apply_result,
    machinery_for,
    plan_result,
    upload_configuration,
)


@pytest.fixture
def machinery(aws) -> RunMachinery:
    return machinery_for(aws)


@pytest.fixture
def ws(aws, admin) -> str:
    workspace = str(admin.post("/workspaces", {"name": "retries"}).json()["id"])
    upload_configuration(admin, aws, workspace)
    return workspace


def state_versions(aws, ws: str) -> list[dict[str, Any]]:
    table = boto3.resource("dynamodb").Table(aws.refs["WorkspacesTable"])
    items = table.query(
        KeyConditionExpression="pk = :ws AND begins_with(sk, :sv)",
        ExpressionAttributeValues={":ws": ws, ":sv": "sv#"},
    )["Items"]
    return list(items)


def twice(step: Any, *args: Any) -> Any:
    """The step, then its retry: the first attempt's reply was lost."""
    step(*args)
    return step(*args)


def test_every_step_of_a_confirmed_apply_run_twice_ends_as_if_run_once(aws, admin, ws, machinery):
    run_id = new_run(admin, ws)
    waiting = new_run(admin, ws)
    workflow = machinery.run_workflow()
    ref = RunRef(run_id=run_id)
    arn = machinery.workflow.execution_arn(run_id)

    twice(workflow.start, StartInput(run_id=run_id, execution_arn=arn))
    runner = twice(workflow.start_plan, ref)
    assert (runner.phase, runner.timeout_seconds) == ("plan", 3600)
    plan_result(aws, run_id, has_changes=True, resource_additions=1)
    assert twice(workflow.record_plan, ref).next == "confirm"  # the lock is already its own
    workflow.await_confirmation(ConfirmationInput(run_id=run_id, task_token="first"))
    workflow.await_confirmation(ConfirmationInput(run_id=run_id, task_token="second"))
    assert machinery.runs.private(run_id)["confirmation_token"] == "second"  # waits on it now
    assert admin.post(f"/runs/{run_id}/actions/apply").status == 202
    twice(workflow.start_apply, ref)
    apply_result(aws, run_id, serial=1)
    twice(workflow.record_apply, ref)
    twice(workflow.finish, ref)

    run = admin.get(f"/runs/{run_id}").json()
    assert run["status"] == "applied", run["error"]
    assert run["error"] is None
    (version,) = state_versions(aws, ws)  # recorded once
    assert run["state_version_id"] == version["id"]
    assert holder(admin, ws) == (waiting, None)  # released once, and the next run started


def test_a_plan_that_finished_the_run_retried_finishes_it_once(aws, admin, ws, machinery):
    run_id = new_run(admin, ws, operation="plan_only")
    workflow = machinery.run_workflow()
    workflow.start(StartInput(run_id=run_id, execution_arn="arn:x"))
    workflow.start_plan(RunRef(run_id=run_id))
    plan_result(aws, run_id, has_changes=False)

    assert twice(workflow.record_plan, RunRef(run_id=run_id)).next == "finish"

    assert admin.get(f"/runs/{run_id}").json()["status"] == "planned_and_finished"


def test_a_retried_wait_for_confirmation_hears_an_answer_given_in_between(
    aws, admin, ws, machinery, monkeypatch
):
    """If Step Functions gives the retry a token of its own, the answer given to the first
    one is passed on to it; the same token is not answered twice."""
    resumed: list[tuple[str, dict[str, Any]]] = []

    def resume(token: str, output: dict[str, Any]) -> bool:
        resumed.append((token, output))
        return True

    monkeypatch.setattr(workflow_module, "resume", resume)
    run_id = new_run(admin, ws)
    workflow = machinery.run_workflow()
    workflow.start(StartInput(run_id=run_id, execution_arn="arn:x"))
    workflow.start_plan(RunRef(run_id=run_id))
    plan_result(aws, run_id, has_changes=True)
    workflow.record_plan(RunRef(run_id=run_id))
    workflow.await_confirmation(ConfirmationInput(run_id=run_id, task_token="first"))
    assert admin.post(f"/runs/{run_id}/actions/discard").status == 202

    workflow.await_confirmation(ConfirmationInput(run_id=run_id, task_token="first"))
    assert resumed == []  # the answer went to this very token
    workflow.await_confirmation(ConfirmationInput(run_id=run_id, task_token="second"))
    assert resumed == [("second", {"decision": "discard"})]


def test_a_start_by_another_execution_is_still_refused(aws, admin, ws, machinery):
    run_id = new_run(admin, ws)
    workflow = machinery.run_workflow()
    workflow.start(StartInput(run_id=run_id, execution_arn="arn:first"))

    with pytest.raises(RunNotRunnable, match="was started by another execution"):
        workflow.start(StartInput(run_id=run_id, execution_arn="arn:second"))


def test_a_step_cannot_move_a_run_that_went_elsewhere(aws, admin, ws, machinery):
    run_id = new_run(admin, ws)
    workflow = machinery.run_workflow()
    workflow.start(StartInput(run_id=run_id, execution_arn="arn:x"))
    run = machinery.runs.get(run_id)
    assert run is not None
    machinery.finisher.end(run, RunStatus.CANCELED, None, "a cancel")

    with pytest.raises(RunNotRunnable, match="is canceled; it cannot become planning"):
        workflow.start_plan(RunRef(run_id=run_id))


# --- the workflow function: what it raises ----------------------------------------------


THROTTLED = ClientError(
    {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "Rate exceeded"}},
    "UpdateItem",
)


def test_an_aws_error_in_a_step_is_raised_as_step_interrupted_naming_it(
    aws, admin, ws, handlers, monkeypatch
):
    """The one error name the workflow's Retry matches; a run's own failure keeps its name."""
    module = inspect.unwrap(handlers["WorkflowFunction"]).__globals__
    run_id = new_run(admin, ws)

    def throttled(*args: Any, **kwargs: Any) -> Any:
        raise THROTTLED

    monkeypatch.setattr(module["workflow"]._runs, "transition", throttled)
    event = {"step": "start", "run_id": run_id, "execution_arn": "arn:x"}
    with pytest.raises(StepInterrupted) as raised:
        handlers["WorkflowFunction"](event, _context())
    assert str(raised.value) == (
        "The workflow step start did not finish (ClientError: An error occurred "
        "(ProvisionedThroughputExceededException) when calling the UpdateItem operation: "
        "Rate exceeded)."
    )

    monkeypatch.undo()
    with pytest.raises(RunNotRunnable):  # not retried: a step that cannot do its part
        handlers["WorkflowFunction"]({"step": "start_plan", "run_id": "run-none"}, _context())


def _context() -> LambdaContext:
    return LambdaContext("WorkflowFunction")


# --- what a step that failed for good leaves -------------------------------------------


def failed(machinery: RunMachinery, run_id: str, error: str, cause: Any) -> None:
    cause_text = cause if isinstance(cause, str) else json.dumps(cause)
    machinery.run_workflow().handle_failure(
        FailureInput(run_id=run_id, error={"Error": error, "Cause": cause_text})
    )


def planning(admin, ws: str, machinery: RunMachinery) -> str:
    run_id = new_run(admin, ws)
    workflow = machinery.run_workflow()
    workflow.start(StartInput(run_id=run_id, execution_arn="arn:x"))
    workflow.start_plan(RunRef(run_id=run_id))
    return run_id


@pytest.mark.parametrize(
    ("error", "cause", "stage", "message"),
    [
        (
            "StepInterrupted",
            {"errorMessage": "The workflow step record_plan did not finish (ClientError: x)."},
            "workflow",
            "The workflow step record_plan did not finish (ClientError: x).",
        ),
        (
            "Sandbox.Timedout",
            {"errorType": "Sandbox.Timedout", "errorMessage": "Task timed out after 45.00 s"},
            "workflow",
            "A workflow step failed (Sandbox.Timedout): Task timed out after 45.00 s",
        ),
        (
            "AmazonECS.Unknown",
            {"Tasks": [], "Failures": [{"Arn": "td", "Reason": "Capacity is unavailable"}]},
            "plan",
            "ECS could not start the runner's task for the plan phase (Capacity is unavailable).",
        ),
        (
            "States.TaskFailed",
            {
                "Containers": [{"ExitCode": None}],
                "StopCode": "TaskFailedToStart",
                "StoppedReason": "CannotPullContainerError: pull access denied",
            },
            "plan",
            "The runner's task for the plan phase did not start "
            "(CannotPullContainerError: pull access denied).",
        ),
    ],
)
def test_a_step_that_failed_for_good_errors_the_run_naming_the_cause(
    aws, admin, ws, machinery, error, cause, stage, message
):
    run_id = planning(admin, ws, machinery)
    waiting = new_run(admin, ws)

    failed(machinery, run_id, error, cause)

    run = admin.get(f"/runs/{run_id}").json()
    assert run["status"] == "errored"
    assert run["error"] == {"stage": stage, "message": message}
    assert holder(admin, ws) == (waiting, None)


def test_a_state_not_recorded_for_good_is_kept_as_a_partial_state_version(
    aws, admin, ws, machinery
):
    """record_apply interrupted (S3 or DynamoDB failing) on every try: what the apply wrote is
    recorded by the failure handler, marked partial, before the workspace is given back."""
    run_id = applying(aws, admin, ws, machinery)
    waiting = new_run(admin, ws)
    apply_result(aws, run_id, serial=3)

    message = "The workflow step record_apply did not finish (ClientError: throttled)."
    failed(machinery, run_id, "StepInterrupted", {"errorMessage": message})

    run = admin.get(f"/runs/{run_id}").json()
    assert (run["status"], run["error"]["message"]) == ("errored", message)
    state = admin.get(f"/workspaces/{ws}/current-state-version").json()
    assert (state["run_id"], state["serial"], state["partial"]) == (run_id, 3, True)
    assert holder(admin, ws) == (waiting, None)


def test_a_phase_past_its_time_limit_ends_the_run_but_keeps_the_workspace_for_its_runner(
    aws, admin, ws, machinery
):
    """The step's TimeoutSecondsPath fired (a lost task end, or a runner that hangs): the run
    errors at once, and the workspace is given back by the reconcile of the failed execution
    once the runner has reported, with what its apply wrote recorded."""
    run_id = applying(aws, admin, ws, machinery)
    waiting = new_run(admin, ws)

    failed(machinery, run_id, "States.Timeout", "State timed out.")

    run = admin.get(f"/runs/{run_id}").json()
    assert run["status"] == "errored"
    assert run["error"] == {
        "stage": "apply",
        "message": "The apply phase ran longer than its limit of 3600 s "
        "(RunnerPhaseTimeoutSeconds) and was stopped.",
    }
    assert holder(admin, ws) == (run_id, run_id)  # its runner is still being stopped
    # The stopped runner saves what Terraform wrote and reports; the execution has FAILED.
    apply_result(aws, run_id, serial=2, status="canceled")
    machinery.reconciler().reconcile(machinery.workflow.execution_arn(run_id), "FAILED")

    state = admin.get(f"/workspaces/{ws}/current-state-version").json()
    assert (state["run_id"], state["serial"], state["partial"]) == (run_id, 2, True)
    assert holder(admin, ws) == (waiting, None)
    assert admin.get(f"/runs/{run_id}").json()["status"] == "errored"  # unchanged
