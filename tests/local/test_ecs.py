"""ECS RunTask/StopTask on local processes (``local.ecs``), called directly."""

import functools
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from local.functions import ROOT
from local.platform import RUNNER_COMMAND
from local.warm_runner import WarmProcess
from tests.local.conftest import DEADLINE, Local, wait_until


def run_task(local: Local, family: str, environment: dict[str, str]) -> tuple[str, str]:
    """RunTask with container overrides; returns (cluster, task ARN)."""
    cluster = local.cluster()
    network = local.network()["AwsvpcConfiguration"]
    started = local.ecs.run_task(
        cluster=cluster,
        taskDefinition=family,
        launchType="FARGATE",
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": network["Subnets"],
                "securityGroups": network["SecurityGroups"],
            }
        },
        overrides={
            "containerOverrides": [
                {
                    "name": "main",
                    "environment": [{"name": k, "value": v} for k, v in environment.items()],
                }
            ]
        },
    )
    return cluster, started["tasks"][0]["taskArn"]


def describe(local: Local, cluster: str, task: str) -> dict[str, Any]:
    described: dict[str, Any] = local.ecs.describe_tasks(cluster=cluster, tasks=[task])["tasks"][0]
    return described


def wait_stopped(local: Local, cluster: str, task: str) -> dict[str, Any]:
    result: dict[str, Any] = wait_until(
        lambda: (t := describe(local, cluster, task))["lastStatus"] == "STOPPED" and t
    )
    return result


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for its reaper counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


DUMP_ENVIRONMENT = (
    "import json, os; open(os.environ['MARKER'], 'w').write(json.dumps(dict(os.environ)))"
)


def test_container_environment(
    local_aws: Local, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TF_LOG", "TRACE")
    monkeypatch.setenv("IACP_NOT_FOR_CONTAINERS", "secret")
    family = local_aws.task_definition(DUMP_ENVIRONMENT)
    marker = tmp_path / "environment.json"
    cluster, task = run_task(
        local_aws, family, {"MARKER": str(marker), "FROM_OVERRIDE": "override"}
    )

    assert wait_stopped(local_aws, cluster, task)["containers"][0]["exitCode"] == 0
    environment = json.loads(marker.read_text())
    assert environment["FROM_DEFINITION"] == "definition"
    assert environment["FROM_OVERRIDE"] == "override"
    assert environment["AWS_ENDPOINT_URL"] == local_aws.moto.endpoint_url
    assert environment["AWS_DEFAULT_REGION"] == "us-east-1"
    assert environment["AWS_ACCESS_KEY_ID"]
    assert environment["PATH"] == os.environ["PATH"]
    assert environment["TF_LOG"] == "TRACE"
    assert "IACP_NOT_FOR_CONTAINERS" not in environment


def test_an_override_wins_over_the_definition(local_aws: Local, tmp_path: Path) -> None:
    family = local_aws.task_definition(DUMP_ENVIRONMENT)
    marker = tmp_path / "environment.json"
    cluster, task = run_task(
        local_aws, family, {"MARKER": str(marker), "FROM_DEFINITION": "override"}
    )

    wait_stopped(local_aws, cluster, task)
    assert json.loads(marker.read_text())["FROM_DEFINITION"] == "override"


def test_stopped_only_once_the_process_has_exited(local_aws: Local, tmp_path: Path) -> None:
    go = tmp_path / "go"
    family = local_aws.task_definition(
        "import os, sys, time\n"
        "while not os.path.exists(os.environ['GO']): time.sleep(0.01)\n"
        "sys.exit(4)"
    )
    cluster, task = run_task(local_aws, family, {"GO": str(go)})

    for _ in range(5):  # stock moto would walk the task to STOPPED over these calls
        assert describe(local_aws, cluster, task)["lastStatus"] == "RUNNING"
    go.touch()
    stopped = wait_stopped(local_aws, cluster, task)
    assert stopped["containers"][0]["exitCode"] == 4
    assert stopped["stoppedReason"] == "Essential container in task exited"
    assert stopped["stopCode"] == "EssentialContainerExited"
    assert stopped["desiredStatus"] == "STOPPED"


def test_stop_task_sends_sigterm(local_aws: Local, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    family = local_aws.task_definition(
        "import os, signal, sys, time\n"
        "marker = os.environ['MARKER']\n"
        "signal.signal(signal.SIGTERM, lambda *a: (open(marker, 'w').write('term'), sys.exit(0)))\n"
        "open(marker + '.started', 'w').close()\n"
        "time.sleep(60)"
    )
    cluster, task = run_task(local_aws, family, {"MARKER": str(marker)})
    wait_until(Path(f"{marker}.started").exists)

    local_aws.ecs.stop_task(cluster=cluster, task=task, reason="canceled by a test")

    stopped = wait_stopped(local_aws, cluster, task)
    assert marker.read_text() == "term"
    assert stopped["containers"][0]["exitCode"] == 0
    assert stopped["stoppedReason"] == "canceled by a test"
    assert stopped["stopCode"] == "UserInitiated"


def test_sigkill_after_the_stop_timeout(local_aws: Local, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    family = local_aws.task_definition(
        "import os, signal, time\n"
        "marker = os.environ['MARKER']\n"
        "signal.signal(signal.SIGTERM, lambda *a: open(marker, 'w').write('term'))\n"
        "open(marker + '.started', 'w').close()\n"
        "time.sleep(60)",
        stop_timeout=2,
    )
    cluster, task = run_task(local_aws, family, {"MARKER": str(marker)})
    wait_until(Path(f"{marker}.started").exists)

    began = time.monotonic()
    local_aws.ecs.stop_task(cluster=cluster, task=task, reason="canceled")
    wait_until(marker.exists)
    stopping = describe(local_aws, cluster, task)
    assert (stopping["lastStatus"], stopping["desiredStatus"]) == ("DEACTIVATING", "STOPPED")

    stopped = wait_stopped(local_aws, cluster, task)
    assert time.monotonic() - began >= 1.9
    assert stopped["containers"][0]["exitCode"] == 137  # killed: 128 + SIGKILL


def test_the_process_group_ends_with_the_container(local_aws: Local, tmp_path: Path) -> None:
    marker = tmp_path / "child.pid"
    family = local_aws.task_definition(
        "import os, subprocess, sys\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "open(os.environ['MARKER'], 'w').write(str(child.pid))"
    )
    cluster, task = run_task(local_aws, family, {"MARKER": str(marker)})

    wait_stopped(local_aws, cluster, task)
    child = int(marker.read_text())
    wait_until(lambda: not alive(child))


def test_output_is_kept_in_a_log_file(local_aws: Local) -> None:
    family = local_aws.task_definition(
        "import sys; print('to stdout'); print('to stderr', file=sys.stderr)"
    )
    cluster, task = run_task(local_aws, family, {})

    wait_stopped(local_aws, cluster, task)
    log = local_aws.ecs_backend.log_path(task).read_text()
    assert "to stdout" in log
    assert "to stderr" in log


def test_a_command_that_cannot_start(local_aws: Local) -> None:
    family = local_aws.task_definition(command=[str(Path(sys.executable).parent / "no-such")])
    cluster, task = run_task(local_aws, family, {})

    stopped = wait_stopped(local_aws, cluster, task)
    assert stopped["stopCode"] == "TaskFailedToStart"
    assert stopped["stoppedReason"].startswith("CannotStartContainerError")
    assert "exitCode" not in stopped["containers"][0]


STARTERS, ROUNDS = 4, 5


def test_describe_and_list_tasks_never_fail_while_tasks_start_and_stop(local_aws: Local) -> None:
    """moto's ECS backend walks its dicts of tasks unguarded: a DescribeTasks (or ListTasks,
    or a StopTask) while a RunTask added a task failed with a 500 ("dictionary changed size
    during iteration"), which erred a run. ``local.moto_fidelity`` serialises ECS requests,
    and a task's own end (``local.ecs``) takes the same lock."""
    ecs = boto3.client(
        "ecs",
        endpoint_url=local_aws.moto.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}),  # a 500 is not retried away
    )
    family = local_aws.task_definition(command=["sleep", "60"])
    network = local_aws.network()["AwsvpcConfiguration"]
    started: list[tuple[str, str]] = []  # (cluster, task ARN)
    errors: list[BaseException] = []
    starting_done = threading.Event()

    def start_and_stop() -> None:
        for _ in range(ROUNDS):
            cluster = local_aws.cluster()  # its first task adds to the backend's dict too
            tasks = ecs.run_task(
                cluster=cluster,
                taskDefinition=family,
                launchType="FARGATE",
                count=10,
                networkConfiguration={
                    "awsvpcConfiguration": {
                        "subnets": network["Subnets"],
                        "securityGroups": network["SecurityGroups"],
                    }
                },
            )["tasks"]
            arns = [task["taskArn"] for task in tasks]
            started.extend((cluster, arn) for arn in arns)
            for arn in arns:
                ecs.stop_task(cluster=cluster, task=arn, reason="a test")

    def describe_and_list() -> None:
        while not starting_done.is_set():
            if started:
                cluster, _ = started[-1]
                ecs.describe_tasks(
                    cluster=cluster, tasks=[arn for c, arn in started[-100:] if c == cluster]
                )
                ecs.list_tasks(cluster=cluster)

    def recorded(work: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                work()
            except BaseException as error:
                errors.append(error)

        return run

    starters = [threading.Thread(target=recorded(start_and_stop)) for _ in range(STARTERS)]
    readers = [threading.Thread(target=recorded(describe_and_list)) for _ in range(STARTERS)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # threads switch far more often: the races show up at once
    try:
        for thread in starters + readers:
            thread.start()
        for thread in starters:
            thread.join(DEADLINE * 6)
        starting_done.set()
        for thread in readers:
            thread.join(DEADLINE)
    finally:
        sys.setswitchinterval(interval)

    assert errors == []
    assert len(started) == STARTERS * ROUNDS * 10

    def all_stopped() -> bool:
        clusters = {cluster for cluster, _ in started}
        described = [
            task
            for cluster in clusters
            for task in ecs.describe_tasks(
                cluster=cluster, tasks=[arn for c, arn in started if c == cluster]
            )["tasks"]
        ]
        return len(described) == len(started) and all(
            task["lastStatus"] == "STOPPED" for task in described
        )

    wait_until(all_stopped, DEADLINE * 3)


NOBODY = 65534


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


@pytest.mark.skipif(os.geteuid() != 0, reason="reads another user's process's environ")
def test_a_runner_task_is_a_fork_of_the_warm_runner_with_nothing_to_inspect(
    local_aws: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = local_aws.ecs_backend
    monkeypatch.setattr(backend, "warm_command", RUNNER_COMMAND)
    monkeypatch.setattr(backend, "cwd", ROOT)
    family = local_aws.task_definition(command=RUNNER_COMMAND, stop_timeout=1)
    # An S3 endpoint that takes the connection and never answers: the phase waits there.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with monkeypatch.context() as patch:
            # The warm runner in group nobody: /proc/<pid>/ of a process of it belongs to that
            # group, unless the process is non-dumpable (then to root's).
            popen = subprocess.Popen
            patch.setattr(subprocess, "Popen", functools.partial(popen, group=NOBODY))
            cluster, task = run_task(
                local_aws, family, PLAN_ENVIRONMENT | {"AWS_ENDPOINT_URL": endpoint}
            )
        assert select.select([silent], [], [], DEADLINE)[0], "the phase never called S3"

        runner = backend.process(task)
        assert isinstance(runner, WarmProcess)
        assert backend._warm is not None
        warm = backend._warm.process.pid
        assert parent_of(runner.pid) == warm  # a fork, not a fresh process
        environ = Path(f"/proc/{runner.pid}/environ").read_bytes().decode()
        assert "AWS_" not in environ and "IACP_" not in environ
        assert "PATH=" in environ
        for process in (runner.pid, warm):
            assert f"Gid:\t{NOBODY}\t" in Path(f"/proc/{process}/status").read_text()
            assert os.stat(f"/proc/{process}/environ").st_gid == 0  # non-dumpable
        with subprocess.Popen(["/bin/sleep", "30"], group=NOBODY) as dumpable:  # as it would be
            assert os.stat(f"/proc/{dumpable.pid}/environ").st_gid == NOBODY
            dumpable.kill()

        local_aws.ecs.stop_task(cluster=cluster, task=task, reason="canceled")  # SIGTERM
        stopped = wait_stopped(local_aws, cluster, task)  # SIGKILL after 1 s: stuck in S3
    assert stopped["containers"][0]["exitCode"] == 137
    assert stopped["stopCode"] == "UserInitiated"

    # A warm runner that dies takes its running tasks with it, and is replaced for the next.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
        environment = PLAN_ENVIRONMENT | {"AWS_ENDPOINT_URL": endpoint}
        cluster, task = run_task(local_aws, family, environment)
        assert select.select([silent], [], [], DEADLINE)[0], "the phase never called S3"
        orphan = backend.process(task)
        assert isinstance(orphan, WarmProcess)
        os.kill(warm, signal.SIGKILL)
        stopped = wait_stopped(local_aws, cluster, task)
    assert stopped["containers"][0]["exitCode"] == 137
    assert stopped["stopCode"] == "EssentialContainerExited"
    wait_until(lambda: not alive(orphan.pid) and not alive(warm))
    cluster, task = run_task(local_aws, family, {"IACP_PHASE": "plan"})
    stopped = wait_stopped(local_aws, cluster, task)
    assert stopped["containers"][0]["exitCode"] == 1
    assert "environment is incomplete" in backend.log_path(task).read_text()
    runner = backend.process(task)
    assert isinstance(runner, WarmProcess)
    assert backend._warm.process.pid not in (warm, None)
    assert runner.returncode == 1


def test_a_cancel_as_a_warm_runner_task_starts_is_handled_by_its_phase(
    local_aws: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A StopTask at once, before the forked task has its handler: the task starts with the
    signal blocked (as runner.main restarts itself), so its phase begins canceled and goes to
    report it, instead of dying of SIGTERM's default (exit 143) with no result."""
    backend = local_aws.ecs_backend
    monkeypatch.setattr(backend, "warm_command", RUNNER_COMMAND)
    monkeypatch.setattr(backend, "cwd", ROOT)
    family = local_aws.task_definition(command=RUNNER_COMMAND, stop_timeout=1)
    cluster, task = run_task(local_aws, family, {"IACP_PHASE": "plan"})  # the runner, warm
    wait_stopped(local_aws, cluster, task)
    # An S3 endpoint that takes the connection and never answers: the report waits there.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
        cluster, task = run_task(
            local_aws, family, PLAN_ENVIRONMENT | {"AWS_ENDPOINT_URL": endpoint}
        )
        local_aws.ecs.stop_task(cluster=cluster, task=task, reason="canceled")  # SIGTERM
        assert select.select([silent], [], [], DEADLINE)[0], "the canceled phase never reported"
        stopped = wait_stopped(local_aws, cluster, task)  # SIGKILL after 1 s: stuck in S3
    assert stopped["containers"][0]["exitCode"] == 137


PLAN_ENVIRONMENT = {
    "IACP_RUN_ID": "run-warm",
    "IACP_WORKSPACE_ID": "ws-warm",
    "IACP_PHASE": "plan",
    "IACP_BUCKET": "artifacts",
    "IACP_CONFIGURATION_KEY": "configurations/warm.tar.gz",
    "IACP_VARIABLES_KEY": "a-key",
}
