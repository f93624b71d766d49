"""ECS RunTask as a local process: moto records the task, this module runs its container.

A task definition's container becomes a process whose command comes from the platform
(``command_for(family, container_name)``, e.g. ``python -m runner.main``), with the
environment the container would get: the task definition's variables and the RunTask
overrides, plus what reaches moto (``AWS_*``) and a few basics of this process (PATH, HOME,
TF_*). The task's status follows the process as Fargate's follows the container:

- RUNNING while the process runs; STOPPED (container ``exitCode``, ``stoppedReason``) only
  once it has exited, so a ``.sync`` workflow step waits for the real end. The ``ecs::task``
  transition must be manual (``local.moto_server`` sets it): moto would otherwise walk a task
  to STOPPED one status per DescribeTasks call.
- StopTask sends SIGTERM to the process group, then SIGKILL after the container's
  ``stopTimeout`` (default 30 s, at most 120 s), as ECS does to a container.
- When the main process ends, what is left of its session is killed: a container's
  processes do not outlive it (e.g. a ``local-exec`` child that Terraform left behind).

A task whose command is ``warm_command`` (the platform's runner, ``python -m runner.main``)
is not a fresh process but a fork of the backend's warm runner (``local.warm_runner``): one
process, started on the first such task with the clean environment ``runner.process`` gives,
that has imported the runner once and forks a child per task. The child runs the same runner
code a fresh one would after its restart (``runner.phase.run``), as a real process of its own:
its own session, its output in the task's log, signalled, stopped and killed as above, its
exit code reported as a fresh process's. What is warm is only the interpreter and its imports
(about 0.35 to 0.5 CPU-s a phase saved); on Fargate each task is a fresh ``runner.main``, whose
path tests/runner runs. If the warm runner dies, its running tasks die with it (reported
killed) and the next task gets a new one; if one cannot be started or asked, the task runs
``warm_command`` as a fresh process.

Only the task definition's first container runs (moto models only that one); the runner's
task has one container. A container override's ``command`` is not used: the command is
``command_for``'s.

Tests inject what goes wrong with a task (``inject``, a ``TaskFault``), as ECS reports it:
RunTask refused with a failure in its reply (no capacity), a task that stops before its
container starts (an image that cannot be pulled), a container killed while it runs.
"""

import contextlib
import logging
import os
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.core.responses import ActionResult
from moto.ecs.models import EC2ContainerServiceBackend, Task, ecs_backends
from moto.ecs.responses import EC2ContainerServiceResponse

from local.moto_fidelity import ECS_LOCK, TASK_STOPS, original
from local.warm_runner import WarmProcess, WarmRunner, WarmRunnerGone

REGION = "us-east-1"
CommandFor = Callable[[str, str], Sequence[str]]

# Variables of this process a container process still needs; TF_* are added too.
PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
DEFAULT_STOP_TIMEOUT = 30.0
MAX_STOP_TIMEOUT = 120.0
# AWS's stoppedReason when the essential container ends by itself, and StopTask's default.
EXITED_REASON = "Essential container in task exited"
STOPPED_BY_USER = "Task stopped by user"

LOG = logging.getLogger(__name__)


@dataclass
class LocalTask:
    """The process behind one task."""

    task: Task
    log_path: Path
    stop_timeout: float
    process: "subprocess.Popen[bytes] | WarmProcess | None" = None
    stop_reason: str | None = None
    exit_reason: str = EXITED_REASON  # what ECS says when the container ends by itself
    exited: threading.Event = field(default_factory=threading.Event)


@dataclass
class TaskFault:
    """What goes wrong with the next ``times`` tasks (None: all) whose container environment
    ``when`` picks; ``reason`` is what ECS says of it.

    ``refused``: RunTask starts nothing and answers with a failure (ECS found no capacity);
    ``not_started``: the task stops before its container starts (an image that cannot be
    pulled, no network interface); ``killed``: the container is killed (SIGKILL, as the OOM
    killer does) ``after`` seconds into its run.
    """

    how: Literal["refused", "not_started", "killed"]
    when: Callable[[Mapping[str, str]], bool]
    reason: str
    after: float = 0.0
    times: int | None = 1


class LocalEcsBackend(EC2ContainerServiceBackend):
    """moto's ECS backend whose tasks are local processes."""

    # moto finds a backend's URL routes from its class's module (``moto.ecs.urls``).
    __module__ = "moto.ecs.models"

    def __init__(
        self,
        region_name: str,
        account_id: str,
        command_for: CommandFor | None = None,
        environment: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        log_dir: Path | None = None,
        warm_command: Sequence[str] | None = None,
    ):
        """``warm_command``: the command (the runner's) whose tasks are forks of a warm runner
        (``local.warm_runner``) instead of fresh processes; None: every task is fresh."""
        super().__init__(region_name, account_id)
        self.command_for = command_for
        self.environment = dict(environment or {})
        self.cwd = cwd
        self._log_dir = log_dir
        self.warm_command = list(warm_command) if warm_command else None
        self._warm: WarmRunner | None = None
        self._local: dict[str, LocalTask] = {}
        self._faults: list[TaskFault] = []
        self.failures: list[dict[str, str]] = []  # the RunTask request's, for its reply
        # moto's ECS requests hold it (``local.moto_fidelity``): what changes moto's tasks
        # outside a request (a process's end) takes it too.
        self._lock = ECS_LOCK

    def reset(self) -> None:
        """moto's reset re-runs ``__init__``: keep the configuration, end the processes."""
        with self._lock:
            for local in list(self._local.values()):
                _kill_container(local)
            if self._warm is not None:
                self._warm.close()
            config = (self.command_for, self.environment, self.cwd, self._log_dir)
            faults, warm_command = self._faults, self.warm_command
            super().reset()
            self.command_for, self.environment, self.cwd, self._log_dir = config
            self._faults, self.warm_command = faults, warm_command

    @property
    def log_dir(self) -> Path:
        """Where the processes' output goes: ``log_dir`` if given, else a new temp dir."""
        if self._log_dir is None:
            self._log_dir = Path(tempfile.mkdtemp(prefix="iacp-ecs-"))
        return self._log_dir

    def inject(self, fault: TaskFault) -> Callable[[], None]:
        """Make tasks fail as ``fault`` says, until the returned call removes it."""
        with self._lock:
            self._faults.append(fault)

        def remove() -> None:
            with self._lock:
                if fault in self._faults:
                    self._faults.remove(fault)

        return remove

    def run_task(
        self,
        cluster_str: str,
        task_definition_str: str,
        count: int,
        overrides: dict[str, Any] | None,
        *args: Any,
        **kwargs: Any,
    ) -> list[Task]:
        fault = self._fault_for(overrides or {})
        self.failures = []
        if fault is not None and fault.how == "refused":
            self.failures = [{"arn": task_definition_str, "reason": fault.reason}]
            return []
        tasks: list[Task] = super().run_task(
            cluster_str, task_definition_str, count, overrides, *args, **kwargs
        )
        for task in tasks:
            self._launch(task, fault)
        return tasks

    def _fault_for(self, overrides: Mapping[str, Any]) -> TaskFault | None:
        environment = {
            variable["name"]: str(variable["value"])
            for override in overrides.get("containerOverrides") or []
            for variable in override.get("environment") or []
        }
        for fault in self._faults:
            if fault.when(environment):
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                return fault
        return None

    def stop_task(self, cluster_str: str, task_str: str, reason: str | None) -> Task:
        reason = reason or STOPPED_BY_USER
        local = self._local.get(_task_id(task_str))
        if local is None:  # not one of ours (e.g. created before install)
            task: Task = super().stop_task(cluster_str, task_str, reason)
            return task
        with self._lock:
            if local.exited.is_set():
                return local.task  # already stopped: ECS changes nothing
            # Like ECS: desired STOPPED now, STOPPED once the container has exited.
            if local.stop_reason is None:
                local.stop_reason = reason
                local.task.desired_status = "STOPPED"
                local.task.last_status = "DEACTIVATING"
                _describe(local.task, stopping_at=_now())
                _signal_group(local, signal.SIGTERM)
                threading.Thread(
                    target=self._kill_after_timeout, args=(local,), daemon=True
                ).start()
            return local.task

    def log_path(self, task: str) -> Path:
        """The file holding a task's stdout and stderr (task ARN or id)."""
        return self._local[_task_id(task)].log_path

    def process(self, task: str) -> "subprocess.Popen[bytes] | WarmProcess | None":
        """The process of a task (ARN or id), or None if it could not start."""
        return self._local[_task_id(task)].process

    def _launch(self, task: Task, fault: TaskFault | None = None) -> None:
        definition = self.describe_task_definition(task.task_definition_arn)
        container_def = definition.container_definitions[0]
        name = str(container_def.get("name"))
        timeout = container_def.get("stopTimeout")
        if not isinstance(timeout, int | float):
            timeout = DEFAULT_STOP_TIMEOUT
        local = LocalTask(
            task=task,
            log_path=self.log_dir / f"{task.id}.log",
            stop_timeout=min(timeout, MAX_STOP_TIMEOUT),
        )
        self._local[task.id] = local
        if fault is not None and fault.how == "not_started":
            self._stopped(local, None, fault.reason)
            return
        if self.command_for is None:
            self._stopped(local, None, "CannotStartContainerError: no command_for installed")
            return
        command = list(self.command_for(definition.family, name))
        environment = self._environment(container_def, task.overrides, name)
        try:
            with local.log_path.open("wb") as log:
                local.process = self._start(command, environment, log.fileno())
        except OSError as error:
            self._stopped(local, None, f"CannotStartContainerError: {error}")
            return
        task.containers[0].last_status = "RUNNING"
        _describe(task, started_at=_now())
        threading.Thread(target=self._watch, args=(local,), daemon=True).start()
        if fault is not None and fault.how == "killed":
            local.exit_reason = fault.reason
            if fault.after <= 0:
                # At once, here: a timer's thread, started late on a busy machine, would let
                # a fast runner do its work first (a fetch, in a forked warm-runner child).
                _kill_container(local)
            else:
                killer = threading.Timer(fault.after, _kill_container, args=(local,))
                killer.daemon = True
                killer.start()

    def _start(
        self, command: list[str], environment: Mapping[str, str], log: int
    ) -> "subprocess.Popen[bytes] | WarmProcess":
        if command == self.warm_command:
            try:
                return self._warm_runner().start(environment, self.cwd, log)
            except WarmRunnerGone as error:  # a fresh process; a new warm runner next time
                LOG.warning("the warm runner is gone, starting a fresh runner: %s", error)
                self._warm = None
            except OSError as error:  # it could not be started, or could not fork
                LOG.warning("no warm runner for this task, starting a fresh one: %s", error)
        return subprocess.Popen(  # noqa: S603 -- the platform's own command
            command,
            env=environment,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, signalled as one
        )

    def _warm_runner(self) -> WarmRunner:
        """The warm runner, started now if there is none or it has ended."""
        if self._warm is None or not self._warm.alive:
            base = {k: v for k, v in os.environ.items() if k in PASSED_THROUGH}
            base.update({k: v for k, v in os.environ.items() if k.startswith("TF_")})
            base.update(self.environment)
            self._warm = WarmRunner(base, self.cwd, self.log_dir / "warm-runner.log")
        return self._warm

    def _environment(
        self, container_def: Mapping[str, Any], overrides: Mapping[str, Any], name: str
    ) -> dict[str, str]:
        environment = {k: v for k, v in os.environ.items() if k in PASSED_THROUGH}
        environment.update({k: v for k, v in os.environ.items() if k.startswith("TF_")})
        environment.update(self.environment)
        for variable in container_def.get("environment") or []:
            environment[variable["name"]] = str(variable["value"])
        for override in overrides.get("containerOverrides") or []:
            if override.get("name") == name:
                for variable in override.get("environment") or []:
                    environment[variable["name"]] = str(variable["value"])
        return environment

    def _watch(self, local: LocalTask) -> None:
        assert local.process is not None
        returncode = local.process.wait()
        # The container is gone: so are the processes it started.
        _kill_container(local)
        # Docker reports a signal's death as 128 + the signal's number (SIGTERM: 143).
        exit_code = returncode if returncode >= 0 else 128 - returncode
        self._stopped(local, exit_code, local.stop_reason or local.exit_reason)

    def _stopped(self, local: LocalTask, exit_code: int | None, reason: str) -> None:
        with self._lock:
            if self._local.get(local.task.id) is not local:  # reset meanwhile: task forgotten
                local.exited.set()
                return
            task = local.task
            container = task.containers[0]
            # The exit code first: whoever sees STOPPED must see the code.
            _describe(container, exitCode=exit_code, last_status="STOPPED")
            if exit_code is None:
                stop_code = "TaskFailedToStart"
            elif local.stop_reason:
                stop_code = "UserInitiated"
            else:
                stop_code = "EssentialContainerExited"
            _describe(task, stop_code=stop_code, stopped_at=_now(), execution_stopped_at=_now())
            # moto's own stop: STOPPED, reason, and the cluster's resource bookkeeping.
            super().stop_task(task.cluster_arn, task.task_arn, reason)
            local.exited.set()
            TASK_STOPS.stopped()
        LOG.info("ECS task %s stopped: %s (exit code %s)", task.id, reason, exit_code)

    def _kill_after_timeout(self, local: LocalTask) -> None:
        if not local.exited.wait(local.stop_timeout):
            _kill_container(local)


def _signal_group(local: LocalTask, signum: signal.Signals) -> None:
    if local.process is None or local.exited.is_set():
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
        os.killpg(local.process.pid, signum)  # the session leader's pid is the group's id


def _kill_container(local: LocalTask) -> None:
    """SIGKILL every process of the task, as the end of a container does: its whole session,
    not just its process group, since a runner gives each Terraform command a group of its
    own (so that only Terraform gets the interrupt it forwards)."""
    if local.process is None:
        return
    # Its own process first: one killed as it starts may not lead its session yet.
    local.process.kill()
    session = local.process.pid  # started with start_new_session: it leads its session
    for pid in _session_members(session):
        with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(session, signal.SIGKILL)


def _session_members(session: int) -> list[int]:
    """Processes in ``session``, from /proc (Linux); elsewhere none, and only the group dies."""
    members: list[int] = []
    proc = Path("/proc")
    if not proc.is_dir():
        return members
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the command name (which may hold spaces): state ppid pgrp session ...
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 3 and int(fields[3]) == session:
            members.append(int(entry.name))
    return members


def _describe(model: object, **attributes: Any) -> None:
    """Set fields moto's models lack: its serializer picks attributes up by the API's name."""
    vars(model).update(attributes)


def _task_id(task: str) -> str:
    return task.rsplit("/", 1)[-1]


def _now() -> datetime:
    return datetime.now(tz=UTC)


_original_run_task_reply: Callable[[EC2ContainerServiceResponse], ActionResult] = original(
    EC2ContainerServiceResponse, "run_task"
)


def _run_task_reply(self: EC2ContainerServiceResponse) -> ActionResult:
    """moto's RunTask reply always lists no failures: list the ones the backend found.

    ``self.failures`` is the current request's: ECS requests are serialised (``ECS_LOCK``).
    """
    reply = _original_run_task_reply(self)
    backend = self.ecs_backend
    if isinstance(backend, LocalEcsBackend) and backend.failures:
        result = dict(reply.result)  # type: ignore[call-overload]
        return ActionResult(result | {"failures": backend.failures})
    return reply


# (owner, name, replacement), as ``local.moto_fidelity.PATCHES``: the moto method ``install``
# replaces.
PATCHES = ((EC2ContainerServiceResponse, "run_task", _run_task_reply),)


def install(
    command_for: CommandFor,
    environment: Mapping[str, str],
    *,
    cwd: Path | None = None,
    log_dir: Path | None = None,
    warm_command: Sequence[str] | None = None,
    account_id: str = DEFAULT_ACCOUNT_ID,
    region: str = REGION,
) -> LocalEcsBackend:
    """Put a ``LocalEcsBackend`` in moto's ECS backends for this account and region.

    Call it before the first ECS request: it replaces whatever backend (and tasks) was there.
    ``environment`` is what every container gets besides its own variables: typically
    ``MotoServer.environment()``. A moto reset (``/moto-api/reset``, ``mock_aws``) removes it.
    """
    for owner, name, replacement in PATCHES:
        setattr(owner, name, replacement)
    backend = LocalEcsBackend(
        region,
        account_id,
        command_for,
        environment,
        cwd=cwd,
        log_dir=log_dir,
        warm_command=warm_command,
    )
    ecs_backends[account_id][region] = backend
    return backend
