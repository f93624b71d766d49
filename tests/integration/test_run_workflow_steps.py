"""The workflow's steps on their own: what the state machine's Lambda steps decide and record,
given the files the runner leaves in S3 (docs/run-pipeline.md). The end-to-end tests run the
same steps through the real workflow with real Terraform."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from cryptography.exceptions import InvalidTag

from iacp.aws import stepfunctions_client, sts_client
from iacp.orchestration.steps import LockFailed, StateNotSaved
from iacp.orchestration.workflow import ConfirmationInput, FailureInput, RunRef, StartInput
from iacp.orchestration.workflow_client import LONGEST_EXECUTION, WorkflowClient
from iacp.runs.phase import PlanOptions
from iacp.services.machinery import RunMachinery
from iacp.settings import WorkflowSettings
from iacp.variables.handoff import open_variables, variables_key
from tests.runs_support import apply_result, plan_result, started, upload_configuration


@pytest.fixture
def machinery(aws) -> RunMachinery:
    return RunMachinery.build(WorkflowSettings.model_validate(aws.environment("WorkflowFunction")))


@pytest.fixture
def ws(aws, admin) -> str:
    workspace = str(admin.post("/workspaces", {"name": "steps"}).json()["id"])
    upload_configuration(admin, aws, workspace)
    return workspace


MINUTE = timedelta(minutes=1)


def new_run(admin, ws: str, **body: Any) -> str:
    reply = admin.post(f"/workspaces/{ws}/runs", body)
    assert reply.status == 201, reply.body
    return str(reply.json()["id"])


def status(admin, run_id: str) -> str:
    return str(admin.get(f"/runs/{run_id}").json()["status"])


def test_start_then_start_plan_mark_the_run_and_give_the_runner_its_settings(
    aws, admin, ws, machinery
):
    run_id = new_run(admin, ws)

    machinery.run_workflow().start(StartInput(run_id=run_id, execution_arn="arn:x"))
    assert status(admin, run_id) == "fetching"
    runner = machinery.run_workflow().start_plan(RunRef(run_id=run_id))

    assert status(admin, run_id) == "planning"
    assert runner.phase == "plan"
    assert runner.configuration_key.startswith(f"configurations/{ws}/cv-")
    assert runner.state_key == ""  # no state yet
    assert runner.terraform_version == ""  # the workspace has none: the runner's own


def test_the_runner_is_handed_the_runs_plan_options(aws, admin, ws, machinery):
    options = {"is_destroy": True, "refresh": False, "target_addrs": ["terraform_data.a[0]"]}
    run_id = new_run(admin, ws, **options)
    machinery.run_workflow().start(StartInput(run_id=run_id, execution_arn="arn:x"))

    runner = machinery.run_workflow().start_plan(RunRef(run_id=run_id))

    # As the runner reads IACP_PLAN_OPTIONS (runner/settings.py).
    assert PlanOptions.model_validate_json(runner.plan_options) == PlanOptions(**options)


def test_each_phase_gets_credentials_narrowed_to_its_run_and_its_variables_sealed(
    aws, admin, ws, machinery
):
    """The runner is handed session credentials minted with the phase's session policy and
    tags (iacp.isolation), the workspace's role, and a key to its sealed variables, which
    open to the workspace's variables and nothing else (docs/security.md)."""
    role = "arn:aws:iam::444455556666:role/teams/networking"
    patched = {"aws_role_arn": role, "aws_external_id": "ext-123", "aws_session_duration": 1800}
    assert admin.patch(f"/workspaces/{ws}", patched).status == 200
    variable = {"key": "password", "value": "hunter2-hunter2", "sensitive": True}
    assert admin.post(f"/workspaces/{ws}/vars", variable | {"category": "terraform"}).status == 201
    minted: list[dict[str, Any]] = []
    record, event = _record_into(minted), "provide-client-params.sts.AssumeRole"
    run_id = new_run(admin, ws)
    machinery.run_workflow().start(StartInput(run_id=run_id, execution_arn="arn:x"))

    sts_client().meta.events.register(event, record)
    try:
        runner = machinery.run_workflow().start_plan(RunRef(run_id=run_id))
    finally:
        sts_client().meta.events.unregister(event, record)

    assert runner.aws_access_key_id and runner.aws_secret_access_key and runner.aws_session_token
    (call,) = minted
    assert call["RoleArn"] == aws.get_att("RunnerSessionRole", "Arn")
    assert call["RoleSessionName"] == f"{run_id}-plan"
    tags = {tag["Key"]: tag["Value"] for tag in call["Tags"]}
    assert tags == {"iacp-run": run_id, "iacp-workspace": ws, "iacp-phase": "plan"}
    policy = json.loads(call["Policy"])
    resources = {r for statement in policy["Statement"] for r in statement["Resource"]}
    assert f"arn:aws:s3:::{aws.refs['ArtifactsBucket']}/{runner.configuration_key}" in resources
    assert role in resources
    assert all(ws in r or run_id in r or r == role for r in resources), resources
    assert (runner.workspace_role_arn, runner.workspace_role_external_id) == (role, "ext-123")
    assert runner.workspace_role_session_seconds == "1800"
    at = variables_key(run_id, "plan")
    sealed = boto3.client("s3").get_object(Bucket=aws.refs["ArtifactsBucket"], Key=at)
    body = sealed["Body"].read()
    assert b"hunter2" not in body
    opened = open_variables(body, runner.variables_key, bound_to=at)
    assert [(v.key, v.value, v.sensitive) for v in opened] == [
        ("password", "hunter2-hunter2", True)
    ]
    with pytest.raises(InvalidTag):  # a copy under another phase's key does not open
        open_variables(body, runner.variables_key, bound_to=variables_key(run_id, "apply"))


def test_a_runs_own_variables_reach_its_runner_sealed_over_the_workspaces(
    aws, admin, ws, machinery
):
    """Run variables (HCP's): the run keeps them sealed, shows only their keys, never puts
    them in the workspace, and its runner gets them as sensitive Terraform variables, each
    overriding the workspace's variable of the same key."""
    for key, value in (("region", "eu-west-1"), ("size", "small")):
        body = {"key": key, "value": value, "category": "terraform"}
        assert admin.post(f"/workspaces/{ws}/vars", body).status == 201
    variables = [
        {"key": "size", "value": "large-size-9f3a"},
        {"key": "tags", "value": '{ team = "net" }', "hcl": True},
    ]
    run_id = new_run(admin, ws, variables=variables)
    machinery.run_workflow().start(StartInput(run_id=run_id, execution_arn="arn:x"))

    runner = machinery.run_workflow().start_plan(RunRef(run_id=run_id))

    shown = admin.get(f"/runs/{run_id}")
    assert shown.json()["variable_keys"] == ["size", "tags"]
    assert "large-size-9f3a" not in shown.body
    listed = admin.get(f"/workspaces/{ws}/vars").json()["items"]
    assert {(v["key"], v["value"]) for v in listed} == {("region", "eu-west-1"), ("size", "small")}
    item = boto3.resource("dynamodb").Table(aws.refs["RunsTable"]).get_item(Key={"id": run_id})
    assert "large-size-9f3a" not in json.dumps(item["Item"], default=str)
    at = variables_key(run_id, "plan")
    sealed = boto3.client("s3").get_object(Bucket=aws.refs["ArtifactsBucket"], Key=at)
    opened = open_variables(sealed["Body"].read(), runner.variables_key, bound_to=at)
    assert sorted((v.key, v.value, v.hcl, v.sensitive) for v in opened) == [
        ("region", "eu-west-1", False, False),
        ("size", "large-size-9f3a", False, True),
        ("tags", '{ team = "net" }', True, True),
    ]


def _record_into(calls: list[dict[str, Any]]) -> Any:
    def record(params: dict[str, Any], **_: Any) -> None:
        calls.append(dict(params))

    return record


def test_the_runner_is_told_the_workspaces_terraform_version_for_both_phases(
    aws, admin, ws, machinery
):
    assert admin.patch(f"/workspaces/{ws}", {"terraform_version": "1.9.8"}).status == 200
    run_id = new_run(admin, ws, auto_apply=True)
    machinery.run_workflow().start(StartInput(run_id=run_id, execution_arn="arn:x"))

    plan = machinery.run_workflow().start_plan(RunRef(run_id=run_id))
    plan_result(aws, run_id, has_changes=True, resource_additions=1)
    machinery.run_workflow().record_plan(RunRef(run_id=run_id))
    apply = machinery.run_workflow().start_apply(RunRef(run_id=run_id))

    assert (plan.terraform_version, apply.terraform_version) == ("1.9.8", "1.9.8")


def test_a_plan_without_changes_finishes_the_run(aws, admin, ws, machinery):
    run_id = new_run(admin, ws)
    started(machinery, run_id)
    plan_result(aws, run_id, has_changes=False, resource_additions=0)

    decision = machinery.run_workflow().record_plan(RunRef(run_id=run_id))
    machinery.run_workflow().finish(RunRef(run_id=run_id))

    assert decision.next == "finish"
    run = admin.get(f"/runs/{run_id}").json()
    assert run["status"] == "planned_and_finished"
    assert run["has_changes"] is False
    workspace = admin.get(f"/workspaces/{ws}").json()
    assert workspace["locked"] is False
    assert workspace["current_run_id"] is None


def test_a_plan_only_run_finishes_without_locking(aws, admin, ws, machinery):
    run_id = new_run(admin, ws, operation="plan_only")
    started(machinery, run_id)
    plan_result(aws, run_id, has_changes=True, resource_additions=1)

    decision = machinery.run_workflow().record_plan(RunRef(run_id=run_id))

    assert decision.next == "finish"
    assert status(admin, run_id) == "planned_and_finished"
    assert admin.get(f"/workspaces/{ws}").json()["locked"] is False


def test_a_plan_with_changes_locks_then_waits_for_confirmation(aws, admin, ws, machinery):
    run_id = new_run(admin, ws)
    started(machinery, run_id)
    plan_result(aws, run_id, has_changes=True, resource_additions=2, resource_destructions=1)
    workflow = machinery.run_workflow()

    decision = workflow.record_plan(RunRef(run_id=run_id))
    workflow.await_confirmation(ConfirmationInput(run_id=run_id, task_token="token-1"))

    assert decision.next == "confirm"
    run = admin.get(f"/runs/{run_id}").json()
    assert run["status"] == "planned"
    assert (run["resource_additions"], run["resource_destructions"]) == (2, 1)
    assert "token-1" not in json.dumps(run)
    assert admin.get(f"/workspaces/{ws}").json()["lock"]["holder"] == run_id
    assert admin.post(f"/runs/{run_id}/actions/apply", {"comment": "ship it"}).status == 202
    assert status(admin, run_id) == "confirmed"
    assert_conflict = admin.post(f"/runs/{run_id}/actions/apply")
    assert assert_conflict.status == 409  # two confirms apply once


def test_auto_apply_goes_straight_to_apply(aws, admin, ws, machinery):
    run_id = new_run(admin, ws, auto_apply=True)
    started(machinery, run_id)
    plan_result(aws, run_id, has_changes=True, resource_additions=1)

    decision = machinery.run_workflow().record_plan(RunRef(run_id=run_id))
    runner = machinery.run_workflow().start_apply(RunRef(run_id=run_id))

    assert decision.next == "apply"
    assert runner.phase == "apply"
    assert status(admin, run_id) == "applying"


def test_a_lock_held_by_a_user_errors_the_run_before_planned(aws, admin, ws, machinery):
    run_id = new_run(admin, ws)
    started(machinery, run_id)
    admin.post(f"/workspaces/{ws}/actions/lock", {"reason": "hands off"})
    plan_result(aws, run_id, has_changes=True, resource_additions=1)
    workflow = machinery.run_workflow()

    with pytest.raises(LockFailed) as failed:
        workflow.record_plan(RunRef(run_id=run_id))
    cause = json.dumps({"errorMessage": str(failed.value), "errorType": "LockFailed"})
    workflow.handle_failure(
        FailureInput(run_id=run_id, error={"Error": "LockFailed", "Cause": cause})
    )

    run = admin.get(f"/runs/{run_id}").json()
    assert run["status"] == "errored"
    assert "planned" not in run["status_timestamps"]
    assert run["error"]["stage"] == "lock"
    assert "hands off" in run["error"]["message"]
    assert admin.get(f"/workspaces/{ws}").json()["lock"]["reason"] == "hands off"  # not ours


def test_apply_records_a_state_version_with_masked_outputs(aws, admin, ws, machinery):
    run_id = new_run(admin, ws, auto_apply=True)
    started(machinery, run_id)
    plan_result(aws, run_id, has_changes=True, resource_additions=1)
    workflow = machinery.run_workflow()
    workflow.record_plan(RunRef(run_id=run_id))
    workflow.start_apply(RunRef(run_id=run_id))
    apply_result(aws, run_id, serial=3)

    workflow.record_apply(RunRef(run_id=run_id))
    workflow.finish(RunRef(run_id=run_id))

    run = admin.get(f"/runs/{run_id}").json()
    state = admin.get(f"/workspaces/{ws}/current-state-version").json()
    assert run["status"] == "applied"
    assert run["state_version_id"] == state["id"]
    assert (state["serial"], state["lineage"], state["run_id"]) == (3, "lin-1", run_id)
    assert state["outputs"]["greeting"] == {"value": "hello", "sensitive": False, "type": "string"}
    assert state["outputs"]["password"]["value"] is None
    assert state["download_url"]
    assert admin.get(f"/workspaces/{ws}").json()["locked"] is False


def applied(aws, admin, ws: str, machinery, serial: int) -> str:
    """A run taken by the workflow's steps to applied, with a state of that serial."""
    run_id = new_run(admin, ws, auto_apply=True)
    workflow = machinery.run_workflow()
    started(machinery, run_id)
    plan_result(aws, run_id, has_changes=True)
    workflow.record_plan(RunRef(run_id=run_id))
    workflow.start_apply(RunRef(run_id=run_id))
    apply_result(aws, run_id, serial=serial)
    workflow.record_apply(RunRef(run_id=run_id))
    workflow.finish(RunRef(run_id=run_id))
    return run_id


def test_a_state_older_than_the_current_one_is_not_saved_and_kept(aws, admin, ws, machinery):
    first = applied(aws, admin, ws, machinery, serial=5)
    workflow = machinery.run_workflow()
    second = new_run(admin, ws, auto_apply=True)
    started(machinery, second)
    plan_result(aws, second, has_changes=True)
    workflow.record_plan(RunRef(run_id=second))
    workflow.start_apply(RunRef(run_id=second))
    apply_result(aws, second, serial=5)  # not newer than the current state

    with pytest.raises(StateNotSaved) as failed:
        workflow.record_apply(RunRef(run_id=second))

    assert f"runs/{second}/apply/terraform.tfstate" in str(failed.value)
    assert admin.get(f"/workspaces/{ws}/current-state-version").json()["run_id"] == first


def test_an_empty_apply_applies_and_keeps_the_state_it_did_not_change(aws, admin, ws, machinery):
    """allow_empty_apply: a plan with no changes goes on to its apply; Terraform writes no new
    serial for a state it did not change, and the run ends applied with the current one."""
    workflow = machinery.run_workflow()
    applied(aws, admin, ws, machinery, serial=5)
    current = admin.get(f"/workspaces/{ws}/current-state-version").json()
    empty = new_run(admin, ws, auto_apply=True, allow_empty_apply=True)
    started(machinery, empty)
    plan_result(aws, empty, has_changes=False)

    assert workflow.record_plan(RunRef(run_id=empty)).next == "apply"
    workflow.start_apply(RunRef(run_id=empty))
    apply_result(aws, empty, serial=5, state_uploaded=False)  # Terraform changed nothing
    workflow.record_apply(RunRef(run_id=empty))
    workflow.finish(RunRef(run_id=empty))

    run = admin.get(f"/runs/{empty}").json()
    assert (run["status"], run["allow_empty_apply"]) == ("applied", True)
    assert run["state_version_id"] == current["id"]
    assert admin.get(f"/workspaces/{ws}/current-state-version").json()["id"] == current["id"]


def test_a_runner_failure_errors_the_run_with_the_runners_message(aws, admin, ws, machinery):
    run_id = new_run(admin, ws)
    waiting = new_run(admin, ws)
    started(machinery, run_id)
    plan_result(
        aws, run_id, status="failed", error={"stage": "plan", "message": "Error: Invalid syntax"}
    )
    ecs_cause = json.dumps({"Containers": [{"ExitCode": 1}], "StoppedReason": "Essential exited"})

    machinery.run_workflow().handle_failure(
        FailureInput(run_id=run_id, error={"Error": "States.TaskFailed", "Cause": ecs_cause})
    )

    run = admin.get(f"/runs/{run_id}").json()
    assert run["status"] == "errored"
    assert run["error"] == {"stage": "plan", "message": "Error: Invalid syntax"}
    assert admin.get(f"/workspaces/{ws}").json()["current_run_id"] == waiting
    assert admin.get(f"/runs/{waiting}").json()["execution_arn"] is not None


def test_a_runner_that_died_without_a_result_is_explained_from_ecs(aws, admin, ws, machinery):
    run_id = new_run(admin, ws)
    started(machinery, run_id)
    ecs_cause = json.dumps({"Containers": [{"ExitCode": 137}], "StoppedReason": "OutOfMemory"})

    machinery.run_workflow().handle_failure(
        FailureInput(run_id=run_id, error={"Error": "States.TaskFailed", "Cause": ecs_cause})
    )

    error = admin.get(f"/runs/{run_id}").json()["error"]
    assert error["stage"] == "plan"
    assert "exit code 137" in error["message"]
    assert "OutOfMemory" in error["message"]


def test_reconcile_cancels_an_aborted_apply_and_keeps_its_partial_state(aws, admin, ws, machinery):
    run_id = new_run(admin, ws, auto_apply=True)
    started(machinery, run_id)
    plan_result(aws, run_id, has_changes=True)
    workflow = machinery.run_workflow()
    workflow.record_plan(RunRef(run_id=run_id))
    workflow.start_apply(RunRef(run_id=run_id))
    apply_result(aws, run_id, serial=1, status="canceled", state_uploaded=True)

    machinery.reconciler().reconcile(f"arn:aws:states:x:execution:run:{run_id}", "ABORTED")

    assert status(admin, run_id) == "canceled"
    state = admin.get(f"/workspaces/{ws}/current-state-version").json()
    assert state["partial"] is True
    assert state["run_id"] == run_id
    assert admin.get(f"/workspaces/{ws}").json()["locked"] is False


@pytest.mark.parametrize("ending", ["FAILED", "TIMED_OUT"])
def test_reconcile_errors_a_run_whose_workflow_failed(aws, admin, ws, machinery, ending):
    run_id = new_run(admin, ws)
    started(machinery, run_id)
    plan_result(aws, run_id, status="canceled")  # its runner has reported: no wait for it

    machinery.reconciler().reconcile(f"arn:aws:states:x:execution:run:{run_id}", ending)

    run = admin.get(f"/runs/{run_id}").json()
    assert run["status"] == "errored"
    assert run["error"]["stage"] == "workflow"
    assert admin.get(f"/workspaces/{ws}").json()["current_run_id"] is None


def test_reconcile_of_an_ended_run_changes_nothing(aws, admin, ws, machinery):
    run_id = new_run(admin, ws)
    started(machinery, run_id)
    plan_result(aws, run_id, has_changes=False)
    machinery.run_workflow().record_plan(RunRef(run_id=run_id))

    machinery.reconciler().reconcile(f"arn:aws:states:x:execution:run:{run_id}", "ABORTED")

    assert status(admin, run_id) == "planned_and_finished"


def test_the_sweep_reconciles_a_run_whose_executions_end_went_unseen(aws, admin, ws, machinery):
    run_id = new_run(admin, ws)  # its execution starts (in moto, it waits)
    started(machinery, run_id)
    arn = admin.get(f"/runs/{run_id}").json()["execution_arn"]
    boto3.client("stepfunctions").stop_execution(executionArn=arn)  # no rule delivers it
    plan_result(aws, run_id, status="canceled")  # what its runner reports on the stop
    just_now = datetime.now(UTC) - timedelta(minutes=5)

    reconciler = machinery.reconciler()
    later = machinery.workflow.ended_without_success(since=datetime.now(UTC) + timedelta(hours=1))
    assert reconciler.sweep(later) == 0  # ended before the window: not looked at
    assert status(admin, run_id) == "planning"

    assert reconciler.sweep(machinery.workflow.ended_without_success(since=just_now)) == 1

    assert status(admin, run_id) == "canceled"
    assert admin.get(f"/workspaces/{ws}").json()["current_run_id"] is None
    # Swept again: the run has ended, nothing to do.
    assert reconciler.sweep(machinery.workflow.ended_without_success(since=just_now)) == 0


def test_the_sweep_reads_back_only_as_far_as_an_execution_can_last(aws):
    """The listing is newest start first: past the first execution that started before the
    window less the state machine's timeout, no page is read (Stubber refuses any call it
    was not given)."""
    machine = "arn:aws:states:us-east-1:123456789012:stateMachine:run"
    now = datetime.now(UTC)
    since = now - timedelta(hours=2)

    def listing(status: str, *executions: tuple[str, timedelta, timedelta], more: bool) -> Any:
        items = [
            {
                "executionArn": f"arn:aws:states:us-east-1:123456789012:execution:run:{name}",
                "stateMachineArn": machine,
                "name": name,
                "status": status,
                "startDate": now - started_ago,
                "stopDate": now - stopped_ago,
            }
            for name, started_ago, stopped_ago in executions
        ]
        return {"executions": items, **({"nextToken": "more"} if more else {})}

    def expect(status: str, reply: Any, page: str | None = None) -> None:
        request = {"stateMachineArn": machine, "statusFilter": status}
        stub.add_response("list_executions", reply, request | ({"nextToken": page} if page else {}))

    client = stepfunctions_client()
    with Stubber(client) as stub:
        expect("ABORTED", listing("ABORTED", ("new", timedelta(hours=1), MINUTE), more=True))
        expect(
            "ABORTED",
            listing(
                "ABORTED",
                ("waited-13-days", timedelta(days=13), MINUTE),
                ("ended-long-ago", LONGEST_EXECUTION + timedelta(hours=3), timedelta(days=3)),
                ("never-seen", LONGEST_EXECUTION + timedelta(hours=4), MINUTE),  # impossible
                more=True,  # a next page that is never asked for
            ),
            page="more",
        )
        expect("FAILED", listing("FAILED", more=False))
        expect(
            "TIMED_OUT",
            listing(
                "TIMED_OUT",
                ("timed-out", LONGEST_EXECUTION + MINUTE, timedelta(minutes=3)),
                ("earlier", timedelta(days=15), timedelta(days=1)),
                more=True,
            ),
        )

        ended = list(WorkflowClient(machine, 3600).ended_without_success(since=since))

        stub.assert_no_pending_responses()
    assert [(arn.rsplit(":", 1)[1], status) for arn, status in ended] == [
        ("new", "ABORTED"),
        ("waited-13-days", "ABORTED"),
        ("timed-out", "TIMED_OUT"),
    ]


def test_the_longest_execution_is_the_state_machines_timeout():
    definition = json.loads(Path("statemachine/run.asl.json").read_text())
    assert timedelta(seconds=definition["TimeoutSeconds"]) == LONGEST_EXECUTION
