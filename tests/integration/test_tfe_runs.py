"""Configuration versions, runs, their actions and task stages through the TFE-compatible API
(/api/v2), as the terraform CLI's cloud backend calls them; the workflow's steps are driven by
hand with the files a runner leaves (tests/runs_support.py)."""

from typing import Any

import pytest

from iacp.orchestration.task_stages import ConcludeInput
from iacp.orchestration.workflow import ConfirmationInput, RunRef
from iacp.principal import Role
from iacp.runtasks.models import Stage
from tests.conftest import ApiClient, mint
from tests.runs_support import (
    SIMPLE_CONFIGURATION,
    machinery_for,
    plan_documents,
    plan_result,
    put_archive,
    started,
    tar_gz,
)
from tests.runtasks_support import (
    PLAN,
    attach,
    callback,
    callback_body,
    create_task,
    dispatch_all,
)

CV_TYPE = "configuration-versions"


@pytest.fixture
def ws(admin) -> str:
    return str(admin.post("/workspaces", {"name": "tfe-runs"}).json()["id"])


def new_version(client: ApiClient, ws: str, **attributes: Any) -> dict[str, Any]:
    body = {"data": {"type": CV_TYPE, "attributes": {"auto-queue-runs": False, **attributes}}}
    reply = client.tfe().post(f"/workspaces/{ws}/configuration-versions", body)
    assert reply.status == 201, reply.body
    return dict(reply.json()["data"])


def uploaded_version(client: ApiClient, ws: str, **attributes: Any) -> str:
    version = new_version(client, ws, **attributes)
    put_archive(version["attributes"]["upload-url"], tar_gz(SIMPLE_CONFIGURATION))
    return str(version["id"])


def run_body(ws: str, version: str | None = None, **attributes: Any) -> dict[str, Any]:
    relationships: dict[str, Any] = {"workspace": {"data": {"type": "workspaces", "id": ws}}}
    if version is not None:
        relationships["configuration-version"] = {"data": {"type": CV_TYPE, "id": version}}
    return {"data": {"type": "runs", "attributes": attributes, "relationships": relationships}}


def create_run(client: ApiClient, ws: str, version: str, **attributes: Any) -> dict[str, Any]:
    reply = client.tfe().post("/runs", run_body(ws, version, **attributes))
    assert reply.status == 201, reply.body
    return dict(reply.json()["data"])


def read_run(client: ApiClient, run_id: str, include: str = "") -> dict[str, Any]:
    reply = client.tfe().get(f"/runs/{run_id}", query={"include": include} if include else None)
    assert reply.status == 200, reply.body
    return dict(reply.json())


def error_of(reply: Any, status: int) -> dict[str, Any]:
    assert reply.status == status, reply.body
    (error, *_) = reply.json()["errors"]
    assert error["status"] == str(status)
    return dict(error)


# --- configuration versions -----------------------------------------------------------------


def test_a_configuration_version_takes_an_unauthenticated_put_and_turns_uploaded(admin, ws):
    version = new_version(admin, ws, speculative=True)
    attributes = version["attributes"]
    path = f"/configuration-versions/{version['id']}"

    pending = admin.tfe().get(path).json()["data"]["attributes"]["status"]
    put_archive(attributes["upload-url"], tar_gz(SIMPLE_CONFIGURATION))  # no token
    uploaded = admin.tfe().get(path).json()["data"]

    assert version["type"] == CV_TYPE
    assert attributes["upload-url"].startswith(("http://", "https://"))
    assert (attributes["status"], attributes["speculative"], attributes["source"]) == (
        "pending",
        True,
        "tfe-api",
    )
    assert attributes["auto-queue-runs"] is False  # no run is queued by an upload
    assert pending == "pending"
    assert uploaded["attributes"]["status"] == "uploaded"
    assert "upload-url" not in uploaded["attributes"]


def test_configuration_versions_refuse_readers_and_hide_other_workspaces(aws, gateway, admin, ws):
    version = new_version(admin, ws)
    reader = ApiClient(gateway, mint(aws, Role.READ))
    other = admin.post("/workspaces", {"name": "other"}).json()["id"]
    limited = ApiClient(gateway, mint(aws, Role.WRITE, workspaces=[other]))

    error_of(reader.tfe().post(f"/workspaces/{ws}/configuration-versions"), 403)
    assert reader.tfe().get(f"/configuration-versions/{version['id']}").status == 200
    error_of(limited.tfe().post(f"/workspaces/{ws}/configuration-versions"), 404)
    error_of(limited.tfe().get(f"/configuration-versions/{version['id']}"), 404)
    error_of(admin.tfe().get("/configuration-versions/cv-nosuchversion00"), 404)
    bad = {"data": {"type": CV_TYPE, "attributes": {"speculative": "yes"}}}
    error = error_of(admin.tfe().post(f"/workspaces/{ws}/configuration-versions", bad), 422)
    assert error["source"]["pointer"] == "/data/attributes/speculative"


# --- runs -------------------------------------------------------------------------------------


def test_a_run_takes_every_option_of_the_cli(admin, ws):
    version = uploaded_version(admin, ws, provisional=True)
    run = create_run(
        admin,
        ws,
        version,
        **{
            "is-destroy": True,
            "refresh": False,
            "target-addrs": ["terraform_data.example"],
            "auto-apply": False,
            "message": "from the CLI",
            "variables": [{"key": "greeting", "value": '"hi"'}],
        },
    )
    own = admin.get(f"/runs/{run['id']}").json()  # as /api/v1 shows it
    attributes = run["attributes"]

    assert run["type"] == "runs" and run["id"].startswith("run-")
    assert (own["is_destroy"], own["refresh"], own["target_addrs"]) == (
        True,
        False,
        ["terraform_data.example"],
    )
    assert own["variable_keys"] == ["greeting"] and own["message"] == "from the CLI"
    assert own["operation"] == "plan_and_apply" and own["configuration_version_id"] == version
    assert attributes["status"] == "pending"
    assert attributes["is-destroy"] is True and attributes["plan-only"] is False
    assert attributes["variables"] == [{"key": "greeting"}]  # never a value
    assert "plan-queueable-at" in attributes["status-timestamps"]
    assert attributes["actions"] == {
        "is-cancelable": True,
        "is-confirmable": False,
        "is-discardable": False,
        "is-force-cancelable": False,
    }
    relationships = run["relationships"]
    suffix = run["id"].removeprefix("run-")
    assert relationships["plan"]["data"] == {"id": f"plan-{suffix}", "type": "plans"}
    assert relationships["apply"]["data"] == {"id": f"apply-{suffix}", "type": "applies"}
    assert relationships["workspace"]["data"] == {"id": ws, "type": "workspaces"}
    assert relationships["configuration-version"]["data"]["id"] == version


def test_a_speculative_configuration_makes_a_plan_only_run(admin, ws):
    version = uploaded_version(admin, ws, speculative=True)

    run = create_run(admin, ws, version, refresh=True)
    refused = admin.tfe().post("/runs", run_body(ws, version, **{"save-plan": True}))

    assert run["attributes"]["plan-only"] is True
    assert admin.get(f"/runs/{run['id']}").json()["is_speculative"] is True
    error = error_of(refused, 422)
    assert error["source"]["pointer"] == "/data/relationships/configuration-version"


@pytest.mark.parametrize(
    ("attributes", "pointer"),
    [
        ({"is-destroy": "yes"}, "/data/attributes/is-destroy"),
        ({"target-addrs": ["not an address"]}, "/data/attributes/target-addrs"),
        ({"is-destroy": True, "refresh-only": True}, "/data/attributes"),
        ({"save-plan": True, "auto-apply": True}, "/data/attributes"),
        ({"variables": [{"key": "1bad", "value": "1"}]}, "/data/attributes/variables"),
    ],
)
def test_bad_run_options_are_422_naming_the_attribute_and_create_nothing(
    admin, ws, attributes, pointer
):
    version = uploaded_version(admin, ws)

    reply = admin.tfe().post("/runs", run_body(ws, version, **attributes))

    error = error_of(reply, 422)
    assert error["source"]["pointer"] == pointer
    assert admin.get(f"/workspaces/{ws}/runs").json()["items"] == []


def test_a_run_needs_its_workspace_and_an_uploaded_configuration(admin, ws):
    pending = new_version(admin, ws)["id"]

    no_workspace = admin.tfe().post("/runs", {"data": {"type": "runs", "attributes": {}}})
    not_uploaded = admin.tfe().post("/runs", run_body(ws, pending))
    unknown = admin.tfe().post("/runs", run_body("ws-nosuchworkspace0"))

    assert error_of(no_workspace, 422)["source"]["pointer"] == "/data/relationships/workspace"
    error = error_of(not_uploaded, 422)
    assert error["source"]["pointer"] == "/data/relationships/configuration-version"
    assert "upload" in error["detail"]
    error_of(unknown, 404)


def test_a_read_token_cannot_create_or_act_on_runs_and_others_see_nothing(aws, gateway, admin, ws):
    version = uploaded_version(admin, ws)
    run = create_run(admin, ws, version)
    reader = ApiClient(gateway, mint(aws, Role.READ))
    other = admin.post("/workspaces", {"name": "other"}).json()["id"]
    limited = ApiClient(gateway, mint(aws, Role.WRITE, workspaces=[other]))

    error_of(reader.tfe().post("/runs", run_body(ws, version)), 403)
    error_of(reader.tfe().post(f"/runs/{run['id']}/actions/cancel"), 403)
    seen = read_run(reader, run["id"])["data"]["attributes"]
    assert not any(seen["actions"].values())
    assert not any(seen["permissions"].values())
    for path in (
        f"/runs/{run['id']}",
        f"/runs/{run['id']}/run-events",
        f"/runs/{run['id']}/task-stages",
        f"/workspaces/{ws}/runs",
        f"/plans/plan-{run['id'].removeprefix('run-')}",
    ):
        error_of(limited.tfe().get(path), 404)
    error_of(limited.tfe().post(f"/runs/{run['id']}/actions/cancel"), 404)
    error_of(limited.tfe().post("/runs", run_body(ws, version)), 404)
    assert admin.get(f"/runs/{run['id']}").json()["status"] == "pending"


def test_a_planned_run_is_confirmable_then_applied_by_the_apply_action(aws, admin, ws):
    machinery = machinery_for(aws)
    run_id = create_run(admin, ws, uploaded_version(admin, ws), **{"auto-apply": False})["id"]
    started(machinery, run_id)
    plan_result(aws, run_id, has_changes=True, resource_additions=2)
    machinery.run_workflow().record_plan(RunRef(run_id=run_id))
    machinery.run_workflow().await_confirmation(ConfirmationInput(run_id=run_id, task_token="t"))

    planned = read_run(admin, run_id, include="plan,apply")
    of_run = admin.tfe().get(f"/runs/{run_id}/plan").json()["data"]
    confirmed = admin.tfe().post(f"/runs/{run_id}/actions/apply", {"comment": "yes"})
    again = admin.tfe().post(f"/runs/{run_id}/actions/apply")

    run, (plan, apply_) = planned["data"], planned["included"]
    assert run["attributes"]["status"] == "planned"
    assert run["attributes"]["has-changes"] is True
    assert run["attributes"]["actions"]["is-confirmable"] is True
    assert run["attributes"]["actions"]["is-discardable"] is True
    assert run["attributes"]["actions"]["is-cancelable"] is False
    assert (plan["type"], plan["attributes"]["status"]) == ("plans", "finished")
    assert plan["attributes"]["resource-additions"] == 2
    assert of_run["id"] == plan["id"]
    assert of_run["attributes"]["resource-additions"] == 2
    assert admin.tfe().get(f"/runs/{run_id}/apply").json()["data"]["id"] == apply_["id"]
    assert (apply_["type"], apply_["attributes"]["status"]) == ("applies", "pending")
    assert (confirmed.status, confirmed.body) == (202, "")
    error_of(again, 409)
    assert read_run(admin, run_id)["data"]["attributes"]["status"] == "confirmed"


def test_discard_and_cancel_and_force_cancel_as_tfe(aws, admin, ws):
    machinery = machinery_for(aws)
    version = uploaded_version(admin, ws)
    waiting = create_run(admin, ws, version)["id"]
    started(machinery, waiting)

    force_first = admin.tfe().post(f"/runs/{waiting}/actions/force-cancel")
    canceled = admin.tfe().post(f"/runs/{waiting}/actions/cancel")
    after_cancel = read_run(admin, waiting)["data"]["attributes"]
    forced = admin.tfe().post(f"/runs/{waiting}/actions/force-cancel")
    discard = admin.tfe().post(f"/runs/{waiting}/actions/discard")

    error_of(force_first, 409)
    assert canceled.status == 202
    assert after_cancel["actions"]["is-force-cancelable"] is True
    assert forced.status == 202
    assert read_run(admin, waiting)["data"]["attributes"]["status"] == "force_canceled"
    error_of(discard, 409)
    error_of(admin.tfe().post("/runs/run-nosuchrun000000/actions/discard"), 404)


def test_run_events_lists_and_the_queue_the_cli_reads_while_a_run_waits(admin, ws):
    version = uploaded_version(admin, ws)
    first = create_run(admin, ws, version)["id"]
    second = create_run(admin, ws, version)["id"]

    events = admin.tfe().get(f"/runs/{first}/run-events").json()["data"]
    page_one = admin.tfe().get(f"/workspaces/{ws}/runs", query={"page[size]": "1"}).json()
    page_two = (
        admin.tfe()
        .get(f"/workspaces/{ws}/runs", query={"page[size]": "1", "page[number]": "2"})
        .json()
    )
    queue = admin.tfe().get("/organizations/default/runs/queue").json()
    capacity = admin.tfe().get("/organizations/default/capacity").json()["data"]

    assert [e["attributes"]["action"] for e in events] == ["pending"]
    assert all(e["type"] == "run-events" for e in events)
    assert [r["id"] for r in page_one["data"]] == [second]
    assert page_one["meta"]["pagination"]["next-page"] == 2
    assert [r["id"] for r in page_two["data"]] == [first]
    assert page_two["meta"]["pagination"]["next-page"] is None
    assert queue["data"] == []
    assert capacity["type"] == "organization-capacity"
    assert capacity["attributes"] == {"pending": 0, "running": 0}
    error_of(admin.tfe().get("/organizations/acme/capacity"), 404)
    error_of(admin.tfe().get(f"/workspaces/{ws}/runs", query={"page[size]": "0"}), 422)


def test_a_save_plan_run_waits_as_planned_and_saved(aws, admin, ws):
    machinery = machinery_for(aws)
    run_id = create_run(
        admin, ws, uploaded_version(admin, ws, provisional=True), **{"save-plan": True}
    )["id"]
    started(machinery, run_id)
    plan_result(aws, run_id, has_changes=True, resource_additions=1)
    machinery.run_workflow().record_plan(RunRef(run_id=run_id))
    machinery.run_workflow().await_confirmation(ConfirmationInput(run_id=run_id, task_token="t"))

    attributes = read_run(admin, run_id)["data"]["attributes"]

    assert attributes["status"] == "planned_and_saved"
    assert "planned-and-saved-at" in attributes["status-timestamps"]
    assert attributes["save-plan"] is True
    assert attributes["actions"]["is-confirmable"] is True


# --- task stages ------------------------------------------------------------------------------


def post_plan_run(aws, admin, ws: str, service, message: str, status: str) -> tuple[str, Any]:
    """A run at its post_plan stage whose one task answered ``status`` with ``message``,
    concluded by the workflow's step; the run's id and the machinery."""
    attach(admin, ws, create_task(admin, service.url))
    run_id = create_run(admin, ws, uploaded_version(admin, ws))["id"]
    upfront = read_run(admin, run_id, include="task_stages")
    machinery = machinery_for(aws)
    started(machinery, run_id)
    plan_documents(aws, run_id, PLAN)
    plan_result(aws, run_id, has_changes=True, resource_additions=1)
    (task,) = dispatch_all(machinery, service, run_id, ws, Stage.POST_PLAN)
    answer = callback_body(status, message, url="https://checker.example.com/r/1")
    assert callback(admin.gateway, task.result_id, task.token, answer).status == 200
    machinery.task_stages.conclude(
        ConcludeInput(run_id=run_id, stage=Stage.POST_PLAN, tasks=[task.item], task_token="c")
    )
    (stage,) = upfront["included"]
    assert upfront["data"]["relationships"]["task-stages"]["data"] == [
        {"id": stage["id"], "type": "task-stages"}
    ]
    assert (stage["attributes"]["stage"], stage["attributes"]["status"]) == (
        "post_plan",
        "pending",
    )
    return run_id, machinery


def read_stage(admin, run_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    stage_id = f"ts-{run_id.removeprefix('run-')}-post_plan"
    reply = admin.tfe().get(f"/task-stages/{stage_id}", query={"include": "task_results"})
    assert reply.status == 200, reply.body
    document = reply.json()
    return document["data"], document.get("included", [])


def test_a_mandatory_task_that_failed_fails_its_stage_with_its_message(
    aws, admin, ws, service, resumes
):
    run_id, _ = post_plan_run(aws, admin, ws, service, "too expensive", "failed")

    stage, (result,) = read_stage(admin, run_id)

    assert stage["type"] == "task-stages"
    assert stage["attributes"]["status"] == "failed"
    assert stage["relationships"]["task-results"]["data"] == [
        {"id": result["id"], "type": "task-results"}
    ]
    assert result["type"] == "task-results"
    attributes = result["attributes"]
    assert (attributes["status"], attributes["message"], attributes["task-name"]) == (
        "failed",
        "too expensive",
        "checker",
    )
    assert attributes["workspace-task-enforcement-level"] == "mandatory"
    assert attributes["url"] == "https://checker.example.com/r/1"
    assert attributes["stage"] == "post_plan"


def test_a_passed_stage_reads_running_until_the_run_has_moved_on(aws, admin, ws, service, resumes):
    run_id, machinery = post_plan_run(aws, admin, ws, service, "fine", "passed")

    still_at_stage, _ = read_stage(admin, run_id)
    machinery.run_workflow().record_plan(RunRef(run_id=run_id))
    machinery.run_workflow().await_confirmation(ConfirmationInput(run_id=run_id, task_token="t"))
    moved_on, (result,) = read_stage(admin, run_id)

    assert still_at_stage["attributes"]["status"] == "running"
    assert moved_on["attributes"]["status"] == "passed"
    assert result["attributes"]["status"] == "passed"
    listed = admin.tfe().get(f"/runs/{run_id}/task-stages").json()["data"]
    assert [s["attributes"]["status"] for s in listed] == ["passed"]
    assert read_run(admin, run_id)["data"]["attributes"]["actions"]["is-confirmable"] is True


def test_a_stage_the_run_never_came_to_is_unreachable_and_bad_ids_are_404(aws, admin, ws):
    version = uploaded_version(admin, ws)
    create_run(admin, ws, version)  # the workspace's current run: the next one waits
    run_id = create_run(admin, ws, version)["id"]
    suffix = run_id.removeprefix("run-")
    assert admin.tfe().post(f"/runs/{run_id}/actions/cancel").status == 202  # ends it at once

    stage = admin.tfe().get(f"/task-stages/ts-{suffix}-post_plan").json()["data"]

    assert stage["attributes"]["status"] == "unreachable"
    assert read_run(admin, run_id, include="task_stages").get("included") is None
    error_of(admin.tfe().get(f"/task-stages/ts-{suffix}-during_plan"), 404)
    error_of(admin.tfe().get("/task-stages/ts-nosuchrun0000000-post_plan"), 404)
