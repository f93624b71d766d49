"""The verbs a user reaches for first: a run's logs and JSON plan, deleting a variable, a
workspace's lock and settings, listing and revoking tokens, detaching a run task."""

import json
from typing import Any

import pytest

from tests.cli.conftest import TOKEN, FakeApi, Request, workspace

WS = "ws-aaaaaaaaaaaaaaaa"
RUN = "run-aaaaaaaaaaaaaaaa"
TASK = "task-aaaaaaaaaaaaaaaa"
WORKSPACES = {"items": [workspace(WS, "demo")], "next_cursor": None}


@pytest.fixture
def demo(api: FakeApi) -> FakeApi:
    api.route("GET", "/api/v1/workspaces", (200, WORKSPACES))
    return api


def page(*items: Any) -> Any:
    return 200, {"items": list(items), "next_cursor": None}


# --- run logs --------------------------------------------------------------------------------


def paged_log(text: str, size: int, complete_at_end: bool = True):
    """The logs route over ``text``, ``size`` characters a page."""

    def reply(request: Request):
        offset = int(request.query["offset"])
        data = text[offset : offset + size]
        end = offset + len(data)
        return 200, {
            "data": data,
            "next_offset": end,
            "complete": complete_at_end and end == len(text),
        }

    return reply


def test_run_logs_prints_the_plan_log_whole_from_its_pages(cli, api: FakeApi):
    api.route("GET", f"/api/v1/runs/{RUN}/logs", paged_log("Plan: 1 to add\n", 6))

    result = cli("run", "logs", RUN)

    assert result.code == 0, result.err
    assert result.out == "Plan: 1 to add\n"
    assert [(r.path, r.query) for r in api.requests] == [
        (f"/api/v1/runs/{RUN}/logs", {"phase": "plan", "offset": str(offset)})
        for offset in (0, 6, 12)
    ]


def test_run_logs_stops_where_an_unfinished_log_ends_and_ends_the_line(cli, api: FakeApi):
    api.route("GET", f"/api/v1/runs/{RUN}/logs", paged_log("Applying...", 100, False))

    result = cli("run", "logs", RUN, "--phase", "apply")

    assert result.code == 0, result.err
    assert result.out == "Applying...\n"
    assert [r.query for r in api.requests] == [
        {"phase": "apply", "offset": "0"},
        {"phase": "apply", "offset": "11"},
    ]


def test_run_logs_of_an_empty_phase_says_so_on_stderr(cli, api: FakeApi):
    api.route("GET", f"/api/v1/runs/{RUN}/logs", paged_log("", 100, False))

    result = cli("run", "logs", RUN, "--phase", "fetch")

    assert (result.code, result.out) == (0, "")
    assert result.err == f"(run {RUN} has no fetch log yet)\n"
    assert [r.query for r in api.requests] == [{"phase": "fetch", "offset": "0"}]


def test_run_logs_refuses_an_unknown_phase(cli, api: FakeApi, capsys):
    with pytest.raises(SystemExit) as exited:
        cli("run", "logs", RUN, "--phase", "destroy")

    assert exited.value.code == 2
    assert "invalid choice: 'destroy'" in capsys.readouterr().err
    assert api.requests == []


def test_an_unknown_run_is_the_apis_404(cli, api: FakeApi):
    result = cli("run", "logs", RUN)

    assert result.code == 1
    assert result.err.startswith("error: 404 No route")


# --- run plan-json ---------------------------------------------------------------------------

PLAN = {"format_version": "1.2", "resource_changes": [{"address": "a.b"}]}


def test_run_plan_json_prints_the_plan(cli, api: FakeApi):
    api.route("GET", f"/api/v1/runs/{RUN}/plan-json", (200, PLAN))

    result = cli("run", "plan-json", RUN)

    assert result.code == 0, result.err
    assert json.loads(result.out) == PLAN
    assert api.calls() == [("GET", f"/api/v1/runs/{RUN}/plan-json")]


def test_run_plan_json_follows_a_redirect_without_the_token(cli, api: FakeApi):
    download = f"{api.url}/bucket/plan.json?X-Amz-Signature=s"
    api.route("GET", f"/api/v1/runs/{RUN}/plan-json", (307, None, {"Location": download}))
    api.route("GET", "/bucket/plan.json", (200, PLAN))

    result = cli("run", "plan-json", RUN)

    assert result.code == 0, result.err
    assert json.loads(result.out) == PLAN
    first, redirected = api.requests
    assert first.headers["Authorization"] == f"Bearer {TOKEN}"
    assert redirected.path == "/bucket/plan.json"
    assert "Authorization" not in redirected.headers


def test_run_plan_json_of_a_run_without_a_plan_is_the_apis_error(cli, api: FakeApi):
    result = cli("run", "plan-json", RUN)

    assert result.code == 1
    assert result.err.startswith("error: 404 ")


# --- var delete ------------------------------------------------------------------------------


def variable(key: str, category: str = "terraform"):
    return {"id": f"var-{key[:16]:x<16}", "key": key, "category": category, "value": "v"}


def test_var_delete_deletes_the_variable_with_that_key_in_that_category(cli, demo: FakeApi):
    env = {**variable("TF_LOG", "env"), "id": "var-envenvenvenvenvenv"}
    demo.route("GET", f"/api/v1/workspaces/{WS}/vars", page(variable("TF_LOG"), env))
    demo.route("DELETE", f"/api/v1/workspaces/{WS}/vars/{env['id']}", (204, None))

    result = cli("var", "delete", "demo", "TF_LOG", "--env")

    assert result.code == 0, result.err
    assert demo.calls() == [
        ("GET", "/api/v1/workspaces"),
        ("GET", f"/api/v1/workspaces/{WS}/vars"),
        ("DELETE", f"/api/v1/workspaces/{WS}/vars/{env['id']}"),
    ]
    assert result.out == f"deleted environment variable TF_LOG ({env['id']})\n"


def test_var_delete_of_a_terraform_variable(cli, api: FakeApi):
    greeting = variable("greeting")
    api.route("GET", f"/api/v1/workspaces/{WS}/vars", page(greeting))
    api.route("DELETE", f"/api/v1/workspaces/{WS}/vars/{greeting['id']}", (204, None))

    result = cli("var", "delete", WS, "greeting")

    assert result.code == 0, result.err
    assert api.calls("DELETE") == [("DELETE", f"/api/v1/workspaces/{WS}/vars/{greeting['id']}")]
    assert result.out == f"deleted Terraform variable greeting ({greeting['id']})\n"


def test_var_delete_of_an_unknown_key_is_an_error(cli, demo: FakeApi):
    demo.route("GET", f"/api/v1/workspaces/{WS}/vars", page(variable("greeting")))

    result = cli("var", "delete", "demo", "nope")

    assert result.code == 1
    assert result.err == (
        "error: no Terraform variable 'nope' in workspace demo\n"
        "  `iacp var list demo` shows the variables\n"
    )
    assert demo.calls("DELETE") == []


def test_var_delete_names_the_other_category_when_the_key_is_there(cli, demo: FakeApi):
    demo.route("GET", f"/api/v1/workspaces/{WS}/vars", page(variable("TF_LOG", "env")))

    result = cli("var", "delete", "demo", "TF_LOG")

    assert result.code == 1
    assert result.err.splitlines() == [
        "error: no Terraform variable 'TF_LOG' in workspace demo",
        "  there is an environment variable of that key: --env deletes it",
    ]
    assert demo.calls("DELETE") == []


# --- workspace lock, unlock ------------------------------------------------------------------


def test_workspace_lock_sends_the_reason(cli, demo: FakeApi):
    lock = {"holder": "at-clitestclitest01", "reason": "maintenance", "locked_at": "t"}
    demo.route(
        "POST", f"/api/v1/workspaces/{WS}/actions/lock", (200, workspace(WS, "demo", lock=lock))
    )

    result = cli("workspace", "lock", "demo", "--reason", "maintenance")

    assert result.code == 0, result.err
    assert demo.calls("POST") == [("POST", f"/api/v1/workspaces/{WS}/actions/lock")]
    assert demo.requests[-1].json() == {"reason": "maintenance"}
    assert result.out == f"locked workspace demo ({WS})\n"


def test_workspace_lock_without_a_reason_sends_an_empty_body(cli, api: FakeApi):
    api.route("POST", f"/api/v1/workspaces/{WS}/actions/lock", (200, workspace(WS, "demo")))

    result = cli("workspace", "lock", WS, "--json")

    assert result.code == 0, result.err
    assert api.requests[-1].json() == {}
    assert json.loads(result.out)["id"] == WS


def test_workspace_lock_of_a_locked_workspace_is_the_apis_conflict(cli, api: FakeApi):
    api.route(
        "POST",
        f"/api/v1/workspaces/{WS}/actions/lock",
        (409, {"errors": [{"status": "409", "title": "Conflict", "detail": "already locked"}]}),
    )

    result = cli("workspace", "lock", WS)

    assert (result.code, result.err) == (1, "error: 409 already locked\n")


@pytest.mark.parametrize(
    ("flags", "action", "said"), [((), "unlock", ""), (("--force",), "force-unlock", " (forced)")]
)
def test_workspace_unlock(cli, demo: FakeApi, flags, action, said):
    demo.route("POST", f"/api/v1/workspaces/{WS}/actions/{action}", (200, workspace(WS, "demo")))

    result = cli("workspace", "unlock", "demo", *flags)

    assert result.code == 0, result.err
    assert demo.calls("POST") == [("POST", f"/api/v1/workspaces/{WS}/actions/{action}")]
    assert demo.requests[-1].json() == {}
    assert result.out == f"unlocked workspace demo ({WS}){said}\n"


# --- workspace update ------------------------------------------------------------------------


def patched(request: Request):
    return 200, workspace(WS, "demo", **request.json())


def test_workspace_update_sends_only_the_fields_given(cli, demo: FakeApi):
    demo.route("PATCH", f"/api/v1/workspaces/{WS}", patched)

    result = cli("workspace", "update", "demo", "--terraform-version", "1.9.8", "--no-auto-apply")

    assert result.code == 0, result.err
    assert demo.calls("PATCH") == [("PATCH", f"/api/v1/workspaces/{WS}")]
    assert demo.requests[-1].json() == {"terraform_version": "1.9.8", "auto_apply": False}
    assert result.out == f"updated workspace demo ({WS}): terraform_version, auto_apply\n"


def test_workspace_update_every_field(cli, api: FakeApi):
    api.route("PATCH", f"/api/v1/workspaces/{WS}", patched)

    result = cli(
        "workspace",
        "update",
        WS,
        "--auto-apply",
        "--description",
        "the demo",
        "--working-directory",
        "infra",
        "--terraform-version",
        "default",
        "--json",
    )

    assert result.code == 0, result.err
    assert api.requests[-1].json() == {
        "terraform_version": None,
        "auto_apply": True,
        "description": "the demo",
        "working_directory": "infra",
    }
    assert json.loads(result.out)["working_directory"] == "infra"


def test_workspace_runner_size_is_sent_as_the_apis_and_default_returns_to_the_platforms(
    cli, api: FakeApi
):
    api.route("PATCH", f"/api/v1/workspaces/{WS}", patched)

    sized = cli("workspace", "update", WS, "--runner-size", "512/1024")
    back = cli("workspace", "update", WS, "--runner-size", "default")

    assert (sized.code, back.code) == (0, 0), (sized.err, back.err)
    bodies = [r.json() for r in api.requests if r.method == "PATCH"]
    assert bodies == [{"runner_size": {"cpu": 512, "memory": 1024}}, {"runner_size": None}]


def test_a_runner_size_that_is_not_cpu_slash_memory_is_a_usage_error(cli, api: FakeApi, capsys):
    with pytest.raises(SystemExit) as exited:
        cli("workspace", "update", WS, "--runner-size", "1vcpu")

    assert exited.value.code == 2
    assert "expected CPU/MEMORY such as 512/1024, not '1vcpu'" in capsys.readouterr().err
    assert api.requests == []


def test_workspace_update_without_a_change_is_a_usage_error(cli, api: FakeApi, capsys):
    with pytest.raises(SystemExit) as exited:
        cli("workspace", "update", "demo")

    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "usage: iacp workspace update" in err
    assert "error: nothing to change" in err
    assert api.requests == []


# --- token list, delete ----------------------------------------------------------------------

TOKENS: list[dict[str, Any]] = [
    {
        "id": "at-aaaaaaaaaaaaaaaa",
        "created_at": "2026-01-01T00:00:00Z",
        "created_by": "at-bootstrap000000",
        "description": "ci",
        "role": "write",
        "workspaces": [WS],
        "expires_at": None,
    },
    {
        "id": "at-bbbbbbbbbbbbbbbb",
        "created_at": "2026-01-02T00:00:00Z",
        "created_by": "at-bootstrap000000",
        "description": "",
        "role": "admin",
        "workspaces": None,
        "expires_at": "2030-01-01T00:00:00Z",
        "token": "at-bbbbbbbbbbbbbbbb.never-printed",  # were the API ever to list one
    },
]


def test_token_list_prints_a_table_without_secrets(cli, api: FakeApi):
    api.route("GET", "/api/v1/tokens", page(*TOKENS))

    result = cli("token", "list")

    assert result.code == 0, result.err
    assert api.calls() == [("GET", "/api/v1/tokens")]
    assert api.requests[0].query == {"limit": "100"}
    lines = result.out.splitlines()
    assert lines[0].split() == [
        "ID",
        "ROLE",
        "WORKSPACES",
        "EXPIRES",
        "CREATED",
        "BY",
        "DESCRIPTION",
    ]
    assert lines[1].split() == [
        "at-aaaaaaaaaaaaaaaa",
        "write",
        WS,
        "never",
        "2026-01-01T00:00:00Z",
        "at-bootstrap000000",
        "ci",
    ]
    assert lines[2].split()[:4] == ["at-bbbbbbbbbbbbbbbb", "admin", "all", "2030-01-01T00:00:00Z"]
    assert "never-printed" not in result.out


def test_token_list_json_leaves_out_any_secret(cli, api: FakeApi):
    api.route("GET", "/api/v1/tokens", page(*TOKENS))

    result = cli("token", "list", "--json")

    assert result.code == 0, result.err
    assert [t["id"] for t in json.loads(result.out)] == [t["id"] for t in TOKENS]
    assert "never-printed" not in result.out


def test_token_list_follows_the_pages(cli, api: FakeApi):
    def pages(request: Request):
        if request.query.get("cursor") == "c2":
            return 200, {"items": [TOKENS[1]], "next_cursor": None}
        return 200, {"items": [TOKENS[0]], "next_cursor": "c2"}

    api.route("GET", "/api/v1/tokens", pages)

    result = cli("token", "list")

    assert result.code == 0, result.err
    assert len(result.out.splitlines()) == 3


def test_token_delete_revokes_it(cli, api: FakeApi):
    api.route("DELETE", "/api/v1/tokens/at-aaaaaaaaaaaaaaaa", (204, None))

    result = cli("token", "delete", "at-aaaaaaaaaaaaaaaa")

    assert result.code == 0, result.err
    assert api.calls() == [("DELETE", "/api/v1/tokens/at-aaaaaaaaaaaaaaaa")]
    assert result.out == "revoked token at-aaaaaaaaaaaaaaaa\n"


def test_token_delete_of_an_unknown_token_is_the_apis_404(cli, api: FakeApi):
    result = cli("token", "delete", "at-zzzzzzzzzzzzzzzz")

    assert result.code == 1
    assert result.err.startswith("error: 404 ")


# --- runtask detach --------------------------------------------------------------------------


def attachment(attachment_id: str, task: str):
    return {
        "id": attachment_id,
        "run_task_id": task,
        "stages": ["post_plan"],
        "enforcement_level": "advisory",
    }


def test_runtask_detach_deletes_the_tasks_attachment(cli, demo: FakeApi):
    tasks = [{"id": "task-bbbbbbbbbbbbbbbb", "name": "other"}, {"id": TASK, "name": "no-destroy"}]
    demo.route("GET", "/api/v1/run-tasks", page(*tasks))
    demo.route(
        "GET",
        f"/api/v1/workspaces/{WS}/run-tasks",
        page(
            attachment("wstask-bbbbbbbbbbbbbbbb", "task-bbbbbbbbbbbbbbbb"),
            attachment("wstask-aaaaaaaaaaaaaaaa", TASK),
        ),
    )
    demo.route("DELETE", f"/api/v1/workspaces/{WS}/run-tasks/wstask-aaaaaaaaaaaaaaaa", (204, None))

    result = cli("runtask", "detach", "demo", "No-Destroy")

    assert result.code == 0, result.err
    assert demo.calls() == [
        ("GET", "/api/v1/workspaces"),
        ("GET", "/api/v1/run-tasks"),
        ("GET", f"/api/v1/workspaces/{WS}/run-tasks"),
        ("DELETE", f"/api/v1/workspaces/{WS}/run-tasks/wstask-aaaaaaaaaaaaaaaa"),
    ]
    assert result.out == "detached run task No-Destroy from demo (wstask-aaaaaaaaaaaaaaaa)\n"


def test_runtask_detach_of_a_task_not_attached_is_an_error(cli, api: FakeApi):
    api.route(
        "GET",
        f"/api/v1/workspaces/{WS}/run-tasks",
        page(attachment("wstask-bbbbbbbbbbbbbbbb", "task-bbbbbbbbbbbbbbbb")),
    )

    result = cli("runtask", "detach", WS, TASK)

    assert result.code == 1
    assert result.err.splitlines() == [
        f"error: run task {TASK} is not attached to workspace {WS}",
        f"  `iacp runtask list --workspace {WS}` shows those attached",
    ]
    assert api.calls("DELETE") == []
