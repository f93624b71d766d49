"""The run API with the workflow started but not executed (in-process moto): creating runs,
the queue, confirm/discard/cancel rules, logs and plan JSON. The full pipeline, with the
workflow and real Terraform, is in tests/e2e."""

import json

import boto3
import pytest
import requests

from iacp.principal import Role
from iacp.runs.artifacts import MAX_INLINE_DOCUMENT_BYTES
from tests.conftest import ApiClient, assert_error, mint
from tests.runs_support import put_archive, s3_put, upload_configuration


@pytest.fixture
def ws(admin) -> str:
    return str(admin.post("/workspaces", {"name": "runs"}).json()["id"])


@pytest.fixture
def uploaded(aws, admin, ws) -> str:
    return upload_configuration(admin, aws, ws)


def executions(aws) -> list[str]:
    machine = aws.refs["RunStateMachine"]
    listed = boto3.client("stepfunctions").list_executions(stateMachineArn=machine)
    return sorted(e["name"] for e in listed["executions"])


def test_configuration_version_is_pending_until_its_archive_arrives(aws, admin, ws):
    created = admin.post(f"/workspaces/{ws}/configuration-versions", {}).json()
    path = f"/workspaces/{ws}/configuration-versions/{created['id']}"

    assert created["status"] == "pending"
    assert created["upload_url"]
    assert admin.get(path).json()["status"] == "pending"
    put_archive(created["upload_url"], b"\x1f\x8b not really, but gzip magic")
    shown = admin.get(path).json()
    assert shown["status"] == "uploaded"
    assert shown["upload_url"] is None


def test_an_upload_that_is_not_gzip_errors_the_version(aws, admin, ws):
    created = admin.post(f"/workspaces/{ws}/configuration-versions").json()
    put_archive(created["upload_url"], b"PK\x03\x04 a zip file")

    shown = admin.get(f"/workspaces/{ws}/configuration-versions/{created['id']}").json()

    assert shown["status"] == "errored"
    error = assert_error(admin.post(f"/workspaces/{ws}/runs", {}), 422, "/configuration_version_id")
    assert "gzip" in error["detail"]


def test_a_run_needs_an_uploaded_configuration(aws, admin, ws):
    assert_error(admin.post(f"/workspaces/{ws}/runs", {}), 422, "/configuration_version_id")
    admin.post(f"/workspaces/{ws}/configuration-versions")  # created, never uploaded

    error = assert_error(admin.post(f"/workspaces/{ws}/runs", {}), 422)

    assert "upload" in error["detail"]
    assert admin.get(f"/workspaces/{ws}/runs").json()["items"] == []
    assert executions(aws) == []


def test_first_run_starts_and_the_next_waits_its_turn(aws, admin, ws, uploaded):
    first = admin.post(f"/workspaces/{ws}/runs", {"message": "first"}).json()
    second = admin.post(f"/workspaces/{ws}/runs", {}).json()

    assert first["status"] == "pending"
    assert first["execution_arn"].endswith(f":{first['id']}")
    assert first["configuration_version_id"] == uploaded
    assert first["created_by"] == admin.token.partition(".")[0]
    assert second["execution_arn"] is None
    assert executions(aws) == [first["id"]]
    assert admin.get(f"/workspaces/{ws}").json()["current_run_id"] == first["id"]
    listed = [r["id"] for r in admin.get(f"/workspaces/{ws}/runs").json()["items"]]
    assert listed == [second["id"], first["id"]]  # newest first


def test_plan_only_runs_never_wait(aws, admin, ws, uploaded):
    first = admin.post(f"/workspaces/{ws}/runs", {}).json()

    speculative = admin.post(f"/workspaces/{ws}/runs", {"operation": "plan_only"}).json()

    assert speculative["is_speculative"] is True
    assert speculative["execution_arn"] is not None
    assert executions(aws) == sorted([first["id"], speculative["id"]])
    assert admin.get(f"/workspaces/{ws}").json()["current_run_id"] == first["id"]


def test_auto_apply_defaults_to_the_workspace_setting(admin, ws, uploaded):
    admin.patch(f"/workspaces/{ws}", {"auto_apply": True})

    assert admin.post(f"/workspaces/{ws}/runs", {}).json()["auto_apply"] is True
    assert admin.post(f"/workspaces/{ws}/runs", {"auto_apply": False}).json()["auto_apply"] is False


@pytest.mark.parametrize("action", ["apply", "discard"])
def test_confirming_a_run_that_is_not_planned_is_409(admin, ws, uploaded, action):
    run = admin.post(f"/workspaces/{ws}/runs", {}).json()

    assert_error(admin.post(f"/runs/{run['id']}/actions/{action}", {}), 409)

    assert admin.get(f"/runs/{run['id']}").json()["status"] == "pending"


def test_canceling_a_waiting_run_ends_it_at_once(aws, admin, ws, uploaded):
    admin.post(f"/workspaces/{ws}/runs", {})
    waiting = admin.post(f"/workspaces/{ws}/runs", {}).json()

    reply = admin.post(f"/runs/{waiting['id']}/actions/cancel", {"comment": "not needed"})

    assert reply.status == 202
    assert reply.json()["status"] == "canceled"
    assert_error(admin.post(f"/runs/{waiting['id']}/actions/cancel"), 409)


def test_force_cancel_needs_a_cancel_first_then_frees_the_workspace(aws, admin, ws, uploaded):
    running = admin.post(f"/workspaces/{ws}/runs", {}).json()
    waiting = admin.post(f"/workspaces/{ws}/runs", {}).json()

    assert_error(admin.post(f"/runs/{running['id']}/actions/force-cancel"), 409)
    assert admin.post(f"/runs/{running['id']}/actions/cancel").status == 202
    reply = admin.post(f"/runs/{running['id']}/actions/force-cancel")

    assert reply.status == 202
    assert reply.json()["status"] == "force_canceled"
    assert admin.get(f"/workspaces/{ws}").json()["current_run_id"] == waiting["id"]
    assert admin.get(f"/runs/{waiting['id']}").json()["execution_arn"] is not None


def test_logs_follow_the_chunks_by_offset(aws, admin, ws, uploaded):
    run = admin.post(f"/workspaces/{ws}/runs", {}).json()
    prefix = f"runs/{run['id']}/logs/plan/"
    s3_put(aws, prefix + "000000000000", "Initializing...\n")
    path = f"/runs/{run['id']}/logs"

    first = admin.get(path, query={"phase": "plan"}).json()
    s3_put(aws, prefix + f"{16:012d}", "Plan: 1 to add\n")
    s3_put(aws, prefix + "complete", "")
    rest = admin.get(path, query={"phase": "plan", "offset": str(first["next_offset"])}).json()

    assert first == {"data": "Initializing...\n", "next_offset": 16, "complete": False}
    assert rest == {"data": "Plan: 1 to add\n", "next_offset": 31, "complete": True}
    assert admin.get(path, query={"phase": "apply"}).json() == {
        "data": "",
        "next_offset": 0,
        "complete": False,
    }
    assert_error(admin.get(path, query={"phase": "destroy"}), 422)
    assert_error(admin.get(path, query={"offset": "-1"}), 422)


def test_plan_json_is_404_until_the_plan_exists(aws, admin, ws, uploaded):
    run = admin.post(f"/workspaces/{ws}/runs", {}).json()
    assert_error(admin.get(f"/runs/{run['id']}/plan-json"), 404)

    s3_put(aws, f"runs/{run['id']}/plan/plan.json", json.dumps({"format_version": "1.2"}))

    assert admin.get(f"/runs/{run['id']}/plan-json").json() == {"format_version": "1.2"}


def test_a_plan_too_large_for_a_lambda_reply_is_a_redirect_to_it(aws, admin, ws, uploaded):
    run = admin.post(f"/workspaces/{ws}/runs", {}).json()
    large = {"format_version": "1.2", "padding": "p" * MAX_INLINE_DOCUMENT_BYTES}
    s3_put(aws, f"runs/{run['id']}/plan/plan.json", json.dumps(large))

    reply = admin.get(f"/runs/{run['id']}/plan-json")

    assert reply.status == 307, reply.body[:200]
    downloaded = requests.get(reply.headers["Location"], timeout=30)
    assert downloaded.status_code == 200
    assert downloaded.json() == large


def test_a_workspace_without_state_has_no_current_state_version(admin, ws):
    assert_error(admin.get(f"/workspaces/{ws}/current-state-version"), 404)


def test_run_routes_check_roles_and_workspace_limits(aws, gateway, admin, ws, uploaded):
    run = admin.post(f"/workspaces/{ws}/runs", {}).json()
    reader = ApiClient(gateway, mint(aws, Role.READ))
    other = admin.post("/workspaces", {"name": "other"}).json()["id"]
    limited = ApiClient(gateway, mint(aws, Role.WRITE, workspaces=[other]))

    assert reader.get(f"/runs/{run['id']}").status == 200
    assert_error(reader.post(f"/workspaces/{ws}/runs", {}), 403)
    assert_error(reader.post(f"/runs/{run['id']}/actions/cancel"), 403)
    assert_error(reader.post(f"/workspaces/{ws}/configuration-versions"), 403)
    assert_error(limited.get(f"/runs/{run['id']}"), 403)
    assert_error(limited.get(f"/workspaces/{ws}/runs"), 403)
    assert admin.get(f"/runs/{run['id']}").json()["status"] == "pending"


def test_bad_run_requests_are_422_and_create_nothing(aws, admin, ws, uploaded):
    for body, pointer in [
        ({"operation": "destroy"}, "/operation"),
        ({"auto_apply": "yes"}, "/auto_apply"),
        ({"message": "m" * 1001}, "/message"),
        ({"color": "red"}, "/color"),
    ]:
        assert_error(admin.post(f"/workspaces/{ws}/runs", body), 422, pointer)

    assert admin.get(f"/workspaces/{ws}/runs").json()["items"] == []
    assert executions(aws) == []


def test_unknown_runs_and_workspaces_are_404(admin):
    missing = "run-AAAAAAAAAAAAAAAA"
    for method, path in [
        ("GET", f"/runs/{missing}"),
        ("POST", f"/runs/{missing}/actions/apply"),
        ("POST", f"/runs/{missing}/actions/cancel"),
        ("GET", f"/runs/{missing}/logs"),
        ("POST", "/workspaces/ws-AAAAAAAAAAAAAAAA/runs"),
        ("GET", "/workspaces/ws-AAAAAAAAAAAAAAAA/runs"),
        ("POST", "/workspaces/ws-AAAAAAAAAAAAAAAA/configuration-versions"),
    ]:
        assert_error(admin.call(method, path, {} if method == "POST" else None), 404)


# --- plan options (HCP's run options) ---------------------------------------------------------

PLAIN = {
    "is_destroy": False,
    "refresh_only": False,
    "refresh": True,
    "target_addrs": [],
    "replace_addrs": [],
}


def test_a_run_keeps_its_plan_options_and_a_plain_run_has_the_defaults(aws, admin, ws, uploaded):
    options = {
        "is_destroy": True,
        "refresh": False,
        "target_addrs": ["module.net.aws_vpc.main", 'terraform_data.item["a b"]', "module.db"],
    }
    created = admin.post(f"/workspaces/{ws}/runs", options)
    plain = admin.post(f"/workspaces/{ws}/runs", {"operation": "plan_only"})

    assert created.status == 201, created.body
    shown = admin.get(f"/runs/{created.json()['id']}").json()
    assert {k: shown[k] for k in PLAIN} == PLAIN | options
    assert {k: plain.json()[k] for k in PLAIN} == PLAIN
    replace = {"replace_addrs": ["terraform_data.item[0]"], "refresh_only": False}
    replaced = admin.post(f"/workspaces/{ws}/runs", {"operation": "plan_only"} | replace)
    assert replaced.json()["replace_addrs"] == ["terraform_data.item[0]"]


@pytest.mark.parametrize(
    ("body", "pointer", "says"),
    [
        ({"target_addrs": ["aws_instance"]}, "/target_addrs/0", "not a resource or module"),
        ({"target_addrs": ["-destroy"]}, "/target_addrs/0", "not a resource or module"),
        ({"replace_addrs": ["module.net"]}, "/replace_addrs/0", "not a managed resource"),
        ({"replace_addrs": ["data.aws_ami.x"]}, "/replace_addrs/0", "not a managed resource"),
        ({"target_addrs": [f"a.b{i}" for i in range(101)]}, "/target_addrs", "at most 100"),
        ({"is_destroy": True, "refresh_only": True}, None, "is_destroy and refresh_only"),
        ({"refresh_only": True, "refresh": False}, None, "refresh_only needs refresh"),
        ({"is_destroy": True, "replace_addrs": ["a.b"]}, None, "replace_addrs cannot"),
        ({"is_destroy": "yes"}, "/is_destroy", "boolean"),
        ({"operation": "plan_only", "allow_empty_apply": True}, None, "allow_empty_apply needs"),
        ({"operation": "plan_only", "save_plan": True}, None, "save_plan needs"),
        ({"save_plan": True, "auto_apply": True}, None, "save_plan cannot auto-apply"),
        ({"variables": [{"key": "1x", "value": "v"}]}, "/variables/0/key", "match pattern"),
        ({"variables": [{"key": "x", "value": 3}]}, "/variables/0/value", "valid string"),
        ({"variables": [{"key": "x", "value": "v", "sensitive": 0}]}, "/variables/0/sensitive", ""),
        (
            {"variables": [{"key": "x", "value": "a"}, {"key": "x", "value": "b"}]},
            "/variables",
            "x",
        ),
        ({"variables": [{"key": f"k{i}", "value": ""} for i in range(101)]}, "/variables", "100"),
        ({"variables": [{"key": k, "value": "v" * 65536} for k in "xy"]}, "/variables", "bytes"),
    ],
)
def test_plan_options_that_make_no_sense_are_refused_and_create_no_run(
    aws, admin, ws, uploaded, body, pointer, says
):
    error = assert_error(admin.post(f"/workspaces/{ws}/runs", body), 422, pointer)

    assert says in json.dumps(admin.post(f"/workspaces/{ws}/runs", body).json())
    assert error["detail"]
    assert admin.get(f"/workspaces/{ws}/runs").json()["items"] == []
    assert executions(aws) == []
