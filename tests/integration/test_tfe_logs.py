"""Plans, applies and their logs through the TFE-compatible API, as go-tfe reads them: the
plan's ``log-read-url`` called with no token and only ``?limit=&offset=``, the log framed by
STX and ETX, the run's error before the ETX, and the signed URL refusing any change."""

import json
from datetime import timedelta
from typing import Any

import pytest

from iacp.orchestration.workflow import ConfirmationInput, FailureInput, RunRef
from iacp.principal import Role
from iacp.tfe.signed_urls import UrlSigner, signing_key
from iacp.timestamps import utcnow
from tests.conftest import ApiClient, mint
from tests.runs_support import (
    SIMPLE_CONFIGURATION,
    apply_result,
    machinery_for,
    plan_result,
    put_archive,
    s3_put,
    started,
    tar_gz,
)

STX, ETX = "\x02", "\x03"


@pytest.fixture
def ws(admin) -> str:
    return str(admin.post("/workspaces", {"name": "tfe-logs"}).json()["id"])


@pytest.fixture
def run_id(aws, admin, ws) -> str:
    """A run the workflow has started planning."""
    body = {"data": {"type": "configuration-versions", "attributes": {"auto-queue-runs": False}}}
    version = admin.tfe().post(f"/workspaces/{ws}/configuration-versions", body).json()["data"]
    put_archive(version["attributes"]["upload-url"], tar_gz(SIMPLE_CONFIGURATION))
    relationships = {
        "workspace": {"data": {"type": "workspaces", "id": ws}},
        "configuration-version": {"data": {"type": "configuration-versions", "id": version["id"]}},
    }
    run = {"data": {"type": "runs", "attributes": {}, "relationships": relationships}}
    created = admin.tfe().post("/runs", run)
    assert created.status == 201, created.body
    run_id = str(created.json()["data"]["id"])
    started(machinery_for(aws), run_id)
    return run_id


def log_chunk(aws, run_id: str, phase: str, offset: int, text: str) -> None:
    s3_put(aws, f"runs/{run_id}/logs/{phase}/{offset:012d}", text)


def log_complete(aws, run_id: str, phase: str) -> None:
    s3_put(aws, f"runs/{run_id}/logs/{phase}/complete", "")


def phase_of(admin: ApiClient, kind: str, run_id: str) -> dict[str, Any]:
    suffix = run_id.removeprefix("run-")
    path = f"/plans/plan-{suffix}" if kind == "plan" else f"/applies/apply-{suffix}"
    reply = admin.tfe().get(path)
    assert reply.status == 200, reply.body
    return dict(reply.json()["data"])


def log_path(resource: dict[str, Any]) -> str:
    url = str(resource["attributes"]["log-read-url"])
    assert url.startswith(("http://", "https://"))
    return url[url.index("/api/v2/logs/") :]


def read(anonymous: ApiClient, path: str, offset: int = 0, limit: int = 65536) -> str:
    """One read as go-tfe's LogReader makes it: no token, the query replaced."""
    client = ApiClient(anonymous.gateway, None, base="")
    reply = client.get(path, query={"limit": str(limit), "offset": str(offset)})
    assert reply.status == 200, reply.body
    return reply.body


def read_all(anonymous: ApiClient, path: str, limit: int) -> str:
    """Every byte, ``limit`` at a time, until ETX or no progress."""
    text, offset = "", 0
    for _ in range(1000):
        piece = read(anonymous, path, offset, limit)
        if not piece:
            return text
        text, offset = text + piece, offset + len(piece.encode())
        if piece.endswith(ETX):
            return text
    raise AssertionError("the log never ended")


def test_the_plan_log_streams_with_stx_and_ends_with_etx_once_the_plan_is_over(
    aws, admin, anonymous, run_id
):
    machinery = machinery_for(aws)
    plan = phase_of(admin, "plan", run_id)
    path = log_path(plan)
    log_chunk(aws, run_id, "plan", 0, "Initializing...\n")

    while_planning = read(anonymous, path)
    from_offset = read(anonymous, path, offset=1 + len("Initializing...\n"))
    log_chunk(aws, run_id, "plan", 16, "Plan: 1 to add, 0 to change, 0 to destroy.\n")
    log_complete(aws, run_id, "plan")
    still_planning = read(anonymous, path)
    plan_result(aws, run_id, has_changes=True, resource_additions=1)
    machinery.run_workflow().record_plan(RunRef(run_id=run_id))
    recorded = read(anonymous, path)  # still planning: it waits for confirmation next
    machinery.run_workflow().await_confirmation(ConfirmationInput(run_id=run_id, task_token="t"))
    finished = read(anonymous, path)
    in_small_reads = read_all(anonymous, path, limit=7)
    planned = phase_of(admin, "plan", run_id)

    assert plan["type"] == "plans"
    assert plan["attributes"]["status"] == "running"
    assert while_planning == STX + "Initializing...\n"
    assert from_offset == ""
    assert not still_planning.endswith(ETX)  # the run has not left planning yet
    assert not recorded.endswith(ETX)
    whole = STX + "Initializing...\nPlan: 1 to add, 0 to change, 0 to destroy.\n" + ETX
    assert finished == whole
    assert in_small_reads == whole
    assert read(anonymous, path, offset=len(whole)) == ""
    assert read(anonymous, path, offset=5, limit=3) == whole[5:8]
    attributes = planned["attributes"]
    assert (attributes["status"], attributes["has-changes"], attributes["resource-additions"]) == (
        "finished",
        True,
        1,
    )


def test_a_run_that_errored_in_its_plan_says_why_before_the_etx(aws, admin, anonymous, run_id):
    machinery = machinery_for(aws)
    log_chunk(aws, run_id, "plan", 0, "Error: Unsupported argument\n")
    plan_result(
        aws,
        run_id,
        status="failed",
        error={"stage": "plan", "message": "terraform plan exited with 1"},
    )
    error = {"Error": "States.TaskFailed", "Cause": "{}"}
    machinery.run_workflow().handle_failure(FailureInput(run_id=run_id, error=error))

    plan = phase_of(admin, "plan", run_id)
    text = read_all(anonymous, log_path(plan), limit=10)

    assert plan["attributes"]["status"] == "errored"
    assert text.startswith(STX + "Error: Unsupported argument\n")
    assert "iacp: the run errored (plan): terraform plan exited with 1" in text
    assert text.endswith("\n" + ETX)


def test_the_apply_log_begins_with_three_lines_the_cli_drops(aws, admin, anonymous, run_id):
    machinery = machinery_for(aws)
    workflow = machinery.run_workflow()
    plan_result(aws, run_id, has_changes=True, resource_additions=1)
    workflow.record_plan(RunRef(run_id=run_id))
    workflow.await_confirmation(ConfirmationInput(run_id=run_id, task_token="t"))
    pending = phase_of(admin, "apply", run_id)
    assert admin.tfe().post(f"/runs/{run_id}/actions/apply").status == 202
    workflow.start_apply(RunRef(run_id=run_id))
    log_chunk(aws, run_id, "apply", 0, "terraform_data.example: Creating...\n")
    path = log_path(phase_of(admin, "apply", run_id))

    applying = read(anonymous, path)
    apply_result(aws, run_id, serial=1)
    log_complete(aws, run_id, "apply")
    workflow.record_apply(RunRef(run_id=run_id))
    workflow.finish(RunRef(run_id=run_id))
    applied = read_all(anonymous, path, limit=1000)
    finished = phase_of(admin, "apply", run_id)

    assert pending["attributes"]["status"] == "pending"
    assert not applying.endswith(ETX)
    header, body = applied[1:].split("\n", 3)[:3], applied[1:].split("\n", 3)[3]
    assert applied.startswith(STX) and len(header) == 3
    assert body == "terraform_data.example: Creating...\n" + ETX
    assert finished["attributes"]["status"] == "finished"
    assert finished["attributes"]["resource-additions"] == 1


def test_a_discarded_run_ends_an_apply_log_that_never_began(aws, admin, anonymous, run_id):
    machinery = machinery_for(aws)
    plan_result(aws, run_id, has_changes=True, resource_additions=1)
    machinery.run_workflow().record_plan(RunRef(run_id=run_id))
    machinery.run_workflow().await_confirmation(ConfirmationInput(run_id=run_id, task_token="t"))
    assert admin.tfe().post(f"/runs/{run_id}/actions/discard").status == 202

    apply_ = phase_of(admin, "apply", run_id)
    text = read_all(anonymous, log_path(apply_), limit=1000)

    assert apply_["attributes"]["status"] == "unreachable"
    assert text.startswith(STX) and text.endswith("\n\n" + ETX)  # the header, no error


def signed_path(aws, phase_id: str, shift: timedelta) -> str:
    secret = aws.environment("ApiFunction")["PLATFORM_SECRET_ARN"]
    signer = UrlSigner(lambda: signing_key(secret), clock=lambda: utcnow() + shift)
    return f"/api/v2/logs/{phase_id}/{signer.sign(phase_id)}"


def test_a_changed_or_expired_log_url_is_refused_without_saying_more(aws, admin, anonymous, run_id):
    log_chunk(aws, run_id, "plan", 0, "secret-free but private\n")
    path = log_path(phase_of(admin, "plan", run_id))
    _, _, _, _, phase_id, expires, signature = path.split("/")
    other = admin.post("/workspaces", {"name": "other"}).json()["id"]
    client = ApiClient(anonymous.gateway, None, base="")
    tampered_signature = signature[:-2] + ("AA" if not signature.endswith("AA") else "BB")
    changed = [
        f"/api/v2/logs/{phase_id}/{expires}/{tampered_signature}",  # a bad signature
        f"/api/v2/logs/{phase_id}/{int(expires) + 3600}/{signature}",  # a later expiry
        f"/api/v2/logs/plan-{'x' * 16}/{expires}/{signature}",  # another run
        f"/api/v2/logs/apply-{phase_id[5:]}/{expires}/{signature}",  # another phase
        f"/api/v2/logs/{phase_id}/soon/{signature}",
    ]

    for bad in changed:
        reply = client.get(bad, query={"limit": "100", "offset": "0"})
        assert reply.status == 404, (bad, reply.body)
        assert "secret-free" not in reply.body
        assert reply.json()["errors"][0]["detail"] == "No such URL."
    expired = client.get(signed_path(aws, phase_id, -timedelta(hours=5)))
    assert expired.status == 403
    assert "expired" in expired.json()["errors"][0]["detail"]
    valid = client.get(signed_path(aws, phase_id, timedelta(0)))
    assert valid.status == 200 and "secret-free" in valid.body
    unknown = client.get(signed_path(aws, "plan-nosuchrun0000000", timedelta(0)))
    assert unknown.status == 404
    bad_query = client.get(path, query={"limit": "-1", "offset": "0"})
    assert bad_query.status == 422
    assert other  # a token of another workspace cannot read the plan either:
    limited = ApiClient(anonymous.gateway, mint(aws, Role.READ, workspaces=[other]))
    assert limited.tfe().get(f"/plans/{phase_id}").status == 404


def test_the_plans_json_output_is_the_redacted_plan(aws, admin, run_id):
    suffix = run_id.removeprefix("run-")

    before = admin.tfe().get(f"/plans/plan-{suffix}/json-output")
    s3_put(aws, f"runs/{run_id}/plan/plan.json", json.dumps({"format_version": "1.2"}))
    after = admin.tfe().get(f"/plans/plan-{suffix}/json-output")

    assert before.status == 404
    assert after.status == 200 and after.json() == {"format_version": "1.2"}
    assert admin.tfe().get("/plans/plan-bad/id").status == 404
    assert admin.tfe().get("/plans/run-notaplan00000000").status == 404
