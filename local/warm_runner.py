"""A warm runner for local mode: one process that imports the runner once and forks a child
per ECS task, in place of a fresh ``python -m runner.main`` per task.

Every phase of a fresh runner pays for starting Python twice (``runner.process`` restarts it
with a clean environment) and importing boto3, pydantic and ``iacp``: about 0.35 to 0.5 CPU-s,
most of a small run's local overhead. The warm runner pays it once per ``LocalEcsBackend``.
What a task runs is still the runner's own code in a process of its own: the child of a fork
does what ``runner.main`` does after its restart (``forbid_inspection``, then
``runner.phase.run`` with the task's environment), in its own session, with its output in the
task's log file; it is signalled and killed as a fresh process is. On Fargate the runner stays
the fresh ``python -m runner.main`` of the container (tests/runner runs that path).

The security property of ``runner.process`` holds: the warm runner is started with the clean
environment (``clean_environment``), so the ``/proc/<pid>/environ`` of it and of every child
holds no credential; a task's whole environment reaches it over a Unix socket, never through
an exec environment, and the warm runner and every child are non-dumpable.

The protocol, over a ``SOCK_SEQPACKET`` socket pair (one JSON message a packet): the backend
sends ``{"id", "environment", "cwd"}`` with the task's log file descriptor attached
(``socket.send_fds``); the warm runner forks and answers ``{"id", "pid"}`` (or
``{"id", "error"}``), and once the child has ended and been reaped, ``{"pid", "returncode"}``,
the code as ``subprocess.Popen`` gives it (a signal's death: minus its number). The warm runner
is single-threaded (checked before each fork) and waits on its children with pidfds.

If the warm runner dies, its children die with it (``PR_SET_PDEATHSIG``) and are reported as
killed; the backend starts a new one for the next task.
"""

import contextlib
import ctypes
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import traceback
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

from runner.main import CANCEL_SIGNALS, remember_cancels
from runner.process import clean_environment, forbid_inspection

SOCKET_FLAG = "--socket-fd"
# A task's environment is a few KB; a packet is at most one socket buffer.
MAX_MESSAGE = 1 << 20
# Its first answer waits for its imports: seconds on a busy machine, never a minute.
START_TIMEOUT = 60.0
_PR_SET_PDEATHSIG = 1


class WarmRunnerGone(RuntimeError):
    """The warm runner ended (or never started): no task can be forked from it."""


class WarmProcess:
    """A forked task, as much of ``subprocess.Popen`` as local ECS uses: ``pid``, ``poll``,
    ``wait``, ``returncode``, ``send_signal``, ``terminate``, ``kill``."""

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None
        self._ended = threading.Event()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._ended.wait(timeout):
            raise subprocess.TimeoutExpired(f"warm runner task {self.pid}", timeout or 0.0)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:  # once reaped, the pid may be another process's
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def _end(self, returncode: int) -> None:
        self.returncode = returncode
        self._ended.set()


class WarmRunner:
    """The backend's side: starts the warm runner and asks it for tasks."""

    def __init__(self, environment: Mapping[str, str], cwd: Path | None, log_path: Path):
        """``environment``: whose clean part (``clean_environment``) the warm runner and its
        children start with; ``log_path``: the warm runner's own output."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        theirs.set_inheritable(True)
        try:
            with log_path.open("ab") as log:
                self.process = subprocess.Popen(  # noqa: S603 -- our own module
                    [sys.executable, "-m", "local.warm_runner", SOCKET_FLAG, str(theirs.fileno())],
                    env=clean_environment(environment),
                    cwd=cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    pass_fds=(theirs.fileno(),),
                    start_new_session=True,  # a terminal's ^C is not for it
                )
        finally:
            theirs.close()
        self._socket = ours
        self._request_lock = threading.Lock()  # one request (and its answer) at a time
        self._answer: dict[str, Any] | None = None
        self._answered = threading.Event()
        self._processes: dict[int, WarmProcess] = {}
        self._gone = threading.Event()
        self._next_id = 0
        self._reader = threading.Thread(target=self._read, name="warm-runner", daemon=True)
        self._reader.start()

    @property
    def alive(self) -> bool:
        return not self._gone.is_set()

    def start(self, environment: Mapping[str, str], cwd: Path | None, log_fd: int) -> WarmProcess:
        """Fork a child that runs the phase ``environment`` describes, its stdout and stderr
        on ``log_fd``; raises WarmRunnerGone if the warm runner has ended."""
        with self._request_lock:
            if self._gone.is_set():
                raise WarmRunnerGone("the warm runner has ended")
            self._next_id += 1
            request = {
                "id": self._next_id,
                "environment": dict(environment),
                "cwd": str(cwd) if cwd else None,
            }
            self._answered.clear()
            try:
                socket.send_fds(self._socket, [json.dumps(request).encode()], [log_fd])
            except OSError as error:
                raise WarmRunnerGone(f"the warm runner cannot be reached: {error}") from error
            if not self._answered.wait(START_TIMEOUT):
                self.process.kill()  # hung: the reader sees it end
                raise WarmRunnerGone("the warm runner did not answer")
            answer = self._answer
            if answer is None:
                raise WarmRunnerGone("the warm runner ended before it answered")
            if "error" in answer:
                raise OSError(answer["error"])
            process: WarmProcess = answer["process"]
            return process

    def close(self) -> None:
        """End the warm runner; its running children die with it."""
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)
        self._reader.join()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def _read(self) -> None:
        try:
            while True:
                message = self._socket.recv(MAX_MESSAGE)
                if not message:
                    break
                answer = json.loads(message)
                if "returncode" in answer:
                    self._processes.pop(answer["pid"])._end(answer["returncode"])
                    continue
                if "pid" in answer:  # registered here, before any report of its end
                    process = self._processes[answer["pid"]] = WarmProcess(answer["pid"])
                    answer["process"] = process
                self._answer = answer
                self._answered.set()
        except OSError:
            pass
        finally:
            self._gone.set()
            self._answer = None
            self._answered.set()
            self._socket.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(5)  # reap it
            # Its children were killed with it (PR_SET_PDEATHSIG); their codes are lost.
            for process in list(self._processes.values()):
                process._end(-signal.SIGKILL)
            self._processes.clear()


# The warm runner's own side: ``python -m local.warm_runner --socket-fd N``.


def _build_models() -> None:
    """iacp's models are built at their first use (``iacp.model``): built here, once, every
    child inherits them instead of building those it uses itself."""
    from iacp.model import defined_models

    for model in defined_models():
        if not model.__pydantic_complete__:
            model.model_rebuild(raise_errors=False)


def serve(control: socket.socket) -> None:
    """Import the runner once, then fork a child per request until the backend hangs up."""
    forbid_inspection()  # the requests it reads hold the tasks' credentials
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from runner import aws, phase  # what every child inherits, imported once

    aws.load_service_models()
    _build_models()

    selector = selectors.DefaultSelector()
    selector.register(control, selectors.EVENT_READ)
    while True:
        for key, _ in selector.select():
            if key.fileobj is control:
                message, fds, _, _ = socket.recv_fds(control, MAX_MESSAGE, 1)
                if not message:
                    return  # the backend is gone
                _fork(control, json.loads(message), fds, phase, selector)
            else:
                pid = key.data
                selector.unregister(key.fileobj)
                os.close(key.fd)
                _, status = os.waitpid(pid, 0)
                _send(control, {"pid": pid, "returncode": os.waitstatus_to_exitcode(status)})


def _fork(
    control: socket.socket,
    request: dict[str, Any],
    fds: list[int],
    phase: ModuleType,
    selector: selectors.BaseSelector,
) -> None:
    try:
        if len(fds) != 1:
            raise OSError("a task request carries exactly one log file descriptor")
        threads = len(os.listdir("/proc/self/task"))
        if threads != 1:  # a fork copies only the calling thread: locks others hold stay held
            raise OSError(f"the warm runner has {threads} threads; it forks only with one")
        parent = os.getpid()
        sys.stdout.flush()  # nothing buffered is written twice
        sys.stderr.flush()
        # The child starts with a cancel blocked, as runner.main restarts itself: one sent
        # before the child has its handler is handled then, not fatal.
        unblocked = signal.pthread_sigmask(signal.SIG_BLOCK, CANCEL_SIGNALS)
        try:
            pid = os.fork()
            if pid == 0:
                _child(control, request, fds[0], parent, phase)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, unblocked)
        pidfd = os.pidfd_open(pid)
    except OSError as error:
        _send(control, {"id": request.get("id"), "error": f"{type(error).__name__}: {error}"})
        return
    finally:
        for fd in fds:
            os.close(fd)
    selector.register(pidfd, selectors.EVENT_READ, pid)
    _send(control, {"id": request["id"], "pid": pid})


def _child(
    control: socket.socket, request: dict[str, Any], log_fd: int, parent: int, phase: ModuleType
) -> NoReturn:
    """What ``runner.main`` does after its restart, in a session of its own, as a container's
    process runs; never returns into the warm runner's loop."""
    code = 1
    try:
        control.close()
        os.setsid()  # signalled as a group, its session killed when it ends (local.ecs)
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the warm runner died before the line above
            os._exit(128 + signal.SIGKILL)
        stdin = os.open(os.devnull, os.O_RDONLY)
        os.dup2(stdin, 0)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.close(stdin)
        os.close(log_fd)
        if request["cwd"]:
            os.chdir(request["cwd"])
        environment: dict[str, str] = request["environment"]
        os.environ.clear()  # as the restarted runner's: the clean part alone
        os.environ.update(clean_environment(environment))
        canceled = remember_cancels()
        forbid_inspection()
        code = phase.run(environment, canceled)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _send(control: socket.socket, message: Mapping[str, Any]) -> None:
    with contextlib.suppress(OSError):  # the backend is gone: the next recv says so
        control.send(json.dumps(message).encode())


def main(argv: list[str]) -> int:
    control = socket.socket(fileno=int(argv[argv.index(SOCKET_FLAG) + 1]))
    serve(control)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
