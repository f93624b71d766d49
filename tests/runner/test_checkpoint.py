"""State checkpoints during an apply: what a runner killed outright leaves the platform."""

import json
import random
import signal
from pathlib import Path

from botocore.exceptions import EndpointConnectionError

from runner.checkpoint import StateCheckpoints
from tests.runner.conftest import (
    RUNNER_TIMEOUT_SECONDS,
    Platform,
    Workspace,
    kill_session,
    wait_until,
)
from tests.runs_support import FINISHED_BEFORE_SLOW, resource_names, slow_fourth

FINISHED = FINISHED_BEFORE_SLOW


def test_a_runner_killed_mid_apply_leaves_a_checkpoint_of_what_terraform_finished(
    workspace: Workspace, platform: Platform
) -> None:
    seconds = f"29.{random.randrange(10**8):08d}"  # noqa: S311 -- a marker, not a secret
    key = workspace.upload_configuration(slow_fourth(f"sleep {seconds}; echo slept"))
    plan = workspace.plan(key)
    assert plan.exit_code == 0, plan.output
    checkpoint = f"runs/{plan.run_id}/apply/terraform.tfstate"
    runner = workspace.start_runner(plan.run_id, "apply", key)

    def finished_ones_checkpointed() -> bool:
        provisioning = "terraform_data.slow (local-exec): Executing" in platform.log(
            plan.run_id, "apply"
        )
        return provisioning and resource_names(platform.get_json(checkpoint)) >= FINISHED

    try:
        wait_until(
            finished_ones_checkpointed,
            RUNNER_TIMEOUT_SECONDS,
            "a checkpoint of the resources finished before the slow one",
        )
        runner.send_signal(signal.SIGKILL)  # as the OOM killer would: no word, no cleanup
        runner.wait(RUNNER_TIMEOUT_SECONDS)
    finally:
        kill_session(runner.pid)

    assert runner.returncode == -signal.SIGKILL
    state = platform.get_json(checkpoint)
    # What Terraform had finished, and not what it was still doing or had not begun.
    assert resource_names(state) == FINISHED
    assert all(
        instance.get("status") != "tainted"
        for resource in state["resources"]
        for instance in resource["instances"]
    )
    assert state["serial"] >= 1 and state["lineage"]
    assert platform.get_json(f"runs/{plan.run_id}/apply/result.json") is None  # never reported
    assert not platform.log_complete(plan.run_id, "apply")


def state(serial: int, *resources: str) -> bytes:
    body = {"version": 4, "serial": serial, "lineage": "lin", "resources": list(resources)}
    return json.dumps(body).encode()


class Uploads:
    def __init__(self, failures: int = 0) -> None:
        self.bodies: list[bytes] = []
        self.failures = failures

    def __call__(self, body: bytes) -> None:
        if self.failures:
            self.failures -= 1
            raise EndpointConnectionError(endpoint_url="http://s3")
        self.bodies.append(body)


def test_only_a_whole_state_other_than_the_last_one_is_uploaded(tmp_path: Path) -> None:
    path = tmp_path / "terraform.tfstate"
    path.write_bytes(state(3, "before"))  # the workspace's state, downloaded
    uploads = Uploads()
    checkpoints = StateCheckpoints(path, uploads)

    assert checkpoints.checkpoint() is False  # nothing Terraform wrote yet
    path.write_bytes(state(4, "before", "new")[:20])  # Terraform rewriting the file
    assert checkpoints.checkpoint() is False
    path.write_bytes(state(4, "before", "new"))
    assert checkpoints.checkpoint() is True
    assert checkpoints.checkpoint() is False  # unchanged since

    assert uploads.bodies == [state(4, "before", "new")]


def test_a_failed_upload_is_tried_again(tmp_path: Path) -> None:
    path = tmp_path / "terraform.tfstate"
    uploads = Uploads(failures=1)
    checkpoints = StateCheckpoints(path, uploads)
    path.write_bytes(state(1, "made"))

    assert checkpoints.checkpoint() is False
    assert checkpoints.checkpoint() is True

    assert uploads.bodies == [state(1, "made")]


def test_the_thread_checkpoints_while_it_runs_and_not_after(tmp_path: Path) -> None:
    path = tmp_path / "terraform.tfstate"
    uploads = Uploads()

    with StateCheckpoints(path, uploads, every=0.01):
        path.write_bytes(state(1, "made"))
        wait_until(lambda: uploads.bodies == [state(1, "made")], 10, "the checkpoint")
    path.write_bytes(state(2, "made", "after"))

    assert uploads.bodies == [state(1, "made")]
