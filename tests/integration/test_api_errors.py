"""The error contract of design §9 across the API: the shape, the status classes, and a
500 that says nothing of the internals."""

import json

import pytest

from iacp.http import API_LIMITS, SERVICE_LIMITS
from iacp.principal import Role
from iacp.runtasks.models import Stage
from iacp.workspaces.service import WorkspaceService
from tests.conftest import ApiClient, assert_error, mint
from tests.runtasks_support import (
    JSON_API,
    attach,
    callback,
    callback_body,
    create_task,
    dispatch_all,
    new_workspace,
    raw_item,
    run_at,
    service_request,
)
from tests.vcs_support import WEBHOOK_SECRET, delivery_headers, encoded, push_body


def test_unknown_route_is_404_in_the_error_shape(admin):
    error = assert_error(admin.get("/no-such-thing"), 404)

    assert "/api/v1/no-such-thing" in error["detail"]


def test_a_path_outside_the_api_and_the_web_ui_is_a_json_404(admin):
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
        "GET /api/v1/account",
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
        "GET /api/v1/workspaces/{workspace_id}/state-versions",
        "POST /api/v1/workspaces/{workspace_id}/state-versions",
        "GET /api/v1/state-versions/{state_version_id}",
        "GET /api/v1/state-versions/{state_version_id}/outputs",
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
        # GitHub's and GitLab's deliveries: their signature or secret token, not an API token.
        "POST /api/v1/webhooks/github/{connection_id}",
        "POST /api/v1/webhooks/gitlab/{connection_id}",
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
    assert paths["/api/v1/webhooks/gitlab/{connection_id}"]["post"]["security"] == []
    callback = paths["/api/v1/run-task-results/{result_id}/callback"]["patch"]
    assert callback["security"] == [{"runTaskToken": []}]
    assert document["components"]["securitySchemes"]["runTaskToken"]["bearerFormat"] == "JWT"
    assert document["components"]["securitySchemes"]["apiToken"]["scheme"] == "bearer"
    assert document["security"] == [{"apiToken": []}]


# --- the request limits (docs/api.md, "Limits"), at every API function ------------------------
#
# Each is answered before any route or store: a 4xx in the error shape that names the limit,
# and nothing is written.

DEEP = "[" * 5000 + "]" * 5000
HUGE_INT = "1" * 5000
TOO_MANY_BYTES = API_LIMITS.body_bytes + 1


def deep(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


@pytest.mark.parametrize(
    ("body", "content_type", "status", "named"),
    [
        ('{"name": "ok"}', "text/plain", 415, "application/json"),
        ("name=ok", "application/x-www-form-urlencoded", 415, "application/json"),
        ("--b\r\n\r\n--b--", "multipart/form-data; boundary=b", 415, "application/json"),
        (DEEP, "application/json", 422, "64 deep"),
        ('{"name": "ok", "auto_apply": ' + HUGE_INT + "}", "application/json", 422, "5000"),
        ('{"name": "ok", "x": -1.' + HUGE_INT + "e5}", "application/json", 422, "characters"),
        ('{"name": "ok", "x": NaN}', "application/json", 422, "NaN"),
        ('{"name": "' + "x" * TOO_MANY_BYTES + '"}', "application/json", 413, "1048576"),
    ],
    ids=["text", "form", "multipart", "deep", "huge int", "huge float", "NaN", "huge body"],
)
def test_a_body_over_the_limits_is_refused_and_creates_nothing(
    admin, body, content_type, status, named
):
    admin.headers["Content-Type"] = content_type

    reply = admin.post("/workspaces", body=body)

    error = assert_error(reply, status)
    assert named in error["detail"], error
    assert "Traceback" not in reply.body
    assert admin.with_token(admin.token).list_all("/workspaces") == []


def test_the_limits_themselves_are_accepted(admin):
    nested = {"name": "deep", "description": "n" * 900, "x": json.loads(deep(62))}
    number = "1" * API_LIMITS.number_chars

    assert_error(admin.post("/workspaces", nested), 422, "/x")  # reached validation
    reply = admin.post("/workspaces", body='{"name": "n", "aws_session_duration": ' + number + "}")
    assert_error(reply, 422, "/aws_session_duration")
    assert_error(admin.post("/workspaces", body=deep(API_LIMITS.json_depth + 1)), 422, "")
    body = '{"name": "' + "x" * (API_LIMITS.body_bytes - len('{"name": ""}')) + '"}'
    assert len(body) == API_LIMITS.body_bytes
    assert_error(admin.post("/workspaces", body=body), 422, "/name")  # read, then too long
    text = 'a "quoted\\" [' + "[" * 300 + "1" * 300 + "NaN"  # escapes too
    strings = json.dumps({"name": "strings", "description": text})
    assert admin.post("/workspaces", body=strings).status == 201  # only JSON outside strings


def test_a_json_media_type_with_parameters_or_a_suffix_is_json(admin):
    admin.headers["Content-Type"] = "application/json; charset=utf-8"
    assert admin.post("/workspaces", {"name": "charset"}).status == 201

    # Powertools reads only application/json: its refusal is a 415 too, not a 500.
    admin.headers["Content-Type"] = "application/vnd.api+json"
    error = assert_error(admin.post("/workspaces", {"name": "vnd"}), 415)
    assert error["source"] == {"header": "Content-Type"}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/workspaces/{long}", None),
        ("PATCH", "/workspaces/{long}", {"description": "x"}),
        ("DELETE", "/workspaces/{long}", None),
        ("POST", "/workspaces/{long}/vars", {"key": "k", "value": "v", "category": "env"}),
        ("PATCH", "/workspaces/{ws}/vars/{long}", {"value": "v"}),
        ("POST", "/workspaces/{long}/actions/lock", None),
        ("POST", "/runs/{long}/actions/cancel", None),
        ("DELETE", "/tokens/{long}", None),
        ("GET", "/workspaces/{ws}/configuration-versions/{long}", None),
    ],
)
def test_an_id_longer_than_any_id_is_404_before_any_store(admin, method, path, body, monkeypatch):
    workspace = admin.post("/workspaces", {"name": "kept"}).json()["id"]
    long = "Q" * 3000

    def no_store_call(*args: object, **kwargs: object) -> None:
        raise AssertionError("a store was called")

    monkeypatch.setattr("botocore.client.BaseClient._make_api_call", no_store_call)
    reply = admin.call(method, path.format(long=long, ws=workspace), body)
    monkeypatch.undo()

    error = assert_error(reply, 404)
    assert "no id has more than 64" in error["detail"]
    assert admin.get(f"/workspaces/{workspace}").json()["description"] == ""


def test_an_id_of_the_longest_length_is_looked_up(admin):
    error = assert_error(admin.get("/workspaces/" + "w" * API_LIMITS.id_chars), 404)

    assert error["detail"].startswith("No workspace")


def test_the_callback_endpoint_screens_its_requests_and_records_nothing(
    aws, gateway, machinery, service, resumes
):
    ws = new_workspace(aws, ApiClient(gateway, mint(aws, Role.ADMIN)), "limits")
    admin = ApiClient(gateway, mint(aws, Role.ADMIN))
    attach(admin, ws, create_task(admin, service.url), ["post_plan"])
    run_id = run_at(aws, machinery, admin, ws, Stage.POST_PLAN)
    [sent] = dispatch_all(machinery, service, run_id, ws, Stage.POST_PLAN)
    before = raw_item(aws, sent.result_id)
    passed = json.dumps(callback_body("passed"))

    for raw, content_type, status in [
        (DEEP, JSON_API, 422),
        (passed[:-1] + ', "n": ' + HUGE_INT + "}", JSON_API, 422),
        (passed, "text/plain", 415),
        (json.dumps(callback_body("passed", "m" * SERVICE_LIMITS.body_bytes)), JSON_API, 413),
    ]:
        reply = gateway.request(
            "PATCH",
            f"/api/v1/run-task-results/{sent.result_id}/callback",
            headers={"Content-Type": content_type, "Authorization": f"Bearer {sent.token}"},
            body=raw,
        )
        assert_error(reply, status)
    long = service_request(gateway, "PATCH", "r" * 3000, "callback", token=sent.token, body={})
    assert "no id has more than 64" in assert_error(long, 404)["detail"]
    assert_error(service_request(gateway, "GET", "r" * 3000), 404)

    assert raw_item(aws, sent.result_id) == before
    assert resumes.resumed == []
    assert callback(gateway, sent.result_id, sent.token, callback_body("passed")).status == 200


def test_the_github_webhook_screens_deliveries_and_starts_nothing(gateway, admin):
    connection = admin.post(
        "/vcs-connections",
        {"provider": "github", "webhook_secret": WEBHOOK_SECRET, "token": "ghp_secret_token"},
    ).json()["id"]
    vcs = {"connection_id": connection, "repository": "file:///srv/git/infra.git"}
    workspace = admin.post("/workspaces", {"name": "tracks", "vcs": vcs | {"branch": "main"}})
    assert workspace.status == 201, workspace.body
    path = f"/api/v1/webhooks/github/{connection}"
    push = encoded(push_body("file:///srv/git/infra.git", "1" * 40)).decode()

    for body, status in [
        ('{"ref": ' + DEEP + "}", 422),
        (push[:-1] + ', "size": ' + HUGE_INT + "}", 422),
        ('"' + "x" * SERVICE_LIMITS.body_bytes + '"', 413),
    ]:
        headers = delivery_headers("push", body.encode())  # signed: the bytes are verified
        assert_error(gateway.request("POST", path, headers=headers, body=body), status)
    long = gateway.request("POST", "/api/v1/webhooks/github/" + "v" * 3000, body="{}")
    assert_error(long, 404)

    assert admin.get(f"/workspaces/{workspace.json()['id']}/runs").json()["items"] == []


def test_a_webhook_body_within_the_limits_reaches_its_signature_check_unchanged(gateway, admin):
    """Up to the services' 5 MB (more than the API's 1 MB), the bytes signed are the
    bytes verified: the screening reads the body, it does not rewrite it."""
    connection = admin.post(
        "/vcs-connections",
        {"provider": "github", "webhook_secret": WEBHOOK_SECRET, "token": "ghp_secret_token"},
    ).json()["id"]
    body = json.dumps({"zen": "z" * (2 * 1024 * 1024), "hook": {"a": [1.5e3, -2, "é\\u00e9"]}})
    headers = delivery_headers("ping", body.encode())

    reply = gateway.request(
        "POST", f"/api/v1/webhooks/github/{connection}", headers=headers, body=body
    )

    assert reply.status == 200, reply.body[:300]


def test_an_unknown_api_path_is_the_apis_404_and_not_the_web_uis(admin):
    # Both /api/v1/{proxy+} and the web UI's /{proxy+} match; API Gateway takes the deeper.
    reply = admin.get("/no-such-collection")
    page = admin.gateway.request("GET", "/")

    assert "No such page" not in assert_error(reply, 404)["detail"]
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "Access-Control-Allow-Origin" not in reply.headers | page.headers
