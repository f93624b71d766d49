"""moto as an HTTP server in this process, set up to run the platform's workflow.

In-process ``mock_aws`` is invisible to other processes; the runner is one (ECS RunTask starts
it as a local process), so local mode serves moto over HTTP on 127.0.0.1. The server shares
this process's memory: the backends installed by ``local.ecs`` and ``local.lambdas`` and the
patches of ``local.moto_fidelity`` apply to it.

What is set, and why (moto 5.2.5, see docs/local-mode.md):

- ``stepfunctions.execute_state_machine``: moto's ASL interpreter runs executions for real;
  without it an execution is a stub that "succeeds" at once.
- ``lambda.use_docker: false``: no Docker here; invokes go to ``local.lambdas``' backend.
- the ``ecs::task`` state transition is manual and never advances on its own: by default moto
  moves a task one status per DescribeTasks call, so a ``.sync`` wait would see STOPPED while
  the process still runs. ``local.ecs`` sets STOPPED when the process has exited.
- ``MOTO_PORT``: the interpreter's own boto3 clients (Lambda invoke, ECS RunTask) go to
  ``localhost:$MOTO_PORT``, read at call time.

Everything set here is process-wide; ``stop()`` puts back what it changed.
"""

import json
import os
import sys
import urllib.request
from typing import Any

from moto.core.config import default_user_config
from moto.moto_api import state_manager
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

REGION = "us-east-1"
# Dummy credentials: moto accepts any; a 12-digit key id would select another account.
ACCESS_KEY_ID = "testing"
SECRET_ACCESS_KEY = "testing"  # noqa: S105 -- not a secret: moto ignores it

# "manual" advances after this many DescribeTasks calls: never, in practice.
_NEVER = sys.maxsize
_ECS_TASK_MODEL = "ecs::task"


class MotoServer:
    """A running moto server; ``stop()`` (or leaving the ``with`` block) shuts it down."""

    def __init__(self, server: ThreadedMotoServer, host: str, port: int):
        self._server = server
        self.host = host
        self.port = port
        self.endpoint_url = f"http://{host}:{port}"
        self._previous_port = os.environ.get("MOTO_PORT")
        self._previous_config = {
            "lambda": dict(default_user_config.get("lambda", {})),
            "stepfunctions": dict(default_user_config.get("stepfunctions", {})),
        }
        self._previous_transition = state_manager.get_transition(_ECS_TASK_MODEL)
        self._stopped = False

    def environment(self) -> dict[str, str]:
        """What a child process needs to reach this server with any AWS SDK."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }

    def post(self, path: str, body: Any) -> None:
        """POST JSON to moto's own API (``/moto-api/...``)."""
        request = urllib.request.Request(  # noqa: S310 -- our own http://127.0.0.1 server
            f"{self.endpoint_url}{path}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310
            reply.read()

    def configure(self) -> None:
        self.post(
            "/moto-api/config",
            {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}},
        )
        self.post(
            "/moto-api/state-manager/set-transition",
            {
                "model_name": _ECS_TASK_MODEL,
                "transition": {"progression": "manual", "times": _NEVER},
            },
        )
        os.environ["MOTO_PORT"] = str(self.port)

    def stop(self) -> None:
        """Shut the server down and put back the process-wide settings. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        try:
            self.post("/moto-api/config", self._previous_config)
            self.post(
                "/moto-api/state-manager/set-transition",
                {"model_name": _ECS_TASK_MODEL, "transition": self._previous_transition},
            )
        finally:
            if self._previous_port is None:
                os.environ.pop("MOTO_PORT", None)
            else:
                os.environ["MOTO_PORT"] = self._previous_port
            self._server.stop()

    def __enter__(self) -> "MotoServer":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start(host: str = "127.0.0.1", port: int = 0) -> MotoServer:
    """Start moto on ``host`` and a free port (or ``port``), configured as described above.

    ``with start() as moto:`` stops it on leaving the block.
    """
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    bound_host, bound_port = server.get_host_and_port()
    running = MotoServer(server, bound_host, bound_port)
    try:
        running.configure()
    except BaseException:
        server.stop()
        raise
    return running
