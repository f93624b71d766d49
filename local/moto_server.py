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
- no line per request on stderr (werkzeug's access log): a run makes hundreds of requests,
  and writing them cost a twentieth of the server's time. Errors are still logged.
- ``local.moto_speed``: what moto repeats per request or execution, done once.
- ``local.moto_direct``: this process's own requests go to the server's app without a socket.

Everything set here is process-wide; ``stop()`` puts back what it changed.
"""

import json
import os
import re
import sys
import threading
import urllib.request
from typing import Any

from moto.core.config import default_user_config
from moto.moto_api import state_manager
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

from local import moto_speed
from local.moto_direct import DirectRequests
from local.pollers import MESSAGES, TABLE_WRITES, Arrivals

REGION = "us-east-1"
# Dummy credentials: moto accepts any; a 12-digit key id would select another account.
ACCESS_KEY_ID = "testing"
SECRET_ACCESS_KEY = "testing"  # noqa: S105 -- not a secret: moto ignores it

# "manual" advances after this many DescribeTasks calls: never, in practice.
_NEVER = sys.maxsize
_ECS_TASK_MODEL = "ecs::task"


class _QuietRequestHandler(MotoRequestHandler):
    """moto's request handler without the access log line (``log_error`` still logs)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class MotoServer:
    """A running moto server; ``stop()`` (or leaving the ``with`` block) shuts it down."""

    def __init__(self, server: BaseWSGIServer, app: Any):
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name="local-moto-server", daemon=True
        )
        self._thread.start()
        self.host, self.port = str(server.server_address[0]), int(server.server_address[1])
        self.endpoint_url = f"http://{self.host}:{self.port}"
        # This process's own requests skip the socket (local.moto_direct).
        self._direct = DirectRequests(app, self.host, self.port)
        self._direct.install()
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
        self._direct.uninstall()
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
            self._server.shutdown()
            self._thread.join()
            self._server.server_close()

    def __enter__(self) -> "MotoServer":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


# The requests that can give a local event source work: a write to a table (its stream); a
# message for a queue (sent, or sent back by a visibility change) or an event for the bus
# (whose rules send to queues). The pollers' own reads are none of them.
_TABLE_WRITE = re.compile(
    r"DynamoDB_20120810\.(PutItem|UpdateItem|DeleteItem|TransactWriteItems|BatchWriteItem)"
)
_MESSAGE = re.compile(
    r"AmazonSQS\.(SendMessage|SendMessageBatch|ChangeMessageVisibility"
    r"|ChangeMessageVisibilityBatch)|AWSEvents\.PutEvents"
)


def counting_arrivals(
    app: Any, table_writes: Arrivals = TABLE_WRITES, messages: Arrivals = MESSAGES
) -> Any:
    """The WSGI app, telling the pollers (``local.pollers``) once a request that may have
    given them work has been handled."""

    def counting(environ: dict[str, Any], start_response: Any) -> Any:
        try:
            return app(environ, start_response)
        finally:
            target = environ.get("HTTP_X_AMZ_TARGET", "")
            if _TABLE_WRITE.fullmatch(target):
                table_writes.arrived()
            elif _MESSAGE.fullmatch(target):
                messages.arrived()

    return counting


def start(host: str = "127.0.0.1", port: int = 0) -> MotoServer:
    """Start moto on ``host`` and a free port (or ``port``), configured as described above.

    ``with start() as moto:`` stops it on leaving the block.
    """
    moto_speed.apply()
    # What moto's ThreadedMotoServer does, with the quiet handler: a thread per request.
    app = counting_arrivals(DomainDispatcherApplication(create_backend_app))
    server = make_server(host, port, app, threaded=True, request_handler=_QuietRequestHandler)
    running = MotoServer(server, app)
    try:
        running.configure()
    except BaseException:
        running.stop()
        raise
    return running
