"""Every failure exits non-zero with one clear line on standard error: the API's status and
detail, or which URL could not be reached; never the token."""

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from iacp_cli.client import Client
from iacp_cli.config import Settings
from iacp_cli.errors import CliError
from tests.cli.conftest import TOKEN, FakeApi, error_body, workspace


def test_an_api_error_shows_the_status_and_the_apis_detail(cli, api: FakeApi):
    api.route(
        "GET",
        "/api/v1/workspaces/ws-0000000000000000",
        (
            404,
            {
                "errors": [
                    {
                        "status": "404",
                        "title": "Not Found",
                        "detail": "No workspace ws-0000000000000000.",
                    }
                ]
            },
        ),
    )

    result = cli("workspace", "show", "ws-0000000000000000")

    assert result.code == 1
    assert result.err == "error: 404 No workspace ws-0000000000000000.\n"
    assert result.out == ""


def test_every_problem_of_a_422_is_shown(cli, api: FakeApi):
    errors = [
        {"status": "422", "title": "Unprocessable Entity", "detail": "name: too long"},
        {"status": "422", "title": "Unprocessable Entity", "detail": "auto_apply: not a bool"},
    ]
    api.route("POST", "/api/v1/workspaces", (422, {"errors": errors}))

    result = cli("workspace", "create", "x" * 100)

    assert result.code == 1
    assert result.err == "error: 422 name: too long; auto_apply: not a bool\n"


def test_a_401_says_where_the_token_came_from_without_showing_it(cli, api: FakeApi):
    api.route(
        "GET",
        "/api/v1/workspaces",
        (
            401,
            {
                "errors": [
                    {
                        "status": "401",
                        "title": "Unauthorized",
                        "detail": "The API token is not valid.",
                    }
                ]
            },
        ),
    )

    result = cli("workspace", "list")

    assert result.code == 1
    assert result.err.startswith("error: 401 The API token is not valid.")
    assert "IACP_TOKEN" in result.err
    assert TOKEN not in result.err + result.out


def test_the_token_goes_in_the_authorization_header(cli, api: FakeApi):
    api.route("GET", "/api/v1/workspaces", (200, {"items": [], "next_cursor": None}))

    assert cli("workspace", "list").code == 0
    assert api.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"


def test_an_api_gateway_message_and_a_non_json_body_are_shown(cli, api: FakeApi):
    api.route("GET", "/api/v1/workspaces", (403, {"message": "Forbidden"}))
    assert cli("workspace", "list").err == "error: 403 Forbidden\n"

    api.route("GET", "/api/v1/run-tasks", (500, b"<html><body>Internal   error</body></html>"))
    result = cli("runtask", "list")
    assert result.code == 1
    assert result.err == "error: 500 <html><body>Internal error</body></html>\n"


def test_a_refused_connection_names_the_url_and_hints_make_local(cli, monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("IACP_URL", f"http://127.0.0.1:{port}")

    result = cli("workspace", "list")

    assert result.code == 1
    assert f"could not reach http://127.0.0.1:{port} (connection refused" in result.err
    assert "IACP_URL" in result.err and "make local" in result.err
    assert len(result.err.splitlines()) == 1


def test_an_unknown_host_is_reported(cli, monkeypatch):
    monkeypatch.setenv("IACP_URL", "http://nonexistent.invalid")

    result = cli("workspace", "list")

    assert result.code == 1
    assert result.err.startswith("error: could not reach http://nonexistent.invalid")


def test_missing_settings_are_an_error_not_a_traceback(cli, monkeypatch):
    monkeypatch.delenv("IACP_URL")

    result = cli("workspace", "list")

    assert result.code == 1
    assert result.err.startswith("error: no platform URL")


def test_a_get_is_retried_on_a_gateway_hiccup(api: FakeApi):
    answers: Iterator[Any] = iter(
        [(503, None), (502, None), (200, {"items": [], "next_cursor": None})]
    )
    api.route("GET", "/api/v1/workspaces", lambda request: next(answers))
    client = Client(Settings(api.url, TOKEN, "--url", "--token"))
    client.retry_delays = (0.0, 0.0, 0.0)

    assert client.get("/workspaces") == {"items": [], "next_cursor": None}
    assert len(api.requests) == 3


def test_a_post_is_not_retried(api: FakeApi):
    api.route("POST", "/api/v1/workspaces", (503, error_body(503, "Unavailable", "busy")))
    client = Client(Settings(api.url, TOKEN, "--url", "--token"))
    client.retry_delays = (0.0, 0.0, 0.0)

    with pytest.raises(CliError, match="503 busy") as raised:
        client.post("/workspaces", {"name": "x"})

    assert raised.value.status == 503
    assert len(api.requests) == 1


def test_lists_follow_the_cursor(api: FakeApi):
    pages = {
        None: {"items": [workspace(name="a")], "next_cursor": "c1"},
        "c1": {"items": [workspace(name="b")], "next_cursor": None},
    }
    api.route("GET", "/api/v1/workspaces", lambda r: (200, pages[r.query.get("cursor")]))
    client = Client(Settings(api.url, TOKEN, "--url", "--token"))

    names = [w["name"] for w in client.list_all("/workspaces")]

    assert names == ["a", "b"]
    assert [r.query.get("limit") for r in api.requests] == ["100", "100"]
