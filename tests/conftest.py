"""Shared fixtures: moto stands in for AWS; everything else is the real code.

Requests go through ``local.gateway.ApiGateway``, which reads template.yaml: the real
authorizer function, its cache time, the real API function and the template's gateway
responses, with the events API Gateway builds.
"""

import json
import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

# Before anything imports boto3 or Powertools: fake credentials, one region, no tracing.
for _name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
    os.environ.pop(_name, None)
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_DEFAULT_REGION="us-east-1",
    POWERTOOLS_TRACE_DISABLED="true",
    POWERTOOLS_METRICS_NAMESPACE="iacp-test",
    MOTO_EC2_LOAD_DEFAULT_AMIS="false",
)

# tests/e2e runs against a moto server in a pytest process of its own (see its conftest).
collect_ignore = [] if os.environ.get("IACP_E2E") else ["e2e"]

import pytest  # noqa: E402
from moto import mock_aws  # noqa: E402

from iacp.observability import logger as platform_logger  # noqa: E402
from iacp.principal import Role  # noqa: E402
from iacp.secrets import secrets  # noqa: E402
from iacp.tokens.service import mint_token  # noqa: E402
from iacp.tokens.store import DynamoTokenStore  # noqa: E402
from local import moto_fidelity  # noqa: E402
from local.functions import Handler, load_handlers  # noqa: E402
from local.gateway import ApiGateway, GatewayReply  # noqa: E402

TFE_MEDIA_TYPE = "application/vnd.api+json"
from local.template import LOCAL_PARAMETERS, Provisioned, Template  # noqa: E402
from tests.moto_snapshot import BackendSnapshot  # noqa: E402

moto_fidelity.apply()


@pytest.fixture(scope="session")
def template() -> Template:
    return Template.load()


# Notification retries within seconds, not minutes (the template's defaults).
TEST_PARAMETERS = {"NotificationRetrySeconds": "1", "NotificationAttempts": "3"}


@pytest.fixture(scope="session")
def provisioned(template: Template) -> Provisioned:
    return Provisioned(template, prefix="iacp-test", parameters=LOCAL_PARAMETERS | TEST_PARAMETERS)


@pytest.fixture(scope="session")
def handlers(provisioned: Provisioned) -> dict[str, Handler]:
    return load_handlers(provisioned)


_created: list[BackendSnapshot] = []  # the stack as created, once per test process


@pytest.fixture
def aws(provisioned: Provisioned) -> Iterator[Provisioned]:
    """The stack's resources in moto, as just created, with nothing in them."""
    # moto would start every test with a new boto3 session, which loads every service model
    # again (most of a test's set-up time); the credentials are the same fakes throughout.
    with mock_aws(config={"core": {"reset_boto3_session": False}}):
        secrets().clear_cache()  # what a test cached (the platform secret) is not the next one's
        if _created:
            _created[0].restore()
        else:
            provisioned.create()
            _created.append(BackendSnapshot())
        yield provisioned


@dataclass
class FakeClock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def gateway(aws: Provisioned, handlers: dict[str, Handler], clock: FakeClock) -> ApiGateway:
    return ApiGateway(aws.template, handlers, clock=clock)


@dataclass
class ApiClient:
    """Calls the API through the gateway as a client would, with a bearer token."""

    gateway: ApiGateway
    token: str | None
    headers: dict[str, str] = field(default_factory=dict)
    base: str = "/api/v1"  # "" for paths outside the API (the TFE discovery document)

    def call(
        self,
        method: str,
        path: str,
        json_body: Any = None,
        *,
        query: dict[str, str] | None = None,
        body: str | None = None,
    ) -> GatewayReply:
        headers = {"Content-Type": "application/json", **self.headers}
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        if json_body is not None:
            body = json.dumps(json_body)
        return self.gateway.request(
            method, f"{self.base}{path}", headers=headers, query=query, body=body
        )

    def get(self, path: str, **kwargs: Any) -> GatewayReply:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, json_body: Any = None, **kwargs: Any) -> GatewayReply:
        return self.call("POST", path, json_body, **kwargs)

    def patch(self, path: str, json_body: Any = None, **kwargs: Any) -> GatewayReply:
        return self.call("PATCH", path, json_body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> GatewayReply:
        return self.call("DELETE", path, **kwargs)

    def list_all(
        self, path: str, limit: int = 100, query: dict[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """Every item a list route answers, following ``next_cursor`` page by page; ``query``
        is the list's own parameters."""
        items: list[dict[str, Any]] = []
        given = query or {}
        query = {**given, "limit": str(limit)}
        for _ in range(1000):  # a bound: a cursor that never ends fails instead of hanging
            reply = self.get(path, query=query)
            assert reply.status == 200, reply.body
            page = reply.json()
            items.extend(page["items"])
            if page["next_cursor"] is None:
                return items
            query = {**given, "limit": str(limit), "cursor": page["next_cursor"]}
        raise AssertionError(f"the list {path} never ended")

    def with_token(self, token: str | None) -> "ApiClient":
        return ApiClient(self.gateway, token, dict(self.headers), self.base)

    def tfe(self) -> "ApiClient":
        """The same token on the TFE-compatible API (/api/v2), as go-tfe sends requests."""
        return ApiClient(self.gateway, self.token, {"Content-Type": TFE_MEDIA_TYPE}, "/api/v2")


def mint(aws: Provisioned, role: Role, workspaces: list[str] | None = None) -> str:
    store = DynamoTokenStore(aws.refs["TokensTable"])
    return mint_token(
        store, role=role, description="test", created_by="test", workspaces=workspaces
    ).token


@pytest.fixture
def admin(gateway: ApiGateway, aws: Provisioned) -> ApiClient:
    return ApiClient(gateway, mint(aws, Role.ADMIN))


@pytest.fixture
def writer(gateway: ApiGateway, aws: Provisioned) -> ApiClient:
    return ApiClient(gateway, mint(aws, Role.WRITE))


@pytest.fixture
def reader(gateway: ApiGateway, aws: Provisioned) -> ApiClient:
    return ApiClient(gateway, mint(aws, Role.READ))


@pytest.fixture
def anonymous(gateway: ApiGateway) -> ApiClient:
    return ApiClient(gateway, None)


class CurrentStdout:
    """Writes to whatever ``sys.stdout`` is at the time of writing."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


@pytest.fixture
def app_logs(gateway: ApiGateway, monkeypatch: pytest.MonkeyPatch) -> logging.Logger:
    """The functions' logger, its JSON lines sent to the stdout that ``capsys`` captures.

    Powertools binds its handler to the ``sys.stdout`` of the moment the functions were
    imported (pytest's session-wide capture), which ``capsys`` does not see.
    """
    handler = platform_logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    monkeypatch.setattr(handler, "stream", CurrentStdout())
    return logging.getLogger(platform_logger.service)


def assert_error(reply: GatewayReply, status: int, pointer: str | None = None) -> dict[str, Any]:
    """The reply is the API's error shape with this status; returns the first error."""
    assert reply.status == status, reply.body
    assert reply.headers.get("Content-Type", "").startswith("application/json")
    errors = reply.json()["errors"]
    assert errors, reply.body
    first: dict[str, Any] = errors[0]
    assert first["status"] == str(status)
    assert first["title"] and first["detail"]
    if pointer is not None:
        assert any((e.get("source") or {}).get("pointer") == pointer for e in errors), errors
    return first
