"""``make local`` as a user runs it: ``python -m local.server`` in a process of its own, on a
free port, used over HTTP only (issue 5: the local server). It does not use the session's
in-process platform."""

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from local.functions import ROOT
from local.terraform_cli import cli_config as terraform_cli_config
from tests.e2e.test_run_pipeline import wait_for
from tests.processes import processes_mentioning
from tests.runs_support import tar_gz

START_TIMEOUT = 120.0  # seconds the server may take to print its URL and token (a loaded machine)
DEADLINE = 60.0  # seconds any single wait for a run may take
STOP_TIMEOUT = 45.0  # the server gives a canceled run up to 30 s to end, then stops
# The environment before the session's in-process platform (if any) changed it.
ENVIRONMENT = dict(os.environ)
ENDED = {"applied", "planned_and_finished", "discarded", "errored", "canceled", "force_canceled"}

# A provisioner that prints a line a second, so the apply log grows while it is followed.
TICKING = {
    "main.tf": """
resource "terraform_data" "ticker" {
  input = "tick"

  provisioner "local-exec" {
    command = "for i in 1 2 3; do echo tick-$i; sleep 1; done"
  }
}

output "greeting" {
  value = "hello from ${terraform_data.ticker.output}"
}
""",
}
MARKER = f"iacp-local-server-{uuid.uuid4().hex[:12]}"  # in the sleep's command line
SLOW = {
    "main.tf": f"""
resource "terraform_data" "slow" {{
  input = "slow"

  provisioner "local-exec" {{
    command = "sleep 30 # {MARKER}"
  }}
}}
""",
}


@dataclass
class Server:
    process: "subprocess.Popen[str]"
    directory: Path
    stderr_path: Path
    lines: list[str] = field(default_factory=list)
    url: str = ""
    token: str = ""

    def read_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def value(self, name: str) -> str | None:
        for line in list(self.lines):
            if line.startswith(f"{name}="):
                return line.split("=", 1)[1]
        return None

    def output(self) -> str:
        stderr = self.stderr_path.read_text(errors="replace")[-4000:]
        return "\n".join(self.lines) + "\n--- stderr ---\n" + stderr

    @property
    def api(self) -> str:
        return f"{self.url}/api/v1"

    def session(self) -> requests.Session:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.token}"
        return session


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("local-server")
    port = free_port()
    python_path = [str(ROOT), str(ROOT / "layers" / "common")]
    if os.environ.get("PYTHONPATH"):
        python_path.append(os.environ["PYTHONPATH"])
    environment = ENVIRONMENT | {"PORT": str(port), "PYTHONPATH": os.pathsep.join(python_path)}
    stderr_path = directory / "stderr.log"
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "local.server"],
            cwd=directory,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    running = Server(process, directory, stderr_path)
    threading.Thread(target=running.read_stdout, daemon=True).start()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while running.value("IACP_URL") is None or running.value("IACP_TOKEN") is None:
            if process.poll() is not None:
                pytest.fail(f"the server exited with {process.returncode}:\n{running.output()}")
            if time.monotonic() > deadline:
                pytest.fail(f"the server printed no IACP_URL and IACP_TOKEN:\n{running.output()}")
            time.sleep(0.1)
        running.url = str(running.value("IACP_URL"))
        running.token = str(running.value("IACP_TOKEN"))
        yield running
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def new_workspace(server: Server, http: requests.Session, name: str, files: dict[str, str]) -> str:
    reply = http.post(f"{server.api}/workspaces", json={"name": name}, timeout=30)
    assert reply.status_code == 201, reply.text
    workspace_id = str(reply.json()["id"])
    reply = http.post(f"{server.api}/workspaces/{workspace_id}/configuration-versions", json={})
    assert reply.status_code == 201, reply.text
    upload_url = reply.json()["upload_url"]
    assert upload_url.startswith(f"{server.url}/"), upload_url  # one address for everything
    # A plain PUT from outside the server's process, without its token, as any client sends it.
    put = requests.put(upload_url, data=tar_gz(files), timeout=30)
    assert put.status_code == 200, put.text
    return workspace_id


def start_run(server: Server, http: requests.Session, workspace_id: str) -> str:
    reply = http.post(
        f"{server.api}/workspaces/{workspace_id}/runs", json={"auto_apply": True}, timeout=30
    )
    assert reply.status_code == 201, reply.text
    return str(reply.json()["id"])


def run_of(server: Server, http: requests.Session, run_id: str) -> dict[str, Any]:
    reply = http.get(f"{server.api}/runs/{run_id}", timeout=30)
    assert reply.status_code == 200, reply.text
    run: dict[str, Any] = reply.json()
    return run


def follow_log(server: Server, http: requests.Session, run_id: str, phase: str) -> list[str]:
    """The log's pages, read with ``next_offset`` from 0 until ``complete``, as a follower
    does; only the non-empty ones are kept."""
    pages: list[str] = []
    offset = 0
    deadline = time.monotonic() + DEADLINE
    while True:
        reply = http.get(
            f"{server.api}/runs/{run_id}/logs",
            params={"phase": phase, "offset": str(offset)},
            timeout=30,
        )
        assert reply.status_code == 200, reply.text
        page = reply.json()
        if page["data"]:
            assert page["next_offset"] > offset
            pages.append(page["data"])
        offset = page["next_offset"]
        if page["complete"]:
            return pages
        if time.monotonic() > deadline:
            run = run_of(server, http, run_id)
            pytest.fail(f"the {phase} log never completed; run: {run['status']} {run['error']}")
        time.sleep(0.2)


def test_the_server_announces_itself_and_runs_a_configuration_to_applied(server: Server):
    state_file = server.directory / ".iacp" / "local.json"
    assert json.loads(state_file.read_text()) == {"url": server.url, "token": server.token}
    assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
    cli_config = server.directory / ".iacp" / "terraform.rc"
    assert cli_config.read_text() == terraform_cli_config(server.url, server.token)
    assert stat.S_IMODE(cli_config.stat().st_mode) == 0o600
    assert f'"tfe.v2" = "{server.url}/api/v2/"' in server.output()
    assert server.url.startswith("http://127.0.0.1:")
    http = server.session()

    ws = new_workspace(server, http, "local-server", TICKING)
    run_id = start_run(server, http, ws)
    plan_pages = follow_log(server, http, run_id, "plan")
    apply_pages = follow_log(server, http, run_id, "apply")
    run = wait_for(
        lambda: (current := run_of(server, http, run_id))["status"] in ENDED and current,
        "the run to end",
    )

    assert run["status"] == "applied", run["error"]
    assert "Plan: 1 to add" in "".join(plan_pages)
    apply_log = "".join(apply_pages)
    assert (
        apply_log.index("tick-1") < apply_log.index("tick-3") < apply_log.index("Apply complete!")
    )
    assert len(apply_pages) >= 2, apply_pages  # it was read while it grew
    reply = http.get(f"{server.api}/workspaces/{ws}/current-state-version", timeout=30)
    assert reply.status_code == 200, reply.text
    state = reply.json()
    assert state["id"] == run["state_version_id"]
    assert state["outputs"]["greeting"]["value"] == "hello from tick"
    # A request without the token is refused, as by API Gateway's authorizer.
    assert requests.get(f"{server.api}/workspaces", timeout=30).status_code == 401


def iacp(server: Server, *args: str) -> "subprocess.CompletedProcess[str]":
    """The CLI as a user runs it next to the server: URL and token from .iacp/local.json."""
    environment = {k: v for k, v in ENVIRONMENT.items() if not k.startswith("IACP_")}
    return subprocess.run(  # noqa: S603 -- our own CLI, no shell
        [sys.executable, "-m", "iacp_cli", *args],
        cwd=server.directory,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_cli_finds_the_server_and_runs_a_configuration_to_applied(server: Server):
    configuration = server.directory / "configuration"
    configuration.mkdir()
    for name, text in TICKING.items():
        (configuration / name).write_text(text)

    assert iacp(server, "workspace", "create", "from-the-cli").returncode == 0
    uploaded = iacp(server, "upload", "from-the-cli", str(configuration))
    assert uploaded.returncode == 0, uploaded.stderr
    watched = iacp(server, "run", "start", "from-the-cli", "--auto-apply", "--watch")
    state = iacp(server, "state", "show", "from-the-cli")

    assert watched.returncode == 0, watched.stdout + watched.stderr
    assert "tick-3" in watched.stdout  # the apply log, followed live
    assert "Apply complete!" in watched.stdout
    assert "applied" in watched.stdout
    assert state.returncode == 0, state.stderr
    assert "hello from tick" in state.stdout
    missing = iacp(server, "workspace", "show", "no-such-workspace")
    assert missing.returncode != 0
    assert "no-such-workspace" in missing.stderr


def test_ctrl_c_cancels_the_running_run_and_stops_cleanly(server: Server):
    http = server.session()
    ws = new_workspace(server, http, "interrupted", SLOW)
    run_id = start_run(server, http, ws)

    def sleeping() -> bool:
        reply = http.get(
            f"{server.api}/runs/{run_id}/logs", params={"phase": "apply"}, timeout=30
        ).json()
        return "Provisioning with 'local-exec'" in reply["data"] and bool(
            processes_mentioning(MARKER)
        )

    wait_for(sleeping, "the slow provisioner to run")
    server.process.send_signal(signal.SIGINT)
    try:
        returncode = server.process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the server did not stop in {STOP_TIMEOUT:.0f} s:\n{server.output()}")

    assert returncode == 0, server.output()
    wait_for(lambda: server.lines and server.lines[-1] == "stopped", "stdout to end", 5)
    # An auto-apply run without tasks applies in its plan task: it shows planning meanwhile.
    assert f"canceling run {run_id} (planning) …" in server.lines
    assert f"run {run_id}: canceled" in server.lines  # a graceful cancel, not a kill
    assert not (server.directory / ".iacp" / "local.json").exists()
    assert not (server.directory / ".iacp" / "terraform.rc").exists()
    assert not processes_mentioning(MARKER)
    port = int(server.url.rsplit(":", 1)[1])
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", port))


def test_a_taken_port_or_a_bad_port_is_refused_with_a_clear_message(tmp_path: Path):
    environment = ENVIRONMENT | {
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers/common")])
    }
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = subprocess.run(
            [sys.executable, "-m", "local.server"],
            cwd=tmp_path,
            env=environment | {"PORT": str(port)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    bad = subprocess.run(
        [sys.executable, "-m", "local.server"],
        cwd=tmp_path,
        env=environment | {"PORT": "80800"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert busy.returncode == 1, busy.stdout + busy.stderr
    assert f"port {port} is in use: set PORT" in busy.stderr
    assert bad.returncode == 2, bad.stdout + bad.stderr
    assert "PORT must be a port number" in bad.stderr
    assert not (tmp_path / ".iacp").exists()
