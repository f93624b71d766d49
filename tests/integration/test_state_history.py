"""The state history through the API: a workspace's state versions newest first, one version
and its outputs, and a rollback (docs/api.md, "State"); with the moto-backed tables and
bucket, the runs driven through the workflow's steps."""

import json
from typing import Any

import boto3
import pytest

from iacp.orchestration.workflow import RunRef
from iacp.principal import Role
from iacp.runs.phase import run_state_key
from iacp.states.models import state_key
from local.template import Provisioned
from tests.conftest import ApiClient, assert_error, mint
from tests.runs_support import (
    applied_run,
    apply_result,
    machinery_for,
    plan_result,
    s3_put,
    started,
    upload_configuration,
)

GREETING = {"value": "hello", "sensitive": False, "type": "string"}


def data(*names: str) -> list[dict[str, Any]]:
    """terraform_data resources, one instance each, as a state file lists them."""
    return [
        {
            "mode": "managed",
            "type": "terraform_data",
            "name": name,
            "provider": 'provider["terraform.io/builtin/terraform"]',
            "instances": [{"schema_version": 0, "attributes": {"id": f"id-{name}"}}],
        }
        for name in names
    ]


@pytest.fixture
def ws(aws: Provisioned, admin: ApiClient) -> str:
    workspace = str(admin.post("/workspaces", {"name": "history"}).json()["id"])
    upload_configuration(admin, aws, workspace)
    return workspace


@pytest.fixture
def two(aws: Provisioned, admin: ApiClient, ws: str) -> list[str]:
    """Two applies: serial 1 with resource a, serial 2 with a and b. Their runs' ids."""
    return [
        applied_run(aws, admin, ws, serial=1, resources=data("a")),
        applied_run(aws, admin, ws, serial=2, resources=data("a", "b")),
    ]


def history(client: ApiClient, ws: str) -> list[dict[str, Any]]:
    return client.list_all(f"/workspaces/{ws}/state-versions", limit=2)


def state_file(aws: Provisioned, ws: str, version_id: str) -> dict[str, Any]:
    body = boto3.client("s3").get_object(
        Bucket=aws.refs["ArtifactsBucket"], Key=state_key(ws, version_id)
    )["Body"]
    state: dict[str, Any] = json.loads(body.read())
    return state


def state_files(aws: Provisioned, ws: str) -> list[str]:
    listed = boto3.client("s3").list_objects_v2(
        Bucket=aws.refs["ArtifactsBucket"], Prefix=f"state/{ws}/"
    )
    return sorted(item["Key"] for item in listed.get("Contents", []))


# --- the history -----------------------------------------------------------------------------


def test_the_history_lists_every_version_newest_first_a_page_at_a_time(aws, admin, reader, ws):
    runs = [
        applied_run(aws, admin, ws, serial=serial, resources=data(*"abc"[:serial]))
        for serial in (1, 2, 3)
    ]

    listed = history(reader, ws)

    assert [v["serial"] for v in listed] == [3, 2, 1]
    assert [v["run_id"] for v in listed] == list(reversed(runs))
    assert [v["resource_count"] for v in listed] == [3, 2, 1]
    for version in listed:
        assert version["id"].startswith("sv-") and version["created_at"].endswith("Z")
        assert version["workspace_id"] == ws and version["lineage"] == "lin-1"
        assert version["output_names"] == ["greeting", "password"]
        assert (version["partial"], version["rolled_back_from"]) == (False, None)
        assert "outputs" not in version and "download_url" not in version
    current = reader.get(f"/workspaces/{ws}/current-state-version").json()
    assert current["id"] == listed[0]["id"]
    assert (current["resource_count"], current["output_names"]) == (3, ["greeting", "password"])


def test_a_page_of_the_history_hands_out_a_cursor_only_for_its_own_list(aws, admin, ws, two):
    first = admin.get(f"/workspaces/{ws}/state-versions", query={"limit": "1"}).json()
    assert [v["serial"] for v in first["items"]] == [2]
    second = admin.get(
        f"/workspaces/{ws}/state-versions", query={"limit": "1", "cursor": first["next_cursor"]}
    ).json()
    assert [v["serial"] for v in second["items"]] == [1]

    other = admin.post("/workspaces", {"name": "elsewhere"}).json()["id"]
    reply = admin.get(f"/workspaces/{other}/state-versions", query={"cursor": first["next_cursor"]})
    assert_error(reply, 422)
    assert admin.get(f"/workspaces/{other}/state-versions").json() == {
        "items": [],
        "next_cursor": None,
    }


# --- one version and its outputs -------------------------------------------------------------


def test_a_version_shows_like_the_current_one_its_download_url_for_write_tokens(
    aws, admin, writer, reader, ws, two
):
    oldest = history(admin, ws)[-1]

    shown = reader.get(f"/state-versions/{oldest['id']}")
    written = writer.get(f"/state-versions/{oldest['id']}").json()

    assert shown.status == 200, shown.body
    version = shown.json()
    assert {k: version[k] for k in oldest} == oldest
    assert version["outputs"]["greeting"] == GREETING
    assert version["outputs"]["password"] == {"value": None, "sensitive": True, "type": "string"}
    assert version["download_url"] is None
    assert state_key(ws, oldest["id"]) in written["download_url"]


def test_outputs_show_sensitive_values_only_to_admins_and_flag_them(
    aws, admin, writer, reader, ws, two
):
    version_id = history(admin, ws)[-1]["id"]
    path = f"/state-versions/{version_id}/outputs"

    for client in (reader, writer):
        assert client.get(path).json() == {
            "items": [
                {"name": "greeting", **GREETING},
                {"name": "password", "value": None, "sensitive": True, "type": "string"},
            ],
            "next_cursor": None,
        }
    assert admin.get(path).json()["items"][1] == {
        "name": "password",
        "value": "hunter2",
        "sensitive": True,
        "type": "string",
    }


def test_a_version_of_a_workspace_the_token_cannot_use_is_as_unknown_as_a_missing_one(
    aws, gateway, admin, ws, two
):
    other = admin.post("/workspaces", {"name": "other"}).json()["id"]
    limited = ApiClient(gateway, mint(aws, Role.ADMIN, workspaces=[other]))
    version_id = history(admin, ws)[0]["id"]

    for path in (f"/state-versions/{version_id}", f"/state-versions/{version_id}/outputs"):
        hidden = assert_error(limited.get(path), 404)
        unknown = assert_error(limited.get(path.replace(version_id, "sv-AAAAAAAAAAAAAAAA")), 404)
        assert hidden["title"] == unknown["title"]
        assert hidden["detail"] == unknown["detail"].replace("sv-AAAAAAAAAAAAAAAA", version_id)


# --- rollbacks -------------------------------------------------------------------------------


def rollback(client: ApiClient, ws: str, version_id: str) -> Any:
    return client.post(f"/workspaces/{ws}/state-versions", {"rollback_to": version_id})


def test_a_rollback_makes_the_old_content_current_with_the_next_serial(
    aws, admin, writer, ws, two, queue_poller
):
    second, first = history(admin, ws)
    before = state_file(aws, ws, first["id"])

    reply = rollback(writer, ws, first["id"])

    assert reply.status == 201, reply.body
    new = reply.json()
    assert (new["serial"], new["lineage"]) == (3, "lin-1")
    assert (new["run_id"], new["rolled_back_from"]) == (None, first["id"])
    assert (new["resource_count"], new["output_names"]) == (1, ["greeting", "password"])
    assert new["outputs"]["greeting"] == GREETING
    assert state_key(ws, new["id"]) in new["download_url"]
    # The old content, its serial rewritten; nothing else changed, the old file untouched.
    assert state_file(aws, ws, new["id"]) == before | {"serial": 3}
    assert state_file(aws, ws, first["id"]) == before
    assert admin.get(f"/workspaces/{ws}/current-state-version").json()["id"] == new["id"]
    assert [v["id"] for v in history(admin, ws)] == [new["id"], second["id"], first["id"]]
    assert admin.get(f"/state-versions/{new['id']}").json()["serial"] == 3
    workspace = admin.get(f"/workspaces/{ws}").json()
    assert (workspace["locked"], workspace["current_run_id"]) == (False, None)
    # The inventory follows: the sync request is on its queue.
    queue_poller("InventorySyncFunction").poll()
    resources = admin.get(f"/workspaces/{ws}/resources").json()
    assert [r["address"] for r in resources["items"]] == ["terraform_data.a"]
    assert resources["items"][0]["run_id"] is None
    assert (resources["sync"]["state_version_id"], resources["sync"]["status"]) == (
        new["id"],
        "synced",
    )


def test_a_rollback_under_the_callers_own_lock_keeps_it_locked(aws, admin, writer, ws, two):
    first = history(admin, ws)[-1]
    assert writer.post(f"/workspaces/{ws}/actions/lock", {}).status == 200

    reply = rollback(writer, ws, first["id"])

    assert reply.status == 201, reply.body
    assert reply.json()["serial"] == 3
    lock = admin.get(f"/workspaces/{ws}").json()["lock"]
    assert lock is not None and lock["holder"] == writer.token.split(".")[0]


def applied_state(aws: Provisioned, admin: ApiClient, ws: str, state: dict[str, Any]) -> str:
    """A run that applied and saved ``state`` as the workspace's current state version."""
    machinery = machinery_for(aws)
    workflow = machinery.run_workflow()
    run_id = str(admin.post(f"/workspaces/{ws}/runs", {"auto_apply": True}).json()["id"])
    started(machinery, run_id)
    plan_result(aws, run_id, has_changes=True, resource_additions=1)
    s3_put(aws, f"runs/{run_id}/plan/plan.json", json.dumps({"format_version": "1.2"}))
    workflow.record_plan(RunRef(run_id=run_id))
    workflow.start_apply(RunRef(run_id=run_id))
    apply_result(aws, run_id, serial=state["serial"])
    s3_put(aws, run_state_key(run_id), json.dumps(state))
    workflow.record_apply(RunRef(run_id=run_id))
    workflow.finish(RunRef(run_id=run_id))
    return run_id


def nothing_written(admin: ApiClient, aws: Provisioned, ws: str, before: list[str]) -> None:
    """The history, the current state and the state files are as ``before`` (the files)."""
    listed = history(admin, ws)
    assert [v["serial"] for v in listed] == [2, 1]
    assert admin.get(f"/workspaces/{ws}/current-state-version").json()["id"] == listed[0]["id"]
    assert state_files(aws, ws) == before


def test_a_rollback_is_refused_while_someone_else_holds_the_lock(aws, admin, writer, ws, two):
    first = history(admin, ws)[-1]
    before = state_files(aws, ws)
    assert admin.post(f"/workspaces/{ws}/actions/lock", {"reason": "mine"}).status == 200

    error = assert_error(rollback(writer, ws, first["id"]), 409)

    assert admin.token.split(".")[0] in error["detail"]
    nothing_written(admin, aws, ws, before)
    assert admin.get(f"/workspaces/{ws}").json()["lock"]["reason"] == "mine"


def test_a_rollback_is_refused_while_a_run_holds_the_workspace(aws, admin, writer, ws, two):
    first = history(admin, ws)[-1]
    before = state_files(aws, ws)
    run_id = admin.post(f"/workspaces/{ws}/runs", {}).json()["id"]
    started(machinery_for(aws), run_id)  # planning: it holds the queue, not yet the lock
    assert admin.get(f"/workspaces/{ws}").json()["current_run_id"] == run_id

    error = assert_error(rollback(writer, ws, first["id"]), 409)
    assert run_id in error["detail"]
    # Even under the caller's own lock.
    assert writer.post(f"/workspaces/{ws}/actions/lock", {}).status == 200
    assert_error(rollback(writer, ws, first["id"]), 409)

    nothing_written(admin, aws, ws, before)


def test_a_rollback_to_another_lineage_is_refused(aws, admin, writer, ws, two):
    third = {"version": 4, "serial": 3, "lineage": "lin-2", "outputs": {}, "resources": []}
    applied_state(aws, admin, ws, third)
    first = history(admin, ws)[-1]
    before = state_files(aws, ws)

    error = assert_error(rollback(writer, ws, first["id"]), 422, pointer="/rollback_to")

    assert "lin-1" in error["detail"] and "lin-2" in error["detail"]
    assert [v["serial"] for v in history(admin, ws)] == [3, 2, 1]
    assert state_files(aws, ws) == before


def test_a_rollback_to_an_unknown_or_another_workspaces_version_is_refused(
    aws, gateway, admin, writer, ws, two
):
    before = state_files(aws, ws)
    other = admin.post("/workspaces", {"name": "other"}).json()["id"]
    upload_configuration(admin, aws, other)
    applied_run(aws, admin, other, serial=7)
    foreign = history(admin, other)[0]["id"]
    limited = ApiClient(gateway, mint(aws, Role.WRITE, workspaces=[ws]))

    assert_error(rollback(writer, ws, foreign), 422, pointer="/rollback_to")
    # A token that cannot see the other workspace learns nothing of it.
    assert_error(rollback(limited, ws, foreign), 404)
    assert_error(rollback(writer, ws, "sv-AAAAAAAAAAAAAAAA"), 404)
    assert_error(rollback(writer, ws, "run-AAAAAAAAAAAAAAAA"), 422, pointer="/rollback_to")
    assert_error(writer.post(f"/workspaces/{ws}/state-versions", {}), 422)
    assert_error(rollback(writer, "ws-AAAAAAAAAAAAAAAA", foreign), 404)

    nothing_written(admin, aws, ws, before)
    assert [v["serial"] for v in history(admin, other)] == [7]
