"""The commands against the fake API: the requests they send and what they print."""

import io
import json
import tarfile
from pathlib import Path

import pytest

from tests.cli.conftest import FakeApi, Request, workspace

WS = "ws-aaaaaaaaaaaaaaaa"
WORKSPACES = {
    "items": [workspace(WS, "demo"), workspace("ws-bbbbbbbbbbbbbbbb", "other")],
    "next_cursor": None,
}


@pytest.fixture
def demo(api: FakeApi) -> FakeApi:
    api.route("GET", "/api/v1/workspaces", (200, WORKSPACES))
    api.route("GET", f"/api/v1/workspaces/{WS}", (200, workspace(WS, "demo")))
    return api


def variable(key: str, category: str = "terraform", **fields):
    return {
        "id": f"var-{key[:16]:x<16}",
        "key": key,
        "value": "v",
        "category": category,
        "hcl": False,
        "sensitive": False,
        "description": "",
        **fields,
    }


def test_a_workspace_is_named_by_name_ignoring_case(cli, demo: FakeApi):
    result = cli("workspace", "show", "DEMO")

    assert result.code == 0
    assert demo.calls() == [("GET", "/api/v1/workspaces"), ("GET", f"/api/v1/workspaces/{WS}")]
    assert "name:" in result.out and WS in result.out


def test_an_id_is_used_without_a_lookup(cli, demo: FakeApi):
    assert cli("workspace", "show", WS, "--json").code == 0

    assert demo.calls() == [("GET", f"/api/v1/workspaces/{WS}")]


def test_an_unknown_name_is_an_error(cli, demo: FakeApi):
    result = cli("workspace", "show", "nope")

    assert result.code == 1
    assert result.err.startswith("error: no workspace named 'nope'")


def test_workspace_create_sends_only_what_was_given(cli, api: FakeApi):
    api.route("POST", "/api/v1/workspaces", lambda r: (201, workspace(WS, r.json()["name"])))

    result = cli("workspace", "create", "demo", "--auto-apply", "--working-directory", "infra")

    assert result.code == 0
    assert api.requests[0].json() == {
        "name": "demo",
        "auto_apply": True,
        "working_directory": "infra",
    }
    assert result.out == f"created workspace demo ({WS})\n"


def test_workspace_list_prints_a_table(cli, demo: FakeApi):
    out = cli("workspace", "list").out.splitlines()

    assert out[0].split() == ["NAME", "ID", "AUTO-APPLY", "LOCKED", "CURRENT", "RUN", "DESCRIPTION"]
    assert out[1].split()[:2] == ["demo", WS]
    assert len(out) == 3


def test_var_set_creates_a_new_variable(cli, demo: FakeApi):
    demo.route(
        "GET",
        f"/api/v1/workspaces/{WS}/vars",
        (200, {"items": [variable("greeting", "env")], "next_cursor": None}),
    )
    demo.route("POST", f"/api/v1/workspaces/{WS}/vars", (201, variable("greeting")))

    result = cli("var", "set", "demo", "greeting", '["a"]', "--hcl")

    assert result.code == 0
    posted = [r for r in demo.requests if r.method == "POST"]
    assert posted[0].json() == {
        "key": "greeting",
        "category": "terraform",
        "value": '["a"]',
        "hcl": True,
    }
    assert result.out.startswith("created Terraform variable greeting")


def test_var_set_changes_the_variable_with_that_key_in_that_category(cli, demo: FakeApi):
    existing = variable("TF_LOG", "env")
    demo.route(
        "GET",
        f"/api/v1/workspaces/{WS}/vars",
        (200, {"items": [variable("TF_LOG"), existing], "next_cursor": None}),
    )
    demo.route("PATCH", f"/api/v1/workspaces/{WS}/vars/{existing['id']}", (200, existing))

    result = cli("var", "set", WS, "TF_LOG", "debug", "--env", "--sensitive")

    assert result.code == 0
    (patched,) = [r for r in demo.requests if r.method == "PATCH"]
    assert patched.json() == {"value": "debug", "hcl": False, "sensitive": True}
    assert result.out.startswith("updated environment variable TF_LOG")


def test_var_set_reads_the_value_from_stdin(cli, demo: FakeApi, monkeypatch):
    demo.route("GET", f"/api/v1/workspaces/{WS}/vars", (200, {"items": [], "next_cursor": None}))
    demo.route("POST", f"/api/v1/workspaces/{WS}/vars", (201, variable("password", sensitive=True)))
    monkeypatch.setattr("sys.stdin", io.StringIO("hunter2\n"))

    assert cli("var", "set", "demo", "password", "-", "--sensitive").code == 0
    posted = next(r for r in demo.requests if r.method == "POST").json()
    assert posted["value"] == "hunter2"


def test_var_list_hides_sensitive_values(cli, demo: FakeApi):
    items = [variable("greeting", value="hello"), variable("password", value=None, sensitive=True)]
    demo.route("GET", f"/api/v1/workspaces/{WS}/vars", (200, {"items": items, "next_cursor": None}))

    out = cli("var", "list", "demo").out

    assert "hello" in out
    assert "(sensitive)" in out.splitlines()[2]


def test_upload_puts_the_archive_without_the_token(cli, demo: FakeApi, tmp_path: Path):
    config = tmp_path / "config"
    (config / ".terraform").mkdir(parents=True)
    (config / "main.tf").write_text('resource "terraform_data" "x" {}\n')
    (config / ".terraform" / "junk").write_text("x")
    cv = {"id": "cv-aaaaaaaaaaaaaaaa", "status": "pending", "workspace_id": WS}
    base = f"/api/v1/workspaces/{WS}/configuration-versions"
    upload_url = f"{demo.url}/bucket/cv.tar.gz?X-Amz-Signature=abc"
    demo.route("POST", base, (201, {**cv, "upload_url": upload_url}))
    demo.route("PUT", "/bucket/cv.tar.gz", (200, None))
    demo.route("GET", f"{base}/cv-aaaaaaaaaaaaaaaa", (200, {**cv, "status": "uploaded"}))

    result = cli("upload", "demo", str(config))

    assert result.code == 0, result.err
    assert "cv-aaaaaaaaaaaaaaaa (uploaded)" in result.out
    (put,) = [r for r in demo.requests if r.method == "PUT"]
    assert "Authorization" not in put.headers
    # No Content-Type at all, as `curl -T` sends it: S3's signature version 2 signs it (empty).
    assert "Content-Type" not in put.headers and "Content-type" not in put.headers
    assert put.headers["Content-Length"] == str(len(put.body))
    assert put.query == {"X-Amz-Signature": "abc"}
    with tarfile.open(fileobj=io.BytesIO(put.body), mode="r:gz") as archive:
        assert archive.getnames() == ["main.tf"]


def test_a_refused_upload_shows_s3s_message(cli, demo: FakeApi, tmp_path: Path):
    (tmp_path / "main.tf").write_text("")
    base = f"/api/v1/workspaces/{WS}/configuration-versions"
    demo.route(
        "POST", base, (201, {"id": "cv-x", "status": "pending", "upload_url": f"{demo.url}/b/k"})
    )
    xml = (
        b"<Error><Code>SignatureDoesNotMatch</Code>"
        b"<Message>The signature does not match</Message></Error>"
    )
    demo.route("PUT", "/b/k", (403, xml))

    result = cli("upload", "demo", str(tmp_path))

    assert result.code == 1
    assert result.err == (
        "error: the upload was refused: 403 SignatureDoesNotMatch: The signature does not match\n"
    )


def test_token_create_prints_the_token_alone_on_stdout(cli, demo: FakeApi):
    created = {"id": "at-aaaaaaaaaaaaaaaa", "role": "write", "token": "at-aaaaaaaaaaaaaaaa.secret"}
    demo.route("POST", "/api/v1/tokens", (201, created))

    result = cli("token", "create", "--role", "write", "--workspace", "demo")

    assert result.code == 0
    assert result.out == "at-aaaaaaaaaaaaaaaa.secret\n"
    assert "shown only now" in result.err
    assert demo.requests[-1].json() == {"role": "write", "workspaces": [WS]}


def test_runtask_create_reads_the_hmac_key_from_the_environment(cli, api: FakeApi, monkeypatch):
    task = {"id": "task-aaaaaaaaaaaaaaaa", "name": "no-destroy", "hmac_key_set": True}
    api.route("POST", "/api/v1/run-tasks", (201, task))
    monkeypatch.setenv("POLICY_KEY", "k3y")

    result = cli(
        "runtask",
        "create",
        "no-destroy",
        "http://x/",
        "--hmac-key-env",
        "POLICY_KEY",
        "--timeout",
        "60",
    )

    assert result.code == 0
    assert api.requests[0].json() == {
        "name": "no-destroy",
        "url": "http://x/",
        "hmac_key": "k3y",
        "timeout_seconds": 60,
    }
    assert "k3y" not in result.out
    assert result.out == "created run task no-destroy (task-aaaaaaaaaaaaaaaa), with an HMAC key\n"


def test_runtask_create_refuses_an_unset_key_variable(cli, api: FakeApi):
    result = cli("runtask", "create", "t", "http://x/", "--hmac-key-env", "NOT_SET_ANYWHERE")

    assert result.code == 1
    assert "NOT_SET_ANYWHERE is unset" in result.err
    assert api.requests == []


def test_runtask_attach_resolves_the_task_by_name(cli, demo: FakeApi):
    tasks = [{"id": "task-aaaaaaaaaaaaaaaa", "name": "no-destroy"}]
    demo.route("GET", "/api/v1/run-tasks", (200, {"items": tasks, "next_cursor": None}))

    def attached(request: Request):
        return 201, {"id": "wstask-aaaaaaaaaaaaaaaa", **request.json()}

    demo.route("POST", f"/api/v1/workspaces/{WS}/run-tasks", attached)

    result = cli(
        "runtask",
        "attach",
        "demo",
        "No-Destroy",
        "--stages",
        "post_plan,pre_apply",
        "--enforcement",
        "mandatory",
    )

    assert result.code == 0, result.err
    assert demo.requests[-1].json() == {
        "run_task_id": "task-aaaaaaaaaaaaaaaa",
        "stages": ["post_plan", "pre_apply"],
        "enforcement_level": "mandatory",
    }
    assert "post_plan, pre_apply, mandatory" in result.out


def test_state_show_prints_the_outputs(cli, demo: FakeApi):
    state = {
        "id": "sv-aaaaaaaaaaaaaaaa",
        "serial": 3,
        "run_id": "run-aaaaaaaaaaaaaaaa",
        "outputs": {
            "greeting": {"value": "hello", "sensitive": False, "type": "string"},
            "names": {"value": ["a", "b"], "sensitive": False, "type": ["list", "string"]},
            "password": {"value": None, "sensitive": True, "type": "string"},
        },
    }
    demo.route("GET", f"/api/v1/workspaces/{WS}/current-state-version", (200, state))

    out = cli("state", "show", "demo").out

    assert '  greeting = "hello"\n' in out
    assert '  names = ["a", "b"]\n' in out
    assert "  password = (sensitive)\n" in out
    assert json.loads(cli("state", "show", "demo", "--json").out) == state


def test_run_start_sends_the_operation(cli, demo: FakeApi):
    demo.route(
        "POST",
        f"/api/v1/workspaces/{WS}/runs",
        (201, {"id": "run-aaaaaaaaaaaaaaaa", "status": "pending"}),
    )

    assert cli("run", "start", "demo", "--plan-only", "--message", "try").code == 0
    assert cli("run", "start", "demo", "--auto-apply").code == 0

    bodies = [r.json() for r in demo.requests if r.method == "POST"]
    assert bodies == [
        {"operation": "plan_only", "message": "try"},
        {"operation": "plan_and_apply", "auto_apply": True},
    ]


def test_run_start_sends_only_the_plan_options_given(cli, demo: FakeApi):
    demo.route(
        "POST",
        f"/api/v1/workspaces/{WS}/runs",
        (201, {"id": "run-aaaaaaaaaaaaaaaa", "status": "pending"}),
    )

    assert cli("run", "start", "demo", "--destroy").code == 0
    assert cli("run", "start", "demo", "--refresh-only").code == 0
    assert cli("run", "start", "demo", "--no-refresh").code == 0
    assert cli("run", "start", "demo", "--target", "a.b", "--target", "c.d").code == 0
    assert cli("run", "start", "demo", "--replace", "x.y", "--replace", "z.w").code == 0
    assert (
        cli("run", "start", "demo", "--var", "size=large", "--var", "note=a=b", "--var", "e=").code
        == 0
    )
    assert cli("run", "start", "demo", "--save-plan").code == 0
    assert cli("run", "start", "demo").code == 0

    bodies = [r.json() for r in demo.requests if r.method == "POST"]
    assert bodies == [
        {"operation": "plan_and_apply", "is_destroy": True},
        {"operation": "plan_and_apply", "refresh_only": True},
        {"operation": "plan_and_apply", "refresh": False},
        {"operation": "plan_and_apply", "target_addrs": ["a.b", "c.d"]},
        {"operation": "plan_and_apply", "replace_addrs": ["x.y", "z.w"]},
        {
            "operation": "plan_and_apply",
            "variables": [
                {"key": "size", "value": "large"},
                {"key": "note", "value": "a=b"},
                {"key": "e", "value": ""},
            ],
        },
        {"operation": "plan_and_apply", "save_plan": True},
        {"operation": "plan_and_apply"},
    ]


@pytest.mark.parametrize("given", ["novalue", "=v"])
def test_run_start_refuses_a_variable_that_is_not_key_equals_value(
    cli, api: FakeApi, capsys, given
):
    with pytest.raises(SystemExit) as exited:
        cli("run", "start", "demo", "--var", given)

    assert exited.value.code == 2
    assert (
        capsys.readouterr()
        .err.splitlines()[-1]
        .endswith(f"error: argument --var: {given!r} is not KEY=VALUE")
    )
    assert api.requests == []


def test_run_start_refuses_destroy_with_refresh_only(cli, api: FakeApi, capsys):
    with pytest.raises(SystemExit) as exited:
        cli("run", "start", "demo", "--destroy", "--refresh-only")

    assert exited.value.code == 2
    assert (
        capsys.readouterr()
        .err.splitlines()[-1]
        .endswith("error: argument --refresh-only: not allowed with argument --destroy")
    )
    assert api.requests == []


def test_run_actions_post_to_their_routes(cli, api: FakeApi):
    run = "run-aaaaaaaaaaaaaaaa"
    for action in ("apply", "discard", "cancel", "force-cancel", "override-tasks"):
        api.route("POST", f"/api/v1/runs/{run}/actions/{action}", (202, {"id": run, "status": "x"}))

    assert cli("run", "apply", run, "--comment", "ok").code == 0
    assert cli("run", "discard", run).code == 0
    assert cli("run", "cancel", run, "--force").code == 0
    assert cli("run", "override", run, "--comment", "intended").code == 0

    assert [(r.path.rsplit("/", 1)[1], r.json()) for r in api.requests] == [
        ("apply", {"comment": "ok"}),
        ("discard", {}),
        ("force-cancel", {}),
        ("override-tasks", {"comment": "intended"}),
    ]


def run_document(status: str, **fields):
    return {
        "id": "run-aaaaaaaaaaaaaaaa",
        "workspace_id": WS,
        "operation": "plan_and_apply",
        "auto_apply": True,
        "status": status,
        "status_timestamps": {"planning": "t", "applying": "t", status: "t"},
        "error": None,
        "task_stages": [],
        **fields,
    }


def test_run_start_watch_follows_the_run_to_its_end(cli, demo: FakeApi):
    run = "run-aaaaaaaaaaaaaaaa"
    demo.route("POST", f"/api/v1/workspaces/{WS}/runs", (201, run_document("pending")))
    demo.route("GET", f"/api/v1/runs/{run}", (200, run_document("applied")))
    logs = {"plan": "Plan: 1 to add\n", "apply": "Apply complete!\n"}

    def log(request: Request):
        text = logs[request.query["phase"]][int(request.query["offset"]) :]
        return 200, {
            "data": text,
            "next_offset": len(logs[request.query["phase"]]),
            "complete": True,
        }

    demo.route("GET", f"/api/v1/runs/{run}/logs", log)

    result = cli("run", "start", "demo", "--auto-apply", "--watch")

    assert result.code == 0, result.err
    assert result.out.splitlines()[-5:] == [
        "-- status: planning",
        "Plan: 1 to add",
        "-- status: applying",
        "Apply complete!",
        "-- status: applied",
    ]


PLAN_OPTIONS = {
    "is_destroy": True,
    "refresh_only": False,
    "refresh": False,
    "target_addrs": ["a.b", "c.d"],
    "replace_addrs": ["x.y"],
}


def test_run_show_names_the_plan_options(cli, api: FakeApi):
    run = "run-aaaaaaaaaaaaaaaa"
    api.route("GET", f"/api/v1/runs/{run}", (200, run_document("applied", **PLAN_OPTIONS)))

    out = cli("run", "show", run).out.splitlines()

    assert out[2:4] == [
        "operation:     plan_and_apply",
        "options:       destroy plan; no refresh; targets: a.b, c.d; replacing: x.y",
    ]
    saved = run_document("planned", save_plan=True, allow_empty_apply=True, variable_keys=["a"])
    api.route("GET", f"/api/v1/runs/{run}", (200, saved))
    assert (
        "options:       saved plan; applies even without changes; run variables: a"
        in cli("run", "show", run).out.splitlines()
    )


def test_run_show_names_no_options_for_a_plain_or_an_older_run(cli, api: FakeApi):
    run = "run-aaaaaaaaaaaaaaaa"
    plain = {
        "is_destroy": False,
        "refresh_only": False,
        "refresh": True,
        "target_addrs": [],
        "replace_addrs": [],
    }
    for document in (run_document("applied", **plain), run_document("applied")):
        api.route("GET", f"/api/v1/runs/{run}", (200, document))

        out = cli("run", "show", run).out.splitlines()

        assert out[2:4] == ["operation:     plan_and_apply", "status:        applied"]


def test_run_watch_names_the_plan_options_in_its_header(cli, api: FakeApi):
    run = "run-aaaaaaaaaaaaaaaa"
    refresh_only = run_document("planned_and_finished", refresh_only=True)
    refresh_only["status_timestamps"] = {"planned_and_finished": "t"}
    api.route("GET", f"/api/v1/runs/{run}", (200, refresh_only))

    result = cli("run", "watch", run)

    assert result.code == 0, result.err
    assert result.out.splitlines()[0] == (
        f"-- run {run}: plan and apply in workspace {WS} (refresh-only plan)"
    )


def test_a_run_stopped_by_a_task_exits_3_with_the_error_and_the_hint(cli, api: FakeApi):
    run = "run-aaaaaaaaaaaaaaaa"
    error = {"stage": "pre_plan", "message": "Mandatory run task t failed."}
    stopped = run_document("pre_plan_running", error=error)
    stopped["status_timestamps"] = {"pre_plan_running": "t"}
    api.route("GET", f"/api/v1/runs/{run}", (200, stopped))

    result = cli("run", "watch", run)

    assert result.code == 3
    assert result.err.splitlines() == [
        f"error: run {run} stopped at pre_plan: Mandatory run task t failed.",
        f"  `iacp run override {run} --comment WHY` lets it go on (failed mandatory tasks need "
        f"an admin token), `iacp run cancel {run}` ends it",
    ]


def test_resource_find_sends_the_query_and_prints_where_each_resource_is(cli, api: FakeApi):
    found = [
        {
            "workspace_id": WS,
            "address": "aws_s3_bucket.logs",
            "type": "aws_s3_bucket",
            "cloud_id": "arn:aws:s3:::logs",
        }
    ]
    api.route("GET", "/api/v1/resources", (200, {"items": found, "next_cursor": None}))

    result = cli("resource", "find", "--id", "arn:aws:s3:::logs")

    assert result.code == 0, result.err
    assert api.requests[0].query == {"id": "arn:aws:s3:::logs", "limit": "100"}
    assert result.out.splitlines()[1].split() == [
        WS,
        "aws_s3_bucket.logs",
        "aws_s3_bucket",
        "arn:aws:s3:::logs",
    ]
    assert cli("resource", "find").code == 1  # neither --type nor --id


def test_resource_list_shows_the_resources_and_the_sync(cli, demo: FakeApi):
    page = {
        "items": [{"address": "terraform_data.a", "type": "terraform_data", "cloud_id": "1"}],
        "next_cursor": None,
        "sync": {"status": "synced", "serial": 3, "error": None},
    }
    demo.route("GET", f"/api/v1/workspaces/{WS}/resources", (200, page))

    out = cli("resource", "list", "demo").out.splitlines()

    assert out[1].split() == ["terraform_data.a", "terraform_data", "1"]
    assert out[-1] == "sync: synced (state serial 3)"


def test_resource_sync_asks_for_the_sync_and_says_where_to_follow_it(cli, demo: FakeApi):
    requested = {"workspace_id": WS, "state_version_id": "sv-1", "serial": 4, "sync": None}
    demo.route("POST", f"/api/v1/workspaces/{WS}/actions/sync-resources", (202, requested))

    result = cli("resource", "sync", "demo")

    assert result.code == 0, result.err
    assert result.out.strip() == (
        "sync of state serial 4 requested; `iacp resource list demo` shows how it goes"
    )
    assert [r.path for r in demo.requests][-1] == f"/api/v1/workspaces/{WS}/actions/sync-resources"


def test_notification_create_reads_the_url_and_token_from_the_environment(
    cli, demo: FakeApi, monkeypatch
):
    def created(request: Request):
        return 201, {"id": "nc-aaaaaaaaaaaaaaaa", "url_origin": "https://hooks.x"} | request.json()

    demo.route("POST", f"/api/v1/workspaces/{WS}/notification-configurations", created)
    monkeypatch.setenv("HOOK_URL", "https://hooks.x/secret")
    monkeypatch.setenv("HOOK_TOKEN", "t0ken")

    result = cli(
        "notification",
        "create",
        "demo",
        "ops",
        "--type",
        "generic",
        "--url-env",
        "HOOK_URL",
        "--token-env",
        "HOOK_TOKEN",
        "--triggers",
        "run:errored,task:failed",
    )

    assert result.code == 0, result.err
    assert demo.requests[-1].json() == {
        "name": "ops",
        "destination_type": "generic",
        "url": "https://hooks.x/secret",
        "token": "t0ken",
        "triggers": ["run:errored", "task:failed"],
        "enabled": True,
    }
    assert result.out == "created notification ops (nc-aaaaaaaaaaaaaaaa) to https://hooks.x\n"
    with pytest.raises(SystemExit) as exited:  # argparse: an unknown trigger
        cli("notification", "create", "demo", "x", "--type", "slack", "--triggers", "run:x")
    assert exited.value.code == 2


def test_notification_verify_exits_1_when_the_destination_refused(cli, api: FakeApi):
    path = "/api/v1/notification-configurations/nc-aaaaaaaaaaaaaaaa/actions/verify"
    refused = {"delivered": False, "status_code": 503, "error": "the receiver answered HTTP 503"}
    api.route("POST", path, (200, refused))

    result = cli("notification", "verify", "nc-aaaaaaaaaaaaaaaa")

    assert result.code == 1
    assert result.out == "not delivered: the receiver answered HTTP 503\n"
