"""``make local``: the platform on this machine as a server, until Ctrl-C.

It serves the API on ``http://127.0.0.1:<PORT>`` (8080 unless ``PORT`` says otherwise)
through the API Gateway emulator, with moto standing in for the AWS services, the real
workflow run by moto's interpreter, the runner as local processes with real Terraform and the
scheduled functions on a timer at the template's rates (see ``local.platform``).

On start it prints the base URL and an admin token, as ``IACP_URL=...`` and ``IACP_TOKEN=...``
lines, and writes both to ``.iacp/local.json`` (mode 0600) in the current directory, and the
terraform CLI's configuration for it to ``.iacp/terraform.rc`` (0600; docs/terraform-cli.md).
Nothing is kept: the data lives in this process and its temporary directory, and goes with them.

SIGINT or SIGTERM stops it: no new request is served, every run that has not ended is
canceled (as ``POST /runs/{id}/actions/cancel`` does, so Terraform is interrupted and keeps
what it wrote), the platform stops and ends any runner process left, the two files are
removed, and it prints ``stopped``. A second signal while it stops exits at once.

``IACP_LOG_LEVEL`` (default WARNING) is the level of the platform's logs, on stderr.
"""

import contextlib
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import FrameType
from typing import Any

from local.offline import isolate_from_aws

isolate_from_aws()  # before the platform's modules are imported (hence the E402 below)

from iacp.observability import logger as platform_logger  # noqa: E402
from iacp.principal import Role  # noqa: E402
from iacp.runs.status import TERMINAL  # noqa: E402
from iacp.tokens.service import mint_token  # noqa: E402
from iacp.tokens.store import DynamoTokenStore  # noqa: E402
from local.gateway import ApiGateway, GatewayReply  # noqa: E402
from local.platform import LocalPlatform, PortInUse  # noqa: E402
from local.terraform_cli import HOSTNAME, cli_config, write_cli_config  # noqa: E402

DEFAULT_PORT = 8080
STATE_FILE = Path(".iacp") / "local.json"
CLI_CONFIG_FILE = Path(".iacp") / "terraform.rc"  # for TF_CLI_CONFIG_FILE (local.terraform_cli)
CANCEL_TIMEOUT = 30.0  # seconds the runs get to end after their cancel, before force-cancel
ENDED = {str(status) for status in TERMINAL}
STOPPING_COMMENT = "the local server is stopping"

logger = logging.getLogger(__name__)


class UsageError(Exception):
    """A setting this server cannot start with; the message says what to change."""


def read_port(environ: Mapping[str, str]) -> int:
    """``PORT`` from the environment: 1-65535, or 0 for any free port; 8080 if unset."""
    text = environ.get("PORT", "").strip()
    if not text:
        return DEFAULT_PORT
    if not text.isdigit() or int(text) > 65535:
        raise UsageError(f"PORT must be a port number from 1 to 65535 (or 0 for any), not {text!r}")
    return int(text)


def read_log_level(environ: Mapping[str, str]) -> int:
    name = environ.get("IACP_LOG_LEVEL", "").strip().upper() or "WARNING"
    level = logging.getLevelName(name)
    if not isinstance(level, int):
        raise UsageError(f"IACP_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {name!r}")
    return level


def configure_logging(level: int) -> None:
    """Logs go to stderr, so stdout carries only this server's own lines: the platform's
    (JSON, as in CloudWatch) and this package's at ``level``. The libraries' (boto3, moto and
    its HTTP server) are shown from WARNING only, or at DEBUG: moto logs every error a workflow
    catches at ERROR level, so its logs are shown at DEBUG only."""
    logging.basicConfig(
        stream=sys.stderr,
        level=level if level <= logging.DEBUG else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("local").setLevel(level)
    platform_logger.setLevel(level)
    own = logging.getLogger(platform_logger.name)
    for handler in own.handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stdout:
            handler.setStream(sys.stderr)
    own.propagate = False  # its handler writes its JSON lines; not twice
    emulation = level if level <= logging.DEBUG else logging.CRITICAL
    for name in ("moto", "werkzeug"):
        logging.getLogger(name).setLevel(emulation)


class Api:
    """The API as the admin token sees it, called in this process through the gateway (the
    HTTP front is already closed when this is used)."""

    def __init__(self, gateway: ApiGateway, token: str):
        self.gateway = gateway
        self.token = token

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: Mapping[str, str] | None = None,
    ) -> GatewayReply:
        return self.gateway.request(
            method,
            f"/api/v1{path}",
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            query=query,
            body=None if body is None else json.dumps(body),
        )

    def list_all(self, path: str) -> Iterator[dict[str, Any]]:
        query = {"limit": "100"}
        while True:
            reply = self.call("GET", path, query=query)
            if reply.status != 200:
                logger.warning("GET %s answered %s: %s", path, reply.status, reply.body)
                return
            page = reply.json()
            yield from page["items"]
            if not page.get("next_cursor"):
                return
            query = {"limit": "100", "cursor": page["next_cursor"]}

    def open_runs(self) -> list[dict[str, Any]]:
        """Every run that has not ended, the waiting ones first."""
        runs = [
            run
            for workspace in self.list_all("/workspaces")
            for run in self.list_all(f"/workspaces/{workspace['id']}/runs")
            if run["status"] not in ENDED
        ]
        return sorted(runs, key=lambda run: run["status"] != "pending")


def cancel_runs(api: Api, timeout: float = CANCEL_TIMEOUT) -> None:
    """Cancel every run that has not ended and wait up to ``timeout`` for them to end; then
    force-cancel those left. The waiting runs are canceled before the running ones, so that
    the end of a running one starts none of them."""
    deadline = time.monotonic() + timeout
    asked: list[str] = []
    while runs := api.open_runs():
        for run in runs:
            if run["id"] in asked:
                continue
            asked.append(run["id"])
            say(f"canceling run {run['id']} ({run['status']}) …")
            reply = api.call(
                "POST", f"/runs/{run['id']}/actions/cancel", {"comment": STOPPING_COMMENT}
            )
            if reply.status not in (202, 409):  # 409: it ended meanwhile
                logger.warning("cancel %s answered %s: %s", run["id"], reply.status, reply.body)
        if time.monotonic() > deadline:
            for run in runs:
                say(f"run {run['id']} did not end in {timeout:.0f} s: force-canceling it")
                api.call(
                    "POST", f"/runs/{run['id']}/actions/force-cancel", {"comment": STOPPING_COMMENT}
                )
            return
        time.sleep(0.25)
    for run_id in asked:
        reply = api.call("GET", f"/runs/{run_id}")
        if reply.status == 200:
            say(f"run {run_id}: {reply.json()['status']}")


def write_state_file(path: Path, url: str, token: str) -> None:
    """``{"url": ..., "token": ...}``, readable by this user only (0600 from the start)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".local-", suffix=".json")
    try:
        with os.fdopen(descriptor, "w") as file:
            json.dump({"url": url, "token": token}, file)
            file.write("\n")
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def remove_if_ours(path: Path, token: str) -> None:
    """Remove the file if it is still this server's, that is holds its token (another server
    may have replaced it)."""
    try:
        if token in path.read_text():
            path.unlink()
    except OSError:
        pass


def say(line: str) -> None:
    print(line, flush=True)


class Signals:
    """SIGINT and SIGTERM: the first asks for a clean stop, the second forces the exit."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.on_force: list[Any] = []

    def install(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if not self.stop.is_set():
            self.stop.set()
            return
        print("forced to stop: exiting now", file=sys.stderr, flush=True)
        for action in reversed(self.on_force):
            with contextlib.suppress(Exception):
                action()
        os._exit(128 + signum)


def serve(port: int, signals: Signals) -> None:
    work_dir = Path(tempfile.mkdtemp(prefix="iacp-local-"))
    signals.on_force.append(lambda: shutil.rmtree(work_dir, ignore_errors=True))
    platform = LocalPlatform(prefix="iacp-local", work_dir=work_dir, port=port)
    state_file = Path.cwd() / STATE_FILE
    cli_config_file = Path.cwd() / CLI_CONFIG_FILE
    token = ""
    try:
        say(f"Starting the local platform on 127.0.0.1:{port} …")
        platform.start()
        # A forced exit still ends the runner processes (SIGKILL to their sessions).
        signals.on_force.append(platform.ecs.reset)
        if signals.stop.is_set():  # asked to stop while it started: nothing to announce
            return
        store = DynamoTokenStore(platform.provisioned.refs["TokensTable"])
        token = mint_token(
            store, role=Role.ADMIN, description="local server", created_by="local"
        ).token
        write_state_file(state_file, platform.base_url, token)
        write_cli_config(cli_config_file, platform.base_url, token)
        for written in (state_file, cli_config_file):
            signals.on_force.append(lambda path=written: remove_if_ours(path, token))
        say(f"IACP_URL={platform.base_url}")
        say(f"IACP_TOKEN={token}")
        say(
            f"# The API is under $IACP_URL/api/v1; both values are in {STATE_FILE} too. The data"
            " lives as long as this server. Ctrl-C stops it."
        )
        say('# curl -H "Authorization: Bearer $IACP_TOKEN" $IACP_URL/api/v1/workspaces')
        say(f"# The terraform CLI, with this configuration (written to {CLI_CONFIG_FILE}):")
        for line in cli_config(platform.base_url, token).splitlines():
            say(f"#   {line}" if line else "#")
        say(
            f"# TF_CLI_CONFIG_FILE=$PWD/{CLI_CONFIG_FILE} terraform plan, in a configuration with"
            f' cloud {{ hostname = "{HOSTNAME}", organization = "default", workspaces {{ name ='
            ' "..." } }'
        )
        while not signals.stop.wait(1.0):
            pass
        say("stopping …")
        platform.front.stop()  # no new request from here on
        cancel_runs(Api(platform.gateway, token))
        left = platform.running_runners()
        if left:
            say(f"ending {len(left)} runner process(es) still running")
    finally:
        platform.stop()  # also kills the runner processes left
        if token:
            remove_if_ours(state_file, token)
            remove_if_ours(cli_config_file, token)
        shutil.rmtree(work_dir, ignore_errors=True)


def main() -> int:
    try:
        port = read_port(os.environ)
        level = read_log_level(os.environ)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    configure_logging(level)
    signals = Signals()
    signals.install()
    try:
        serve(port, signals)
    except PortInUse as error:
        print(
            f"error: {error}: set PORT to another port (PORT=0 for any free one)", file=sys.stderr
        )
        return 1
    say("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
