"""The run pipeline end to end (issue: plan, confirm, apply, discard, cancel): the real
workflow, the real runner, real Terraform on ``terraform_data`` configurations."""

import json
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from iacp.orchestration.workflow_client import WorkflowClient
from local.platform import LocalPlatform
from tests.conftest import ApiClient, assert_error
from tests.processes import processes_mentioning
from tests.runs_support import SIMPLE_CONFIGURATION, upload_configuration

DEADLINE = 90.0  # seconds any single wait may take before the test fails
ENDED = {"applied", "planned_and_finished", "discarded", "errored", "canceled", "force_canceled"}

COUNTED = {
    "main.tf": """
variable "names" {
  type    = list(string)
  default = ["a", "b"]
}

resource "terraform_data" "item" {
  for_each = toset(var.names)
  input    = each.value
}

output "names" {
  value = sort([for item in terraform_data.item : item.output])
}

output "secret" {
  value     = "s3cr3t"
  sensitive = true
}
""",
}

ORPHAN_MARKER = "iacp-e2e-orphan-marker"  # in the sleep's command line, to find it if it survives
SLOW_APPLY = {
    "main.tf": """
resource "terraform_data" "first" {
  input = "quick"
}

resource "terraform_data" "second" {
  depends_on = [terraform_data.first]
  input      = "slow"

  provisioner "local-exec" {
    command = "sleep 30 # iacp-e2e-orphan-marker"
  }
}
""",
}


def wait_for(
    check: Callable[[], Any], what: str, timeout: float = DEADLINE, every: float = 0.2
) -> Any:
    """``check()``'s first true value, asked every ``every`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(every)


def run_status(
    client: ApiClient, run_id: str, statuses: set[str], timeout: float = DEADLINE
) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        run: dict[str, Any] = client.get(f"/runs/{run_id}").json()
        return run if run["status"] in statuses else None

    return wait_for(reached, f"run {run_id} to reach {sorted(statuses)}", timeout)


def released(client: ApiClient, workspace_id: str) -> dict[str, Any]:
    """The workspace once its ended run has given it back. A run's terminal status is written
    before its release (``RunFinisher.end``), so a client that has just seen the status may
    look a moment too early."""

    def free() -> dict[str, Any] | None:
        workspace: dict[str, Any] = client.get(f"/workspaces/{workspace_id}").json()
        return None if workspace["locked"] or workspace["current_run_id"] else workspace

    return wait_for(free, f"workspace {workspace_id} to be released")


def new_workspace(client: ApiClient, name: str, files: dict[str, str], **settings: Any) -> str:
    reply = client.post("/workspaces", {"name": name, **settings})
    assert reply.status == 201, reply.body
    workspace_id = str(reply.json()["id"])
    upload_configuration(client, None, workspace_id, files)  # type: ignore[arg-type]
    return workspace_id


def start_run(client: ApiClient, workspace_id: str, **body: Any) -> str:
    reply = client.post(f"/workspaces/{workspace_id}/runs", body)
    assert reply.status == 201, reply.body
    return str(reply.json()["id"])


def full_log(client: ApiClient, run_id: str, phase: str) -> str:
    page = client.get(f"/runs/{run_id}/logs", query={"phase": phase}).json()
    return str(page["data"])


def execution_history(platform: LocalPlatform, run_id: str) -> list[dict[str, Any]]:
    """The events of the run's execution, once it has ended."""
    sfn = boto3.client("stepfunctions")
    machine = platform.provisioned.refs["RunStateMachine"]
    arn = WorkflowClient(machine, confirmation_timeout_seconds=60).execution_arn(run_id)
    wait_for(lambda: sfn.describe_execution(executionArn=arn)["status"] != "RUNNING", "its end")
    history = sfn.get_execution_history(executionArn=arn, maxResults=1000)
    return [dict(event) for event in history["events"]]


def states_entered(platform: LocalPlatform, run_id: str) -> list[str]:
    """The states the run's execution entered, in order (each a billed state transition)."""
    return [
        event["stateEnteredEventDetails"]["name"]
        for event in execution_history(platform, run_id)
        if event["type"].endswith("StateEntered")
    ]


def runner_tasks(platform: LocalPlatform, run_id: str) -> list[dict[str, Any]]:
    """The RunTask overrides of the runner tasks the run's execution started, in order, as
    its history says (each ``ecs:runTask.sync`` scheduled), once the execution has ended."""
    tasks = []
    for event in execution_history(platform, run_id):
        details: dict[str, Any] = dict(event.get("taskScheduledEventDetails") or {})
        if details.get("resourceType") == "ecs":
            tasks.append(json.loads(details["parameters"])["Overrides"])
    return tasks


def task_starts(platform: LocalPlatform, run_id: str) -> list[str]:
    """The phases of the runner tasks the run's execution started, in order (with its phase
    in the container's overrides). On AWS each is a Fargate task start: docs/performance.md
    counts them per kind of run."""
    phases = []
    for overrides in runner_tasks(platform, run_id):
        [container] = overrides["ContainerOverrides"]
        environment = {e["Name"]: e["Value"] for e in container["Environment"]}
        phases.append(environment["IACP_PHASE"])
    return phases


def test_plan_confirm_apply_saves_a_state_with_its_outputs(platform, admin):
    ws = new_workspace(admin, "apply-me", COUNTED)
    run_id = start_run(admin, ws, message="first apply")

    planned = run_status(admin, run_id, {"planned"} | ENDED)
    assert planned["status"] == "planned", planned["error"]
    assert planned["resource_additions"] == 2
    assert admin.get(f"/workspaces/{ws}").json()["lock"]["holder"] == run_id
    assert "Plan: 2 to add" in full_log(admin, run_id, "plan")
    plan = admin.get(f"/runs/{run_id}/plan-json").json()
    assert {c["address"] for c in plan["resource_changes"]} == {
        'terraform_data.item["a"]',
        'terraform_data.item["b"]',
    }

    assert admin.post(f"/runs/{run_id}/actions/apply", {"comment": "go"}).status == 202
    applied = run_status(admin, run_id, ENDED)
    assert task_starts(platform, run_id) == ["plan", "apply"]
    # No run tasks: each stage is its Prepare step and a Choice, no Map, no Conclude step.
    entered = states_entered(platform, run_id)
    for stage in ("PrePlan", "PostPlan", "PreApply", "PostApply"):
        assert entered.count(f"Prepare{stage}Tasks") == entered.count(f"Any{stage}Tasks?") == 1
        assert f"Run{stage}Tasks" not in entered and f"Conclude{stage}Tasks" not in entered

    assert applied["status"] == "applied", applied["error"]
    assert {"planned", "confirmed", "applying", "applied"} <= set(applied["status_timestamps"])
    state = admin.get(f"/workspaces/{ws}/current-state-version").json()
    assert state["id"] == applied["state_version_id"]
    assert state["serial"] >= 1
    assert state["outputs"]["names"]["value"] == ["a", "b"]
    assert state["outputs"]["secret"] == {"value": None, "sensitive": True, "type": "string"}
    assert "Apply complete! Resources: 2 added" in full_log(admin, run_id, "apply")
    released(admin, ws)
    # The inventory, indexed from the new state on the durable path (run events bus → queue).
    inventory = synced_inventory(admin, ws, state["serial"])
    assert [r["address"] for r in inventory["items"]] == [
        'terraform_data.item["a"]',
        'terraform_data.item["b"]',
    ]
    for resource, key in zip(inventory["items"], ["a", "b"], strict=True):
        assert (resource["type"], resource["name"], resource["index_key"]) == (
            "terraform_data",
            "item",
            key,
        )
        assert resource["provider"] == "terraform.io/builtin/terraform"
        assert resource["module"] is None
        assert resource["cloud_id"]  # terraform_data's id, a UUID Terraform made
        assert resource["run_id"] == run_id
        found = admin.get("/resources", query={"id": resource["cloud_id"]}).json()["items"]
        assert [(f["workspace_id"], f["address"]) for f in found] == [(ws, resource["address"])]

    # A second run of the same configuration finds nothing to change.
    again = start_run(admin, ws)
    finished = run_status(admin, again, ENDED)
    assert finished["status"] == "planned_and_finished"
    assert finished["has_changes"] is False
    released(admin, ws)

    # A change of variable plans against the saved state: the serial grows on apply.
    admin.post(
        f"/workspaces/{ws}/vars",
        {"key": "names", "value": '["a", "c"]', "category": "terraform", "hcl": True},
    )
    changed = start_run(admin, ws, auto_apply=True)
    run = run_status(admin, changed, ENDED)
    assert run["status"] == "applied", run["error"]
    # Auto-apply without run tasks: one task plans and applies, each phase with its own log;
    # the workspace was locked before it planned, and the statuses follow one another.
    assert task_starts(platform, changed) == ["plan"]
    assert run["applies_in_plan_task"] is True
    apply_log = full_log(admin, changed, "apply")
    assert "iacp: applying the saved plan in the task that made it." in apply_log
    assert "Apply complete! Resources: 1 added, 0 changed, 1 destroyed." in apply_log
    assert "Apply complete" not in full_log(admin, changed, "plan")
    times = run["status_timestamps"]
    assert times["planning"] <= times["applying"] <= times["applied"]
    assert (run["resource_additions"], run["resource_destructions"]) == (1, 1)
    newer = admin.get(f"/workspaces/{ws}/current-state-version").json()
    assert newer["serial"] > state["serial"]
    assert newer["lineage"] == state["lineage"]
    assert newer["outputs"]["names"]["value"] == ["a", "c"]
    # The inventory follows: "b" is gone, "c" is there, "a" is the same resource.
    after = synced_inventory(admin, ws, newer["serial"])
    assert [r["address"] for r in after["items"]] == [
        'terraform_data.item["a"]',
        'terraform_data.item["c"]',
    ]
    assert after["items"][0]["cloud_id"] == inventory["items"][0]["cloud_id"]
    assert after["items"][1]["run_id"] == changed


def synced_inventory(client: ApiClient, workspace_id: str, serial: int) -> dict[str, Any]:
    """The workspace's inventory once it has been indexed from the state ``serial``."""

    def synced() -> dict[str, Any] | None:
        page: dict[str, Any] = client.get(f"/workspaces/{workspace_id}/resources").json()
        sync = page["sync"] or {}
        return page if sync.get("status") == "synced" and sync["synced_serial"] == serial else None

    return wait_for(synced, f"the inventory of state serial {serial}")


def lambda_phases(platform: LocalPlatform, run_id: str) -> list[str]:
    """The phases the run's execution ran in the runner's Lambda function, in order."""
    sfn = boto3.client("stepfunctions")
    machine = platform.provisioned.refs["RunStateMachine"]
    arn = WorkflowClient(machine, confirmation_timeout_seconds=60).execution_arn(run_id)
    wait_for(lambda: sfn.describe_execution(executionArn=arn)["status"] != "RUNNING", "its end")
    function = platform.provisioned.refs["RunnerFunction"]
    phases = []
    for event in sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]:
        details: dict[str, Any] = dict(event.get("taskScheduledEventDetails") or {})
        parameters = json.loads(details.get("parameters") or "{}")
        if details.get("resourceType") == "lambda" and function in parameters["FunctionName"]:
            phases.append(parameters["Payload"]["runner"]["phase"])
    return phases


def test_a_lambda_workspace_applies_and_destroys_in_the_runners_function(platform, admin):
    ws = new_workspace(admin, "quick", COUNTED, execution="lambda", phase_timeout_seconds=300)

    run_id = start_run(admin, ws, auto_apply=True)
    applied = run_status(admin, run_id, ENDED)

    assert applied["status"] == "applied", applied["error"]
    # Auto-apply without run tasks: one invocation plans and applies, as one Fargate task does.
    assert (task_starts(platform, run_id), lambda_phases(platform, run_id)) == ([], ["plan"])
    assert applied["applies_in_plan_task"] is True
    state = admin.get(f"/workspaces/{ws}/current-state-version").json()
    assert state["outputs"]["names"]["value"] == ["a", "b"]
    assert "Apply complete! Resources: 2 added" in full_log(admin, run_id, "apply")
    released(admin, ws)

    # Confirmed: the apply is an invocation of its own.
    destroy = start_run(admin, ws, is_destroy=True)
    assert run_status(admin, destroy, {"planned"} | ENDED)["status"] == "planned"
    assert admin.post(f"/runs/{destroy}/actions/apply", {}).status == 202
    destroyed = run_status(admin, destroy, ENDED)

    assert destroyed["status"] == "applied", destroyed["error"]
    assert destroyed["resource_destructions"] == 2
    assert lambda_phases(platform, destroy) == ["plan", "apply"]
    assert admin.get(f"/workspaces/{ws}/current-state-version").json()["outputs"] == {}
    released(admin, ws)


def test_plan_only_run_finishes_without_locking_or_queueing(platform, admin):
    ws = new_workspace(admin, "speculative", SIMPLE_CONFIGURATION)
    admin.post(f"/workspaces/{ws}/actions/lock", {"reason": "a user holds it"})
    admin.patch(f"/workspaces/{ws}", {"runner_size": {"cpu": 512, "memory": 1024}})

    run_id = start_run(admin, ws, operation="plan_only")
    run = run_status(admin, run_id, ENDED)

    assert run["status"] == "planned_and_finished", run["error"]
    assert run["has_changes"] is True
    assert admin.get(f"/workspaces/{ws}").json()["lock"]["reason"] == "a user holds it"
    assert_error(admin.get(f"/workspaces/{ws}/current-state-version"), 404)
    assert task_starts(platform, run_id) == ["plan"]
    [plan] = runner_tasks(platform, run_id)
    assert (plan["Cpu"], plan["Memory"]) == ("512", "1024")  # the workspace's runner_size


def test_a_syntax_error_errors_the_run_at_plan_with_terraforms_message(admin):
    ws = new_workspace(admin, "broken", {"main.tf": 'resource "terraform_data" "x" {\n'})
    run_id = start_run(admin, ws)

    run = run_status(admin, run_id, ENDED)

    assert run["status"] == "errored"
    assert run["error"]["stage"] in {"init", "plan"}
    assert "Unclosed configuration block" in run["error"]["message"]
    assert "Unclosed configuration block" in full_log(admin, run_id, "plan")
    released(admin, ws)


def test_a_workspace_pinned_to_a_terraform_the_runner_lacks_errors_at_init(admin):
    ws = new_workspace(admin, "pinned", SIMPLE_CONFIGURATION)
    assert admin.patch(f"/workspaces/{ws}", {"terraform_version": "1.0.0"}).status == 200
    run_id = start_run(admin, ws, operation="plan_only")

    run = run_status(admin, run_id, ENDED)

    assert run["status"] == "errored"
    assert run["error"]["stage"] == "init"
    assert run["error"]["message"].startswith("The workspace asks for Terraform 1.0.0, and this")
    assert "Initializing" not in full_log(admin, run_id, "plan")


def test_discard_ends_the_run_and_releases_the_lock(admin):
    ws = new_workspace(admin, "discard-me", SIMPLE_CONFIGURATION)
    run_id = start_run(admin, ws)
    run_status(admin, run_id, {"planned"})

    assert admin.post(f"/runs/{run_id}/actions/discard").status == 202
    wait_for(lambda: admin.get(f"/workspaces/{ws}").json()["current_run_id"] is None, "release")

    assert admin.get(f"/runs/{run_id}").json()["status"] == "discarded"
    assert admin.get(f"/workspaces/{ws}").json()["locked"] is False
    assert_error(admin.get(f"/workspaces/{ws}/current-state-version"), 404)
    assert_error(admin.post(f"/runs/{run_id}/actions/apply"), 409)


def test_runs_on_one_workspace_run_one_after_the_other(admin):
    ws = new_workspace(admin, "queued", SIMPLE_CONFIGURATION)
    first = start_run(admin, ws, auto_apply=True)
    second = start_run(admin, ws, auto_apply=True)

    assert admin.get(f"/runs/{second}").json()["status"] == "pending"
    first_run = run_status(admin, first, ENDED)
    second_run = run_status(admin, second, ENDED)

    assert first_run["status"] == "applied", first_run["error"]
    assert second_run["status"] == "planned_and_finished", second_run["error"]
    assert second_run["status_timestamps"]["planning"] >= first_run["status_timestamps"]["applied"]


def test_a_lock_taken_by_a_user_during_the_plan_errors_the_run(admin):
    ws = new_workspace(admin, "contested", SLOW_APPLY)
    run_id = start_run(admin, ws)
    wait_for(
        lambda: admin.get(f"/runs/{run_id}").json()["status"] != "pending", "the plan to start"
    )
    admin.post(f"/workspaces/{ws}/actions/lock", {"reason": "maintenance"})

    run = run_status(admin, run_id, ENDED)

    assert run["status"] == "errored"
    assert run["error"]["stage"] == "lock"
    assert "planned" not in run["status_timestamps"]
    assert "applying" not in run["status_timestamps"]
    assert admin.get(f"/workspaces/{ws}").json()["lock"]["reason"] == "maintenance"
    assert_error(admin.get(f"/workspaces/{ws}/current-state-version"), 404)


@pytest.mark.parametrize("execution", ["fargate", "lambda"])
def test_cancel_during_apply_keeps_the_partial_state_and_leaves_nothing_running(admin, execution):
    ws = new_workspace(admin, f"cancel-me-{execution}", SLOW_APPLY, execution=execution)
    run_id = start_run(admin, ws, auto_apply=True)
    # It applies in its plan task: the run shows planning until that task ends.
    wait_for(
        lambda: (
            "terraform_data.second: Provisioning with 'local-exec'"
            in full_log(admin, run_id, "apply")
        ),
        "the slow resource to be creating",
    )

    assert admin.post(f"/runs/{run_id}/actions/cancel").status == 202
    run = run_status(
        admin,
        run_id,
        ENDED,
    )

    assert run["status"] == "canceled"
    state = admin.get(f"/workspaces/{ws}/current-state-version").json()
    assert state["partial"] is True
    assert state["run_id"] == run_id
    released(admin, ws)
    assert "Interrupt received" in full_log(admin, run_id, "apply")
    wait_for(
        lambda: not processes_mentioning("iacp-e2e-orphan-marker"), "no process left behind", 10
    )


def test_a_runner_killed_outright_errors_the_run(platform: LocalPlatform, admin):
    ws = new_workspace(admin, "killed", SLOW_APPLY)
    run_id = start_run(admin, ws, auto_apply=True)
    wait_for(lambda: "Provisioning with 'local-exec'" in full_log(admin, run_id, "apply"), "apply")
    assert admin.get(f"/runs/{run_id}").json()["status"] == "planning"  # its plan task applies

    runners = platform.running_runners()
    assert len(runners) == 1
    runners[0].kill()  # SIGKILL, as the OOM killer would: no chance to save or report
    run = run_status(admin, run_id, ENDED)

    assert run["status"] == "errored"
    assert run["error"]["stage"] == "apply"
    assert "exit code 137" in run["error"]["message"]
    released(admin, ws)
    wait_for(
        lambda: not processes_mentioning("iacp-e2e-orphan-marker"),
        "the container's processes to end",
        10,
    )


def test_an_apply_error_errors_the_run_and_the_next_run_starts(admin):
    failing = {
        "main.tf": """
resource "terraform_data" "made" {
  input = "before the failure"
}

resource "terraform_data" "fails" {
  depends_on = [terraform_data.made]
  provisioner "local-exec" {
    command = "echo 'disk full on /var' >&2; exit 3"
  }
}
"""
    }
    ws = new_workspace(admin, "apply-fails", failing)
    run_id = start_run(admin, ws, auto_apply=True)
    waiting = start_run(admin, ws, operation="plan_and_apply")

    run = run_status(admin, run_id, ENDED)

    assert run["status"] == "errored"
    assert run["error"]["stage"] == "apply"
    assert "disk full on /var" in run["error"]["message"]
    assert "disk full on /var" in full_log(admin, run_id, "apply")
    # What the failed apply created is in the workspace's state: the next plan knows it.
    state = admin.get(f"/workspaces/{ws}/current-state-version").json()
    assert state["run_id"] == run_id
    assert state["partial"] is True
    next_run = run_status(admin, waiting, {"planned"} | ENDED)
    assert next_run["status"] == "planned", next_run["error"]
    assert next_run["resource_additions"] == 1  # only the tainted one, not "made" again
    assert admin.get(f"/workspaces/{ws}").json()["lock"]["holder"] == waiting
    admin.post(f"/runs/{waiting}/actions/discard")
