"""What a run's apply leaves when it does not finish (its runner killed, the run canceled or
force-canceled) becomes a partial state version before the workspace is given back, and a
canceled run ends only once its runner has reported (docs/run-pipeline.md, "When a runner
does not finish"). The workflow's steps and the reconcile on their own, with the files a
runner leaves in S3; tests/e2e/test_runner_loss.py runs the same with real runners."""

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from iacp.artifacts import S3ArtifactStore
from iacp.orchestration.finish import RunFinisher
from iacp.orchestration.reconcile import RUNNER_POLL_SECONDS, RunReconciler
from iacp.orchestration.workflow import FailureInput, RunRef
from iacp.runs.artifacts import RunArtifacts
from iacp.runs.phase import Phase, result_key, run_state_key
from iacp.services.machinery import RunMachinery
from iacp.states.service import StateService
from iacp.states.store import WorkspaceMovedOn
from iacp.workspaces.store import DynamoWorkspaceStore
from tests.conftest import assert_error
from tests.runs_support import apply_result, plan_result, s3_put, started, upload_configuration

KILLED = json.dumps({"Containers": [{"ExitCode": 137}], "StoppedReason": "OutOfMemoryError"})


@pytest.fixture
def ws(aws, admin) -> str:
    workspace = str(admin.post("/workspaces", {"name": "partial"}).json()["id"])
    upload_configuration(admin, aws, workspace)
    return workspace


def new_run(admin, ws: str, **body: Any) -> str:
    reply = admin.post(f"/workspaces/{ws}/runs", body)
    assert reply.status == 201, reply.body
    return str(reply.json()["id"])


def applying(aws, admin, ws: str, machinery: RunMachinery) -> str:
    """A run whose apply has started; it holds the workspace's lock and queue."""
    run_id = new_run(admin, ws, auto_apply=True)
    started(machinery, run_id)
    plan_result(aws, run_id, has_changes=True)
    workflow = machinery.run_workflow()
    workflow.record_plan(RunRef(run_id=run_id))
    workflow.start_apply(RunRef(run_id=run_id))
    return run_id


def checkpoint(aws, run_id: str, serial: int, *names: str) -> None:
    """A state the runner uploaded while Terraform applied (runner.checkpoint)."""
    resources = [{"mode": "managed", "type": "terraform_data", "name": n} for n in names]
    state = {"version": 4, "serial": serial, "lineage": "lin-1", "resources": resources}
    s3_put(aws, run_state_key(run_id), json.dumps(state))


def holder(admin, ws: str) -> tuple[str | None, str | None]:
    """Who holds the workspace's queue, and its lock."""
    workspace = admin.get(f"/workspaces/{ws}").json()
    return workspace["current_run_id"], (workspace["lock"] or {}).get("holder")


class UnlockWitness(DynamoWorkspaceStore):
    """The workspaces table, noting the workspace's current state at each unlock."""

    def __init__(self, table_name: str, states: StateService):
        super().__init__(table_name)
        self._states = states
        self.current_at_unlock: list[tuple[str, int] | None] = []

    def unlock(self, workspace_id: str, holder: str | None) -> Any:
        self.current_at_unlock.append(self._states.current_key(workspace_id))
        return super().unlock(workspace_id, holder)


def test_a_runner_killed_mid_apply_has_its_checkpoint_recorded_before_the_unlock(
    aws, admin, ws, machinery
):
    run_id = applying(aws, admin, ws, machinery)
    waiting = new_run(admin, ws)
    checkpoint(aws, run_id, 2, "first", "second")  # and no result.json: killed
    witness = UnlockWitness(machinery.settings.workspaces_table, machinery.states)
    finisher = RunFinisher(machinery.runs, witness, machinery.queue)
    workflow = dataclasses.replace(machinery, finisher=finisher).run_workflow()

    workflow.handle_failure(
        FailureInput(run_id=run_id, error={"Error": "States.TaskFailed", "Cause": KILLED})
    )

    run = admin.get(f"/runs/{run_id}").json()
    assert run["status"] == "errored"
    assert run["error"]["stage"] == "apply"
    assert "exit code 137" in run["error"]["message"]
    state = admin.get(f"/workspaces/{ws}/current-state-version").json()
    assert (state["run_id"], state["serial"], state["partial"]) == (run_id, 2, True)
    assert witness.current_at_unlock == [(f"state/{ws}/{state['id']}.tfstate", 2)]
    assert holder(admin, ws) == (waiting, None)


def test_a_state_is_not_recorded_once_its_run_has_given_the_workspace_back(
    aws, admin, ws, machinery
):
    run_id = applying(aws, admin, ws, machinery)
    checkpoint(aws, run_id, 2, "first")
    run = machinery.runs.get(run_id)
    assert run is not None
    machinery.finisher.release(run)
    waiting = new_run(admin, ws)  # the next run may plan against the current state now

    assert machinery.states.record_if_written(ws, run_id) is None
    with pytest.raises(WorkspaceMovedOn):
        machinery.states.record_run_state(ws, run_id, partial=True)

    assert_error(admin.get(f"/workspaces/{ws}/current-state-version"), 404)
    assert holder(admin, ws) == (waiting, None)


class RunnerReportsWhileAwaited(RunArtifacts):
    """The artifacts bucket, where the runner's result.json appears while the reconcile
    waits for it (as a stopping runner writes it); notes who held the workspace then."""

    def __init__(self, bucket: str, admin, ws: str, report: dict[str, Any]):
        super().__init__(S3ArtifactStore(bucket))
        self._admin, self._ws, self._report = admin, ws, report
        self.awaited: list[tuple[str, str, tuple[str | None, str | None]]] = []

    def wait_for(self, key: str, timeout_seconds: int, poll_seconds: int = 1) -> bool:
        run_id = key.split("/")[1]
        status = self._admin.get(f"/runs/{run_id}").json()["status"]
        self.awaited.append((key, status, holder(self._admin, self._ws)))
        self.put(key, json.dumps(self._report).encode())
        return super().wait_for(key, timeout_seconds, poll_seconds)


class RunnerTasksLeft:
    """What the execution's history and ECS say of its runner task: one is left for the
    first ``looks_running`` looks, then none."""

    def __init__(self, looks_running: int):
        self.looks: list[str] = []
        self._looks_running = looks_running

    def any_running(self, execution_arn: str) -> bool:
        self.looks.append(execution_arn)
        return len(self.looks) <= self._looks_running


class RunnerNeverReports(RunArtifacts):
    """The artifacts bucket, where no result.json appears: notes every wait for one."""

    def __init__(self, bucket: str):
        super().__init__(S3ArtifactStore(bucket))
        self.waits: list[tuple[str, int]] = []

    def wait_for(self, key: str, timeout_seconds: int, poll_seconds: int = 1) -> bool:
        self.waits.append((key, timeout_seconds))
        return False


def reconciler_with(machinery: RunMachinery, artifacts: RunArtifacts, tasks) -> RunReconciler:
    return RunReconciler(machinery.runs, machinery.states, artifacts, machinery.finisher, tasks)


def test_a_run_stopped_before_its_runner_started_is_not_kept_waiting_for_one(
    aws, admin, ws, machinery
):
    """Canceled once planning but before ECS started its task: no runner will ever report,
    and its execution (looked at twice, a poll apart) started no task, so the run ends at
    once instead of after a runner's whole stop timeout."""
    run_id = new_run(admin, ws)
    started(machinery, run_id)
    artifacts = RunnerNeverReports(machinery.artifacts.bucket)
    tasks = RunnerTasksLeft(looks_running=0)
    execution = f"arn:aws:states:x:execution:run:{run_id}"

    reconciler_with(machinery, artifacts, tasks).reconcile(execution, "ABORTED")

    assert artifacts.waits == [(result_key(run_id, Phase.PLAN), RUNNER_POLL_SECONDS)] * 2
    assert tasks.looks == [execution, execution]
    assert admin.get(f"/runs/{run_id}").json()["status"] == "canceled"
    assert holder(admin, ws) == (None, None)


def test_a_runner_killed_before_it_reported_is_waited_for_until_its_task_has_stopped(
    aws, admin, ws, machinery
):
    """The runner was killed at the end of its stop timeout, mid-apply: no result, but a
    checkpoint; the reconcile waits while its task has not stopped, then keeps the checkpoint."""
    run_id = applying(aws, admin, ws, machinery)
    checkpoint(aws, run_id, 4, "first")
    artifacts = RunnerNeverReports(machinery.artifacts.bucket)
    tasks = RunnerTasksLeft(looks_running=3)

    reconciler_with(machinery, artifacts, tasks).reconcile(
        f"arn:aws:states:x:execution:run:{run_id}", "ABORTED"
    )

    assert len(tasks.looks) == 5  # three with the task, then two without
    assert len(artifacts.waits) == 5
    assert admin.get(f"/runs/{run_id}").json()["status"] == "canceled"
    state = admin.get(f"/workspaces/{ws}/current-state-version").json()
    assert (state["run_id"], state["serial"], state["partial"]) == (run_id, 4, True)
    assert holder(admin, ws) == (None, None)


def test_a_canceled_plan_ends_only_once_its_runner_has_reported(aws, admin, ws, machinery):
    run_id = new_run(admin, ws)
    started(machinery, run_id)  # planning: its runner is interrupting Terraform
    report = {"phase": "plan", "status": "canceled"}
    artifacts = RunnerReportsWhileAwaited(machinery.artifacts.bucket, admin, ws, report)
    reconciler = reconciler_with(machinery, artifacts, RunnerTasksLeft(looks_running=1))

    reconciler.reconcile(f"arn:aws:states:x:execution:run:{run_id}", "ABORTED")

    assert artifacts.awaited == [(result_key(run_id, Phase.PLAN), "planning", (run_id, None))]
    assert admin.get(f"/runs/{run_id}").json()["status"] == "canceled"
    assert holder(admin, ws) == (None, None)


def test_a_force_cancel_mid_apply_frees_the_workspace_only_with_the_partial_state(
    aws, admin, ws, machinery
):
    run_id = applying(aws, admin, ws, machinery)
    waiting = new_run(admin, ws)
    assert admin.post(f"/runs/{run_id}/actions/cancel").status == 202

    forced = admin.post(f"/runs/{run_id}/actions/force-cancel")

    assert forced.status == 202
    assert forced.json()["status"] == "force_canceled"
    # Its runner is still stopping: the workspace stays the run's, the next run waits.
    assert holder(admin, ws) == (run_id, run_id)
    assert admin.get(f"/runs/{waiting}").json()["status"] == "pending"
    assert_error(admin.post(f"/runs/{run_id}/actions/force-cancel"), 409)

    # The runner stops and reports; the execution's reconcile records, then releases.
    apply_result(aws, run_id, serial=2, status="canceled", state_uploaded=True)
    machinery.reconciler().reconcile(f"arn:aws:states:x:execution:run:{run_id}", "ABORTED")

    state = admin.get(f"/workspaces/{ws}/current-state-version").json()
    assert (state["run_id"], state["serial"], state["partial"]) == (run_id, 2, True)
    assert admin.get(f"/runs/{run_id}").json()["status"] == "force_canceled"
    assert holder(admin, ws) == (waiting, None)
    assert admin.get(f"/runs/{waiting}").json()["execution_arn"] is not None
    assert machinery.runs.private(run_id).get("awaiting_runner") is None


def test_the_sweep_frees_a_force_canceled_run_whose_executions_end_went_unseen(
    aws, admin, ws, machinery
):
    run_id = applying(aws, admin, ws, machinery)
    assert admin.post(f"/runs/{run_id}/actions/cancel").status == 202  # stops it; no rule
    assert admin.post(f"/runs/{run_id}/actions/force-cancel").status == 202
    checkpoint(aws, run_id, 3, "first")
    s3_put(
        aws, result_key(run_id, Phase.APPLY), json.dumps({"phase": "apply", "status": "canceled"})
    )
    just_now = datetime.now(UTC) - timedelta(minutes=5)
    reconciler = machinery.reconciler()

    assert reconciler.sweep(machinery.workflow.ended_without_success(since=just_now)) == 1

    state = admin.get(f"/workspaces/{ws}/current-state-version").json()
    assert (state["run_id"], state["serial"], state["partial"]) == (run_id, 3, True)
    assert holder(admin, ws) == (None, None)
    assert reconciler.sweep(machinery.workflow.ended_without_success(since=just_now)) == 0


def test_a_failed_execution_keeps_the_checkpoint_of_a_runner_that_died_mid_apply(
    aws, admin, ws, machinery
):
    """The failure handler itself failed: the reconcile of the failed execution records the
    state (no waiting: the runner's step ends only once its task has)."""
    run_id = applying(aws, admin, ws, machinery)
    checkpoint(aws, run_id, 2, "first")

    machinery.reconciler().reconcile(f"arn:aws:states:x:execution:run:{run_id}", "FAILED")

    assert admin.get(f"/runs/{run_id}").json()["status"] == "errored"
    state = admin.get(f"/workspaces/{ws}/current-state-version").json()
    assert (state["run_id"], state["serial"], state["partial"]) == (run_id, 2, True)
    assert holder(admin, ws) == (None, None)
