"""The threaded moto server of local mode (``local.moto_server``)."""

import os
import subprocess
import sys

from moto.core.config import default_user_config
from moto.moto_api import state_manager

from local import moto_server
from tests.local.conftest import Local


def test_environment_for_child_processes(local_aws: Local) -> None:
    environment = local_aws.moto.environment()

    assert environment["AWS_ENDPOINT_URL"] == local_aws.moto.endpoint_url
    assert local_aws.moto.endpoint_url.startswith("http://127.0.0.1:")
    assert environment["AWS_DEFAULT_REGION"] == "us-east-1"
    assert environment["AWS_ACCESS_KEY_ID"] and environment["AWS_SECRET_ACCESS_KEY"]


def test_a_child_process_reaches_the_server(local_aws: Local) -> None:
    cluster = local_aws.cluster()
    script = "import boto3; print(boto3.client('ecs').list_clusters()['clusterArns'])"

    listed = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script],
        env={"PATH": os.environ["PATH"], **local_aws.moto.environment()},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )

    assert cluster in listed.stdout


def test_settings_for_the_interpreter(local_aws: Local) -> None:
    assert os.environ["MOTO_PORT"] == str(local_aws.moto.port)
    assert default_user_config["stepfunctions"]["execute_state_machine"] is True
    assert default_user_config["lambda"]["use_docker"] is False
    assert state_manager.get_transition("ecs::task")["progression"] == "manual"


def test_stop_puts_the_settings_back() -> None:
    before = (
        os.environ.get("MOTO_PORT"),
        dict(default_user_config["stepfunctions"]),
        dict(default_user_config["lambda"]),
        state_manager.get_transition("ecs::task"),
    )

    with moto_server.start() as server:
        assert os.environ["MOTO_PORT"] == str(server.port)

    after = (
        os.environ.get("MOTO_PORT"),
        dict(default_user_config["stepfunctions"]),
        dict(default_user_config["lambda"]),
        state_manager.get_transition("ecs::task"),
    )
    assert after == before
