"""What a client needs to draw the platform without second-guessing it (the web UI is one):
the calling token's role, a workspace with its latest run and resource count, a page of
workspaces by name prefix, and each run's actions as the API would accept them."""

import pytest

from iacp.principal import Role
from tests.conftest import ApiClient, assert_error, mint
from tests.runs_support import applied_run, planned_run, upload_configuration
from tests.runtasks_support import capturing_service, gated_run

NO_ACTIONS = {
    "is_confirmable": False,
    "is_discardable": False,
    "is_cancelable": False,
    "is_force_cancelable": False,
    "is_overridable": False,
}


@pytest.fixture
def ws(aws, admin) -> str:
    workspace = str(admin.post("/workspaces", {"name": "views"}).json()["id"])
    upload_configuration(admin, aws, workspace)
    return workspace


def test_account_shows_the_calling_tokens_role_and_reach(aws, gateway, ws):
    limited = ApiClient(gateway, mint(aws, Role.WRITE, workspaces=[ws]))
    reader = ApiClient(gateway, mint(aws, Role.READ))

    shown = limited.get("/account").json()
    assert shown["role"] == "write"
    assert shown["workspaces"] == [ws]
    assert shown["token_id"] == str(limited.token).partition(".")[0]
    assert reader.get("/account").json()["workspaces"] is None
    assert reader.get("/account").json()["role"] == "read"
    assert "token" not in shown and "secret" not in str(shown).lower()
    assert ApiClient(gateway, "at-nope.nothing").get("/account").status == 401


def test_a_workspace_shows_its_latest_run_and_resource_count(aws, admin, ws):
    fresh = admin.get(f"/workspaces/{ws}").json()
    assert fresh["latest_run"] is None and fresh["resource_count"] is None

    applied = applied_run(aws, admin, ws)
    planned = planned_run(aws, admin, ws)

    shown = admin.get(f"/workspaces/{ws}").json()
    latest = shown["latest_run"]
    assert latest["id"] == planned and latest["status"] == "planned"
    assert latest["operation"] == "plan_and_apply"
    run = admin.get(f"/runs/{planned}").json()
    assert latest["status_at"] == run["status_timestamps"]["planned"]
    [listed] = admin.get("/workspaces").json()["items"]
    assert listed["latest_run"] == latest
    assert applied != planned


def test_the_workspace_list_filters_by_name_prefix_in_pages(admin):
    for name in ["app-b", "app-a", "apple", "db", "app-c"]:
        admin.post("/workspaces", {"name": name})

    first = admin.get("/workspaces", query={"name_prefix": "app-", "limit": "2"}).json()
    rest = admin.get(
        "/workspaces", query={"name_prefix": "app-", "cursor": first["next_cursor"]}
    ).json()

    assert [w["name"] for w in first["items"]] == ["app-a", "app-b"]
    assert [w["name"] for w in rest["items"]] == ["app-c"]
    assert admin.get("/workspaces", query={"name_prefix": "zzz"}).json()["items"] == []
    assert_error(admin.get("/workspaces", query={"name_prefix": "a b"}), 422)


def test_a_limited_token_filters_its_own_workspaces(aws, gateway, admin):
    ids = [admin.post("/workspaces", {"name": n}).json()["id"] for n in ["web-1", "api-1"]]
    limited = ApiClient(gateway, mint(aws, Role.READ, workspaces=ids))

    listed = limited.get("/workspaces", query={"name_prefix": "web"}).json()["items"]

    assert [w["name"] for w in listed] == ["web-1"]


def test_a_planned_run_is_confirmable_by_a_writer_and_not_by_a_reader(aws, gateway, admin, ws):
    run_id = planned_run(aws, admin, ws)
    writer = ApiClient(gateway, mint(aws, Role.WRITE))
    reader = ApiClient(gateway, mint(aws, Role.READ))

    assert writer.get(f"/runs/{run_id}").json()["actions"] == NO_ACTIONS | {
        "is_confirmable": True,
        "is_discardable": True,
    }
    assert reader.get(f"/runs/{run_id}").json()["actions"] == NO_ACTIONS
    [listed] = reader.get(f"/workspaces/{ws}/runs").json()["items"]
    assert listed["actions"] == NO_ACTIONS
    discarded = writer.post(f"/runs/{run_id}/actions/discard").json()
    assert discarded["status"] == "discarded" and discarded["actions"] == NO_ACTIONS


def test_a_running_run_is_cancelable_and_then_force_cancelable(aws, admin, ws):
    run = admin.post(f"/workspaces/{ws}/runs", {}).json()
    assert run["actions"] == NO_ACTIONS | {"is_cancelable": True}

    canceled = admin.post(f"/runs/{run['id']}/actions/cancel").json()

    assert canceled["actions"]["is_force_cancelable"] is True
    forced = admin.post(f"/runs/{run['id']}/actions/force-cancel").json()
    assert forced["actions"] == NO_ACTIONS


def test_overriding_a_mandatory_failure_is_offered_to_admins_only(aws, gateway, admin):
    with capturing_service() as service:
        task = admin.post("/run-tasks", {"name": "gate", "url": service.url}).json()["id"]
        service.status = 500
        run_id, _ = gated_run(aws, admin, task)
    writer = ApiClient(gateway, mint(aws, Role.WRITE))

    assert admin.get(f"/runs/{run_id}").json()["actions"]["is_overridable"] is True
    assert writer.get(f"/runs/{run_id}").json()["actions"]["is_overridable"] is False
    assert_error(writer.post(f"/runs/{run_id}/actions/override-tasks"), 403)
    overridden = admin.post(f"/runs/{run_id}/actions/override-tasks", {"comment": "ok"}).json()
    assert overridden["actions"]["is_overridable"] is False
