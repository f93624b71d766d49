"""The ``iacp`` CLI end to end: a real subprocess against the local platform's HTTP front, as
a person at a terminal would use it (real workflow, real runner, real Terraform)."""

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from examples.runtask_service import RunTaskService
from local.platform import LocalPlatform
from tests.conftest import ApiClient
from tests.e2e.test_run_pipeline import wait_for

REPO = Path(__file__).resolve().parents[2]
HMAC_KEY = "cli-e2e-hmac-key"
GREETING = {
    "main.tf": """
variable "greeting" {
  type    = string
  default = "hello"
}

variable "names" {
  type    = list(string)
  default = []
}

resource "terraform_data" "example" {
  input = var.greeting
}

output "greeting" {
  value = terraform_data.example.output
}

output "names" {
  value = var.names
}
""",
}
TWO_THINGS = {
    "main.tf": 'resource "terraform_data" "keep" {\n  input = "keep"\n}\n\n'
    'resource "terraform_data" "doomed" {\n  input = "doomed"\n}\n'
}
ONE_THING = {"main.tf": 'resource "terraform_data" "keep" {\n  input = "keep"\n}\n'}

Iacp = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def iacp(platform: LocalPlatform, admin: ApiClient, tmp_path: Path) -> Iacp:
    """``iacp ARGS`` as a subprocess, with IACP_URL and an admin token in its environment;
    ``token=`` replaces the token."""
    assert admin.token is not None
    pythonpath = os.pathsep.join(filter(None, [str(REPO / "cli"), os.environ.get("PYTHONPATH")]))
    base = {
        **os.environ,
        "IACP_URL": platform.base_url,
        "IACP_TOKEN": admin.token,
        "PYTHONPATH": pythonpath,
        "CLI_E2E_HMAC_KEY": HMAC_KEY,
    }

    def run(*args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
        env = base if token is None else {**base, "IACP_TOKEN": token}
        return subprocess.run(  # noqa: S603 - our own CLI, with our arguments
            [sys.executable, "-m", "iacp_cli", *args],
            env=env,
            cwd=tmp_path,  # no .iacp/local.json of a developer's local platform above it
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    return run


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def configuration(root: Path, files: dict[str, str]) -> Path:
    directory = root / f"config-{uuid.uuid4().hex[:8]}"
    directory.mkdir()
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


def new_workspace(iacp: Iacp, tmp_path: Path, prefix: str, files: dict[str, str]) -> str:
    """A new workspace (its name returned) with ``files`` uploaded."""
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    ok(iacp("workspace", "create", name))
    ok(iacp("upload", name, str(configuration(tmp_path, files))))
    return name


def run_id(stdout: str) -> str:
    found = re.search(r"started run (run-\w+)", stdout)
    assert found, stdout
    return found.group(1)


def test_a_workspace_from_creation_to_applied_outputs(iacp: Iacp, tmp_path: Path):
    name = f"cli-{uuid.uuid4().hex[:6]}"
    created = ok(iacp("workspace", "create", name, "--description", "from the CLI"))
    assert created.startswith(f"created workspace {name} (ws-")
    assert name in ok(iacp("workspace", "list"))
    shown = ok(iacp("workspace", "show", name))
    assert "from the CLI" in shown and "locked:" in shown

    ok(iacp("var", "set", name, "greeting", "hello from the CLI"))
    ok(iacp("var", "set", name, "names", '["a", "b"]', "--hcl"))
    ok(iacp("var", "set", name, "greeting", "hello again"))  # the same key: changed
    listed = ok(iacp("var", "list", name))
    assert "hello again" in listed and '["a", "b"]' in listed
    assert listed.count("greeting") == 1

    uploaded = ok(iacp("upload", name, str(configuration(tmp_path, GREETING))))
    assert re.search(r"as configuration version cv-\w+ \(uploaded\)", uploaded)

    watched = iacp("run", "start", name, "--auto-apply", "--message", "cli e2e", "--watch")

    out = ok(watched)
    assert "-- status: planning" in out and "-- status: applying" in out
    assert "Apply complete!" in out
    assert out.rstrip().endswith("-- status: applied")
    state = ok(iacp("state", "show", name))
    assert 'greeting = "hello again"' in state
    assert 'names = ["a", "b"]' in state

    # The inventory is indexed after the apply, on its own durable path.
    def indexed() -> str | None:
        listed = ok(iacp("resource", "list", name))
        return listed if "sync: synced" in listed else None

    inventory = wait_for(indexed, "the inventory")
    assert "terraform_data.example" in inventory
    found = ok(iacp("resource", "find", "--type", "terraform_data"))
    assert "terraform_data.example" in found
    # Asked again, it is already up to date: the request goes through and changes nothing.
    assert "requested" in ok(iacp("resource", "sync", name))
    assert "terraform_data.example" in wait_for(indexed, "the inventory, asked again")


def test_watch_until_planned_then_apply(iacp: Iacp, tmp_path: Path):
    name = new_workspace(iacp, tmp_path, "cli-confirm", GREETING)
    run = run_id(ok(iacp("run", "start", name)))

    planned = ok(iacp("run", "watch", run))

    assert "-- status: planned" in planned
    assert f"`iacp run apply {run}` applies it" in planned
    assert "Plan: 1 to add" in planned

    applied = ok(iacp("run", "apply", run, "--comment", "looks good", "--watch"))

    assert "Apply complete!" in applied
    assert applied.rstrip().endswith("-- status: applied")
    assert re.search(r"^status:\s+applied$", ok(iacp("run", "show", run)), re.MULTILINE)


def test_a_mandatory_run_task_stops_a_run_that_destroys(iacp: Iacp, tmp_path: Path):
    name = new_workspace(iacp, tmp_path, "cli-task", TWO_THINGS)
    ok(iacp("run", "start", name, "--auto-apply", "--watch"))
    task = f"no-destroy-{uuid.uuid4().hex[:6]}"
    with RunTaskService(hmac_key=HMAC_KEY) as service:
        created = ok(
            iacp("runtask", "create", task, service.url, "--hmac-key-env", "CLI_E2E_HMAC_KEY")
        )
        assert "with an HMAC key" in created
        assert task in ok(iacp("runtask", "list"))
        ok(
            iacp(
                "runtask",
                "attach",
                name,
                task,
                "--stages",
                "post_plan",
                "--enforcement",
                "mandatory",
            )
        )
        ok(iacp("upload", name, str(configuration(tmp_path, ONE_THING))))
        started = iacp("run", "start", name, "--watch")

    assert started.returncode == 3, started.stdout + started.stderr
    assert f"{task} (mandatory): failed" in started.stdout
    assert "terraform_data.doomed" in started.stdout  # the outcome
    assert "-- post_plan run tasks: awaiting override" in started.stdout
    assert "stopped at post_plan" in started.stderr
    assert "iacp run override" in started.stderr
    # Then the person decides: cancel it.
    run = run_id(started.stdout)
    ok(iacp("run", "cancel", run))
    assert re.search(r"^status:\s+canceled$", ok(iacp("run", "show", run)), re.MULTILINE)


def test_errors_exit_non_zero_with_the_apis_detail(iacp: Iacp):
    unknown = iacp("workspace", "show", "ws-0000000000000000")
    assert unknown.returncode == 1
    assert unknown.stderr == "error: 404 No workspace ws-0000000000000000.\n"

    by_name = iacp("run", "start", "no-such-workspace")
    assert by_name.returncode == 1
    assert "no workspace named 'no-such-workspace'" in by_name.stderr

    wrong = iacp("workspace", "list", token="at-0000000000000000.wrong")
    assert wrong.returncode == 1
    assert wrong.stderr.startswith("error: 401 ")
    assert "IACP_TOKEN" in wrong.stderr
    assert "wrong" not in wrong.stderr
