"""The runner as a Lambda function (runner/lambda_handler.py): the phase runs as in its
container, a real ``python -m runner.main`` child with the runner input as its environment;
the handler stops it at its deadline or when the run's execution has ended."""

import random

import pytest

from runner import lambda_handler
from runner.lambda_handler import RunnerPhaseFailed, RunnerPhaseTimedOut, run_phase
from tests.processes import processes_with_argument
from tests.runner.conftest import Platform, Workspace, new_run_id

SLOW_APPLY_TF = """
resource "terraform_data" "first" {
  input = "created before the deadline"
}

resource "terraform_data" "second" {
  depends_on = [terraform_data.first]

  provisioner "local-exec" {
    command = "sleep SECONDS; echo slept"
  }
}
"""


def test_a_phase_that_succeeds_returns_its_outcome(workspace: Workspace, platform: Platform):
    key = workspace.upload_configuration({"main.tf": 'output "x" { value = 1 }'})
    run_id = new_run_id()

    outcome = run_phase(
        workspace.runner_env(run_id, "plan", key), seconds=120, limit=120, still_wanted=lambda: True
    )

    assert outcome == {"phase": "plan", "status": "succeeded", "exit_code": 0}
    assert platform.get_json(f"runs/{run_id}/plan/result.json")["status"] == "succeeded"


def test_a_phase_that_fails_fails_the_function_and_leaves_its_result(
    workspace: Workspace, platform: Platform
):
    key = workspace.upload_configuration({"main.tf": "resource {"})
    run_id = new_run_id()

    with pytest.raises(RunnerPhaseFailed, match="plan phase with exit code 1"):
        run_phase(
            workspace.runner_env(run_id, "plan", key),
            seconds=120,
            limit=120,
            still_wanted=lambda: True,
        )

    result = platform.get_json(f"runs/{run_id}/plan/result.json")
    assert result["status"] == "failed" and result["error"]["stage"] == "init"


def test_an_apply_whose_execution_ended_is_canceled_and_keeps_its_partial_state(
    workspace: Workspace, platform: Platform
):
    seconds = f"58.{random.randrange(10**8):08d}"  # noqa: S311 -- a marker, not a secret
    key = workspace.upload_configuration({"main.tf": SLOW_APPLY_TF.replace("SECONDS", seconds)})
    plan = workspace.plan(key)
    assert plan.exit_code == 0, plan.output

    def execution_running() -> bool:  # the execution is stopped once the local-exec runs
        return not processes_with_argument(seconds)

    try:
        outcome = run_phase(
            workspace.runner_env(plan.run_id, "apply", key),
            seconds=120,
            limit=120,
            still_wanted=execution_running,
            poll_seconds=0.2,
        )
    finally:
        leftovers = processes_with_argument(seconds)

    assert outcome == {"phase": "apply", "status": "canceled", "exit_code": 130}
    assert leftovers == []
    result = platform.get_json(f"runs/{plan.run_id}/apply/result.json")
    assert result["status"] == "canceled" and result["state_uploaded"] is True
    state = platform.get_json(f"runs/{plan.run_id}/apply/terraform.tfstate")
    first = next(r for r in state["resources"] if r["name"] == "first")
    assert first["instances"][0].get("status") != "tainted"
    assert platform.log_complete(plan.run_id, "apply")


def test_a_cancel_as_the_runner_starts_still_ends_the_phase_canceled_with_its_result(
    workspace: Workspace, platform: Platform, monkeypatch: pytest.MonkeyPatch
):
    """SIGTERM before the runner has loaded the phase, even before its interpreter has
    started (here at once: the handler's first look, as soon as the child is spawned, finds
    the execution ended), is remembered, so the workflow still gets a result."""
    monkeypatch.setattr("runner.lambda_handler._WAIT_SECONDS", 0.0)
    key = workspace.upload_configuration({"main.tf": 'output "x" { value = 1 }'})
    run_id = new_run_id()

    outcome = run_phase(
        workspace.runner_env(run_id, "plan", key),
        seconds=120,
        limit=120,
        still_wanted=lambda: False,
        poll_seconds=0.0,
    )

    assert outcome == {"phase": "plan", "status": "canceled", "exit_code": 130}
    assert platform.get_json(f"runs/{run_id}/plan/result.json")["status"] == "canceled"
    assert platform.log_complete(run_id, "plan")


def test_an_apply_that_runs_out_of_time_is_stopped_and_keeps_its_partial_state(
    workspace: Workspace, platform: Platform
):
    seconds = f"59.{random.randrange(10**8):08d}"  # noqa: S311 -- a marker, not a secret
    key = workspace.upload_configuration({"main.tf": SLOW_APPLY_TF.replace("SECONDS", seconds)})
    plan = workspace.plan(key)
    assert plan.exit_code == 0, plan.output

    try:
        with pytest.raises(RunnerPhaseTimedOut, match="limit of 20 s"):
            run_phase(
                workspace.runner_env(plan.run_id, "apply", key),
                seconds=20,
                limit=20,
                still_wanted=lambda: True,
            )
    finally:
        leftovers = processes_with_argument(seconds)

    assert leftovers == []  # the runner stopped Terraform's local-exec
    result = platform.get_json(f"runs/{plan.run_id}/apply/result.json")
    assert result["status"] == "canceled" and result["state_uploaded"] is True
    state = platform.get_json(f"runs/{plan.run_id}/apply/terraform.tfstate")
    first = next(r for r in state["resources"] if r["name"] == "first")
    assert first["instances"][0].get("status") != "tainted"
    log = platform.log(plan.run_id, "apply")
    assert "Interrupt received" in log and "(local-exec): slept" not in log


def test_the_runner_gets_the_phases_credentials_and_none_of_the_functions():
    own = {
        "PATH": "/usr/bin",
        "AWS_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "the-functions-own",
        "AWS_SECRET_ACCESS_KEY": "the-functions-own-secret",
        "AWS_SESSION_TOKEN": "the-functions-own-token",
        "AWS_LAMBDA_FUNCTION_NAME": "RunnerFunction",
        "IACP_BUCKET": "artifacts",
        "TF_IN_AUTOMATION": "1",
    }
    runner = {
        "run_id": "run-1",
        "phase": "apply",
        "aws_access_key_id": "the-phases",
        "aws_secret_access_key": "the-phases-secret",
        "aws_session_token": "the-phases-token",
        "timeout_seconds": 300,
    }

    environment = lambda_handler.runner_environment(runner, own)

    assert environment == {
        "PATH": "/usr/bin",
        "AWS_REGION": "eu-west-1",
        "TF_IN_AUTOMATION": "1",
        "IACP_BUCKET": "artifacts",
        "IACP_RUN_ID": "run-1",
        "IACP_PHASE": "apply",
        "AWS_ACCESS_KEY_ID": "the-phases",
        "AWS_SECRET_ACCESS_KEY": "the-phases-secret",
        "AWS_SESSION_TOKEN": "the-phases-token",
    }


def test_an_event_that_is_not_a_runner_input_starts_nothing():
    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return 900_000

    with pytest.raises(lambda_handler.BadRunnerInput):
        lambda_handler.handler({"phase": "plan"}, Context())


def test_the_images_provider_cache_is_linked_into_a_writable_cache(tmp_path):
    image = tmp_path / "image-cache"
    version = image / "registry.terraform.io/hashicorp/null/3.2.4"
    (version / "linux_arm64").mkdir(parents=True)
    own = {"IACP_PROVIDER_CACHE": str(image), "TMPDIR": str(tmp_path / "tmp")}

    environment = lambda_handler.runner_environment({"phase": "plan"}, own)

    cache = tmp_path / "tmp" / "iacp-plugin-cache"
    assert environment["TF_PLUGIN_CACHE_DIR"] == str(cache)
    linked = cache / "registry.terraform.io/hashicorp/null/3.2.4"
    assert linked.is_symlink() and linked.resolve() == version
    # Writable beside the image's: Terraform adds what it downloads; the next call keeps it.
    (cache / "registry.terraform.io/hashicorp/random/3.7.2").mkdir(parents=True)
    again = lambda_handler.runner_environment({"phase": "apply"}, own)
    assert again["TF_PLUGIN_CACHE_DIR"] == str(cache)
    assert (cache / "registry.terraform.io/hashicorp/random/3.7.2").is_dir()


def test_every_runner_setting_and_a_plans_vcs_settings_reach_the_runner_by_name():
    plan = {"phase": "plan", "vcs_clone_url": "https://git.example/x.git", "vcs_commit": "a" * 40}
    plan |= {"vcs_ref": "refs/heads/main", "vcs_credentials_secret": "arn:secret"}
    plan |= {"state_key": "k", "apply_within_seconds": "300", "cpu": "1024"}

    environment = lambda_handler.runner_environment(plan, {})

    assert {k: v for k, v in environment.items() if k != "IACP_BUCKET"} == {
        "IACP_PHASE": "plan",
        "IACP_VCS_CLONE_URL": "https://git.example/x.git",
        "IACP_VCS_COMMIT": "a" * 40,
        "IACP_VCS_REF": "refs/heads/main",
        "IACP_VCS_CREDENTIALS_SECRET": "arn:secret",
        "IACP_STATE_KEY": "k",
        "IACP_APPLY_WITHIN_SECONDS": "300",
    }  # cpu is the Fargate task's size, not the runner's
