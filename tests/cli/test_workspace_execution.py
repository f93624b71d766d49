"""``iacp workspace create|update|show`` and where the workspace's phases run."""

import pytest

from tests.cli.conftest import FakeApi, workspace

WS = "ws-aaaaaaaaaaaaaaaa"


def test_create_sends_the_executor_and_phase_timeout_given(cli, api: FakeApi):
    api.route("POST", "/api/v1/workspaces", lambda r: (201, workspace(WS, r.json()["name"])))

    result = cli("workspace", "create", "quick", "--execution", "lambda", "--phase-timeout", "300")

    assert result.code == 0
    assert api.requests[0].json() == {
        "name": "quick",
        "execution": "lambda",
        "phase_timeout_seconds": 300,
    }


def test_update_returns_the_phase_timeout_to_the_executors_limit(cli, api: FakeApi):
    api.route("PATCH", f"/api/v1/workspaces/{WS}", (200, workspace(WS, "quick")))

    result = cli("workspace", "update", WS, "--execution", "fargate", "--phase-timeout", "default")

    assert result.code == 0
    assert api.requests[-1].json() == {"execution": "fargate", "phase_timeout_seconds": None}


def test_an_unknown_executor_is_a_usage_error_and_sends_nothing(cli, api: FakeApi, capsys):
    with pytest.raises(SystemExit) as exited:
        cli("workspace", "create", "quick", "--execution", "ecs")

    assert exited.value.code == 2
    assert "invalid choice: 'ecs'" in capsys.readouterr().err
    assert api.requests == []


def test_show_prints_the_executor_and_its_phase_timeout(cli, api: FakeApi):
    shown = workspace(WS, "quick", execution="lambda", phase_timeout_seconds=300)
    api.route("GET", f"/api/v1/workspaces/{WS}", (200, shown))

    out = cli("workspace", "show", WS).out.splitlines()

    assert "execution:         lambda" in out
    assert "phase timeout:     300 seconds" in out
