"""``iacp vcs``: connections to repository hosts and a workspace's VCS settings, through the
API's routes (tests/integration/test_vcs.py has the API's side)."""

import pytest

from tests.cli.conftest import FakeApi, workspace

WS = "ws-aaaaaaaaaaaaaaaa"
VCS = "vcs-aaaaaaaaaaaaaaaa"
CONNECTION = {
    "id": VCS,
    "provider": "gitlab",
    "description": "",
    "api_url": "https://gitlab.example.com",
    "webhook_url": f"https://iacp.example/api/v1/webhooks/gitlab/{VCS}",
    "webhook_secret_set": True,
    "token_set": True,
    "created_at": "2026-01-01T00:00:00Z",
}


@pytest.fixture
def demo(api: FakeApi) -> FakeApi:
    api.route("GET", "/api/v1/workspaces", (200, {"items": [workspace(WS, "demo")]}))
    return api


def test_create_takes_the_secrets_from_the_environment_and_says_where_the_webhook_goes(
    cli, api: FakeApi, monkeypatch
):
    monkeypatch.setenv("HOOK", "a-webhook-secret-of-some-length")
    monkeypatch.setenv("GLPAT", "glpat-xyz")
    api.route("POST", "/api/v1/vcs-connections", (201, CONNECTION))

    result = cli(
        "vcs", "create", "gitlab", "--webhook-secret-env", "HOOK", "--token-env", "GLPAT",
        "--api-url", "https://gitlab.example.com",
    )  # fmt: skip

    assert result.code == 0, result.err
    assert api.requests[-1].json() == {
        "provider": "gitlab",
        "webhook_secret": "a-webhook-secret-of-some-length",
        "token": "glpat-xyz",
        "api_url": "https://gitlab.example.com",
    }
    assert CONNECTION["webhook_url"] in result.out
    assert "glpat-xyz" not in result.out + result.err


def test_create_refuses_an_unset_secret_variable_before_calling(cli, api: FakeApi):
    result = cli("vcs", "create", "github", "--webhook-secret-env", "NOT_SET_ANYWHERE")

    assert result.code != 0
    assert "NOT_SET_ANYWHERE" in result.err
    assert api.requests == []


def test_list_and_show_connections(cli, api: FakeApi):
    api.route("GET", "/api/v1/vcs-connections", (200, {"items": [CONNECTION]}))
    api.route("GET", f"/api/v1/vcs-connections/{VCS}", (200, CONNECTION))

    listed = cli("vcs", "list")
    shown = cli("vcs", "show", VCS)

    assert listed.out.splitlines()[1].split()[:4] == [VCS, "gitlab", CONNECTION["api_url"], "yes"]
    assert f"webhook_url: {CONNECTION['webhook_url']}" in shown.out


def test_set_patches_the_workspaces_vcs_settings(cli, demo: FakeApi):
    demo.route("PATCH", f"/api/v1/workspaces/{WS}", (200, workspace(WS, "demo")))

    result = cli(
        "vcs", "set", "demo", "--connection", VCS, "--repository", "infra/platform/net",
        "--branch", "release/*", "--tags", "v*", "--trigger-prefix", "modules",
    )  # fmt: skip

    assert result.code == 0, result.err
    assert demo.requests[-1].json() == {
        "vcs": {
            "connection_id": VCS,
            "repository": "infra/platform/net",
            "branch": "release/*",
            "tags": "v*",
            "trigger_prefixes": ["modules"],
        }
    }


def test_unset_disconnects_and_an_api_refusal_is_one_error_line(cli, demo: FakeApi):
    demo.route("PATCH", f"/api/v1/workspaces/{WS}", (200, workspace(WS, "demo")))
    demo.route(
        "DELETE",
        f"/api/v1/vcs-connections/{VCS}",
        (
            409,
            {
                "errors": [
                    {"status": "409", "title": "Conflict", "detail": "Workspaces still use it"}
                ]
            },
        ),
    )

    unset = cli("vcs", "unset", "demo")
    refused = cli("vcs", "delete", VCS)

    assert demo.requests[-2].json() == {"vcs": None}
    assert unset.code == 0
    assert refused.code != 0 and "Workspaces still use it" in refused.err


def test_settings_show_the_branch_and_what_each_vcs_run_reported(cli, api: FakeApi):
    vcs = {"connection_id": VCS, "repository": "o/r", "branch": "main", "trigger_prefixes": []}
    api.route("GET", "/api/v1/workspaces", (200, {"items": [workspace(WS, "demo", vcs=vcs)]}))
    api.route("GET", f"/api/v1/workspaces/{WS}", (200, workspace(WS, "demo", vcs=vcs)))
    run = {
        "id": "run-aaaaaaaaaaaaaaaa",
        "status": "planned_and_finished",
        "vcs": {"commit_sha": "0123456789abcdef0123"},
        "vcs_feedback": {"status": "failed", "reason": "GitHub answered HTTP 401", "at": "x"},
    }
    api.route("GET", f"/api/v1/workspaces/{WS}/runs", (200, {"items": [run]}))

    result = cli("vcs", "settings", "demo")

    assert "branch: main" in result.out
    assert "0123456789ab" in result.out
    assert "failed: GitHub answered HTTP 401" in result.out
