"""Helpers for tests that need configurations and runs."""

import io
import json
import tarfile
from typing import Any

import requests

from iacp.aws import s3_client
from iacp.orchestration.workflow import ConfirmationInput, RunRef, StartInput
from iacp.services.machinery import RunMachinery
from iacp.settings import WorkflowSettings
from local.template import Provisioned
from tests.conftest import ApiClient

SIMPLE_CONFIGURATION = {
    "main.tf": """
resource "terraform_data" "example" {
  input = var.greeting
}

variable "greeting" {
  type    = string
  default = "hello"
}

output "greeting" {
  value = terraform_data.example.output
}
""",
}

# Three resources Terraform finishes at once, then one whose provisioner runs ``command``
# (a sleep, its argument unique to the test) and one that waits for it: an apply to kill or
# cancel while the first three are in the state.
SLOW_FOURTH = """
resource "terraform_data" "first" {
  input = "one"
}

resource "terraform_data" "second" {
  input = "two"
}

resource "terraform_data" "third" {
  input = "three"
}

resource "terraform_data" "slow" {
  depends_on = [terraform_data.first, terraform_data.second, terraform_data.third]

  provisioner "local-exec" {
    command = "COMMAND"
  }
}

resource "terraform_data" "last" {
  depends_on = [terraform_data.slow]
}
"""
FINISHED_BEFORE_SLOW = {"first", "second", "third"}


def slow_fourth(command: str) -> dict[str, str]:
    """The files of ``SLOW_FOURTH`` with its provisioner running ``command``."""
    return {"main.tf": SLOW_FOURTH.replace("COMMAND", command)}


def resource_names(state: dict[str, Any] | None) -> set[str]:
    return {resource["name"] for resource in (state or {}).get("resources", [])}


def tar_gz(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def upload_configuration(
    client: ApiClient, aws: Provisioned, workspace_id: str, files: dict[str, str] | None = None
) -> str:
    """Create a configuration version and PUT its archive to the upload URL, as a client does."""
    reply = client.post(f"/workspaces/{workspace_id}/configuration-versions", {})
    assert reply.status == 201, reply.body
    version = reply.json()
    put_archive(version["upload_url"], tar_gz(files or SIMPLE_CONFIGURATION))
    return str(version["id"])


def put_archive(upload_url: str, body: bytes) -> None:
    """A plain HTTP PUT to the presigned URL, as any client would send it (moto answers)."""
    response = requests.put(upload_url, data=body, timeout=30)
    assert response.status_code == 200, response.text


def s3_put(aws: Provisioned, key: str, body: bytes | str) -> None:
    s3_client().put_object(Bucket=aws.refs["ArtifactsBucket"], Key=key, Body=body)


# --- driving runs through the workflow's steps, with the files a runner would leave -----


def machinery_for(aws: Provisioned) -> RunMachinery:
    return RunMachinery.build(WorkflowSettings.model_validate(aws.environment("WorkflowFunction")))


def started(machinery: RunMachinery, run_id: str) -> None:
    """What the workflow's first steps do for the run's (not executing) execution, when no
    run task is attached: start, then start the plan."""
    arn = machinery.workflow.execution_arn(run_id)
    machinery.run_workflow().start(StartInput(run_id=run_id, execution_arn=arn))
    machinery.run_workflow().start_plan(RunRef(run_id=run_id))


def plan_result(aws, run_id: str, **fields: Any) -> None:
    result = {"phase": "plan", "status": "succeeded", "error": None, "state_serial": 0} | fields
    s3_put(aws, f"runs/{run_id}/plan/result.json", json.dumps(result))


def plan_documents(aws, run_id: str, plan: dict[str, Any]) -> None:
    """The JSON plan and its resource changes, as the runner uploads them."""
    s3_put(aws, f"runs/{run_id}/plan/plan.json", json.dumps(plan))
    changes = {"resource_changes": plan.get("resource_changes", [])}
    s3_put(aws, f"runs/{run_id}/plan/resource-changes.json", json.dumps(changes))


def apply_result(
    aws, run_id: str, serial: int, resources: list[dict[str, Any]] | None = None, **fields: Any
) -> None:
    result = {"phase": "apply", "status": "succeeded", "state_serial": serial} | fields
    s3_put(aws, f"runs/{run_id}/apply/result.json", json.dumps(result))
    state = {
        "version": 4,
        "serial": serial,
        "lineage": "lin-1",
        "outputs": {
            "greeting": {"value": "hello", "type": "string"},
            "password": {"value": "hunter2", "type": "string", "sensitive": True},
        },
        "resources": resources or [],
    }
    s3_put(aws, f"runs/{run_id}/apply/terraform.tfstate", json.dumps(state))


def planned_run(aws: Provisioned, client: ApiClient, workspace_id: str) -> str:
    """A run that has planned changes and waits for confirmation."""
    machinery = machinery_for(aws)
    run_id = str(client.post(f"/workspaces/{workspace_id}/runs", {}).json()["id"])
    started(machinery, run_id)
    plan_result(aws, run_id, has_changes=True, resource_additions=1)
    machinery.run_workflow().record_plan(RunRef(run_id=run_id))
    machinery.run_workflow().await_confirmation(ConfirmationInput(run_id=run_id, task_token="t"))
    return run_id


def applied_run(
    aws: Provisioned,
    client: ApiClient,
    workspace_id: str,
    serial: int = 1,
    resources: list[dict[str, Any]] | None = None,
) -> str:
    """A run that planned, applied and saved a state version with outputs (and
    ``resources``, the state file's list)."""
    machinery = machinery_for(aws)
    workflow = machinery.run_workflow()
    run_id = str(client.post(f"/workspaces/{workspace_id}/runs", {"auto_apply": True}).json()["id"])
    started(machinery, run_id)
    plan_result(aws, run_id, has_changes=True, resource_additions=1)
    s3_put(aws, f"runs/{run_id}/plan/plan.json", json.dumps({"format_version": "1.2"}))
    workflow.record_plan(RunRef(run_id=run_id))
    workflow.start_apply(RunRef(run_id=run_id))
    apply_result(aws, run_id, serial=serial, resources=resources)
    workflow.record_apply(RunRef(run_id=run_id))
    workflow.finish(RunRef(run_id=run_id))
    return run_id
