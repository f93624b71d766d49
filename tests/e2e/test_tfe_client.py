"""A second, independent TFE client: HashiCorp's Python SDK (pytfe) reads what iacp holds
through /api/v2 over HTTP, as it reads Terraform Enterprise: workspaces, runs and their plans,
state versions with their outputs, and variables (docs/terraform-cli.md)."""

import pytest
from pytfe import TFEClient, TFEConfig
from pytfe.models import StateVersionListOptions

from local.platform import LocalPlatform
from tests.conftest import ApiClient
from tests.e2e.test_run_pipeline import ENDED, new_workspace, released, run_status, start_run

CONFIGURATION = {
    "main.tf": """
variable "greeting" {
  type = string
}

resource "terraform_data" "hello" {
  input = var.greeting
}

output "greeting" {
  value = terraform_data.hello.output
}
"""
}


# httpx's own deprecation, from how pytfe hands it a CA bundle: not ours to fix.
@pytest.mark.filterwarnings("ignore:`verify=<str>` is deprecated:DeprecationWarning")
def test_hashicorps_python_client_reads_workspaces_runs_state_and_variables(
    platform: LocalPlatform, admin: ApiClient
):
    ws = new_workspace(admin, "pytfe", CONFIGURATION)
    variable = {"key": "greeting", "value": "hello", "category": "terraform"}
    assert admin.post(f"/workspaces/{ws}/vars", variable).status == 201
    run = run_status(admin, start_run(admin, ws, auto_apply=True), ENDED)
    assert run["status"] == "applied", run["error"]
    released(admin, ws)
    assert admin.token is not None
    config = TFEConfig(address=platform.base_url, token=admin.token, max_retries=0, http2=False)

    with TFEClient(config) as tfe:
        listed = {w.name: w for w in tfe.workspaces.list("default")}
        workspace = tfe.workspaces.read("pytfe", organization="default")
        runs = list(tfe.runs.list(ws))
        read_run = tfe.runs.read(run["id"])
        plan = tfe.plans.read_for_run(run["id"])
        current = tfe.state_versions.read_current(ws)
        history = list(
            tfe.state_versions.list(
                StateVersionListOptions(organization="default", workspace="pytfe")
            )
        )
        outputs = {o.name: o.value for o in tfe.state_versions.list_outputs(current.id)}
        variables = list(tfe.variables.list(ws))

    assert listed["pytfe"].id == workspace.id == ws
    assert [r.id for r in runs] == [run["id"]]
    assert read_run.status is not None and read_run.status.value == "applied"
    assert (plan.resource_additions, plan.resource_destructions) == (1, 0)
    state = admin.get(f"/workspaces/{ws}/current-state-version").json()
    assert (current.id, current.serial) == (state["id"], state["serial"])
    assert [v.id for v in history] == [state["id"]]
    assert outputs == {"greeting": "hello"}
    assert [(v.key, v.value, v.category and v.category.value) for v in variables] == [
        ("greeting", "hello", "terraform")
    ]
