"""Cancel: SIGTERM to the runner during an apply."""

import random

from tests.processes import processes_with_argument
from tests.runner.conftest import Platform, Workspace, cancel_when

# `sleep`'s argument is unique to the test, so its process can be found; the `; echo` keeps
# the shell from exec-ing sleep, so sleep is a grandchild that outlives the killed shell.
CANCEL_TF = """
resource "terraform_data" "first" {
  input = "created before the cancel"
}

resource "terraform_data" "second" {
  depends_on = [terraform_data.first]

  provisioner "local-exec" {
    command = "sleep SECONDS; echo slept"
  }
}
"""


def test_sigterm_during_apply_stops_terraform_and_uploads_the_partial_state(
    workspace: Workspace, platform: Platform
) -> None:
    seconds = f"29.{random.randrange(10**8):08d}"  # noqa: S311 -- a marker, not a secret
    key = workspace.upload_configuration({"main.tf": CANCEL_TF.replace("SECONDS", seconds)})
    plan = workspace.plan(key)
    assert plan.exit_code == 0, plan.output
    runner = workspace.start_runner(plan.run_id, "apply", key)

    def sleeping() -> bool:
        log = platform.log(plan.run_id, "apply")
        executing = "terraform_data.second (local-exec): Executing" in log
        return executing and bool(processes_with_argument(seconds))

    output = cancel_when(runner, sleeping, "the second resource's local-exec", seconds)

    # Stopped before the 29 s sleep ended: its output never came.
    assert runner.returncode == 130, output.decode()
    result = platform.get_json(f"runs/{plan.run_id}/apply/result.json")
    assert result["status"] == "canceled"
    assert result["error"] is None
    assert result["state_uploaded"] is True
    state = platform.get_json(f"runs/{plan.run_id}/apply/terraform.tfstate")
    assert result["state_serial"] == state["serial"]
    first = next(r for r in state["resources"] if r["name"] == "first")
    assert first["instances"][0].get("status") != "tainted"
    log = platform.log(plan.run_id, "apply")
    assert "terraform_data.first: Creation complete" in log
    assert "Interrupt received" in log
    assert "(local-exec): slept" not in log
    assert platform.log_complete(plan.run_id, "apply")
    assert processes_with_argument(seconds) == []  # the runner killed Terraform's leftovers
