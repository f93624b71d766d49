"""Helpers for the run-task integration tests: a real HTTP service that records what the
platform sends it, run tasks created and attached through the API, results dispatched by the
workflow's own steps (without a running workflow), and the callback endpoints called as a
run-task service calls them."""

import base64
import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt

from iacp.aws import stepfunctions_client
from iacp.crypto import derive_key
from iacp.orchestration.task_stages import ConcludeInput, DispatchInput, StageRef, TaskItem
from iacp.orchestration.workflow import RunRef, StartInput
from iacp.runtasks.access_tokens import SIGNING_PURPOSE
from iacp.runtasks.models import Stage
from iacp.secrets import platform_secret
from iacp.services.machinery import RunMachinery
from iacp.tables import dynamodb_table
from local.gateway import ApiGateway, GatewayReply
from local.template import Provisioned
from tests.conftest import ApiClient
from tests.runs_support import (
    machinery_for,
    plan_documents,
    plan_result,
    started,
    upload_configuration,
)

JSON_API = "application/vnd.api+json"

PLAN = {
    "format_version": "1.2",
    "terraform_version": "1.9.0",
    "resource_changes": [
        {
            "address": "terraform_data.example",
            "type": "terraform_data",
            "name": "example",
            "change": {"actions": ["create"], "before": None, "after": {"input": "hello"}},
        }
    ],
}


# --- a run-task service that records every request ------------------------------------------


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]  # as sent (names keep their case; look up with ``header``)
    body: bytes

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class CapturingService:
    """A ``ThreadingHTTPServer`` on 127.0.0.1 that keeps each request's raw body and headers
    and answers ``status`` (a redirect to itself for a 3xx); ``on_request`` (if set) runs
    before the reply is sent."""

    status: int = 200
    on_request: Callable[[Received], None] | None = None
    requests: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                received = Received(
                    method="POST",
                    path=self.path,
                    headers={k: v for k, v in self.headers.items()},
                    body=self.rfile.read(length),
                )
                service.requests.append(received)
                if service.on_request is not None:
                    service.on_request(received)
                try:
                    self.send_response(service.status)
                    if 300 <= service.status < 400:  # a redirect: back to itself
                        self.send_header("Location", service.url)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the platform gave up waiting and hung up

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        # A short poll: close() (shutdown) waits for it, once per test that uses a service.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}/hook"

    @property
    def webhooks(self) -> list[Received]:
        """The run webhooks (not the verification requests)."""
        return [r for r in self.requests if r.json().get("stage") != "test"]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@contextmanager
def capturing_service(**kwargs: Any) -> Iterator[CapturingService]:
    service = CapturingService(**kwargs)
    try:
        yield service
    finally:
        service.close()


@contextmanager
def silent_service() -> Iterator[str]:
    """A URL whose server accepts the connection and never answers."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        host, port = listener.getsockname()
        yield f"http://{host}:{port}/hook"
    finally:
        listener.close()


def closed_port_url() -> str:
    """A URL on a local port nothing listens on."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.bind(("127.0.0.1", 0))
    host, port = probe.getsockname()
    probe.close()
    return f"http://{host}:{port}/hook"


# --- resumes of the workflow ------------------------------------------------------------------


class RecordingStepFunctions:
    """The real (moto) Step Functions client, with every ``send_task_success`` recorded.

    moto answers ``send_task_success`` for a token it never issued with success, so the
    only way to see what the platform resumed its workflow with is to record it."""

    def __init__(self, real: Any):
        self._real = real
        self.resumed: list[tuple[str, dict[str, Any]]] = []

    def send_task_success(self, *, taskToken: str, output: str) -> dict[str, Any]:
        self.resumed.append((taskToken, json.loads(output)))
        return {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


# --- run tasks, runs and results ----------------------------------------------------------


def create_task(admin: ApiClient, url: str, **fields: Any) -> str:
    body = {"name": fields.pop("name", "checker"), "url": url} | fields
    reply = admin.post("/run-tasks", body)
    assert reply.status == 201, reply.body
    return str(reply.json()["id"])


def attach(
    admin: ApiClient,
    workspace_id: str,
    task_id: str,
    stages: list[str] | None = None,
    enforcement_level: str = "mandatory",
) -> str:
    reply = admin.post(
        f"/workspaces/{workspace_id}/run-tasks",
        {
            "run_task_id": task_id,
            "stages": stages or ["post_plan"],
            "enforcement_level": enforcement_level,
        },
    )
    assert reply.status == 201, reply.body
    return str(reply.json()["id"])


def new_workspace(aws: Provisioned, admin: ApiClient, name: str = "tasks") -> str:
    workspace = str(admin.post("/workspaces", {"name": name}).json()["id"])
    upload_configuration(admin, aws, workspace)
    return workspace


def new_run(admin: ApiClient, workspace_id: str, **body: Any) -> str:
    reply = admin.post(f"/workspaces/{workspace_id}/runs", body)
    assert reply.status == 201, reply.body
    return str(reply.json()["id"])


def run_at(
    aws: Provisioned,
    machinery: RunMachinery,
    admin: ApiClient,
    ws: str,
    stage: Stage,
    **run: Any,
) -> str:
    """A new run of the workspace, moved by the workflow's steps to where ``stage`` begins
    (with a plan JSON in S3 for every stage after pre_plan)."""
    if stage is Stage.POST_APPLY:
        run.setdefault("auto_apply", True)
    run_id = new_run(admin, ws, **run)
    workflow = machinery.run_workflow()
    if stage is Stage.PRE_PLAN:
        arn = machinery.workflow.execution_arn(run_id)
        workflow.start(StartInput(run_id=run_id, execution_arn=arn))
        return run_id
    started(machinery, run_id)
    plan_documents(aws, run_id, PLAN)
    if stage is Stage.POST_APPLY:
        plan_result(aws, run_id, has_changes=True, resource_additions=1)
        workflow.record_plan(RunRef(run_id=run_id))
        workflow.start_apply(RunRef(run_id=run_id))
    return run_id


def prepare(machinery: RunMachinery, run_id: str, stage: Stage) -> list[TaskItem]:
    return machinery.task_stages.prepare(StageRef(run_id=run_id, stage=stage)).tasks


def dispatch(machinery: RunMachinery, item: TaskItem, task_token: str | None = None) -> None:
    """Dispatch as the stage's Map does, waiting on ``task_token`` (``wait-<result id>``)."""
    token = task_token or f"wait-{item.result_id}"
    machinery.task_stages.dispatch(DispatchInput(task=item, task_token=token))


@dataclass
class Dispatched:
    """A result whose webhook the service received."""

    run_id: str
    workspace_id: str
    item: TaskItem
    webhook: Received

    @property
    def result_id(self) -> str:
        return self.item.result_id

    @property
    def token(self) -> str:
        return str(self.webhook.json()["access_token"])


def dispatch_all(
    machinery: RunMachinery, service: CapturingService, run_id: str, ws: str, stage: Stage
) -> list[Dispatched]:
    """Prepare the stage and dispatch each of its tasks; what each webhook carried."""
    dispatched = []
    for item in prepare(machinery, run_id, stage):
        before = len(service.webhooks)
        dispatch(machinery, item)
        assert len(service.webhooks) == before + 1, "the service got no webhook"
        dispatched.append(Dispatched(run_id, ws, item, service.webhooks[-1]))
    return dispatched


def behind(seconds: float) -> Callable[[], datetime]:
    """A clock that runs ``seconds`` behind the real one (or ahead, if negative)."""
    return lambda: datetime.now(UTC) - timedelta(seconds=seconds)


# --- the run-task service's requests ----------------------------------------------------------


def service_request(
    gateway: ApiGateway,
    method: str,
    result_id: str,
    what: str = "",
    *,
    token: str | None = None,
    authorization: str | None = None,
    body: Any = None,
    raw_body: str | None = None,
) -> GatewayReply:
    headers = {"Content-Type": JSON_API}
    if authorization is not None:
        headers["Authorization"] = authorization
    elif token is not None:
        headers["Authorization"] = f"Bearer {token}"
    path = f"/api/v1/run-task-results/{result_id}" + (f"/{what}" if what else "")
    if body is not None:
        raw_body = json.dumps(body)
    return gateway.request(method, path, headers=headers, body=raw_body)


def callback(
    gateway: ApiGateway, result_id: str, token: str | None, body: Any, method: str = "PATCH"
) -> GatewayReply:
    return service_request(gateway, method, result_id, "callback", token=token, body=body)


def callback_body(
    status: str,
    message: str | None = None,
    url: str | None = None,
    outcomes: list[dict[str, Any]] | None = None,
    **attributes: Any,
) -> dict[str, Any]:
    attrs: dict[str, Any] = {"status": status} | attributes
    if message is not None:
        attrs["message"] = message
    if url is not None:
        attrs["url"] = url
    data: dict[str, Any] = {"type": "task-results", "attributes": attrs}
    if outcomes is not None:
        data["relationships"] = {
            "outcomes": {
                "data": [{"type": "task-result-outcomes", "attributes": o} for o in outcomes]
            }
        }
    return {"data": data}


def outcome(n: int = 1, **fields: Any) -> dict[str, Any]:
    return {
        "outcome-id": f"CHECK-{n}",
        "description": f"Check {n}",
        "body": f"# Check {n}\n\nDetails.",
        "url": f"https://checker.example.com/findings/{n}",
        "tags": {"Status": [{"label": "Failed", "level": "error"}]},
    } | fields


# --- what is stored ---------------------------------------------------------------------------


def raw_item(aws: Provisioned, result_id: str) -> dict[str, Any]:
    table = dynamodb_table(aws.refs["TaskResultsTable"])
    item: dict[str, Any] = table.get_item(Key={"id": result_id}, ConsistentRead=True)["Item"]
    return item


def signing_key(aws: Provisioned) -> bytes:
    """The platform's access-token key, derived as the platform derives it."""
    secret_arn = aws.environment("WorkflowFunction")["PLATFORM_SECRET_ARN"]
    return derive_key(platform_secret(secret_arn), SIGNING_PURPOSE)


def claims_of(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_token(claims: dict[str, Any]) -> str:
    """``alg: none``, built by hand: header, claims, empty signature."""
    header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{b64url(json.dumps(claims).encode())}."


def record_resumes(monkeypatch: Any) -> RecordingStepFunctions:
    """Record every workflow resume (the callback function's, the sweep's, the stages')."""
    from iacp.orchestration import workflow_client

    recording = RecordingStepFunctions(stepfunctions_client())
    monkeypatch.setattr(workflow_client, "stepfunctions_client", lambda: recording)
    return recording


def gated_run(
    aws: Provisioned, admin: ApiClient, task_id: str, workspace: str | None = None
) -> tuple[str, str]:
    """A run stopped at pre_plan, waiting for an override, through the workflow's steps:
    its mandatory run task's service failed the request. Returns the run and the result.
    The run is in ``workspace``, or in a new workspace ``gated``."""
    if workspace is None:
        workspace = admin.post("/workspaces", {"name": "gated"}).json()["id"]
    attached = admin.post(
        f"/workspaces/{workspace}/run-tasks",
        {"run_task_id": task_id, "stages": ["pre_plan"], "enforcement_level": "mandatory"},
    )
    assert attached.status == 201, attached.body
    upload_configuration(admin, aws, workspace)
    run_id = str(admin.post(f"/workspaces/{workspace}/runs", {}).json()["id"])
    machinery = machinery_for(aws)
    arn = machinery.workflow.execution_arn(run_id)
    machinery.run_workflow().start(StartInput(run_id=run_id, execution_arn=arn))
    stages = machinery.task_stages
    plan = stages.prepare(StageRef(run_id=run_id, stage=Stage.PRE_PLAN))
    [task] = plan.tasks
    stages.dispatch(DispatchInput(task=task, task_token="dispatch-token"))
    stages.conclude(
        ConcludeInput(
            run_id=run_id, stage=Stage.PRE_PLAN, tasks=plan.tasks, task_token="conclude-token"
        )
    )
    run = admin.get(f"/runs/{run_id}").json()
    assert run["status"] == "pre_plan_running", run
    assert [s["status"] for s in run["task_stages"]] == ["awaiting_override"], run
    result = admin.get(f"/runs/{run_id}/task-results").json()["items"][0]
    assert result["id"] == task.result_id and result["status"] == "errored", result
    return run_id, task.result_id
