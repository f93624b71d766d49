"""The run-task service's side (design §6): the callback, the data endpoints and the public
view under /api/v1/run-task-results/{id}, served by RunTaskCallbackFunction without the user
API's authorizer, and the access-token rules (401 / 403 / 410). Results are dispatched by the
workflow's own steps to a real HTTP server that records the webhook (and its token)."""

import io
import json
import tarfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from iacp.orchestration.task_stages import StageRef
from iacp.orchestration.task_sweep import sweep_timed_out_results
from iacp.orchestration.workflow_client import resume
from iacp.principal import Role
from iacp.runs.artifacts import MAX_INLINE_DOCUMENT_BYTES
from iacp.runtasks.models import Stage
from iacp.runtasks.results import DynamoTaskResultStore
from local.gateway import GatewayReply
from tests.conftest import mint
from tests.runs_support import SIMPLE_CONFIGURATION, plan_documents
from tests.runtasks_support import (
    PLAN,
    Dispatched,
    attach,
    behind,
    callback,
    callback_body,
    claims_of,
    create_task,
    dispatch,
    dispatch_all,
    new_workspace,
    outcome,
    raw_item,
    run_at,
    service_request,
    signing_key,
    unsigned_token,
)


@pytest.fixture
def ws(aws, admin) -> str:
    return new_workspace(aws, admin, "callbacks")


@pytest.fixture
def task_id(admin, service, ws) -> str:
    task = create_task(admin, service.url, name="checker", timeout_seconds=600)
    attach(admin, ws, task, ["pre_plan", "post_plan"], "mandatory")
    return task


def dispatched(aws, machinery, admin, service, ws, stage: Stage = Stage.POST_PLAN) -> Dispatched:
    run_id = run_at(aws, machinery, admin, ws, stage)
    [sent] = dispatch_all(machinery, service, run_id, ws, stage)
    return sent


@pytest.fixture
def sent(aws, machinery, admin, service, ws, task_id, resumes):
    return dispatched(aws, machinery, admin, service, ws)


def reply_json(reply) -> Any:
    assert reply.headers.get("Content-Type", "").startswith("application/json"), reply.headers
    return reply.json()


def assert_status(reply, status: int) -> dict:
    assert reply.status == status, (reply.status, reply.body)
    if status >= 400:
        error = reply_json(reply)["errors"][0]
        assert error["status"] == str(status)
        assert error["detail"]
        return error
    return reply_json(reply) if reply.body else {}


# --- the callback ---------------------------------------------------------------------------


def test_a_passed_callback_records_the_result_and_resumes_the_workflow(
    aws, gateway, admin, sent, resumes
):
    body = callback_body(
        "passed",
        "All 2 checks passed",
        "https://checker.example.com/runs/1",
        [outcome(1), outcome(2, tags={"Severity": [{"label": "Low", "level": "info"}]})],
    )

    reply = callback(gateway, sent.result_id, sent.token, body)

    shown = assert_status(reply, 200)
    assert shown["status"] == "passed"
    assert shown["message"] == "All 2 checks passed"
    assert shown["url"] == "https://checker.example.com/runs/1"
    assert [o["outcome_id"] for o in shown["outcomes"]] == ["CHECK-1", "CHECK-2"]
    assert shown["outcomes"][0]["tags"] == {"Status": [{"label": "Failed", "level": "error"}]}
    assert shown["outcomes"][1]["tags"] == {"Severity": [{"label": "Low", "level": "info"}]}
    assert shown["outcomes"][0]["body"] == "# Check 1\n\nDetails."
    assert shown["outcomes"][0]["url"] == "https://checker.example.com/findings/1"
    assert resumes.resumed == [
        (f"wait-{sent.result_id}", {"result_id": sent.result_id, "status": "passed"})
    ]
    item = raw_item(aws, sent.result_id)
    assert "due_at" not in item and "due_shard" not in item

    [listed] = admin.get(f"/runs/{sent.run_id}/task-results").json()["items"]
    assert listed["id"] == sent.result_id
    assert listed["status"] == "passed"
    assert listed["message"] == "All 2 checks passed"
    assert listed["url"] == "https://checker.example.com/runs/1"
    assert listed["stage"] == "post_plan"
    assert listed["enforcement_level"] == "mandatory"
    assert listed["outcomes"] == shown["outcomes"]


def test_post_works_as_well_as_patch_and_failed_is_recorded(aws, gateway, sent, resumes):
    reply = callback(
        gateway, sent.result_id, sent.token, callback_body("failed", "1 check failed"), "POST"
    )

    assert assert_status(reply, 200)["status"] == "failed"
    assert raw_item(aws, sent.result_id)["message"] == "1 check failed"
    assert resumes.resumed[-1][1] == {"result_id": sent.result_id, "status": "failed"}


def test_the_public_view_needs_no_token_and_shows_no_secret(aws, gateway, sent):
    callback(gateway, sent.result_id, sent.token, callback_body("running", "checking"))

    reply = service_request(gateway, "GET", sent.result_id)

    shown = assert_status(reply, 200)
    assert shown["id"] == sent.result_id
    assert shown["status"] == "running"
    assert shown["message"] == "checking"
    item = raw_item(aws, sent.result_id)
    for secret in (sent.token, item["sealed_access_token"], item["task_token"], item["token_id"]):
        assert secret not in reply.body
    for name in ("access_token", "task_token", "sealed_access_token", "token_id", "due_at"):
        assert name not in shown
    assert service_request(gateway, "GET", "taskrs-" + "0" * 16).status == 404


def test_a_heartbeat_moves_the_deadline_on_and_may_repeat(
    aws, machinery, admin, service, ws, task_id, gateway, resumes, monkeypatch
):
    # Dispatched five minutes ago: due in five minutes (timeout 600 s).
    monkeypatch.setattr(machinery.task_stages, "_clock", behind(300))
    sent = dispatched(aws, machinery, admin, service, ws)
    before = raw_item(aws, sent.result_id)

    first = callback(gateway, sent.result_id, sent.token, callback_body("running", "50%"))
    after_first = raw_item(aws, sent.result_id)
    second = callback(gateway, sent.result_id, sent.token, callback_body("running", "90%"))
    after_second = raw_item(aws, sent.result_id)

    assert assert_status(first, 200)["status"] == "running"
    assert assert_status(second, 200)["message"] == "90%"
    assert before["status"] == "pending"
    assert after_first["status"] == "running"
    now = time.time()
    assert int(before["due_at"]) <= now + 300 + 1
    assert int(after_first["due_at"]) >= now + 600 - 5  # a full timeout from now
    assert int(after_first["due_at"]) > int(before["due_at"])
    assert int(after_second["due_at"]) >= int(after_first["due_at"])
    assert after_second["due_shard"] == "open"  # still in the sweep's index
    assert resumes.resumed == []  # a heartbeat resumes nothing
    # Still open: the final answer is taken.
    assert callback(gateway, sent.result_id, sent.token, callback_body("passed")).status == 200


def test_a_heartbeat_never_moves_the_deadline_past_the_max_run_time(
    aws, machinery, admin, service, ws, gateway, monkeypatch
):
    task = create_task(admin, service.url, name="slow", timeout_seconds=600, max_run_seconds=900)
    attach(admin, ws, task, ["post_plan"])
    monkeypatch.setattr(machinery.task_stages, "_clock", behind(800))
    sent = dispatched(aws, machinery, admin, service, ws)

    callback(gateway, sent.result_id, sent.token, callback_body("running"))

    item = raw_item(aws, sent.result_id)
    assert int(item["due_at"]) == int(item["run_deadline"])
    assert int(item["run_deadline"]) <= time.time() + 100 + 1


def test_unknown_attributes_are_ignored_and_outcome_id_may_be_missing(aws, gateway, sent):
    body = callback_body(
        "passed",
        "fine",
        outcomes=[{"description": "No id", "tags": {}, "severity": "high"}],
        extra="ignored",
    )
    body["data"]["id"] = "whatever"
    body["meta"] = {"anything": True}

    reply = callback(gateway, sent.result_id, sent.token, body)

    shown = assert_status(reply, 200)
    assert shown["status"] == "passed"
    assert shown["outcomes"][0]["outcome_id"] is None
    assert shown["outcomes"][0]["description"] == "No id"
    assert "extra" not in raw_item(aws, sent.result_id)


def test_tags_labels_without_a_level_default_to_none(gateway, sent):
    body = callback_body(
        "failed", outcomes=[outcome(1, tags={"Status": [{"label": "Needs review"}]})]
    )

    shown = assert_status(callback(gateway, sent.result_id, sent.token, body), 200)

    assert shown["outcomes"][0]["tags"] == {"Status": [{"label": "Needs review", "level": "none"}]}


BAD_BODIES = {
    "unknown status": callback_body("done"),
    "no status": {"data": {"type": "task-results", "attributes": {"message": "hi"}}},
    "no data": {"status": "passed"},
    "message > 1000": callback_body("passed", "m" * 1001),
    "url > 500": callback_body("passed", url="https://x.example.com/" + "u" * 480),
    "11 outcomes": callback_body("failed", outcomes=[outcome(n) for n in range(11)]),
    "description > 1000": callback_body("failed", outcomes=[outcome(1, description="d" * 1001)]),
    "body > 10,000": callback_body("failed", outcomes=[outcome(1, body="b" * 10_001)]),
    "tag level critical": callback_body(
        "failed", outcomes=[outcome(1, tags={"Severity": [{"label": "x", "level": "critical"}]})]
    ),
    "a JSON list": [callback_body("passed")],
    # The result's url and each outcome's are links people follow: http(s) only.
    "url javascript:": callback_body("passed", url="javascript:alert(document.cookie)"),
    "url data:": callback_body("passed", url="data:text/html,<script>alert(1)</script>"),
    "url ftp:": callback_body("passed", url="ftp://x.example.com/report"),
    "url relative": callback_body("passed", url="/findings/1"),
    "url with a blank": callback_body("passed", url="https://x.example.com/a b"),
    "url without a host": callback_body("passed", url="https:///findings"),
    "outcome url javascript:": callback_body(
        "failed", outcomes=[outcome(1, url="JavaScript:alert(1)")]
    ),
    "empty tag name": callback_body("failed", outcomes=[outcome(1, tags={"": [{"label": "x"}]})]),
    "tag name > 200": callback_body(
        "failed", outcomes=[outcome(1, tags={"t" * 201: [{"label": "x"}]})]
    ),
    # Each field within its limit, but more than one DynamoDB item holds (400 KB): 4-byte
    # characters, or tags with thousands of labels.
    "too large to store (4-byte characters)": callback_body(
        "failed", outcomes=[outcome(n, body="\U0001f600" * 10_000) for n in range(10)]
    ),
    "too large to store (tags)": callback_body(
        "failed",
        outcomes=[
            outcome(
                n, tags={f"t{k}": [{"label": "l" * 200, "level": "info"}] * 100 for k in range(20)}
            )
            for n in range(10)
        ],
    ),
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
def test_a_bad_callback_body_is_a_422_and_writes_nothing(aws, gateway, sent, resumes, case):
    before = raw_item(aws, sent.result_id)

    reply = callback(gateway, sent.result_id, sent.token, BAD_BODIES[case])

    assert_status(reply, 422)
    assert raw_item(aws, sent.result_id) == before
    assert resumes.resumed == []


def test_limits_are_inclusive(gateway, sent):
    body = callback_body(
        "passed",
        "m" * 1000,
        "https://x.example.com/" + "u" * (500 - len("https://x.example.com/")),
        [
            outcome(
                n,
                description="d" * 1000,
                body="b" * 10_000,
                tags={f"{k:0200d}": [{"label": "l" * 200, "level": "warning"}] for k in range(20)},
            )
            for n in range(10)
        ],
    )

    assert callback(gateway, sent.result_id, sent.token, body).status == 200


@pytest.mark.parametrize(
    "url", ["http://checker.internal:8080/runs/1?tab=policy#top", "HTTPS://X.EXAMPLE.COM/"]
)
def test_a_url_may_be_http_or_https(gateway, sent, url):
    body = callback_body("passed", url=url, outcomes=[outcome(1, url=url)])

    reply = callback(gateway, sent.result_id, sent.token, body)

    assert reply.status == 200, reply.body
    assert reply.json()["url"] == url and reply.json()["outcomes"][0]["url"] == url


def test_a_url_that_is_not_http_is_refused_naming_the_field(gateway, sent):
    reply = callback(gateway, sent.result_id, sent.token, callback_body("passed", url="data:,x"))

    error = assert_status(reply, 422)
    assert error["source"] == {"pointer": "/data/attributes/url"}
    assert error["detail"] == "data/attributes/url: Value error, must be an http:// or https:// URL"


def test_a_body_that_is_not_json_is_a_422_and_writes_nothing(aws, gateway, sent):
    before = raw_item(aws, sent.result_id)

    reply = service_request(
        gateway, "PATCH", sent.result_id, "callback", token=sent.token, raw_body="{not json"
    )

    assert_status(reply, 422)
    assert raw_item(aws, sent.result_id) == before


def test_a_callback_without_a_body_is_a_422(aws, gateway, sent):
    before = raw_item(aws, sent.result_id)

    reply = service_request(gateway, "PATCH", sent.result_id, "callback", token=sent.token)

    assert_status(reply, 422)
    assert raw_item(aws, sent.result_id) == before


# --- the access token -----------------------------------------------------------------------


def resigned(aws, token: str, key: bytes | None = None, **changes) -> str:
    """The token's own claims, changed, signed HS256 with the platform's key (or ``key``)."""
    claims = claims_of(token) | changes
    return jwt.encode(claims, key or signing_key(aws), algorithm="HS256")


def data_request(gateway, result_id: str, **auth: Any) -> GatewayReply:
    return service_request(gateway, "GET", result_id, "resource-changes", **auth)


def test_the_re_signed_token_itself_is_accepted(aws, gateway, sent):
    """The control for the forgeries below: the same claims, the platform's key: 200."""
    assert data_request(gateway, sent.result_id, token=resigned(aws, sent.token)).status == 200


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer garbage",
        "Bearer a.b.c",
    ],
)
def test_missing_or_malformed_tokens_are_401(aws, gateway, sent, authorization):
    before = raw_item(aws, sent.result_id)
    auth = {} if authorization is None else {"authorization": authorization}

    assert_status(data_request(gateway, sent.result_id, **auth), 401)
    assert_status(
        service_request(
            gateway, "PATCH", sent.result_id, "callback", body=callback_body("passed"), **auth
        ),
        401,
    )
    assert raw_item(aws, sent.result_id) == before


def test_a_token_that_is_not_a_bearer_is_401(gateway, sent):
    reply = data_request(gateway, sent.result_id, authorization=f"Token {sent.token}")

    assert_status(reply, 401)


def test_a_token_signed_with_another_key_is_401(aws, gateway, sent):
    forged = resigned(aws, sent.token, key=b"k" * 32)

    assert_status(data_request(gateway, sent.result_id, token=forged), 401)
    assert_status(callback(gateway, sent.result_id, forged, callback_body("passed")), 401)
    assert raw_item(aws, sent.result_id)["status"] == "pending"


def test_an_alg_none_token_is_401(aws, gateway, sent):
    forged = unsigned_token(claims_of(sent.token))

    assert_status(data_request(gateway, sent.result_id, token=forged), 401)
    assert_status(callback(gateway, sent.result_id, forged, callback_body("passed")), 401)
    assert raw_item(aws, sent.result_id)["status"] == "pending"


def test_an_rs256_token_is_401(aws, gateway, sent):
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims_of(sent.token), private_key, algorithm="RS256")

    assert jwt.get_unverified_header(forged)["alg"] == "RS256"
    assert_status(data_request(gateway, sent.result_id, token=forged), 401)
    assert_status(callback(gateway, sent.result_id, forged, callback_body("passed")), 401)


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_an_hs512_token_signed_with_the_platform_s_key_is_401(aws, gateway, sent):
    """HS512 with the platform's own key: the algorithm is pinned, not just the key."""
    claims = claims_of(sent.token)
    forged = jwt.encode(claims, signing_key(aws), algorithm="HS512")

    assert_status(data_request(gateway, sent.result_id, token=forged), 401)


def test_an_expired_token_is_401(aws, gateway, sent):
    past = datetime.now(UTC) - timedelta(hours=2)
    expired = resigned(
        aws,
        sent.token,
        iat=int(past.timestamp()),
        nbf=int(past.timestamp()),
        exp=int((past + timedelta(minutes=30)).timestamp()),
    )

    assert_status(data_request(gateway, sent.result_id, token=expired), 401)
    assert_status(callback(gateway, sent.result_id, expired, callback_body("passed")), 401)
    assert raw_item(aws, sent.result_id)["status"] == "pending"


def test_a_token_not_yet_valid_is_401(aws, gateway, sent):
    future = int((datetime.now(UTC) + timedelta(hours=1)).timestamp())

    assert_status(
        data_request(gateway, sent.result_id, token=resigned(aws, sent.token, nbf=future)), 401
    )


def test_a_token_with_a_claim_missing_is_401(aws, gateway, sent):
    claims = claims_of(sent.token)
    del claims["exp"]
    forged = jwt.encode(claims, signing_key(aws), algorithm="HS256")

    assert_status(data_request(gateway, sent.result_id, token=forged), 401)


def test_a_token_from_another_issuer_is_401(aws, gateway, sent):
    forged = resigned(aws, sent.token, iss="someone-else")

    assert_status(data_request(gateway, sent.result_id, token=forged), 401)


def test_a_valid_token_for_another_result_is_403(aws, machinery, admin, service, ws, gateway):
    for name in ("first", "second"):
        attach(admin, ws, create_task(admin, service.url, name=name), ["post_plan"])
    run_id = run_at(aws, machinery, admin, ws, Stage.POST_PLAN)
    first, second = dispatch_all(machinery, service, run_id, ws, Stage.POST_PLAN)
    before = raw_item(aws, second.result_id)

    assert_status(data_request(gateway, second.result_id, token=first.token), 403)
    assert_status(callback(gateway, second.result_id, first.token, callback_body("passed")), 403)
    assert raw_item(aws, second.result_id) == before
    # Each token still works for its own result.
    assert data_request(gateway, first.result_id, token=first.token).status == 200
    assert data_request(gateway, second.result_id, token=second.token).status == 200


@pytest.mark.parametrize("final", ["passed", "failed"])
def test_a_token_dies_when_its_result_is_final(aws, gateway, sent, final):
    assert callback(gateway, sent.result_id, sent.token, callback_body(final, "done")).status == 200
    assert claims_of(sent.token)["exp"] > time.time() + 60  # not expired

    assert_status(callback(gateway, sent.result_id, sent.token, callback_body("passed")), 410)
    assert_status(callback(gateway, sent.result_id, sent.token, callback_body("running")), 410)
    assert_status(data_request(gateway, sent.result_id, token=sent.token), 410)
    for what in ("plan-json", "configuration-version"):
        assert_status(service_request(gateway, "GET", sent.result_id, what, token=sent.token), 410)
    assert raw_item(aws, sent.result_id)["message"] == "done"


def test_a_token_dies_when_its_result_times_out(aws, gateway, sent):
    store = DynamoTaskResultStore(aws.refs["TaskResultsTable"])
    later = behind(-601)  # past the task's 600 s timeout

    report = sweep_timed_out_results(store, resume, clock=later)

    assert report.timed_out == 1
    assert raw_item(aws, sent.result_id)["status"] == "timeout"
    assert_status(callback(gateway, sent.result_id, sent.token, callback_body("passed")), 410)
    assert_status(data_request(gateway, sent.result_id, token=sent.token), 410)


def test_a_token_dies_when_its_run_ends(aws, machinery, gateway, sent):
    run = machinery.runs.get(sent.run_id)
    assert run is not None

    machinery.task_stages.close_open_results(run)

    assert raw_item(aws, sent.result_id)["status"] == "canceled"
    assert_status(callback(gateway, sent.result_id, sent.token, callback_body("passed")), 410)
    assert_status(data_request(gateway, sent.result_id, token=sent.token), 410)


def test_a_token_of_an_errored_delivery_is_dead(
    aws, machinery, admin, service, ws, task_id, gateway
):
    run_id = run_at(aws, machinery, admin, ws, Stage.POST_PLAN)
    service.status = 503
    [item] = machinery.task_stages.prepare(StageRef(run_id=run_id, stage=Stage.POST_PLAN)).tasks
    dispatch(machinery, item)
    token = service.webhooks[-1].json()["access_token"]  # the service got it all the same

    assert raw_item(aws, item.result_id)["status"] == "errored"
    assert_status(callback(gateway, item.result_id, token, callback_body("passed")), 410)
    assert raw_item(aws, item.result_id)["status"] == "errored"


def test_a_second_dispatch_supersedes_the_first_token(
    aws, machinery, admin, service, ws, gateway, sent
):
    dispatch(machinery, sent.item, task_token="retried")  # the Map retried the step
    second = service.webhooks[-1].json()["access_token"]

    assert len(service.webhooks) == 2
    assert claims_of(second)["jti"] != claims_of(sent.token)["jti"]
    assert_status(data_request(gateway, sent.result_id, token=sent.token), 401)
    assert_status(callback(gateway, sent.result_id, sent.token, callback_body("passed")), 401)
    assert raw_item(aws, sent.result_id)["status"] == "pending"
    assert callback(gateway, sent.result_id, second, callback_body("passed")).status == 200


# --- the data endpoints ---------------------------------------------------------------------


def test_plan_json_is_the_stored_plan(aws, gateway, sent):
    reply = service_request(gateway, "GET", sent.result_id, "plan-json", token=sent.token)

    assert reply.status == 200, reply.body
    assert reply.headers["Content-Type"].startswith("application/json")
    assert json.loads(reply.body) == PLAN


def test_resource_changes_are_the_plan_s(gateway, sent):
    reply = data_request(gateway, sent.result_id, token=sent.token)

    assert assert_status(reply, 200) == {"resource_changes": PLAN["resource_changes"]}


def test_the_data_endpoints_leave_the_result_open(aws, gateway, sent):
    before = raw_item(aws, sent.result_id)
    for what in ("plan-json", "resource-changes", "configuration-version"):
        service_request(gateway, "GET", sent.result_id, what, token=sent.token)

    assert raw_item(aws, sent.result_id) == before


def test_a_pre_plan_result_has_no_plan(aws, machinery, admin, service, ws, task_id, gateway):
    sent = dispatched(aws, machinery, admin, service, ws, Stage.PRE_PLAN)

    for what in ("plan-json", "resource-changes"):
        assert_status(service_request(gateway, "GET", sent.result_id, what, token=sent.token), 404)
    # The configuration is there before the plan.
    reply = service_request(
        gateway, "GET", sent.result_id, "configuration-version", token=sent.token
    )
    assert reply.status == 307


def test_no_plan_yet_is_a_404(aws, gateway, sent):
    for document in ("plan.json", "resource-changes.json"):
        boto3.client("s3").delete_object(
            Bucket=aws.refs["ArtifactsBucket"], Key=f"runs/{sent.run_id}/plan/{document}"
        )

    for what in ("plan-json", "resource-changes"):
        assert_status(service_request(gateway, "GET", sent.result_id, what, token=sent.token), 404)


def test_configuration_version_redirects_to_the_archive(gateway, sent):
    reply = service_request(
        gateway, "GET", sent.result_id, "configuration-version", token=sent.token
    )

    assert reply.status == 307, reply.body
    location = reply.headers["Location"]
    assert location.startswith("https://")
    assert "Signature=" in location or "X-Amz-Signature=" in location
    archive = requests.get(location, timeout=30)
    assert archive.status_code == 200
    with tarfile.open(fileobj=io.BytesIO(archive.content), mode="r:gz") as tar:
        assert sorted(tar.getnames()) == sorted(SIMPLE_CONFIGURATION)


def test_the_endpoints_need_no_api_token_and_refuse_one(aws, gateway, sent):
    """An API token is not an access token: the authorizer is not in front of these."""
    api_token = mint(aws, Role.ADMIN)

    assert_status(data_request(gateway, sent.result_id, token=api_token), 401)
    assert_status(callback(gateway, sent.result_id, api_token, callback_body("passed")), 401)


@pytest.mark.parametrize("what", ["plan-json", "resource-changes"])
def test_a_document_too_large_for_a_lambda_reply_is_a_redirect(aws, gateway, sent, what):
    """A plan of many resources: both its JSON and its resource changes outgrow a reply."""
    change = {"address": "terraform_data.x", "change": {"actions": ["create"]}}
    changes = [change | {"index": i} for i in range(MAX_INLINE_DOCUMENT_BYTES // 60)]
    large = PLAN | {"resource_changes": changes}
    plan_documents(aws, sent.run_id, large)

    reply = service_request(gateway, "GET", sent.result_id, what, token=sent.token)

    assert reply.status == 307, reply.body[:200]
    downloaded = requests.get(reply.headers["Location"], timeout=30)
    assert downloaded.status_code == 200
    expected = large if what == "plan-json" else {"resource_changes": changes}
    assert downloaded.json() == expected
