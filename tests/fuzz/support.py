"""What the schema fuzzer drives the platform with: a ``requests`` transport into the local
gateway, a world of real objects whose ids the generated requests may use, the credentials
each security scheme is tried with, and the checks of every reply."""

import hashlib
import hmac
import io
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qsl, unquote, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from urllib3 import HTTPHeaderDict, HTTPResponse

from iacp.principal import Role
from iacp.runtasks.models import Stage
from local.gateway import ApiGateway
from local.template import Provisioned
from tests.conftest import ApiClient, mint
from tests.runs_support import machinery_for
from tests.runtasks_support import (
    CapturingService,
    attach,
    create_task,
    dispatch_all,
    new_workspace,
    run_at,
)

BASE_URL = "http://gateway.local"

SCALE = int(os.environ.get("IACP_FUZZ_SCALE", "1"))
"""``make fuzz`` sets 20: twenty times the examples of ``make test``."""
EXAMPLES_PER_OPERATION = 12 * SCALE
SEED = 15


class GatewayAdapter(BaseAdapter):
    """Sends a prepared request to ``ApiGateway.request`` instead of a socket. The path
    arrives percent-decoded and a body as text, as API Gateway hands them to Lambda (bytes
    that are not UTF-8 become U+FFFD). Any other URL fails the test: the fuzzer sends
    nothing outside the gateway (nor follows a redirect, to S3's presigned URLs say)."""

    def __init__(self, gateway: ApiGateway):
        super().__init__()
        self._gateway = gateway

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        assert (request.url or "").startswith(BASE_URL + "/"), f"sent to {request.url}"
        url = urlsplit(request.url or "")
        body = request.body
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        reply = self._gateway.request(
            request.method or "GET",
            unquote(url.path),
            headers=dict(request.headers),
            query=dict(parse_qsl(url.query, keep_blank_values=True)) or None,
            body=body or None,
        )
        content = reply.body.encode()
        response = requests.Response()
        response.status_code = reply.status
        response.reason = HTTPStatus(reply.status).phrase
        response.headers = CaseInsensitiveDict(reply.headers)
        response.raw = HTTPResponse(
            body=io.BytesIO(content),
            headers=HTTPHeaderDict(reply.headers),
            status=reply.status,
            version=11,
            preload_content=False,
        )
        response._content = content
        response.encoding = "utf-8"
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        pass


def gateway_session(gateway: ApiGateway) -> requests.Session:
    session = requests.Session()
    adapter = GatewayAdapter(gateway)
    for prefix in ("http://", "https://"):
        session.mount(prefix, adapter)
    return session


def has_route(gateway: ApiGateway, method: str, path_url: str) -> bool:
    """Whether API Gateway routes this request to a function (else it answers 404 itself,
    before any authorizer)."""
    path = unquote(urlsplit(path_url).path)
    return any(
        route.pattern.match(path) and route.method in (method.upper(), "ANY")
        for route in gateway.routes
    )


WEBHOOK_SECRET = "fuzz-webhook-secret"


@dataclass
class World:
    """Real objects of each kind, so that a generated request may name one that exists."""

    ids: dict[str, str]
    """A real id for each path parameter name."""
    credentials: dict[str, dict[str, str | None]] = field(default_factory=dict)
    """Per security scheme: a name for each Authorization header tried (None: none sent)."""


def signature(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def world(aws: Provisioned, gateway: ApiGateway, service: CapturingService) -> World:
    """A workspace with a configuration, a variable, a run at its post-plan task stage (its
    task result dispatched to a local service), a notification configuration, a GitHub
    connection, and tokens of each role."""
    admin = ApiClient(gateway, mint(aws, Role.ADMIN))
    workspace = new_workspace(aws, admin, "fuzz")
    variable = admin.post(
        f"/workspaces/{workspace}/vars", {"key": "region", "value": "x", "category": "env"}
    ).json()["id"]
    task = create_task(admin, service.url)
    attachment = attach(admin, workspace, task, ["post_plan"])
    machinery = machinery_for(aws)
    run = run_at(aws, machinery, admin, workspace, Stage.POST_PLAN)
    (dispatched,) = dispatch_all(machinery, service, run, workspace, Stage.POST_PLAN)
    version = admin.post(f"/workspaces/{workspace}/configuration-versions", {}).json()["id"]
    notification = admin.post(
        f"/workspaces/{workspace}/notification-configurations",
        {"name": "fuzz", "destination_type": "generic", "url": service.url},
    ).json()["id"]
    connection = admin.post(
        "/vcs-connections",
        {"provider": "github", "webhook_secret": WEBHOOK_SECRET, "token": "ghp_fuzz"},
    ).json()["id"]
    spare = admin.post("/tokens", {"role": "read", "description": "spare"}).json()["id"]
    revoked = mint(aws, Role.ADMIN)
    assert admin.delete(f"/tokens/{revoked.split('.')[0]}").status == 204
    return World(
        ids={
            "workspace_id": workspace,
            "version_id": version,
            "variable_id": variable,
            "run_id": run,
            "run_task_id": task,
            "attachment_id": attachment,
            "result_id": dispatched.result_id,
            "configuration_id": notification,
            "connection_id": connection,
            "token_id": spare,
        },
        credentials={
            "apiToken": {
                "admin": f"Bearer {admin.token}",
                "write": f"Bearer {mint(aws, Role.WRITE)}",
                "read": f"Bearer {mint(aws, Role.READ)}",
                "scoped": f"Bearer {mint(aws, Role.WRITE, workspaces=[workspace])}",
                "revoked": f"Bearer {revoked}",
                "unknown": "Bearer at-AAAAAAAAAAAAAAAA.not-a-secret",
                "malformed": "Basic YWRtaW46YWRtaW4=",
                "none": None,
            },
            "runTaskToken": {
                "valid": f"Bearer {dispatched.token}",
                "forged": "Bearer eyJhbGciOiJub25lIn0.eyJqdGkiOiJ4In0.",
                "malformed": "Bearer",
                "none": None,
            },
        },
    )


# --- checks of every reply ---------------------------------------------------------------

_STACK_TRACE = re.compile(
    r'Traceback \(most recent call last\)|File "[^"]*", line \d+|site-packages|\.py:\d+'
)


def assert_no_stack_trace(body: str) -> None:
    found = _STACK_TRACE.search(body)
    assert found is None, f"a stack trace in the reply: {found[0]!r} in {body[:500]}"


def assert_json_error(status: int, headers: CaseInsensitiveDict[str], body: str) -> None:
    """An error is the API's error shape, whoever answered (a route, the screening, the
    gateway's own responses)."""
    assert headers.get("Content-Type", "").startswith("application/json"), (status, headers)
    try:
        document = json.loads(body)
    except ValueError:
        raise AssertionError(f"a {status} that is not JSON: {body[:300]!r}") from None
    errors = document.get("errors") if isinstance(document, dict) else None
    assert isinstance(errors, list) and errors, f"a {status} without errors: {body[:300]}"
    for error in errors:
        assert error.get("status") == str(status), (status, error)
        assert error.get("title") and error.get("detail"), error
