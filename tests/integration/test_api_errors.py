"""The error contract of design §9 across the API: the shape, the status classes, and a
500 that says nothing of the internals."""

import json

import pytest

from iacp.workspaces.service import WorkspaceService
from tests.conftest import assert_error


def test_unknown_route_is_404_in_the_error_shape(admin):
    error = assert_error(admin.get("/no-such-thing"), 404)

    assert "/api/v1/no-such-thing" in error["detail"]


def test_path_outside_the_api_is_the_gateways_404(admin):
    reply = admin.gateway.request("GET", "/elsewhere")

    assert_error(reply, 404)


def test_validation_errors_list_every_field_with_a_pointer(writer):
    reply = writer.post("/workspaces", {"name": "bad name", "auto_apply": "no", "x": 1})

    errors = reply.json()["errors"]
    assert reply.status == 422
    assert {e["source"]["pointer"] for e in errors} == {"/name", "/auto_apply", "/x"}
    assert all(e["status"] == "422" and e["title"] == "Unprocessable Entity" for e in errors)
    assert all(e["detail"].split(":")[0] in ("name", "auto_apply", "x") for e in errors)


def test_invalid_json_is_422_and_not_echoed(writer):
    error = assert_error(writer.post("/workspaces", body='{"name": "s3cr3t'), 422)

    assert "s3cr3t" not in json.dumps(error)


def test_an_unexpected_failure_is_a_500_without_internals(writer, monkeypatch):
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("connection string postgres://admin:pw@db")

    monkeypatch.setattr(WorkspaceService, "create", broken)

    reply = writer.post("/workspaces", {"name": "fine"})

    error = assert_error(reply, 500)
    assert "postgres" not in reply.body
    assert error["detail"] == "The platform could not handle the request."


LONG = "Q" * 3000  # a value no error may repeat


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/workspaces", {LONG: 1}, 422),  # an unknown field: its name is quoted
        ("POST", "/workspaces", {"name": LONG}, 422),
        ("GET", "/workspaces", None, 422),  # ?limit=
        ("GET", f"/workspaces/{LONG}", None, 404),
        ("GET", f"/runs/{LONG}", None, 404),
        ("GET", f"/run-tasks/{LONG}", None, 404),
        ("PATCH", f"/notification-configurations/{LONG}", {"enabled": False}, 404),
        ("DELETE", f"/tokens/{LONG}", None, 404),
        ("GET", f"/workspaces/{LONG}/notification-configurations", None, 404),
        ("GET", f"/no-such-route/{LONG}", None, 404),
        ("POST", "/run-tasks", {"name": "t", "url": f"https://{LONG}.example/"}, 422),
    ],
)
def test_an_error_quotes_no_more_than_the_start_of_a_long_value(admin, method, path, body, status):
    query = {"limit": LONG} if path == "/workspaces" and method == "GET" else None

    reply = admin.call(method, path, body, query=query)

    assert_error(reply, status)
    assert LONG[:65] not in reply.body
    assert len(reply.body) < 600, reply.body


def test_a_quoted_value_with_blanks_is_capped_too(admin):
    workspace = admin.post("/workspaces", {"name": "capped"}).json()["id"]
    key = "not a name " * 11  # within the 128 characters a key may have

    reply = admin.post(
        f"/workspaces/{workspace}/vars", {"key": key, "value": "v", "category": "env"}
    )

    error = assert_error(reply, 422, "/key")
    assert error["detail"].startswith("'" + key[:63] + "…'")
    assert key not in reply.body


@pytest.mark.parametrize("header", ["", "Bearer", "Token abc", "Bearer a b"])
def test_malformed_authorization_header_is_401(gateway, header):
    reply = gateway.request("GET", "/api/v1/workspaces", headers={"Authorization": header})

    error = assert_error(reply, 401)
    assert error["source"] == {"header": "Authorization"}


def test_openapi_document_is_public_and_matches_the_committed_copy(anonymous):
    reply = anonymous.get("/openapi.json")

    assert reply.status == 200
    with open("docs/openapi.json") as committed:
        assert reply.json() == json.load(committed), "run `make openapi` and commit the result"


def test_openapi_document_describes_every_route_and_the_bearer_scheme(anonymous):
    document = anonymous.get("/openapi.json").json()

    operations = {
        f"{method.upper()} {path}"
        for path, methods in document["paths"].items()
        for method in methods
    }
    assert {
        "POST /api/v1/workspaces",
        "GET /api/v1/workspaces",
        "GET /api/v1/workspaces/{workspace_id}",
        "PATCH /api/v1/workspaces/{workspace_id}",
        "DELETE /api/v1/workspaces/{workspace_id}",
        "POST /api/v1/workspaces/{workspace_id}/actions/lock",
        "POST /api/v1/workspaces/{workspace_id}/actions/unlock",
        "POST /api/v1/workspaces/{workspace_id}/actions/force-unlock",
        "GET /api/v1/workspaces/{workspace_id}/vars",
        "POST /api/v1/workspaces/{workspace_id}/vars",
        "PATCH /api/v1/workspaces/{workspace_id}/vars/{variable_id}",
        "DELETE /api/v1/workspaces/{workspace_id}/vars/{variable_id}",
        "POST /api/v1/tokens",
        "GET /api/v1/tokens",
        "DELETE /api/v1/tokens/{token_id}",
        "POST /api/v1/workspaces/{workspace_id}/configuration-versions",
        "GET /api/v1/workspaces/{workspace_id}/configuration-versions/{version_id}",
        "POST /api/v1/workspaces/{workspace_id}/runs",
        "GET /api/v1/workspaces/{workspace_id}/runs",
        "GET /api/v1/runs/{run_id}",
        "POST /api/v1/runs/{run_id}/actions/apply",
        "POST /api/v1/runs/{run_id}/actions/discard",
        "POST /api/v1/runs/{run_id}/actions/cancel",
        "POST /api/v1/runs/{run_id}/actions/force-cancel",
        "GET /api/v1/runs/{run_id}/logs",
        "GET /api/v1/runs/{run_id}/plan-json",
        "GET /api/v1/workspaces/{workspace_id}/current-state-version",
        "POST /api/v1/runs/{run_id}/actions/override-tasks",
        "GET /api/v1/runs/{run_id}/task-results",
        "POST /api/v1/run-tasks",
        "GET /api/v1/run-tasks",
        "GET /api/v1/run-tasks/{run_task_id}",
        "PATCH /api/v1/run-tasks/{run_task_id}",
        "DELETE /api/v1/run-tasks/{run_task_id}",
        "POST /api/v1/workspaces/{workspace_id}/run-tasks",
        "GET /api/v1/workspaces/{workspace_id}/run-tasks",
        "PATCH /api/v1/workspaces/{workspace_id}/run-tasks/{attachment_id}",
        "DELETE /api/v1/workspaces/{workspace_id}/run-tasks/{attachment_id}",
        "GET /api/v1/workspaces/{workspace_id}/resources",
        "POST /api/v1/workspaces/{workspace_id}/actions/sync-resources",
        "GET /api/v1/resources",
        "POST /api/v1/vcs-connections",
        "GET /api/v1/vcs-connections",
        "GET /api/v1/vcs-connections/{connection_id}",
        "DELETE /api/v1/vcs-connections/{connection_id}",
        "POST /api/v1/workspaces/{workspace_id}/notification-configurations",
        "GET /api/v1/workspaces/{workspace_id}/notification-configurations",
        "GET /api/v1/notification-configurations/{configuration_id}",
        "PATCH /api/v1/notification-configurations/{configuration_id}",
        "DELETE /api/v1/notification-configurations/{configuration_id}",
        "POST /api/v1/notification-configurations/{configuration_id}/actions/verify",
        "GET /api/v1/notification-configurations/{configuration_id}/deliveries",
        # GitHub's deliveries: their signature, not an API token.
        "POST /api/v1/webhooks/github/{connection_id}",
        # The run-task services' endpoints: their access token (or public), not an API token.
        "GET /api/v1/run-task-results/{result_id}",
        "PATCH /api/v1/run-task-results/{result_id}/callback",
        "POST /api/v1/run-task-results/{result_id}/callback",
        "GET /api/v1/run-task-results/{result_id}/plan-json",
        "GET /api/v1/run-task-results/{result_id}/resource-changes",
        "GET /api/v1/run-task-results/{result_id}/configuration-version",
    } == operations
    paths = document["paths"]
    assert paths["/api/v1/run-task-results/{result_id}"]["get"]["security"] == []
    assert paths["/api/v1/webhooks/github/{connection_id}"]["post"]["security"] == []
    callback = paths["/api/v1/run-task-results/{result_id}/callback"]["patch"]
    assert callback["security"] == [{"runTaskToken": []}]
    assert document["components"]["securitySchemes"]["runTaskToken"]["bearerFormat"] == "JWT"
    assert document["components"]["securitySchemes"]["apiToken"]["scheme"] == "bearer"
    assert document["security"] == [{"apiToken": []}]
