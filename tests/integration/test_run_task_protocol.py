"""The run-task protocol from the workflow's side (design §4, §6): the webhook as a service
receives it (the body field by field, the headers, the signature over the exact bytes), what
a failed delivery does, and how a stage concludes: passed, warnings, stopped for an override,
the override itself, and a run's open results closed when it ends. The workflow's own steps
(prepare, dispatch, conclude) send the webhooks to a real HTTP server on 127.0.0.1."""

import functools
import hashlib
import hmac
import threading
import time
from typing import Any

import jwt
import pytest

from iacp import __version__
from iacp.orchestration import task_stages
from iacp.orchestration.steps import RunNotRunnable
from iacp.orchestration.task_stages import ConcludeInput, TaskItem
from iacp.outbound import Outbound
from iacp.runs.status import RunStatus
from iacp.runtasks import protocol
from iacp.runtasks.models import Stage
from tests.conftest import assert_error
from tests.runtasks_support import (
    Dispatched,
    attach,
    callback,
    callback_body,
    capturing_service,
    claims_of,
    closed_port_url,
    create_task,
    dispatch,
    dispatch_all,
    new_workspace,
    prepare,
    raw_item,
    run_at,
    service_request,
    silent_service,
)

HMAC_KEY = "the-task-s-hmac-key"

COMMON_FIELDS = {
    "payload_version",
    "stage",
    "access_token",
    "is_speculative",
    "is_destroy",
    "capabilities",
    "configuration_version_id",
    "configuration_version_download_url",
    "organization_name",
    "run_app_url",
    "run_created_at",
    "run_created_by",
    "run_id",
    "run_message",
    "task_result_callback_url",
    "task_result_enforcement_level",
    "task_result_id",
    "vcs_branch",
    "vcs_commit_url",
    "vcs_commit_hash",
    "vcs_pull_request_url",
    "vcs_repo_url",
    "workspace_app_url",
    "workspace_id",
    "workspace_name",
    "workspace_working_directory",
}
PLAN_FIELDS = {"plan_json_api_url", "resource_changes_api_url"}

LOCAL_SERVICES = Outbound(private_addresses=True)  # the services here are on 127.0.0.1


@pytest.fixture
def ws(aws, admin) -> str:
    return new_workspace(aws, admin, "protocol")


@pytest.fixture
def base_url(aws) -> str:
    return str(aws.environment("WorkflowFunction")["PUBLIC_BASE_URL"])


def one_webhook(aws, machinery, admin, service, ws, stage, **task: Any) -> Dispatched:
    task_id = create_task(admin, service.url, **task)
    attach(admin, ws, task_id, [stage.value], "mandatory")
    run_id = run_at(aws, machinery, admin, ws, stage)
    [sent] = dispatch_all(machinery, service, run_id, ws, stage)
    return sent


@pytest.mark.parametrize("stage", list(Stage))
def test_a_destroy_run_says_so_to_the_tasks_of_every_stage(
    aws, machinery, admin, service, ws, resumes, stage
):
    task_id = create_task(admin, service.url)
    attach(admin, ws, task_id, [stage.value], "mandatory")
    run_id = run_at(aws, machinery, admin, ws, stage, is_destroy=True)

    [sent] = dispatch_all(machinery, service, run_id, ws, stage)

    assert sent.webhook.json()["is_destroy"] is True


def test_the_post_plan_webhook_carries_exactly_the_protocol_s_fields(
    aws, machinery, admin, service, ws, base_url, resumes
):
    sent = one_webhook(
        aws, machinery, admin, service, ws, Stage.POST_PLAN, hmac_key=HMAC_KEY, name="checker"
    )
    body = sent.webhook.json()
    run = admin.get(f"/runs/{sent.run_id}").json()
    workspace = admin.get(f"/workspaces/{ws}").json()
    result = f"{base_url}/api/v1/run-task-results/{sent.result_id}"

    assert set(body) == COMMON_FIELDS | PLAN_FIELDS
    assert body["payload_version"] == 1
    assert body["stage"] == "post_plan"
    assert body["capabilities"] == {"outcomes": True}
    assert body["task_result_enforcement_level"] == "mandatory"
    assert body["task_result_id"] == sent.result_id
    assert sent.result_id.startswith("taskrs-")
    assert body["is_speculative"] is False
    assert body["is_destroy"] is False
    assert body["organization_name"] == "default"
    assert body["run_id"] == sent.run_id
    assert body["run_message"] == run["message"]
    assert body["run_created_by"] == run["created_by"]
    assert body["run_created_at"] == run["created_at"]
    assert body["configuration_version_id"] == run["configuration_version_id"]
    assert body["workspace_id"] == ws
    assert body["workspace_name"] == "protocol"
    assert body["workspace_working_directory"] == workspace.get("working_directory", "")
    for name in (
        "vcs_branch",
        "vcs_commit_url",
        "vcs_commit_hash",
        "vcs_pull_request_url",
        "vcs_repo_url",
    ):
        assert body[name] is None, name
    assert body["task_result_callback_url"] == f"{result}/callback"
    assert body["plan_json_api_url"] == f"{result}/plan-json"
    assert body["resource_changes_api_url"] == f"{result}/resource-changes"
    assert body["configuration_version_download_url"] == f"{result}/configuration-version"
    assert body["run_app_url"] == f"{base_url}/api/v1/runs/{sent.run_id}"
    assert body["workspace_app_url"] == f"{base_url}/api/v1/workspaces/{ws}"
    assert base_url.startswith("https://")
    assert body["access_token"].count(".") == 2  # a JWT
    # Delivered and waiting: nothing resumed the workflow yet.
    assert raw_item(aws, sent.result_id)["status"] == "pending"
    assert resumes.resumed == []


def test_the_pre_plan_webhook_has_no_plan_urls(aws, machinery, admin, service, ws):
    sent = one_webhook(aws, machinery, admin, service, ws, Stage.PRE_PLAN)
    body = sent.webhook.json()

    assert set(body) == COMMON_FIELDS
    assert body["stage"] == "pre_plan"
    assert admin.get(f"/runs/{sent.run_id}").json()["status"] == "pre_plan_running"


@pytest.mark.parametrize("stage", [Stage.PRE_APPLY, Stage.POST_APPLY])
def test_every_stage_after_pre_plan_has_the_plan_urls(aws, machinery, admin, service, ws, stage):
    sent = one_webhook(aws, machinery, admin, service, ws, stage)

    assert set(sent.webhook.json()) == COMMON_FIELDS | PLAN_FIELDS
    assert sent.webhook.json()["stage"] == stage.value


def test_the_headers_and_the_signature_over_the_exact_bytes(aws, machinery, admin, service, ws):
    sent = one_webhook(aws, machinery, admin, service, ws, Stage.POST_PLAN, hmac_key=HMAC_KEY)
    webhook = sent.webhook
    expected = hmac.new(HMAC_KEY.encode(), webhook.body, hashlib.sha512).hexdigest()

    assert webhook.method == "POST"
    assert webhook.path == "/hook"
    assert webhook.header("Content-Type") == "application/json"
    assert webhook.header("User-Agent") == f"iacp/{__version__}"
    assert webhook.header("X-TFC-Task-Signature") == expected
    assert expected == expected.lower() and len(expected) == 128
    # The signature is over these bytes, not over a re-serialisation of the JSON.
    wrong_key = hmac.new(b"another key", webhook.body, hashlib.sha512).hexdigest()
    assert webhook.header("X-TFC-Task-Signature") != wrong_key


def test_the_signature_header_is_present_but_empty_without_a_key(
    aws, machinery, admin, service, ws
):
    sent = one_webhook(aws, machinery, admin, service, ws, Stage.POST_PLAN)

    assert "x-tfc-task-signature" in {k.lower() for k in sent.webhook.headers}
    assert sent.webhook.header("X-TFC-Task-Signature") == ""


def test_the_verification_request_is_signed_and_uses_test_values(admin, service):
    create_task(admin, service.url, hmac_key=HMAC_KEY)

    [verification] = service.requests
    body = verification.json()
    assert set(body) == COMMON_FIELDS | PLAN_FIELDS
    assert body["access_token"] == "test-token"
    assert body["task_result_enforcement_level"] == "test"
    assert body["stage"] == "test"
    assert body["run_id"] == "run-" + "x" * 16
    assert body["workspace_id"] == "ws-" + "x" * 16
    expected = hmac.new(HMAC_KEY.encode(), verification.body, hashlib.sha512).hexdigest()
    assert verification.header("X-TFC-Task-Signature") == expected


def test_the_access_token_is_an_hs256_jwt_naming_the_result(aws, machinery, admin, service, ws):
    sent = one_webhook(aws, machinery, admin, service, ws, Stage.POST_PLAN, max_run_seconds=900)
    token = sent.token
    claims = claims_of(token)

    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert set(claims) == {
        "result_id",
        "run_id",
        "workspace_id",
        "stage",
        "iss",
        "sub",
        "jti",
        "iat",
        "nbf",
        "exp",
    }
    assert claims["result_id"] == sent.result_id
    assert claims["sub"] == sent.result_id
    assert claims["run_id"] == sent.run_id
    assert claims["workspace_id"] == ws
    assert claims["stage"] == "post_plan"
    assert claims["iss"] == "iacp"
    assert claims["exp"] - claims["iat"] == 900  # the task's max run time
    assert claims["nbf"] <= time.time() + 1
    # Stored only sealed: the token is nowhere in the item in clear.
    item = raw_item(aws, sent.result_id)
    assert token not in str(item)
    assert item["token_id"] == claims["jti"]


# --- failed deliveries -----------------------------------------------------------------------


def dispatch_one(
    aws, machinery, admin, url_service, ws, stage: Stage = Stage.POST_PLAN
) -> TaskItem:
    """Create, attach and dispatch a task whose service is ``url_service`` (answering 200 to
    the verification request); returns the task item."""
    task_id = create_task(admin, url_service.url)
    attach(admin, ws, task_id, [stage.value])
    run_id = run_at(aws, machinery, admin, ws, stage)
    [item] = prepare(machinery, run_id, stage)
    return item


@pytest.mark.parametrize(("status", "says"), [(500, "HTTP 500"), (204, "HTTP 204"), (404, "404")])
def test_a_service_that_does_not_answer_200_errors_the_result(
    aws, machinery, admin, service, ws, resumes, status, says
):
    item = dispatch_one(aws, machinery, admin, service, ws)
    service.status = status

    dispatch(machinery, item, task_token="wait-for-it")

    assert len(service.webhooks) == 1
    shown = admin.get(f"/runs/{item.run_id}/task-results").json()["items"]
    [result] = shown
    assert result["status"] == "errored"
    assert "Delivery failed" in result["message"] and says in result["message"]
    stored = raw_item(aws, item.result_id)
    assert "due_at" not in stored and "due_shard" not in stored  # out of the sweep's index
    assert resumes.resumed == [("wait-for-it", {"result_id": item.result_id, "status": "errored"})]


def test_an_unreachable_service_errors_the_result(aws, machinery, admin, ws, resumes):
    with capturing_service() as doomed:
        item = dispatch_one(aws, machinery, admin, doomed, ws)
    # The server is gone: its port refuses connections.

    dispatch(machinery, item, task_token="wait-for-it")

    stored = raw_item(aws, item.result_id)
    assert stored["status"] == "errored"
    assert "could not be reached" in stored["message"]
    assert resumes.resumed == [("wait-for-it", {"result_id": item.result_id, "status": "errored"})]


def test_deliver_gives_up_on_a_service_that_never_answers():
    with silent_service() as url:
        delivery = protocol.deliver(
            url, {"payload_version": 1}, None, outbound=LOCAL_SERVICES, timeout=0.5
        )

    assert delivery.accepted is False
    assert delivery.problem == "the service did not answer within 0.5 s"


def test_deliver_to_a_closed_port_says_so():
    delivery = protocol.deliver(
        closed_port_url(), {"payload_version": 1}, "k", outbound=LOCAL_SERVICES, timeout=2
    )

    assert delivery.accepted is False
    assert "could not be reached" in delivery.problem


def test_a_dispatch_whose_service_never_answers_errors_the_result(
    aws, machinery, admin, ws, resumes, monkeypatch
):
    # dispatch() waits DELIVERY_TIMEOUT_SECONDS (30 s); the same call with 0.5 s here.
    monkeypatch.setattr(task_stages, "deliver", functools.partial(protocol.deliver, timeout=0.5))
    release = threading.Event()

    def hang(received) -> None:
        if received.json()["stage"] != "test":
            release.wait(10)

    with capturing_service(on_request=hang) as stuck:
        item = dispatch_one(aws, machinery, admin, stuck, ws)
        dispatch(machinery, item, task_token="wait-for-it")
        release.set()

    stored = raw_item(aws, item.result_id)
    assert stored["status"] == "errored"
    assert "did not answer within 0.5 s" in stored["message"]
    assert resumes.resumed == [("wait-for-it", {"result_id": item.result_id, "status": "errored"})]


def test_the_service_may_call_back_before_its_reply_to_the_webhook(
    aws, machinery, admin, gateway, ws, resumes
):
    """The callback arrives while the platform still waits for the webhook's 200."""
    answered = []

    def call_back_first(received) -> None:
        body = received.json()
        if body["stage"] == "test":
            return
        reply = callback(
            gateway, body["task_result_id"], body["access_token"], callback_body("passed", "ok")
        )
        answered.append(reply.status)

    with capturing_service(on_request=call_back_first) as eager:
        item = dispatch_one(aws, machinery, admin, eager, ws)
        dispatch(machinery, item, task_token="wait-for-it")

    assert answered == [200]
    stored = raw_item(aws, item.result_id)
    assert stored["status"] == "passed"
    assert stored["message"] == "ok"
    assert resumes.resumed == [("wait-for-it", {"result_id": item.result_id, "status": "passed"})]


def test_a_retried_dispatch_of_a_final_result_only_resumes(
    aws, machinery, admin, service, ws, resumes
):
    item = dispatch_one(aws, machinery, admin, service, ws)
    service.status = 500
    dispatch(machinery, item, task_token="first")
    service.status = 200

    dispatch(machinery, item, task_token="second")

    assert len(service.webhooks) == 1  # not sent again
    assert raw_item(aws, item.result_id)["status"] == "errored"
    assert resumes.resumed[-1] == ("second", {"result_id": item.result_id, "status": "errored"})


# --- concluding a stage, and overriding a stopped run ----------------------------------------


def stage_of(admin, run_id: str, stage: str) -> dict:
    run = admin.get(f"/runs/{run_id}").json()
    [summary] = [s for s in run["task_stages"] if s["stage"] == stage]
    return summary


def stage_with(
    aws, machinery, admin, service, ws, stage: Stage, tasks: dict[str, str]
) -> tuple[str, dict[str, Dispatched]]:
    """Attach ``tasks`` ({name: enforcement}) at ``stage``, dispatch them; name -> Dispatched."""
    for name, enforcement in tasks.items():
        attach(admin, ws, create_task(admin, service.url, name=name), [stage.value], enforcement)
    run_id = run_at(aws, machinery, admin, ws, stage)
    sent = dispatch_all(machinery, service, run_id, ws, stage)
    by_name = {}
    for one in sent:
        by_name[raw_item(aws, one.result_id)["run_task_name"]] = one
    return run_id, by_name


def answer(gateway, sent: Dispatched, status: str, message: str = "") -> None:
    reply = callback(gateway, sent.result_id, sent.token, callback_body(status, message))
    assert reply.status == 200, reply.body


def conclude(machinery, run_id: str, stage: Stage, sent: dict[str, Dispatched]) -> None:
    machinery.task_stages.conclude(
        ConcludeInput(
            run_id=run_id,
            stage=stage,
            tasks=[s.item for s in sent.values()],
            task_token="t",
        )
    )


def test_a_stage_whose_mandatory_task_passed_passes(
    aws, machinery, admin, service, ws, gateway, resumes
):
    run_id, sent = stage_with(
        aws, machinery, admin, service, ws, Stage.POST_PLAN, {"policy": "mandatory"}
    )
    answer(gateway, sent["policy"], "passed", "fine")

    conclude(machinery, run_id, Stage.POST_PLAN, sent)

    summary = stage_of(admin, run_id, "post_plan")
    assert summary["status"] == "passed"
    assert summary["warnings"] == []
    assert [r["status"] for r in summary["results"]] == ["passed"]
    run = admin.get(f"/runs/{run_id}").json()
    assert run["error"] is None
    assert run["status"] == "post_plan_running"
    assert resumes.resumed[-1] == ("t", {"decision": "continue"})


def policy_and_costs(aws, machinery, admin, service, ws) -> tuple[str, dict[str, Dispatched]]:
    """A mandatory ``policy`` and an advisory ``costs`` task dispatched at post_plan."""
    tasks = {"policy": "mandatory", "costs": "advisory"}
    return stage_with(aws, machinery, admin, service, ws, Stage.POST_PLAN, tasks)


def test_an_advisory_failure_passes_with_a_warning_naming_the_task(
    aws, machinery, admin, service, ws, gateway, resumes
):
    run_id, sent = policy_and_costs(aws, machinery, admin, service, ws)
    answer(gateway, sent["policy"], "passed")
    answer(gateway, sent["costs"], "failed", "too expensive")

    conclude(machinery, run_id, Stage.POST_PLAN, sent)

    summary = stage_of(admin, run_id, "post_plan")
    assert summary["status"] == "passed"
    [warning] = summary["warnings"]
    assert "costs" in warning and "too expensive" in warning and "failed" in warning
    assert admin.get(f"/runs/{run_id}").json()["error"] is None
    assert resumes.resumed[-1] == ("t", {"decision": "continue"})


def stopped_run(aws, machinery, admin, service, ws, gateway) -> tuple[str, dict[str, Dispatched]]:
    run_id, sent = policy_and_costs(aws, machinery, admin, service, ws)
    answer(gateway, sent["policy"], "failed", "destroys a database")
    answer(gateway, sent["costs"], "passed")
    conclude(machinery, run_id, Stage.POST_PLAN, sent)
    return run_id, sent


def test_a_mandatory_failure_at_post_plan_stops_the_run_for_an_override(
    aws, machinery, admin, service, ws, gateway, resumes
):
    run_id, _ = stopped_run(aws, machinery, admin, service, ws, gateway)

    summary = stage_of(admin, run_id, "post_plan")
    assert summary["status"] == "awaiting_override"
    run = admin.get(f"/runs/{run_id}").json()
    assert run["error"]["stage"] == "post_plan"
    assert "policy" in run["error"]["message"]
    assert "destroys a database" in run["error"]["message"]
    assert "costs" not in run["error"]["message"]
    assert run["status"] == "post_plan_running"
    assert "override_token" not in run
    assert ("t", {"decision": "continue"}) not in resumes.resumed  # the run waits


def test_overriding_a_mandatory_failure_needs_admin(
    aws, machinery, admin, writer, service, ws, gateway, resumes
):
    run_id, sent = stopped_run(aws, machinery, admin, service, ws, gateway)

    refused = writer.post(f"/runs/{run_id}/actions/override-tasks", {"comment": "trust me"})

    assert_error(refused, 403)
    assert stage_of(admin, run_id, "post_plan")["status"] == "awaiting_override"
    assert raw_item(aws, sent["policy"].result_id)["status"] == "failed"
    assert ("t", {"decision": "override"}) not in resumes.resumed


def test_an_admin_override_resumes_the_run_and_records_who_and_why(
    aws, machinery, admin, service, ws, gateway, resumes
):
    run_id, sent = stopped_run(aws, machinery, admin, service, ws, gateway)

    reply = admin.post(f"/runs/{run_id}/actions/override-tasks", {"comment": "approved by CAB"})

    assert reply.status == 202, reply.body
    run = reply.json()
    assert run["error"] is None
    assert admin.get(f"/runs/{run_id}").json()["error"] is None
    summary = stage_of(admin, run_id, "post_plan")
    assert summary["status"] == "overridden"
    results = {r["run_task_name"]: r for r in summary["results"]}
    assert results["policy"]["status"] == "overridden"
    assert results["costs"]["status"] == "passed"  # only the failed ones are overridden
    listed = {
        r["run_task_name"]: r for r in admin.get(f"/runs/{run_id}/task-results").json()["items"]
    }
    assert listed["policy"]["status"] == "overridden"
    assert listed["costs"]["status"] == "passed"
    assert listed["costs"]["override"] is None
    override = listed["policy"]["override"]
    assert override["comment"] == "approved by CAB"
    assert override["by"].startswith("at-")
    assert override["at"]
    public = service_request(gateway, "GET", sent["policy"].result_id).json()
    assert public["override"] == override
    assert raw_item(aws, sent["policy"].result_id)["status"] == "overridden"
    assert resumes.resumed[-1] == ("t", {"decision": "override"})

    again = admin.post(f"/runs/{run_id}/actions/override-tasks", {"comment": "again"})

    assert_error(again, 409)
    assert [r for r in resumes.resumed if r == ("t", {"decision": "override"})] == [
        ("t", {"decision": "override"})
    ]


def test_a_run_that_is_not_stopped_cannot_be_overridden(
    aws, machinery, admin, service, ws, gateway
):
    run_id, sent = stage_with(
        aws, machinery, admin, service, ws, Stage.POST_PLAN, {"policy": "mandatory"}
    )
    answer(gateway, sent["policy"], "passed")
    conclude(machinery, run_id, Stage.POST_PLAN, sent)

    assert_error(admin.post(f"/runs/{run_id}/actions/override-tasks", {}), 409)


def test_a_mandatory_failure_at_post_apply_never_blocks(
    aws, machinery, admin, service, ws, gateway, resumes
):
    run_id, sent = stage_with(
        aws, machinery, admin, service, ws, Stage.POST_APPLY, {"audit": "mandatory"}
    )
    assert admin.get(f"/runs/{run_id}").json()["status"] == "post_apply_running"
    answer(gateway, sent["audit"], "failed", "drift found")

    conclude(machinery, run_id, Stage.POST_APPLY, sent)

    summary = stage_of(admin, run_id, "post_apply")
    assert summary["status"] == "passed"
    [warning] = summary["warnings"]
    assert "audit" in warning and "drift found" in warning
    assert admin.get(f"/runs/{run_id}").json()["error"] is None
    assert resumes.resumed[-1] == ("t", {"decision": "continue"})


def test_a_mandatory_task_whose_delivery_failed_blocks(aws, machinery, admin, service, ws, resumes):
    attach(admin, ws, create_task(admin, service.url, name="policy"), ["post_plan"])
    run_id = run_at(aws, machinery, admin, ws, Stage.POST_PLAN)
    [item] = prepare(machinery, run_id, Stage.POST_PLAN)
    service.status = 500
    dispatch(machinery, item)

    machinery.task_stages.conclude(
        ConcludeInput(run_id=run_id, stage=Stage.POST_PLAN, tasks=[item], task_token="t")
    )

    assert stage_of(admin, run_id, "post_plan")["status"] == "awaiting_override"
    error = admin.get(f"/runs/{run_id}").json()["error"]
    assert "policy" in error["message"] and "errored" in error["message"]
    assert ("t", {"decision": "continue"}) not in resumes.resumed


def test_a_result_still_open_at_conclude_times_out_and_blocks(
    aws, machinery, admin, service, ws, gateway, resumes
):
    """The workflow's own backstop fired before the sweep."""
    run_id, sent = stage_with(
        aws, machinery, admin, service, ws, Stage.POST_PLAN, {"policy": "mandatory"}
    )

    conclude(machinery, run_id, Stage.POST_PLAN, sent)

    assert raw_item(aws, sent["policy"].result_id)["status"] == "timeout"
    assert stage_of(admin, run_id, "post_plan")["status"] == "awaiting_override"
    assert_error(
        callback(gateway, sent["policy"].result_id, sent["policy"].token, callback_body("passed")),
        410,
    )


def test_closing_a_run_s_open_results_cancels_them_and_kills_their_tokens(
    aws, machinery, admin, service, ws, gateway
):
    run_id, sent = stage_with(
        aws,
        machinery,
        admin,
        service,
        ws,
        Stage.POST_PLAN,
        {"pending": "mandatory", "running": "mandatory", "done": "advisory"},
    )
    answer(gateway, sent["running"], "running", "halfway")
    answer(gateway, sent["done"], "passed", "fine")
    run = machinery.runs.get(run_id)
    assert run is not None

    machinery.task_stages.close_open_results(run)

    statuses = {name: raw_item(aws, s.result_id)["status"] for name, s in sent.items()}
    assert statuses == {"pending": "canceled", "running": "canceled", "done": "passed"}
    assert "before the task finished" in raw_item(aws, sent["pending"].result_id)["message"]
    for name in ("pending", "running"):
        one = sent[name]
        assert_error(callback(gateway, one.result_id, one.token, callback_body("passed")), 410)
        assert_error(
            service_request(gateway, "GET", one.result_id, "plan-json", token=one.token), 410
        )
        item = raw_item(aws, one.result_id)
        assert "due_at" not in item and "due_shard" not in item
    assert stage_of(admin, run_id, "post_plan")["status"] == "canceled"


@pytest.mark.parametrize("stage", [Stage.PRE_PLAN, Stage.PRE_APPLY])
def test_a_mandatory_failure_stops_the_run_at_every_stage_before_the_apply(
    aws, machinery, admin, service, ws, gateway, resumes, stage
):
    run_id, sent = stage_with(aws, machinery, admin, service, ws, stage, {"policy": "mandatory"})
    answer(gateway, sent["policy"], "failed", "no")

    conclude(machinery, run_id, stage, sent)

    assert stage_of(admin, run_id, stage.value)["status"] == "awaiting_override"
    assert admin.get(f"/runs/{run_id}").json()["error"]["stage"] == stage.value
    assert ("t", {"decision": "continue"}) not in resumes.resumed


def test_a_reader_cannot_override(aws, machinery, admin, reader, service, ws, gateway):
    run_id, _ = stopped_run(aws, machinery, admin, service, ws, gateway)

    assert_error(reader.post(f"/runs/{run_id}/actions/override-tasks", {}), 403)
    assert stage_of(admin, run_id, "post_plan")["status"] == "awaiting_override"


def test_a_global_task_runs_unless_the_workspace_attaches_it_itself(
    aws, machinery, admin, service, ws
):
    everywhere = {"enabled": True, "stages": ["post_plan"], "enforcement_level": "mandatory"}
    global_id = create_task(admin, service.url, name="global-policy", **{"global": everywhere})
    attached_global = create_task(admin, service.url, name="also-global", **{"global": everywhere})
    attach(admin, ws, attached_global, ["post_plan"], "advisory")  # the workspace's own wins
    create_task(
        admin,
        service.url,
        name="disabled",
        enabled=False,
        **{"global": everywhere},
    )
    run_id = run_at(aws, machinery, admin, ws, Stage.POST_PLAN)

    items = {i.run_task_id: i for i in prepare(machinery, run_id, Stage.POST_PLAN)}

    assert set(items) == {global_id, attached_global}
    assert items[global_id].workspace_run_task_id is None
    assert items[global_id].enforcement_level == "mandatory"
    assert items[attached_global].workspace_run_task_id is not None
    assert items[attached_global].enforcement_level == "advisory"
    dispatch(machinery, items[global_id])
    body = service.webhooks[-1].json()
    assert body["task_result_enforcement_level"] == "mandatory"
    assert raw_item(aws, items[global_id].result_id).get("workspace_run_task_id") is None


def test_a_task_deleted_before_its_dispatch_errors_its_result(
    aws, machinery, admin, service, ws, resumes
):
    task_id = create_task(admin, service.url, name="short-lived")
    attach(admin, ws, task_id, ["post_plan"])
    run_id = run_at(aws, machinery, admin, ws, Stage.POST_PLAN)
    [item] = prepare(machinery, run_id, Stage.POST_PLAN)
    assert admin.delete(f"/run-tasks/{task_id}").status == 204

    dispatch(machinery, item, task_token="wait")

    stored = raw_item(aws, item.result_id)
    assert stored["status"] == "errored"
    assert "deleted" in stored["message"]
    assert service.webhooks == []
    assert resumes.resumed == [("wait", {"result_id": item.result_id, "status": "errored"})]


def test_a_speculative_run_says_so(aws, machinery, admin, service, ws):
    attach(admin, ws, create_task(admin, service.url), ["post_plan"])
    run_id = run_at(aws, machinery, admin, ws, Stage.POST_PLAN, operation="plan_only")

    [sent] = dispatch_all(machinery, service, run_id, ws, Stage.POST_PLAN)

    assert sent.webhook.json()["is_speculative"] is True


def test_a_stage_prepared_again_carries_on_and_one_for_an_ended_run_is_refused(
    aws, machinery, admin, service, ws
):
    """The transition to ``<stage>_running`` is never dropped: a retried prepare finds the run
    there already; a run that ended meanwhile cannot start a stage (the workflow's Catch then
    finds it ended)."""
    attach(admin, ws, create_task(admin, service.url), ["post_plan"], "mandatory")
    run_id = run_at(aws, machinery, admin, ws, Stage.POST_PLAN)

    assert len(prepare(machinery, run_id, Stage.POST_PLAN)) == 1
    assert len(prepare(machinery, run_id, Stage.POST_PLAN)) == 1
    assert admin.get(f"/runs/{run_id}").json()["status"] == "post_plan_running"

    run = machinery.runs.get(run_id)
    assert run is not None
    machinery.finisher.end(run, RunStatus.CANCELED, None, "a cancel")
    with pytest.raises(RunNotRunnable, match="is canceled; it cannot become post_plan_running"):
        prepare(machinery, run_id, Stage.POST_PLAN)
