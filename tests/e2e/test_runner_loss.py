"""A runner that does not finish its phase, end to end: killed outright, or canceled and then
force-canceled while it hangs. The workspace keeps every resource Terraform had finished (a
partial state version, recorded before the workspace is given back), the next run plans
against it, and a canceled run's status never claims an end its runner has not reached
(docs/run-pipeline.md, "When a runner does not finish")."""

import json
import signal
from typing import Any

import boto3
from botocore.exceptions import ClientError

from local.platform import LocalPlatform
from local.warm_runner import WarmProcess
from tests.conftest import ApiClient
from tests.e2e.test_run_pipeline import (
    ENDED,
    full_log,
    new_workspace,
    released,
    run_status,
    start_run,
    wait_for,
)
from tests.runs_support import FINISHED_BEFORE_SLOW, resource_names, slow_fourth

SLOW_FOURTH = slow_fourth("sleep 30 # iacp-e2e-runner-loss")
FINISHED = FINISHED_BEFORE_SLOW
# A plan Terraform computes for a few seconds, and takes more than a second to interrupt.
SLOW_PLAN = {
    "main.tf": """
resource "terraform_data" "many" {
  count = 12000
  input = count.index
}
""",
}


def stored_json(platform: LocalPlatform, key: str) -> Any:
    bucket = platform.provisioned.refs["ArtifactsBucket"]
    try:
        body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        if error.response["Error"]["Code"] == "NoSuchKey":
            return None
        raise
    return json.loads(body)


def provisioning(client: ApiClient, run_id: str) -> bool:
    log = full_log(client, run_id, "apply")
    return "terraform_data.slow: Provisioning with 'local-exec'" in log


def current_state(platform: LocalPlatform, client: ApiClient, workspace_id: str) -> Any:
    """The workspace's current state version, and its state file."""
    version = client.get(f"/workspaces/{workspace_id}/current-state-version").json()
    return version, stored_json(platform, f"state/{workspace_id}/{version['id']}.tfstate")


def planned_creations(client: ApiClient, run_id: str) -> set[str]:
    plan = client.get(f"/runs/{run_id}/plan-json").json()
    return {c["name"] for c in plan["resource_changes"] if "create" in c["change"]["actions"]}


def test_a_runner_killed_mid_apply_leaves_a_partial_state_the_next_run_plans_against(
    platform: LocalPlatform, admin: ApiClient
):
    ws = new_workspace(admin, "killed-mid-apply", SLOW_FOURTH)
    run_id = start_run(admin, ws, auto_apply=True)
    waiting = start_run(admin, ws)
    checkpoint = f"runs/{run_id}/apply/terraform.tfstate"
    wait_for(
        lambda: (
            provisioning(admin, run_id)
            and resource_names(stored_json(platform, checkpoint)) >= FINISHED
        ),
        "a checkpoint of the resources finished before the slow one",
    )

    (runner,) = platform.running_runners()
    assert isinstance(runner, WarmProcess)  # local mode's runner: a fork of the warm one
    runner.kill()  # SIGKILL, as the OOM killer would: no chance to save or report
    run = run_status(admin, run_id, ENDED)

    assert run["status"] == "errored"
    assert "exit code 137" in run["error"]["message"]
    version, state = current_state(platform, admin, ws)
    assert (version["run_id"], version["partial"]) == (run_id, True)
    assert resource_names(state) == FINISHED
    # Recorded before the workspace was given back: the next run plans against it.
    planned = run_status(admin, waiting, {"planned"} | ENDED)
    assert planned["status"] == "planned", planned["error"]
    assert planned_creations(admin, waiting) == {"slow", "last"}
    assert admin.post(f"/runs/{waiting}/actions/discard").status == 202
    released(admin, ws)


def test_a_force_cancel_mid_apply_frees_the_workspace_only_with_the_partial_state(
    platform: LocalPlatform, admin: ApiClient
):
    ws = new_workspace(admin, "force-canceled", SLOW_FOURTH)
    run_id = start_run(admin, ws, auto_apply=True)
    waiting = start_run(admin, ws)
    wait_for(lambda: provisioning(admin, run_id), "the slow resource to be creating")

    (runner,) = platform.running_runners()
    runner.send_signal(signal.SIGSTOP)  # a runner that hangs: the cancel's SIGTERM waits
    try:
        assert admin.post(f"/runs/{run_id}/actions/cancel").status == 202
        forced = admin.post(f"/runs/{run_id}/actions/force-cancel")

        assert forced.status == 202
        assert forced.json()["status"] == "force_canceled"
        workspace = admin.get(f"/workspaces/{ws}").json()
        assert (workspace["current_run_id"], workspace["lock"]["holder"]) == (run_id, run_id)
        assert admin.get(f"/runs/{waiting}").json()["status"] == "pending"
    finally:
        runner.send_signal(signal.SIGCONT)  # it takes the SIGTERM: stops, saves, reports

    planned = run_status(admin, waiting, {"planned"} | ENDED)
    assert planned["status"] == "planned", planned["error"]
    version, state = current_state(platform, admin, ws)
    assert (version["run_id"], version["partial"]) == (run_id, True)
    assert resource_names(state) >= FINISHED
    assert "last" not in resource_names(state)
    assert planned_creations(admin, waiting).isdisjoint(FINISHED)
    assert "Interrupt received" in full_log(admin, run_id, "apply")
    assert admin.get(f"/runs/{run_id}").json()["status"] == "force_canceled"
    assert admin.post(f"/runs/{waiting}/actions/discard").status == 202
    released(admin, ws)


def test_a_cancel_while_planning_ends_the_run_only_once_its_runner_has_reported(
    platform: LocalPlatform, admin: ApiClient
):
    """The status waits for the runner (rather than the runner being stopped by then):
    when the run first shows canceled, the runner has reported canceled."""
    ws = new_workspace(admin, "slow-plan", SLOW_PLAN)
    run_id = start_run(admin, ws)
    wait_for(
        lambda: "Terraform has been successfully initialized" in full_log(admin, run_id, "plan"),
        "the plan to be computing",
    )

    assert admin.post(f"/runs/{run_id}/actions/cancel").status == 202
    run = run_status(admin, run_id, ENDED)
    report = stored_json(platform, f"runs/{run_id}/plan/result.json")

    assert run["status"] == "canceled"
    assert report is not None, "the run ended canceled before its runner reported"
    assert report["status"] == "canceled"
    released(admin, ws)
