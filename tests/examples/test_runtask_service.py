"""The reference run-task service, over real HTTP on 127.0.0.1.

A small fake platform serves the JSON plan and records the result callbacks; the tests send
the real service signed requests as the platform would, and read what it called back.
"""

import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from examples.runtask_service import RunTaskService, check_plan, policy, protocol

KEY = b"the-task-hmac-key"
TOKEN = "run-task-access-token-1234"


def change(address: str, *actions: str, **extra: Any) -> dict[str, Any]:
    """A ``resource_changes`` entry of a JSON plan."""
    type_, name = address.rsplit(".", 1)
    return {
        "address": address,
        "mode": "managed",
        "type": type_,
        "name": name,
        "provider_name": "registry.terraform.io/hashicorp/aws",
        "change": {"actions": list(actions), "before": None, "after": {}},
        **extra,
    }


def plan(*changes: dict[str, Any]) -> dict[str, Any]:
    return {
        "format_version": "1.2",
        "terraform_version": "1.9.8",
        "resource_changes": list(changes),
    }


DESTROYING_PLAN = plan(
    change("aws_s3_bucket.data", "create"),
    change("aws_s3_bucket.logs", "delete"),
)
CREATING_PLAN = plan(change("aws_s3_bucket.data", "create"), change("aws_iam_role.app", "update"))


class FakePlatform:
    """The platform's side of the protocol: the plan JSON API and the result callback.

    - ``GET /plan-json``: the plan, for the right bearer token (401 otherwise);
    - ``GET /plan-json-redirect``: 307 to ``/presigned-plan``, which refuses requests
      carrying an Authorization header, as S3 refuses a presigned URL with one;
    - ``GET /not-json``: 200 with a body that is not JSON;
    - ``PATCH /callback``: recorded, answered ``callback_status``.
    """

    def __init__(self, plan: dict[str, Any]) -> None:
        self.plan = plan
        self.callback_status = 200
        self.plan_requests: list[dict[str, Any]] = []
        self.callbacks: list[dict[str, Any]] = []
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                authorization = self.headers.get("Authorization")
                platform.plan_requests.append({"path": self.path, "authorization": authorization})
                if self.path == "/presigned-plan?X-Amz-Signature=abc":
                    status = 400 if authorization else 200
                    self.reply(status, json.dumps(platform.plan).encode())
                elif authorization != f"Bearer {TOKEN}":
                    self.reply(401, b'{"errors": [{"status": "401"}]}')
                elif self.path == "/plan-json":
                    self.reply(200, json.dumps(platform.plan).encode())
                elif self.path == "/plan-json-redirect":
                    self.reply(307, b"", Location="/presigned-plan?X-Amz-Signature=abc")
                elif self.path == "/not-json":
                    self.reply(200, b"<html>not a plan</html>")
                else:
                    self.reply(404, b"")

            def do_PATCH(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                platform.callbacks.append(
                    {
                        "path": self.path,
                        "authorization": self.headers.get("Authorization"),
                        "content_type": self.headers.get("Content-Type"),
                        "document": json.loads(body),
                    }
                )
                self.reply(platform.callback_status, b"{}")

            def reply(self, status: int, body: bytes, **headers: str) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def statuses(self) -> list[str]:
        return [c["document"]["data"]["attributes"]["status"] for c in self.callbacks]


@pytest.fixture
def platform() -> Iterator[FakePlatform]:
    platform = FakePlatform(DESTROYING_PLAN)
    yield platform
    platform.close()


@pytest.fixture
def service() -> Iterator[RunTaskService]:
    with RunTaskService(KEY, http_timeout=5) as service:
        yield service


def run_task_request(platform: FakePlatform, stage: str = "post_plan", **changes: Any) -> dict:
    """A request as the platform sends it for ``stage``."""
    request = {
        "payload_version": 1,
        "stage": stage,
        "access_token": TOKEN,
        "is_speculative": False,
        "capabilities": {"outcomes": True},
        "configuration_version_id": "cv-123",
        "configuration_version_download_url": f"{platform.url}/configuration-versions/cv-123",
        "organization_name": "acme",
        "run_app_url": "https://iacp.example.com/app/acme/networking/runs/run-123",
        "run_created_at": "2024-05-01T12:00:00Z",
        "run_created_by": "alice",
        "run_id": "run-123",
        "run_message": "Queued manually",
        "task_result_callback_url": f"{platform.url}/callback",
        "task_result_enforcement_level": "mandatory",
        "task_result_id": "taskrs-123",
        "vcs_branch": None,
        "vcs_commit_url": None,
        "vcs_commit_hash": None,
        "vcs_pull_request_url": None,
        "vcs_repo_url": None,
        "workspace_app_url": "https://iacp.example.com/app/acme/networking",
        "workspace_id": "ws-123",
        "workspace_name": "networking",
        "workspace_working_directory": "",
    }
    if stage != "pre_plan":
        request["plan_json_api_url"] = f"{platform.url}/plan-json"
        request["resource_changes_api_url"] = f"{platform.url}/resource-changes"
    return {**request, **changes}


VERIFICATION_REQUEST = {
    "payload_version": 1,
    "stage": "test",
    "access_token": "test-token",
    "task_result_enforcement_level": "test",
    "task_result_callback_url": "https://iacp.example.com/api/v1/task-results/test/callback",
    "task_result_id": "taskrs-test",
    "run_id": "run-test",
}


def send(
    service: RunTaskService, request: dict[str, Any] | bytes, signature: str | None = None
) -> requests.Response:
    """POST ``request`` to the service, signed with KEY unless ``signature`` is given."""
    body = request if isinstance(request, bytes) else json.dumps(request).encode()
    if signature is None:
        signature = hmac.new(KEY, body, hashlib.sha512).hexdigest()
    return requests.post(
        service.url,
        data=body,
        headers={"Content-Type": "application/json", "X-TFC-Task-Signature": signature},
        timeout=5,
    )


def outcomes(callback: dict[str, Any]) -> list[dict[str, Any]]:
    data = callback["document"]["data"]
    return [
        o["attributes"] for o in data.get("relationships", {}).get("outcomes", {}).get("data", [])
    ]


# The request


def test_the_signature_is_the_hex_hmac_sha512_of_the_body():
    body = json.dumps({"stage": "post_plan"}).encode()

    expected = hmac.new(KEY, body, hashlib.sha512).hexdigest()
    assert protocol.sign(KEY, body) == expected
    assert protocol.signature_matches(KEY, body, expected)
    assert not protocol.signature_matches(KEY, body + b" ", expected)


def test_the_verification_request_is_answered_200_and_nothing_else(service, platform):
    reply = send(service, VERIFICATION_REQUEST)

    assert reply.status_code == 200
    service.wait_until_idle()
    assert service.requests == []
    assert service.callbacks == []


def test_a_request_signed_with_the_key_is_accepted(service, platform):
    reply = send(service, run_task_request(platform))

    assert reply.status_code == 200
    assert service.requests[0]["task_result_id"] == "taskrs-123"
    service.wait_for_callbacks(2)


@pytest.mark.parametrize(
    "signed",
    [
        pytest.param(
            lambda body: hmac.new(b"other", body, hashlib.sha512).hexdigest(), id="other-key"
        ),
        pytest.param(lambda body: hmac.new(KEY, body, hashlib.sha256).hexdigest(), id="sha256"),
        pytest.param(lambda body: "", id="empty"),
        pytest.param(lambda body: "é", id="not-ascii"),
    ],
)
def test_a_request_not_signed_with_the_key_gets_401_and_nothing_else(service, platform, signed):
    body = json.dumps(run_task_request(platform)).encode()

    reply = send(service, body, signature=signed(body))

    assert reply.status_code == 401
    service.wait_until_idle()
    assert service.requests == []
    assert platform.plan_requests == platform.callbacks == []


def test_a_body_changed_after_signing_gets_401(service, platform):
    body = json.dumps(run_task_request(platform)).encode()
    signature = hmac.new(KEY, body, hashlib.sha512).hexdigest()

    reply = send(service, body.replace(b"run-123", b"run-666"), signature=signature)

    assert reply.status_code == 401


def test_without_a_key_any_signature_is_accepted(platform):
    with RunTaskService(http_timeout=5) as service:
        reply = send(service, run_task_request(platform), signature="")

        assert reply.status_code == 200
        assert service.wait_for_callbacks(2) == [("running", 200), ("failed", 200)]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"not json", id="not-json"),
        pytest.param(b"[]", id="not-an-object"),
        pytest.param(
            json.dumps({"stage": "post_plan", "access_token": TOKEN}).encode(), id="no-callback"
        ),
        pytest.param(
            json.dumps(
                {
                    "stage": "post_plan",
                    "access_token": TOKEN,
                    "task_result_callback_url": "file:///etc/passwd",
                }
            ).encode(),
            id="callback-not-http",
        ),
    ],
)
def test_a_request_that_is_not_a_run_task_request_gets_400(service, body):
    reply = send(service, body)

    assert reply.status_code == 400
    assert service.requests == []


# The check and the callback


def test_a_plan_destroying_a_resource_fails(service, platform):
    send(service, run_task_request(platform))

    assert service.wait_for_callbacks(2) == [("running", 200), ("failed", 200)]
    assert platform.plan_requests == [{"path": "/plan-json", "authorization": f"Bearer {TOKEN}"}]
    running, result = platform.callbacks
    for callback in (running, result):
        assert callback["path"] == "/callback"
        assert callback["authorization"] == f"Bearer {TOKEN}"
        assert callback["content_type"] == "application/vnd.api+json"
    assert running["document"] == {
        "data": {
            "type": "task-results",
            "attributes": {"status": "running", "message": "Checking the plan"},
        }
    }
    attributes = result["document"]["data"]["attributes"]
    assert attributes == {
        "status": "failed",
        "message": "The plan destroys 1 resource: aws_s3_bucket.logs.",
    }
    [outcome] = result["document"]["data"]["relationships"]["outcomes"]["data"]
    assert outcome["type"] == "task-result-outcomes"
    assert outcome["attributes"]["outcome-id"] == "aws_s3_bucket.logs"
    assert outcome["attributes"]["description"] == "Destroys aws_s3_bucket.logs"
    assert "`aws_s3_bucket.logs` will be destroyed" in outcome["attributes"]["body"]
    assert outcome["attributes"]["tags"] == {"Action": [{"label": "delete", "level": "error"}]}


@pytest.mark.parametrize("stage", ["post_plan", "pre_apply", "post_apply"])
def test_a_plan_that_destroys_nothing_passes(service, platform, stage):
    platform.plan = CREATING_PLAN

    send(service, run_task_request(platform, stage=stage))

    assert service.wait_for_callbacks(2) == [("running", 200), ("passed", 200)]
    result = platform.callbacks[-1]
    assert result["document"]["data"]["attributes"]["message"] == "The plan destroys no resources."
    assert outcomes(result) == []
    assert "relationships" not in result["document"]["data"]


def test_pre_plan_passes_without_reading_a_plan(service, platform):
    send(service, run_task_request(platform, stage="pre_plan"))

    assert service.wait_for_callbacks(1) == [("passed", 200)]
    service.wait_until_idle()
    assert platform.plan_requests == []
    assert platform.statuses() == ["passed"]
    assert "pre_plan" in platform.callbacks[0]["document"]["data"]["attributes"]["message"]


def test_a_redirected_plan_is_fetched_without_the_token(service, platform):
    request = run_task_request(platform, plan_json_api_url=f"{platform.url}/plan-json-redirect")

    send(service, request)

    assert service.wait_for_callbacks(2) == [("running", 200), ("failed", 200)]
    assert platform.plan_requests == [
        {"path": "/plan-json-redirect", "authorization": f"Bearer {TOKEN}"},
        {"path": "/presigned-plan?X-Amz-Signature=abc", "authorization": None},
    ]


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/missing", "HTTP Error 404: Not Found"),
        ("/not-json", "the plan is not JSON"),
    ],
)
def test_a_plan_that_cannot_be_read_fails_the_task(service, platform, path, reason):
    send(service, run_task_request(platform, plan_json_api_url=f"{platform.url}{path}"))

    assert service.wait_for_callbacks(2) == [("running", 200), ("failed", 200)]
    attributes = platform.callbacks[-1]["document"]["data"]["attributes"]
    assert attributes["message"] == f"Could not read the plan: {reason}"


def test_a_request_without_a_plan_url_fails_the_task(service, platform):
    request = run_task_request(platform)
    del request["plan_json_api_url"]

    send(service, request)

    assert service.wait_for_callbacks(2) == [("running", 200), ("failed", 200)]
    attributes = platform.callbacks[-1]["document"]["data"]["attributes"]
    assert (
        attributes["message"] == "Could not read the plan: plan_json_api_url is not an http(s) URL"
    )


@pytest.mark.parametrize("answer", [401, 403, 409, 410])
def test_a_result_refused_for_good_stops_the_check(service, platform, answer):
    platform.callback_status = answer

    send(service, run_task_request(platform))

    service.wait_until_idle()
    assert service.callbacks == [("running", answer)]
    assert platform.plan_requests == []


def test_a_refused_result_is_not_retried(service, platform):
    platform.callback_status = 422

    send(service, run_task_request(platform))

    service.wait_until_idle()
    assert service.callbacks == [("running", 422), ("failed", 422)]
    assert len(platform.callbacks) == 2


def test_an_unreachable_platform_is_logged_and_not_retried(service, platform, caplog):
    request = run_task_request(platform, task_result_callback_url="http://127.0.0.1:9/callback")

    with caplog.at_level(logging.WARNING, logger="examples.runtask_service"):
        send(service, request)
        service.wait_until_idle()

    assert service.callbacks == [("running", 0), ("failed", 0)]
    assert "result failed answered 0" in caplog.text


def test_the_token_and_key_are_neither_kept_nor_logged(service, platform, caplog):
    with caplog.at_level(logging.DEBUG, logger="examples.runtask_service"):
        send(service, run_task_request(platform))
        send(service, run_task_request(platform, plan_json_api_url=f"{platform.url}/missing"))
        send(service, run_task_request(platform), signature="bad")
        service.wait_for_callbacks(4)
        service.wait_until_idle()

    assert len(service.requests) == 2
    assert all("access_token" not in request for request in service.requests)
    assert "Could not read the plan" in json.dumps(platform.callbacks)
    assert "Traceback" in caplog.text  # the failed plan fetch was logged in full
    assert TOKEN not in caplog.text
    assert KEY.decode() not in caplog.text


def test_the_service_answers_a_health_check(service):
    assert requests.get(service.url, timeout=5).status_code == 200


# The rule


def test_a_plan_without_changes_passes():
    assert check_plan({"format_version": "1.2"}) == policy.Verdict(
        "passed", "The plan destroys no resources."
    )


@pytest.mark.parametrize(
    "actions",
    [("create",), ("update",), ("no-op",), ("read",), ("forget",), ("create", "forget")],
)
def test_changes_that_destroy_nothing_pass(actions):
    assert check_plan(plan(change("aws_s3_bucket.logs", *actions))).status == "passed"


@pytest.mark.parametrize("actions", [("delete", "create"), ("create", "delete")])
def test_a_replacement_counts_as_destroying(actions):
    verdict = check_plan(
        plan(change("aws_instance.web", *actions, action_reason="replace_because_cannot_update"))
    )

    assert verdict.status == "failed"
    assert verdict.message == "The plan destroys 1 resource: aws_instance.web (replaced)."
    [outcome] = verdict.outcomes
    assert outcome.outcome_id == "aws_instance.web"
    assert outcome.description == "Replaces aws_instance.web"
    assert "destroyed and created again" in outcome.body
    assert "replace_because_cannot_update" in outcome.body
    assert outcome.resource()["attributes"]["tags"] == {
        "Action": [{"label": "replace", "level": "error"}]
    }


def test_every_destroyed_resource_is_an_outcome():
    verdict = check_plan(
        plan(
            change("aws_s3_bucket.logs", "delete"),
            change("aws_s3_bucket.data", "update"),
            change('aws_instance.web["a"]', "delete", "create"),
        )
    )

    assert verdict.message == (
        'The plan destroys 2 resources: aws_s3_bucket.logs, aws_instance.web["a"] (replaced).'
    )
    assert [o.outcome_id for o in verdict.outcomes] == [
        "aws_s3_bucket.logs",
        'aws_instance.web["a"]',
    ]


def test_more_than_ten_destroyed_resources_make_ten_outcomes():
    addresses = [f"aws_s3_bucket.b{i}" for i in range(25)]

    verdict = check_plan(plan(*(change(address, "delete") for address in addresses)))

    assert len(verdict.outcomes) == 10
    assert [o.outcome_id for o in verdict.outcomes[:9]] == addresses[:9]
    more = verdict.outcomes[9]
    assert more.description == "and 16 more"
    assert all(f"`{address}`" in more.body for address in addresses[9:])


def test_exactly_ten_destroyed_resources_make_ten_outcomes():
    addresses = [f"aws_s3_bucket.b{i}" for i in range(10)]

    verdict = check_plan(plan(*(change(address, "delete") for address in addresses)))

    assert [o.outcome_id for o in verdict.outcomes] == addresses


def test_the_result_stays_within_the_platform_limits():
    long_addresses = [f'aws_s3_bucket.b["{i}{"x" * 3000}"]' for i in range(40)]

    verdict = check_plan(plan(*(change(address, "delete") for address in long_addresses)))

    assert len(verdict.message) <= protocol.MAX_MESSAGE
    assert verdict.message.endswith("…")
    assert len(verdict.outcomes) <= protocol.MAX_OUTCOMES
    for outcome in verdict.outcomes:
        assert len(outcome.description) <= protocol.MAX_DESCRIPTION
        assert len(outcome.body) <= protocol.MAX_BODY
    assert verdict.outcomes[-1].body.endswith("…")


@pytest.mark.parametrize("not_a_plan", [[], "plan", {"resource_changes": "none"}])
def test_something_that_is_not_a_plan_is_an_error(not_a_plan):
    with pytest.raises(ValueError, match="not a"):
        check_plan(not_a_plan)


def test_the_verdict_before_the_plan_passes():
    verdict = policy.pre_plan_verdict()

    assert verdict.status == "passed"
    assert verdict.outcomes == ()
