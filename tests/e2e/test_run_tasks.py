"""Run tasks end to end: the real workflow and runner with real Terraform, and run-task
services as real HTTP servers on 127.0.0.1 that call the platform back over HTTP (its local
front). The reference service (examples/runtask_service) fails any plan that destroys a
resource and passes every other."""

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests

from examples.runtask_service import RunTaskService
from local.platform import LocalPlatform
from tests.conftest import ApiClient, assert_error
from tests.e2e.test_run_pipeline import (
    ENDED,
    new_workspace,
    released,
    run_status,
    start_run,
    states_entered,
    task_starts,
    wait_for,
)
from tests.runs_support import upload_configuration
from tests.runtasks_support import CapturingService, capturing_service

HMAC_KEY = "e2e-hmac-key"
ALL_STAGES = ["pre_plan", "post_plan", "pre_apply", "post_apply"]
TWO_THINGS = {
    "main.tf": """
resource "terraform_data" "keep" {
  input = "keep"
}

resource "terraform_data" "doomed" {
  input = "doomed"
}
"""
}
ONE_THING = {"main.tf": 'resource "terraform_data" "keep" {\n  input = "keep"\n}\n'}


@pytest.fixture(scope="module")
def service() -> Iterator[RunTaskService]:
    with RunTaskService(hmac_key=HMAC_KEY) as running:
        yield running


@pytest.fixture
def silent() -> Iterator[CapturingService]:
    """Accepts every request (200) and never calls back; ``close()`` makes it unreachable."""
    with capturing_service() as server:
        yield server


def attach(
    admin: ApiClient, workspace_id: str, url: str, stages: list[str], level: str, **task: Any
) -> str:
    """A new run task at ``url``, attached to the workspace; returns the task's id."""
    body = {"name": f"task-{uuid.uuid4().hex[:8]}", "url": url, **task}
    created = admin.post("/run-tasks", body)
    assert created.status == 201, created.body
    task_id = str(created.json()["id"])
    attached = admin.post(
        f"/workspaces/{workspace_id}/run-tasks",
        {"run_task_id": task_id, "stages": stages, "enforcement_level": level},
    )
    assert attached.status == 201, attached.body
    return task_id


def applied_then_shrunk(admin: ApiClient, name: str) -> str:
    """A workspace whose state has two resources and whose latest configuration keeps only
    one: its next plan destroys ``terraform_data.doomed``."""
    ws = new_workspace(admin, name, TWO_THINGS)
    first = run_status(admin, start_run(admin, ws, auto_apply=True), ENDED)
    assert first["status"] == "applied", first["error"]
    upload_configuration(admin, None, ws, ONE_THING)  # type: ignore[arg-type]
    return ws


def stage(run: dict[str, Any], name: str) -> dict[str, Any]:
    found = [s for s in run["task_stages"] if s["stage"] == name]
    assert found, f"no {name} stage in {run['task_stages']}"
    return found[0]


def test_a_run_passes_through_all_four_stages(platform, admin, service: RunTaskService):
    ws = new_workspace(admin, "four-stages", ONE_THING)
    attach(admin, ws, service.url, ALL_STAGES, "mandatory", hmac_key=HMAC_KEY)
    seen = len(service.requests)

    run_id = start_run(admin, ws)
    planned = run_status(admin, run_id, {"planned"} | ENDED)
    assert planned["status"] == "planned", planned["error"]
    assert admin.post(f"/runs/{run_id}/actions/apply").status == 202
    run = run_status(admin, run_id, ENDED)

    assert run["status"] == "applied", run["error"]
    assert [s["stage"] for s in run["task_stages"]] == ALL_STAGES
    assert {s["status"] for s in run["task_stages"]} == {"passed"}
    timestamps = run["status_timestamps"]
    for status in ("pre_plan_running", "post_plan_running", "pre_apply_running"):
        assert status in timestamps
    assert "post_apply_running" in timestamps
    assert timestamps["pre_plan_running"] <= timestamps["planning"] <= timestamps["planned"]
    results = admin.get(f"/runs/{run_id}/task-results").json()["items"]
    assert [r["stage"] for r in results] == ALL_STAGES
    assert {r["status"] for r in results} == {"passed"}
    received = service.requests[seen:]
    assert sorted(r["stage"] for r in received) == sorted(ALL_STAGES)
    assert all(r["run_id"] == run_id for r in received)
    released(admin, ws)
    assert task_starts(platform, run_id) == ["plan", "apply"]  # run tasks start no runner
    entered = states_entered(platform, run_id)
    for stage in ("PrePlan", "PostPlan", "PreApply", "PostApply"):  # each stage runs its tasks
        assert [entered.count(f"{state}{stage}Tasks") for state in ("Run", "Conclude")] == [1, 1]


def test_a_mandatory_post_plan_failure_stops_the_run_before_planned(
    platform: LocalPlatform, admin, service
):
    ws = applied_then_shrunk(admin, "post-plan-mandatory")
    attach(admin, ws, service.url, ["post_plan"], "mandatory", hmac_key=HMAC_KEY)

    run_id = start_run(admin, ws)
    run = wait_for(
        lambda: (r := admin.get(f"/runs/{run_id}").json())["error"] and r,
        "the run to stop at post_plan",
    )

    assert run["status"] == "post_plan_running"
    assert run["error"]["stage"] == "post_plan"
    assert "Mandatory run task" in run["error"]["message"]
    assert stage(run, "post_plan")["status"] == "awaiting_override"
    (result,) = admin.get(f"/runs/{run_id}/task-results").json()["items"]
    assert result["status"] == "failed"
    assert result["run_task_name"] in run["error"]["message"]
    assert any(o["outcome_id"] == "terraform_data.doomed" for o in result["outcomes"])
    # The public view of the result, over real HTTP, without any token.
    public = requests.get(f"{platform.base_url}/api/v1/run-task-results/{result['id']}", timeout=10)
    assert public.status_code == 200
    assert public.json()["status"] == "failed"
    assert "planned" not in run["status_timestamps"]

    # A writer may not override a mandatory failure; an admin may, and the run goes on.
    writer = admin.with_token(admin.post("/tokens", {"role": "write"}).json()["token"])
    assert_error(writer.post(f"/runs/{run_id}/actions/override-tasks", {"comment": "no"}), 403)
    assert (
        admin.post(f"/runs/{run_id}/actions/override-tasks", {"comment": "intended"}).status == 202
    )
    planned = run_status(admin, run_id, {"planned"} | ENDED)
    assert planned["status"] == "planned"
    assert planned["error"] is None
    assert stage(planned, "post_plan")["status"] == "overridden"
    (overridden,) = admin.get(f"/runs/{run_id}/task-results").json()["items"]
    assert overridden["status"] == "overridden"
    assert overridden["override"]["comment"] == "intended"
    admin.post(f"/runs/{run_id}/actions/discard")


def test_an_advisory_failure_lets_the_run_continue_with_a_warning(admin, service):
    ws = applied_then_shrunk(admin, "post-plan-advisory")
    attach(admin, ws, service.url, ["post_plan"], "advisory", hmac_key=HMAC_KEY)

    run = run_status(admin, start_run(admin, ws), {"planned"} | ENDED)

    assert run["status"] == "planned", run["error"]
    summary = stage(run, "post_plan")
    assert summary["status"] == "passed"
    assert summary["results"][0]["status"] == "failed"
    (warning,) = summary["warnings"]
    assert "Advisory" in warning and "failed" in warning
    admin.post(f"/runs/{run['id']}/actions/discard")


def test_a_mandatory_post_apply_failure_leaves_the_run_applied_with_a_warning(
    platform: LocalPlatform, admin, service
):
    ws = applied_then_shrunk(admin, "post-apply-mandatory")
    attach(admin, ws, service.url, ["post_apply"], "mandatory", hmac_key=HMAC_KEY)

    run = run_status(admin, start_run(admin, ws, auto_apply=True), ENDED)
    # A post_apply task runs after the apply: the plan task applied too.
    assert task_starts(platform, run["id"]) == ["plan"]

    assert run["status"] == "applied", run["error"]
    assert run["error"] is None
    assert run["resource_destructions"] == 1
    summary = stage(run, "post_apply")
    assert summary["results"][0]["status"] == "failed"
    assert summary["warnings"] and "Mandatory" in summary["warnings"][0]
    assert "post_apply_running" in run["status_timestamps"]
    released(admin, ws)


def test_an_unreachable_mandatory_service_blocks_the_run(admin, silent: CapturingService):
    ws = new_workspace(admin, "unreachable", ONE_THING)
    attach(admin, ws, silent.url, ["pre_plan"], "mandatory")
    silent.close()  # created while it answered; now nothing listens there

    run_id = start_run(admin, ws)
    run = wait_for(
        lambda: (r := admin.get(f"/runs/{run_id}").json())["error"] and r,
        "the run to stop at pre_plan",
    )

    assert run["status"] == "pre_plan_running"
    assert run["error"]["stage"] == "pre_plan"
    (result,) = stage(run, "pre_plan")["results"]
    assert result["status"] == "errored"
    assert "could not be reached" in result["message"]
    assert "planning" not in run["status_timestamps"]

    assert admin.post(f"/runs/{run_id}/actions/cancel").status == 202
    canceled = run_status(admin, run_id, ENDED)
    assert canceled["status"] == "canceled"
    wait_for(lambda: admin.get(f"/workspaces/{ws}").json()["current_run_id"] is None, "the release")
    assert admin.get(f"/workspaces/{ws}").json()["locked"] is False


def test_a_service_that_never_answers_is_timed_out_by_the_sweep(
    platform: LocalPlatform, admin, silent: CapturingService
):
    ws = new_workspace(admin, "never-answers", ONE_THING)
    attach(admin, ws, silent.url, ["pre_plan"], "advisory", timeout_seconds=60)

    run_id = start_run(admin, ws, operation="plan_only")
    body = wait_for(
        lambda: [b for r in silent.requests if (b := r.json())["run_id"] == run_id], "the webhook"
    )[0]
    # The shortest timeout a task may have is 60 s. Rather than wait it out, the test moves
    # the result's deadline (tests/integration/test_run_task_sweep.py checks how it is set);
    # the sweep (every three seconds here) then finds it due.
    results = boto3.resource("dynamodb").Table(platform.provisioned.refs["TaskResultsTable"])
    results.update_item(
        Key={"id": body["task_result_id"]},
        UpdateExpression="SET due_at = :past",
        ConditionExpression="attribute_exists(due_at)",
        ExpressionAttributeValues={":past": int(time.time()) - 1},
    )
    run = run_status(admin, run_id, ENDED)

    assert run["status"] == "planned_and_finished", run["error"]
    summary = stage(run, "pre_plan")
    (result,) = summary["results"]
    assert result["status"] == "timeout"
    assert "60 s" in result["message"]
    assert summary["warnings"]


def test_cancel_during_a_stage_cancels_its_results_and_refuses_late_callbacks(
    platform: LocalPlatform, admin, silent: CapturingService
):
    ws = new_workspace(admin, "cancel-at-stage", ONE_THING)
    attach(admin, ws, silent.url, ["pre_plan"], "mandatory")
    run_id = start_run(admin, ws)
    run_status(admin, run_id, {"pre_plan_running"})
    body = wait_for(
        lambda: [b for r in silent.requests if (b := r.json())["run_id"] == run_id], "the webhook"
    )[0]
    waiting = admin.get(f"/runs/{run_id}").json()
    assert stage(waiting, "pre_plan")["status"] == "running"
    (pending,) = stage(waiting, "pre_plan")["results"]  # live, while the stage waits
    assert (pending["id"], pending["status"]) == (body["task_result_id"], "pending")

    assert admin.post(f"/runs/{run_id}/actions/cancel").status == 202
    run = run_status(admin, run_id, ENDED)

    assert run["status"] == "canceled"
    result = wait_for(
        lambda: (
            (r := admin.get(f"/runs/{run_id}/task-results").json()["items"])
            and r[0]["status"] == "canceled"
            and r[0]
        ),
        "the result to be canceled",
    )
    assert result["id"] == body["task_result_id"]
    late = requests.patch(
        body["task_result_callback_url"],
        headers={
            "Authorization": f"Bearer {body['access_token']}",
            "Content-Type": "application/vnd.api+json",
        },
        data=json.dumps({"data": {"type": "task-results", "attributes": {"status": "passed"}}}),
        timeout=10,
    )
    assert late.status_code == 410
    assert body["task_result_callback_url"].startswith(platform.base_url)
    wait_for(lambda: admin.get(f"/workspaces/{ws}").json()["current_run_id"] is None, "the release")
