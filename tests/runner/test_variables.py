"""Workspace variables reach Terraform, and sensitive values never reach the log."""

import uuid
from dataclasses import dataclass

import pytest

from tests.runner.conftest import PhaseRun, Platform, make_workspace

VARIABLES_TF = """
variable "password" {
  type = string # sensitive in the workspace only: Terraform itself would print it
}

variable "greeting" {
  type = string
}

variable "tags" {
  type = map(string)
}

resource "terraform_data" "echo" {
  input = var.greeting

  provisioner "local-exec" {
    command = join(" ", [
      "echo password=${var.password} token=$IACP_TEST_TOKEN",
      "region=$IACP_TEST_REGION tags='${jsonencode(var.tags)}'",
    ])
  }
}

output "password" {
  value = var.password
}
"""


@dataclass
class VariablesRun:
    password: str
    token: str
    plan: PhaseRun
    apply: PhaseRun


@pytest.fixture(scope="module")
def variables_run(platform: Platform) -> VariablesRun:
    workspace = make_workspace(platform)
    password, token = f"pw-{uuid.uuid4().hex}", f"tok-{uuid.uuid4().hex}"
    workspace.add_variable("password", password, sensitive=True)
    workspace.add_variable("greeting", "hello there")
    workspace.add_variable("tags", '{ team = "platform" }', hcl=True)
    workspace.add_variable("IACP_TEST_TOKEN", token, "env", sensitive=True)
    workspace.add_variable("IACP_TEST_REGION", "eu-west-3", "env")
    key = workspace.upload_configuration({"main.tf": VARIABLES_TF})
    plan = workspace.plan(key)
    assert plan.exit_code == 0, plan.output
    apply = workspace.run(plan.run_id, "apply", key)
    assert apply.exit_code == 0, apply.output
    return VariablesRun(password, token, plan, apply)


def test_sensitive_values_never_appear_in_the_log(variables_run: VariablesRun) -> None:
    for phase in (variables_run.plan, variables_run.apply):
        for secret in (variables_run.password, variables_run.token):
            assert secret not in phase.log
            assert secret not in phase.output  # the runner's own log
    assert 'password = "***"' in variables_run.plan.log
    assert "password=*** token=***" in variables_run.apply.log


def test_env_variables_reach_local_exec(variables_run: VariablesRun) -> None:
    assert "region=eu-west-3" in variables_run.apply.log


def test_terraform_variables_reach_terraform_and_hcl_values_are_parsed(
    variables_run: VariablesRun, platform: Platform
) -> None:
    assert 'tags={"team":"platform"}' in variables_run.apply.log
    state = platform.get_json(f"runs/{variables_run.apply.run_id}/apply/terraform.tfstate")
    assert state["outputs"]["password"]["value"] == variables_run.password
    (echo,) = state["resources"]
    assert echo["instances"][0]["attributes"]["input"]["value"] == "hello there"
