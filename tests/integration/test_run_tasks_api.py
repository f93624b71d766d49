"""Run tasks and their attachments to workspaces, through the gateway as a client sees them.

Every verification request goes over real HTTP on 127.0.0.1: to the reference run-task
service, to a stub service in this file that records what it received and answers with a
chosen status, or to a port where nothing listens.
"""

import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import boto3
import pytest

from examples.runtask_service import RunTaskService
from iacp import PRODUCT
from iacp.errors import Conflict
from iacp.principal import Principal, Role
from iacp.runtasks.models import RunTaskUpdate
from iacp.runtasks.protocol import Links
from iacp.runtasks.store import DynamoRunTaskStore
from iacp.services.api import build_services
from iacp.settings import ApiSettings
from local.template import Provisioned
from tests.conftest import ApiClient, assert_error, mint
from tests.runtasks_support import CapturingService, Received, capturing_service

MISSING_TASK = "task-AAAAAAAAAAAAAAAA"
MISSING_WS = "ws-AAAAAAAAAAAAAAAA"
HMAC_KEY = "a-secret-hmac-key-7f3c9e"
X = "x" * 16


# --- run-task services on 127.0.0.1 ---------------------------------------------------------


@pytest.fixture
def stubs() -> Iterator[Callable[[int], CapturingService]]:
    """Starts run-task services answering ``status`` (``stubs(status)``), recording what they
    get, and stops them after the test."""
    with ExitStack() as stack:

        def start(status: int = 200) -> CapturingService:
            return stack.enter_context(capturing_service(status=status))

        yield start


@pytest.fixture
def stub(stubs: Callable[[int], CapturingService]) -> CapturingService:
    return stubs(200)


@pytest.fixture
def service() -> Iterator[RunTaskService]:
    """The reference run-task service, without an HMAC key (it accepts any signature)."""
    with RunTaskService() as running:
        yield running


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A URL on 127.0.0.1 whose port is bound but not listening: connections are refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as bound:
        bound.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{bound.getsockname()[1]}/"


# --- helpers --------------------------------------------------------------------------------


def create_task(client: ApiClient, name: str, url: str, **fields: Any) -> dict[str, Any]:
    reply = client.post("/run-tasks", {"name": name, "url": url, **fields})
    assert reply.status == 201, reply.body
    task: dict[str, Any] = reply.json()
    return task


def task_names(client: ApiClient) -> list[str]:
    return [task["name"] for task in client.list_all("/run-tasks")]


def raw_task_item(aws: Provisioned, task_id: str) -> dict[str, Any]:
    table = boto3.resource("dynamodb").Table(aws.refs["WorkspacesTable"])
    item: dict[str, Any] = table.get_item(Key={"pk": task_id, "sk": "run-task"})["Item"]
    return item


def whole_table(aws: Provisioned) -> str:
    table = boto3.resource("dynamodb").Table(aws.refs["WorkspacesTable"])
    return json.dumps(table.scan()["Items"], default=str)


def signature(body: bytes, key: str) -> str:
    return hmac.new(key.encode(), body, hashlib.sha512).hexdigest()


def create_workspace(client: ApiClient, name: str = "app") -> str:
    reply = client.post("/workspaces", {"name": name})
    assert reply.status == 201, reply.body
    return str(reply.json()["id"])


def attach(client: ApiClient, workspace_id: str, task_id: str, **fields: Any) -> dict[str, Any]:
    body = {"run_task_id": task_id, "stages": ["post_plan"], "enforcement_level": "mandatory"}
    reply = client.post(f"/workspaces/{workspace_id}/run-tasks", body | fields)
    assert reply.status == 201, reply.body
    attachment: dict[str, Any] = reply.json()
    return attachment


# --- POST /run-tasks --------------------------------------------------------------------------


def test_create_returns_the_task_with_the_defaults(admin, service):
    reply = admin.post("/run-tasks", {"name": "checkov", "url": service.url})

    assert reply.status == 201, reply.body
    task = reply.json()
    assert task["id"].startswith("task-") and len(task["id"]) == 21
    assert task["created_at"].endswith("Z")
    assert {k: v for k, v in task.items() if k not in ("id", "created_at", "updated_at")} == {
        "name": "checkov",
        "url": service.url,
        "description": "",
        "enabled": True,
        "timeout_seconds": 600,
        "max_run_seconds": 3600,
        "hmac_key_set": False,
        "global": {"enabled": False, "stages": [], "enforcement_level": "advisory"},
    }


def test_create_keeps_every_field_sent(admin, service):
    task = create_task(
        admin,
        "cost",
        service.url,
        hmac_key=None,
        description="Infracost",
        enabled=False,
        timeout_seconds=60,
        max_run_seconds=60,
        **{"global": {"enabled": True, "stages": ["pre_apply", "pre_plan"]}},
    )

    assert task["description"] == "Infracost"
    assert task["enabled"] is False
    assert (task["timeout_seconds"], task["max_run_seconds"]) == (60, 60)
    # Stages come back in the order a run meets them.
    assert task["global"] == {
        "enabled": True,
        "stages": ["pre_plan", "pre_apply"],
        "enforcement_level": "advisory",
    }
    assert admin.get(f"/run-tasks/{task['id']}").json() == task


def test_the_longest_times_are_accepted(admin, service):
    task = create_task(admin, "slow", service.url, timeout_seconds=600, max_run_seconds=3600)

    assert (task["timeout_seconds"], task["max_run_seconds"]) == (600, 3600)


def test_create_sends_the_signed_verification_request(admin, stub):
    create_task(admin, "signed", stub.url, hmac_key=HMAC_KEY)

    [request] = stub.requests
    body = request.json()
    assert body["stage"] == "test"
    assert body["access_token"] == "test-token"
    assert body["task_result_enforcement_level"] == "test"
    assert body["payload_version"] == 1
    assert body["run_id"] == f"run-{X}"
    assert body["workspace_id"] == f"ws-{X}"
    assert body["task_result_id"] == f"taskrs-{X}"
    assert body["task_result_callback_url"].endswith(
        f"/api/v1/run-task-results/taskrs-{X}/callback"
    )
    assert body["capabilities"] == {"outcomes": True}
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"].startswith(f"{PRODUCT}/")
    assert request.headers["X-TFC-Task-Signature"] == signature(request.body, HMAC_KEY)


def test_without_a_key_the_signature_header_is_present_and_empty(admin, stub):
    create_task(admin, "unsigned", stub.url)

    [request] = stub.requests
    assert request.headers["X-TFC-Task-Signature"] == ""


def test_the_reference_service_takes_the_right_key_and_refuses_a_wrong_one(admin):
    with RunTaskService(hmac_key=HMAC_KEY) as keyed:
        wrong = admin.post("/run-tasks", {"name": "keyed", "url": keyed.url, "hmac_key": "nope"})
        missing = admin.post("/run-tasks", {"name": "keyed", "url": keyed.url})
        right = admin.post("/run-tasks", {"name": "keyed", "url": keyed.url, "hmac_key": HMAC_KEY})

    assert "HTTP 401" in assert_error(wrong, 422, "/url")["detail"]
    assert "HTTP 401" in assert_error(missing, 422, "/url")["detail"]
    assert right.status == 201, right.body
    assert right.json()["hmac_key_set"] is True
    assert task_names(admin) == ["keyed"]


@pytest.mark.parametrize(
    ("status", "says"),
    [(500, "HTTP 500"), (404, "HTTP 404"), (401, "HTTP 401"), (302, "HTTP 302")],
)
def test_a_service_that_does_not_answer_2xx_is_422_and_nothing_is_saved(
    aws, admin, stubs, service, status, says
):
    failing = stubs(status)

    reply = admin.post("/run-tasks", {"name": "flaky", "url": failing.url, "hmac_key": HMAC_KEY})

    error = assert_error(reply, 422, "/url")
    assert says in error["detail"]
    assert len(failing.requests) == 1  # one honest attempt, no retry, no redirect followed
    assert admin.list_all("/run-tasks") == []
    assert HMAC_KEY not in whole_table(aws)
    assert create_task(admin, "flaky", service.url)["name"] == "flaky"  # the name is free


def test_an_unreachable_service_is_422_and_nothing_is_saved(admin, refused_url, service):
    reply = admin.post("/run-tasks", {"name": "gone", "url": refused_url})

    error = assert_error(reply, 422, "/url")
    assert "could not be reached" in error["detail"]
    assert admin.list_all("/run-tasks") == []
    assert create_task(admin, "gone", service.url)["name"] == "gone"


def test_the_hmac_key_is_never_returned_and_is_stored_sealed(aws, admin, reader, service):
    created = admin.post("/run-tasks", {"name": "keyed", "url": service.url, "hmac_key": HMAC_KEY})
    assert created.status == 201, created.body
    task_id = created.json()["id"]

    replies = [
        created,
        reader.get(f"/run-tasks/{task_id}"),
        reader.get("/run-tasks"),
        admin.patch(f"/run-tasks/{task_id}", {"description": "changed"}),
    ]

    for reply in replies:
        assert reply.status in (200, 201), reply.body
        assert HMAC_KEY not in reply.body
        assert "hmac_key" not in reply.body.replace("hmac_key_set", "")
    assert created.json()["hmac_key_set"] is True
    item = raw_task_item(aws, task_id)
    assert item["sealed_hmac_key"]
    assert HMAC_KEY not in json.dumps(item, default=str)
    assert HMAC_KEY not in whole_table(aws)


def test_a_bad_hmac_key_is_not_echoed_in_the_error(admin, stub):
    too_long = "k" * 1001

    reply = admin.post("/run-tasks", {"name": "keyed", "url": stub.url, "hmac_key": too_long})

    assert_error(reply, 422, "/hmac_key")
    assert too_long not in reply.body


@pytest.mark.parametrize(
    ("field", "pointer"),
    [
        ({"timeout_seconds": 59}, "/timeout_seconds"),
        ({"timeout_seconds": 601}, "/timeout_seconds"),
        ({"timeout_seconds": "600s"}, "/timeout_seconds"),
        ({"max_run_seconds": 59}, "/max_run_seconds"),
        ({"max_run_seconds": 3601}, "/max_run_seconds"),
        ({"name": "no spaces"}, "/name"),
        ({"name": ""}, "/name"),
        ({"name": "n" * 91}, "/name"),
        ({"name": None}, "/name"),
        ({"url": "ftp://127.0.0.1/hook"}, "/url"),
        ({"url": "not a url"}, "/url"),
        ({"url": None}, "/url"),
        ({"hmac_key": ""}, "/hmac_key"),
        ({"description": "d" * 1001}, "/description"),
        ({"enabled": "yes"}, "/enabled"),
        ({"enabled": None}, "/enabled"),
        ({"colour": "blue"}, "/colour"),
        ({"global": {"enabled": True, "stages": ["pre_plan", "pre_plan"]}}, "/global/stages"),
        ({"global": {"stages": ["post_destroy"]}}, "/global/stages/0"),
        ({"global": {"enforcement_level": "strict"}}, "/global/enforcement_level"),
        ({"global": {"enabled": "yes"}}, "/global/enabled"),
        ({"global": {"colour": "blue"}}, "/global/colour"),
    ],
)
def test_a_bad_create_is_422_naming_the_field_and_saves_and_sends_nothing(
    admin, stub, field, pointer
):
    reply = admin.post("/run-tasks", {"name": "good", "url": stub.url} | field)

    assert_error(reply, 422, pointer)
    assert admin.list_all("/run-tasks") == []
    assert stub.requests == []


@pytest.mark.parametrize("missing", ["name", "url"])
def test_name_and_url_are_required(admin, stub, missing):
    body = {"name": "good", "url": stub.url}
    del body[missing]

    assert_error(admin.post("/run-tasks", body), 422, f"/{missing}")


def test_a_body_that_is_not_an_object_is_422(admin):
    assert_error(admin.post("/run-tasks", ["checkov"]), 422)
    assert_error(admin.post("/run-tasks", body="{not json"), 422)


def test_names_are_letters_digits_dashes_and_underscores_up_to_90(admin, service):
    name = "A-z_09" + "x" * 84

    assert create_task(admin, name, service.url)["name"] == name


def test_names_are_unique_ignoring_case(admin, service):
    create_task(admin, "Checkov", service.url)

    assert_error(admin.post("/run-tasks", {"name": "checkov", "url": service.url}), 409, "/name")
    assert task_names(admin) == ["Checkov"]


@pytest.mark.parametrize("who", ["writer", "reader"])
def test_only_an_admin_creates_a_run_task(request, admin, stub, who):
    client: ApiClient = request.getfixturevalue(who)

    reply = client.post("/run-tasks", {"name": "checkov", "url": stub.url})

    assert_error(reply, 403)
    assert stub.requests == []  # refused before anything was sent
    assert admin.list_all("/run-tasks") == []


def test_an_admin_token_limited_to_workspaces_cannot_manage_run_tasks(aws, gateway, admin, stub):
    workspace = create_workspace(admin)
    limited = ApiClient(gateway, mint(aws, Role.ADMIN, workspaces=[workspace]))
    task = create_task(admin, "checkov", stub.url)

    assert_error(limited.post("/run-tasks", {"name": "other", "url": stub.url}), 403)
    assert_error(limited.patch(f"/run-tasks/{task['id']}", {"description": "d"}), 403)
    assert_error(limited.delete(f"/run-tasks/{task['id']}"), 403)
    assert task_names(admin) == ["checkov"]


def test_every_route_needs_a_token(anonymous, admin, stub):
    workspace = create_workspace(admin)
    task = create_task(admin, "checkov", stub.url)
    attachment = attach(admin, workspace, task["id"])
    routes = [
        ("POST", "/run-tasks"),
        ("GET", "/run-tasks"),
        ("GET", f"/run-tasks/{task['id']}"),
        ("PATCH", f"/run-tasks/{task['id']}"),
        ("DELETE", f"/run-tasks/{task['id']}"),
        ("POST", f"/workspaces/{workspace}/run-tasks"),
        ("GET", f"/workspaces/{workspace}/run-tasks"),
        ("PATCH", f"/workspaces/{workspace}/run-tasks/{attachment['id']}"),
        ("DELETE", f"/workspaces/{workspace}/run-tasks/{attachment['id']}"),
    ]

    for method, path in routes:
        assert_error(anonymous.call(method, path, {}), 401)
    assert len(admin.list_all(f"/workspaces/{workspace}/run-tasks")) == 1


# --- GET /run-tasks, GET /run-tasks/{id} ------------------------------------------------------


def test_list_is_sorted_by_name_and_paginated(admin, reader, service):
    for name in ("charlie", "alpha", "echo", "bravo", "delta"):
        create_task(admin, name, service.url)

    first = reader.get("/run-tasks", query={"limit": "2"})

    assert first.status == 200, first.body
    assert [t["name"] for t in first.json()["items"]] == ["alpha", "bravo"]
    assert first.json()["next_cursor"] is not None
    assert [t["name"] for t in reader.list_all("/run-tasks", limit=2)] == [
        "alpha",
        "bravo",
        "charlie",
        "delta",
        "echo",
    ]


def test_an_empty_list(reader):
    reply = reader.get("/run-tasks")

    assert reply.status == 200
    assert reply.json() == {"items": [], "next_cursor": None}


@pytest.mark.parametrize(
    ("query", "parameter"),
    [({"limit": "0"}, "limit"), ({"limit": "101"}, "limit"), ({"cursor": "%%%"}, "cursor")],
)
def test_bad_list_parameters_are_422(reader, query, parameter):
    error = assert_error(reader.get("/run-tasks", query=query), 422)

    assert error["source"] == {"parameter": parameter}


def test_a_workspace_cursor_is_not_a_run_task_cursor(admin, service):
    for name in ("a", "b", "c"):
        create_workspace(admin, name)
        create_task(admin, name, service.url)
    cursor = admin.get("/workspaces", query={"limit": "1"}).json()["next_cursor"]

    reply = admin.get("/run-tasks", query={"cursor": cursor})

    assert_error(reply, 422)


@pytest.mark.parametrize("who", ["reader", "writer", "admin"])
def test_every_role_reads_run_tasks(request, admin, service, who):
    client: ApiClient = request.getfixturevalue(who)
    task = create_task(admin, "checkov", service.url, description="scanner")

    shown = client.get(f"/run-tasks/{task['id']}")

    assert shown.status == 200, shown.body
    assert shown.json() == task
    assert client.list_all("/run-tasks") == [task]


@pytest.mark.parametrize("task_id", [MISSING_TASK, "nonsense"])
def test_an_unknown_run_task_is_404(admin, task_id):
    assert_error(admin.get(f"/run-tasks/{task_id}"), 404)
    assert_error(admin.patch(f"/run-tasks/{task_id}", {"description": "d"}), 404)
    assert_error(admin.delete(f"/run-tasks/{task_id}"), 404)


# --- PATCH /run-tasks/{id} --------------------------------------------------------------------


def test_changing_the_description_changes_only_it_and_does_not_verify_again(admin, stub):
    task = create_task(admin, "checkov", stub.url, hmac_key=HMAC_KEY, timeout_seconds=120)

    reply = admin.patch(f"/run-tasks/{task['id']}", {"description": "new"})

    assert reply.status == 200, reply.body
    changed = reply.json()
    assert changed["description"] == "new"
    unchanged = ("id", "name", "url", "created_at", "timeout_seconds", "hmac_key_set", "global")
    assert {k: changed[k] for k in unchanged} == {k: task[k] for k in unchanged}
    assert changed["updated_at"] >= task["updated_at"]
    assert len(stub.requests) == 1  # the create's verification only
    assert admin.get(f"/run-tasks/{task['id']}").json() == changed


def test_sending_the_same_url_again_does_not_verify_again(admin, stub):
    task = create_task(admin, "checkov", stub.url)

    reply = admin.patch(f"/run-tasks/{task['id']}", {"url": task["url"], "enabled": False})

    assert reply.status == 200, reply.body
    assert reply.json()["enabled"] is False
    assert len(stub.requests) == 1


def test_a_new_url_is_verified_with_the_tasks_key(admin, stubs):
    old, new = stubs(200), stubs(200)
    task = create_task(admin, "checkov", old.url, hmac_key=HMAC_KEY)

    reply = admin.patch(f"/run-tasks/{task['id']}", {"url": new.url})

    assert reply.status == 200, reply.body
    assert reply.json()["url"] == new.url
    assert reply.json()["hmac_key_set"] is True
    [request] = new.requests
    assert request.json()["stage"] == "test"
    assert request.headers["X-TFC-Task-Signature"] == signature(request.body, HMAC_KEY)
    assert len(old.requests) == 1


def test_a_new_url_that_fails_verification_is_422_and_changes_nothing(admin, stubs, refused_url):
    good, failing = stubs(200), stubs(500)
    task = create_task(admin, "checkov", good.url)

    for url in (failing.url, refused_url):
        reply = admin.patch(f"/run-tasks/{task['id']}", {"url": url, "description": "new"})
        assert_error(reply, 422, "/url")

    assert len(failing.requests) == 1
    assert admin.get(f"/run-tasks/{task['id']}").json() == task


def test_a_new_key_is_verified_and_signs_from_then_on(aws, admin, stubs):
    stub = stubs(200)
    task = create_task(admin, "checkov", stub.url)

    reply = admin.patch(f"/run-tasks/{task['id']}", {"hmac_key": HMAC_KEY})

    assert reply.status == 200, reply.body
    assert reply.json()["hmac_key_set"] is True
    assert HMAC_KEY not in reply.body
    verification = stub.requests[-1]
    assert verification.headers["X-TFC-Task-Signature"] == signature(verification.body, HMAC_KEY)
    assert HMAC_KEY not in json.dumps(raw_task_item(aws, task["id"]), default=str)
    # Moving the task on later signs with the key it now has.
    moved = stubs(200)
    assert admin.patch(f"/run-tasks/{task['id']}", {"url": moved.url}).status == 200
    [request] = moved.requests
    assert request.headers["X-TFC-Task-Signature"] == signature(request.body, HMAC_KEY)


def test_a_new_key_the_service_refuses_is_422_and_keeps_the_old_one(admin):
    with RunTaskService(hmac_key=HMAC_KEY) as keyed:
        task = create_task(admin, "checkov", keyed.url, hmac_key=HMAC_KEY)

        reply = admin.patch(f"/run-tasks/{task['id']}", {"hmac_key": "another-key"})
        assert_error(reply, 422, "/url")
        # The old key still works: a change of URL (to the same service) verifies with it.
        moved = admin.patch(f"/run-tasks/{task['id']}", {"url": keyed.url + "?again=1"})

    assert moved.status == 200, moved.body
    assert moved.json()["hmac_key_set"] is True


def test_a_null_key_removes_it(aws, admin, stub):
    task = create_task(admin, "checkov", stub.url, hmac_key=HMAC_KEY)

    reply = admin.patch(f"/run-tasks/{task['id']}", {"hmac_key": None})

    assert reply.status == 200, reply.body
    assert reply.json()["hmac_key_set"] is False
    assert admin.get(f"/run-tasks/{task['id']}").json()["hmac_key_set"] is False
    assert "sealed_hmac_key" not in raw_task_item(aws, task["id"])
    assert len(stub.requests) == 2  # the change of key was verified, unsigned
    assert stub.requests[-1].headers["X-TFC-Task-Signature"] == ""


def test_changing_the_times_and_the_global_settings(admin, service):
    task = create_task(admin, "checkov", service.url)
    body = {
        "timeout_seconds": 300,
        "max_run_seconds": 1800,
        "global": {"enabled": True, "stages": ["post_plan"], "enforcement_level": "mandatory"},
    }

    reply = admin.patch(f"/run-tasks/{task['id']}", body)

    assert reply.status == 200, reply.body
    changed = admin.get(f"/run-tasks/{task['id']}").json()
    assert {k: changed[k] for k in body} == body


def test_rename_frees_the_old_name_and_refuses_a_taken_one(admin, service):
    first = create_task(admin, "first", service.url)
    create_task(admin, "taken", service.url)

    assert_error(admin.patch(f"/run-tasks/{first['id']}", {"name": "TAKEN"}), 409, "/name")
    assert admin.get(f"/run-tasks/{first['id']}").json() == first
    renamed = admin.patch(f"/run-tasks/{first['id']}", {"name": "second"})
    assert renamed.status == 200, renamed.body
    create_task(admin, "first", service.url)

    assert task_names(admin) == ["first", "second", "taken"]


def test_rename_changing_only_case_keeps_the_claim(admin, service):
    task = create_task(admin, "scanner", service.url)

    renamed = admin.patch(f"/run-tasks/{task['id']}", {"name": "Scanner"})

    assert renamed.status == 200, renamed.body
    assert renamed.json()["name"] == "Scanner"
    assert_error(admin.post("/run-tasks", {"name": "SCANNER", "url": service.url}), 409, "/name")


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"enabled": None}, "/enabled"),
        ({"name": None}, "/name"),
        ({"url": None}, "/url"),
        ({"description": None}, "/description"),
        ({"timeout_seconds": None}, "/timeout_seconds"),
        ({"global": None}, "/global"),
        ({"timeout_seconds": 601}, "/timeout_seconds"),
        ({"max_run_seconds": 59}, "/max_run_seconds"),
        ({"name": "a b"}, "/name"),
        ({"url": "file:///etc/passwd"}, "/url"),
        ({"colour": "blue"}, "/colour"),
        ({"global": {"stages": ["post_plan", "post_plan"]}}, "/global/stages"),
    ],
)
def test_a_bad_update_is_422_and_changes_nothing(admin, stub, body, pointer):
    task = create_task(admin, "checkov", stub.url)

    assert_error(admin.patch(f"/run-tasks/{task['id']}", body), 422, pointer)
    assert admin.get(f"/run-tasks/{task['id']}").json() == task
    assert len(stub.requests) == 1


@pytest.mark.parametrize("who", ["writer", "reader"])
def test_only_an_admin_changes_or_deletes_a_run_task(request, admin, stub, who):
    client: ApiClient = request.getfixturevalue(who)
    task = create_task(admin, "checkov", stub.url)

    assert_error(client.patch(f"/run-tasks/{task['id']}", {"url": stub.url + "x"}), 403)
    assert_error(client.delete(f"/run-tasks/{task['id']}"), 403)
    assert admin.get(f"/run-tasks/{task['id']}").json() == task
    assert len(stub.requests) == 1


# --- DELETE /run-tasks/{id} -------------------------------------------------------------------


def test_delete_removes_the_task_and_frees_its_name(admin, service):
    task = create_task(admin, "checkov", service.url)

    reply = admin.delete(f"/run-tasks/{task['id']}")

    assert reply.status == 204, reply.body
    assert_error(admin.get(f"/run-tasks/{task['id']}"), 404)
    assert_error(admin.delete(f"/run-tasks/{task['id']}"), 404)
    assert admin.list_all("/run-tasks") == []
    again = create_task(admin, "CHECKOV", service.url)
    assert again["id"] != task["id"]


# --- attachments: /workspaces/{ws}/run-tasks --------------------------------------------------


@pytest.fixture
def task(admin, service) -> dict[str, Any]:
    return create_task(admin, "checkov", service.url)


@pytest.fixture
def workspace(admin) -> str:
    return create_workspace(admin)


def attachments(client: ApiClient, workspace_id: str) -> list[dict[str, Any]]:
    return client.list_all(f"/workspaces/{workspace_id}/run-tasks")


def test_attach_returns_the_attachment(admin, reader, task, workspace):
    reply = admin.post(
        f"/workspaces/{workspace}/run-tasks",
        {
            "run_task_id": task["id"],
            "stages": ["pre_apply", "pre_plan"],
            "enforcement_level": "advisory",
        },
    )

    assert reply.status == 201, reply.body
    attachment = reply.json()
    assert attachment["id"].startswith("wstask-") and len(attachment["id"]) == 23
    assert attachment["created_at"].endswith("Z")
    assert attachment["workspace_id"] == workspace
    assert attachment["run_task_id"] == task["id"]
    assert attachment["stages"] == ["pre_plan", "pre_apply"]  # in the order a run meets them
    assert attachment["enforcement_level"] == "advisory"
    listed = reader.get(f"/workspaces/{workspace}/run-tasks")
    assert listed.status == 200, listed.body
    assert listed.json() == {"items": [attachment], "next_cursor": None}


@pytest.mark.parametrize("who", ["writer", "reader"])
def test_only_an_admin_attaches(request, admin, task, workspace, who):
    client: ApiClient = request.getfixturevalue(who)
    body = {"run_task_id": task["id"], "stages": ["post_plan"], "enforcement_level": "advisory"}

    assert_error(client.post(f"/workspaces/{workspace}/run-tasks", body), 403)
    assert attachments(admin, workspace) == []


def test_a_token_limited_to_another_workspace_can_neither_attach_nor_read(
    aws, gateway, admin, task, workspace
):
    other = create_workspace(admin, "other")
    limited = ApiClient(gateway, mint(aws, Role.ADMIN, workspaces=[other]))
    body = {"run_task_id": task["id"], "stages": ["post_plan"], "enforcement_level": "advisory"}

    assert_error(limited.post(f"/workspaces/{workspace}/run-tasks", body), 403)
    assert_error(limited.get(f"/workspaces/{workspace}/run-tasks"), 403)
    assert attachments(admin, workspace) == []


@pytest.mark.parametrize(
    ("field", "pointer"),
    [
        ({"stages": ["post_plan", "post_plan"]}, "/stages"),
        ({"stages": []}, "/stages"),
        ({"stages": ["post_destroy"]}, "/stages/0"),
        ({"stages": "post_plan"}, "/stages"),
        ({"enforcement_level": "strict"}, "/enforcement_level"),
        ({"enforcement_level": None}, "/enforcement_level"),
        ({"run_task_id": "nonsense"}, "/run_task_id"),
        ({"run_task_id": MISSING_TASK}, "/run_task_id"),
        ({"colour": "blue"}, "/colour"),
    ],
)
def test_a_bad_attachment_is_422_naming_the_field(admin, task, workspace, field, pointer):
    body = {"run_task_id": task["id"], "stages": ["post_plan"], "enforcement_level": "advisory"}

    assert_error(admin.post(f"/workspaces/{workspace}/run-tasks", body | field), 422, pointer)
    assert attachments(admin, workspace) == []


@pytest.mark.parametrize("missing", ["run_task_id", "stages", "enforcement_level"])
def test_every_attachment_field_is_required(admin, task, workspace, missing):
    body = {"run_task_id": task["id"], "stages": ["post_plan"], "enforcement_level": "advisory"}
    del body[missing]

    assert_error(admin.post(f"/workspaces/{workspace}/run-tasks", body), 422, f"/{missing}")


def test_attaching_to_an_unknown_workspace_is_404(admin, task):
    body = {"run_task_id": task["id"], "stages": ["post_plan"], "enforcement_level": "advisory"}

    assert_error(admin.post(f"/workspaces/{MISSING_WS}/run-tasks", body), 404)
    assert_error(admin.get(f"/workspaces/{MISSING_WS}/run-tasks"), 404)


def test_a_task_is_attached_to_a_workspace_once(admin, task, workspace):
    first = attach(admin, workspace, task["id"])

    reply = admin.post(
        f"/workspaces/{workspace}/run-tasks",
        {"run_task_id": task["id"], "stages": ["pre_plan"], "enforcement_level": "advisory"},
    )

    assert_error(reply, 409, "/run_task_id")
    assert attachments(admin, workspace) == [first]


def test_one_task_attaches_to_many_workspaces_and_many_tasks_to_one(admin, service, task):
    one, two = create_workspace(admin, "one"), create_workspace(admin, "two")
    other = create_task(admin, "other", service.url)

    a = attach(admin, one, task["id"])
    b = attach(admin, two, task["id"])
    c = attach(admin, one, other["id"], stages=["pre_plan"], enforcement_level="advisory")

    assert len({a["id"], b["id"], c["id"]}) == 3
    assert sorted(attachments(admin, one), key=lambda x: x["id"]) == sorted(
        [a, c], key=lambda x: x["id"]
    )
    assert attachments(admin, two) == [b]


def test_update_changes_the_stages_and_the_enforcement_level(admin, reader, task, workspace):
    attachment = attach(admin, workspace, task["id"])
    path = f"/workspaces/{workspace}/run-tasks/{attachment['id']}"

    stages = admin.patch(path, {"stages": ["post_apply", "pre_plan"]})
    level = admin.patch(path, {"enforcement_level": "advisory"})

    assert stages.status == 200, stages.body
    assert stages.json() == attachment | {"stages": ["pre_plan", "post_apply"]}
    assert level.status == 200, level.body
    assert level.json() == attachment | {
        "stages": ["pre_plan", "post_apply"],
        "enforcement_level": "advisory",
    }
    assert attachments(reader, workspace) == [level.json()]


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"stages": []}, "/stages"),
        ({"stages": None}, "/stages"),
        ({"stages": ["pre_plan", "pre_plan"]}, "/stages"),
        ({"enforcement_level": None}, "/enforcement_level"),
        ({"enforcement_level": "strict"}, "/enforcement_level"),
        ({"run_task_id": "task-BBBBBBBBBBBBBBBB"}, "/run_task_id"),
    ],
)
def test_a_bad_attachment_update_is_422_and_changes_nothing(admin, task, workspace, body, pointer):
    attachment = attach(admin, workspace, task["id"])

    reply = admin.patch(f"/workspaces/{workspace}/run-tasks/{attachment['id']}", body)

    assert_error(reply, 422, pointer)
    assert attachments(admin, workspace) == [attachment]


@pytest.mark.parametrize("who", ["writer", "reader"])
def test_only_an_admin_changes_or_detaches(request, admin, task, workspace, who):
    client: ApiClient = request.getfixturevalue(who)
    attachment = attach(admin, workspace, task["id"])
    path = f"/workspaces/{workspace}/run-tasks/{attachment['id']}"

    assert_error(client.patch(path, {"enforcement_level": "advisory"}), 403)
    assert_error(client.delete(path), 403)
    assert attachments(admin, workspace) == [attachment]


def test_an_unknown_attachment_is_404(admin, task, workspace):
    attachment = attach(admin, workspace, task["id"])
    other = create_workspace(admin, "other")
    paths = [
        f"/workspaces/{workspace}/run-tasks/wstask-AAAAAAAAAAAAAAAA",
        f"/workspaces/{other}/run-tasks/{attachment['id']}",  # another workspace's
        f"/workspaces/{MISSING_WS}/run-tasks/{attachment['id']}",
    ]

    for path in paths:
        assert_error(admin.patch(path, {"enforcement_level": "advisory"}), 404)
        assert_error(admin.delete(path), 404)
    assert attachments(admin, workspace) == [attachment]


def test_detach_removes_the_attachment(admin, task, workspace):
    attachment = attach(admin, workspace, task["id"])
    path = f"/workspaces/{workspace}/run-tasks/{attachment['id']}"

    reply = admin.delete(path)

    assert reply.status == 204, reply.body
    assert_error(admin.delete(path), 404)
    assert_error(admin.patch(path, {"enforcement_level": "advisory"}), 404)
    assert attachments(admin, workspace) == []
    assert attach(admin, workspace, task["id"])["id"] != attachment["id"]  # attach again


def test_a_deleted_run_task_leaves_every_workspace(admin, service, task):
    one, two = create_workspace(admin, "one"), create_workspace(admin, "two")
    kept = create_task(admin, "kept", service.url)
    attach(admin, one, task["id"])
    attach(admin, two, task["id"])
    still = attach(admin, one, kept["id"])

    assert admin.delete(f"/run-tasks/{task['id']}").status == 204

    assert attachments(admin, one) == [still]
    assert attachments(admin, two) == []


def test_a_run_task_created_again_under_the_same_name_is_not_attached(admin, service, task):
    workspace = create_workspace(admin)
    attach(admin, workspace, task["id"])
    admin.delete(f"/run-tasks/{task['id']}")

    again = create_task(admin, "checkov", service.url)

    assert attachments(admin, workspace) == []
    assert attach(admin, workspace, again["id"])["run_task_id"] == again["id"]


# --- two admins at once -----------------------------------------------------------------------


def holding() -> tuple[threading.Event, threading.Event, Callable[[Received], None]]:
    """A service's request hook that holds each request until released: the event set when
    one arrives, the one that releases them, and the hook."""
    arrived, release = threading.Event(), threading.Event()

    def hold(request: Received) -> None:
        arrived.set()
        release.wait(10)

    return arrived, release, hold


def moving_in_another_instance(
    aws: Provisioned, task_id: str, url: str
) -> tuple[list[object], threading.Event]:
    """Admin A moves the task to ``url`` in an API instance of its own (as a second Lambda
    instance would), in a thread; returns where its outcome will be, and when."""
    instance = build_services(ApiSettings.model_validate(aws.environment("ApiFunction")))
    admin_a = Principal(token_id="at-AAAAAAAAAAAAAAAA", role=Role.ADMIN)
    outcome: list[object] = []
    done = threading.Event()

    def move() -> None:
        try:
            change = RunTaskUpdate.model_validate({"url": url})
            links = Links("https://api.example.com/live")
            outcome.append(instance.run_tasks.update(admin_a, task_id, change, links))
        except Exception as error:
            outcome.append(error)
        finally:
            done.set()

    threading.Thread(target=move, daemon=True).start()
    return outcome, done


def test_a_change_made_while_another_is_being_verified_is_not_lost(aws, admin, service):
    """Admin A moves the task to a new URL, which takes a while to verify; meanwhile admin
    B changes its description. A must not write back the description it read."""
    for attempt in range(10):  # until once B's change lands in the same second as the create
        task = create_task(admin, f"task{attempt}", service.url, description="original")
        arrived, release, hold = holding()
        with capturing_service(on_request=hold) as held:
            outcome, done = moving_in_another_instance(aws, task["id"], held.url)
            assert arrived.wait(5), "A's verification request never arrived"
            changed = admin.patch(f"/run-tasks/{task['id']}", {"description": "from B"})
            release.set()
            assert done.wait(10), "A's change never ended"
        assert changed.status == 200, changed.body
        final = admin.get(f"/run-tasks/{task['id']}").json()
        assert outcome and isinstance(outcome[0], Conflict), outcome
        assert final["description"] == "from B", final
        if changed.json()["updated_at"] == task["updated_at"]:
            return  # the case whole-second timestamps cannot tell apart was exercised
    pytest.fail("B's change never landed in the same second as the create")


def test_a_delete_that_raced_a_rename_leaves_no_name_claimed_by_nobody(aws, admin, service):
    """Instance A read the task to delete it; B renamed it before A's delete was written."""
    task = create_task(admin, "original", service.url)
    store = DynamoRunTaskStore(aws.refs["WorkspacesTable"])
    read_by_a = store.get(task["id"])
    assert read_by_a is not None
    assert admin.patch(f"/run-tasks/{task['id']}", {"name": "renamed"}).status == 200

    store.delete(read_by_a)

    still_there = admin.get(f"/run-tasks/{task['id']}").status == 200
    name_free = admin.post("/run-tasks", {"name": "renamed", "url": service.url}).status == 201
    assert still_there or name_free
