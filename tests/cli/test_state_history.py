"""``iacp state list``, ``state show --version`` and ``state rollback``: the state history
through the API's routes (tests/integration/test_state_history.py has the API's side)."""

import json
from typing import Any

import pytest

from tests.cli.conftest import FakeApi, workspace

WS = "ws-aaaaaaaaaaaaaaaa"
SV1, SV2, SV3 = (f"sv-{c * 16}" for c in "abc")
RUN1, RUN2 = "run-aaaaaaaaaaaaaaaa", "run-bbbbbbbbbbbbbbbb"


@pytest.fixture
def demo(api: FakeApi) -> FakeApi:
    api.route("GET", "/api/v1/workspaces", (200, {"items": [workspace(WS, "demo")]}))
    return api


def version(version_id: str, serial: int, run_id: str | None, **fields: Any) -> dict[str, Any]:
    return {
        "id": version_id,
        "created_at": f"2026-03-0{serial}T12:00:00Z",
        "workspace_id": WS,
        "run_id": run_id,
        "rolled_back_from": None,
        "serial": serial,
        "lineage": "lin-1",
        "partial": False,
        "resource_count": serial,
        "output_names": ["greeting"],
        **fields,
    }


HISTORY = [
    version(SV3, 3, None, rolled_back_from=SV1, resource_count=1),
    version(SV2, 2, RUN2, partial=True),
    version(SV1, 1, RUN1),
]


def test_state_list_prints_the_history_as_a_table_newest_first(cli, demo: FakeApi):
    demo.route(
        "GET",
        f"/api/v1/workspaces/{WS}/state-versions",
        (200, {"items": HISTORY, "next_cursor": None}),
    )

    result = cli("state", "list", "demo")

    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].split() == ["ID", "SERIAL", "CREATED", "RUN", "RESOURCES", "PARTIAL"]
    assert [line.split() for line in lines[1:]] == [
        [SV3, "3", "2026-03-03T12:00:00Z", "rollback", "to", SV1, "1", "no"],
        [SV2, "2", "2026-03-02T12:00:00Z", RUN2, "2", "yes"],
        [SV1, "1", "2026-03-01T12:00:00Z", RUN1, "1", "no"],
    ]
    assert [r.query for r in demo.requests if r.path.endswith("/state-versions")] == [
        {"limit": "20"}
    ]
    assert result.err == ""


def test_state_list_says_when_there_is_more_and_prints_json(cli, demo: FakeApi):
    page = {"items": HISTORY[:1], "next_cursor": "more"}
    demo.route("GET", f"/api/v1/workspaces/{WS}/state-versions", (200, page))

    result = cli("state", "list", "demo", "--limit", "1")

    assert result.code == 0, result.err
    assert result.err == "(the 1 newest; --limit shows more)\n"
    assert json.loads(cli("state", "list", "demo", "--json").out) == HISTORY[:1]


def test_state_list_of_a_workspace_without_state_says_so(cli, demo: FakeApi):
    demo.route(
        "GET", f"/api/v1/workspaces/{WS}/state-versions", (200, {"items": [], "next_cursor": None})
    )

    assert cli("state", "list", "demo").out == "no state versions\n"


def shown(version_id: str, serial: int, run_id: str | None = RUN1, **fields: Any) -> dict[str, Any]:
    outputs = {"greeting": {"value": f"v{serial}", "sensitive": False, "type": "string"}}
    extra = {"outputs": outputs, "download_url": None}
    return version(version_id, serial, run_id, **fields) | extra


def test_state_show_version_shows_that_version(cli, demo: FakeApi):
    demo.route("GET", f"/api/v1/state-versions/{SV1}", (200, shown(SV1, 1)))

    result = cli("state", "show", "demo", "--version", SV1)

    assert result.code == 0, result.err
    assert f"state version: {SV1}\n" in result.out
    assert "serial:        1\n" in result.out
    assert '  greeting = "v1"\n' in result.out
    assert ("GET", f"/api/v1/workspaces/{WS}/current-state-version") not in demo.calls()


def test_state_show_refuses_a_version_of_another_workspace(cli, demo: FakeApi):
    elsewhere = shown(SV1, 1, workspace_id="ws-zzzzzzzzzzzzzzzz")
    demo.route("GET", f"/api/v1/state-versions/{SV1}", (200, elsewhere))

    result = cli("state", "show", "demo", "--version", SV1)

    assert (result.code, result.out) == (1, "")
    assert result.err == f"error: state version {SV1} is not one of demo's\n"


def test_state_show_of_an_unknown_version_is_the_apis_404(cli, demo: FakeApi):
    result = cli("state", "show", "demo", "--version", "sv-unknown")

    assert result.code == 1
    assert result.err.startswith("error: 404")


def test_state_rollback_posts_the_version_and_prints_the_new_one(cli, demo: FakeApi):
    new = shown(SV3, 3, run_id=None, rolled_back_from=SV1)
    demo.route("POST", f"/api/v1/workspaces/{WS}/state-versions", (201, new))

    result = cli("state", "rollback", "demo", SV1)

    assert result.code == 0, result.err
    [posted] = [r for r in demo.requests if r.method == "POST"]
    assert posted.json() == {"rollback_to": SV1}
    assert f"state version: {SV3}\n" in result.out
    assert "serial:        3\n" in result.out
    assert f"run:           rollback to {SV1}\n" in result.out
    assert json.loads(cli("state", "rollback", "demo", SV1, "--json").out) == new


def test_state_rollback_refused_prints_the_apis_detail(cli, demo: FakeApi):
    detail = f"Workspace {WS} is locked by at-someone; only its holder can roll it back."
    body = {"errors": [{"status": "409", "title": "Conflict", "detail": detail}]}
    demo.route("POST", f"/api/v1/workspaces/{WS}/state-versions", (409, body))

    result = cli("state", "rollback", "demo", SV1)

    assert (result.code, result.out) == (1, "")
    assert result.err.startswith(f"error: 409 {detail}")
