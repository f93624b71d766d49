"""Notification configurations through the API, and their delivery on the durable path: the
runs table's stream → the run events bus → NotificationRule → NotificationQueue →
NotificationFunction, driven as Lambda's event-source mappings would drive them
(``local.streams``, ``local.queues``), to real HTTP receivers on 127.0.0.1.

The tests' stack retries a failed notification after 1 s, then 2 s, and dead-letters it after
3 attempts (``TEST_PARAMETERS`` in tests/conftest.py)."""

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from iacp.principal import Role
from iacp.runs.events import publish, status_change
from local.queues import QueuePoller
from local.streams import StreamPoller
from tests.conftest import ApiClient, assert_error, mint
from tests.runs_support import upload_configuration
from tests.runtasks_support import CapturingService, Received, capturing_service, gated_run

TOKEN = "a-notification-token"
# The tests' stack is iacp-test: its functions may publish to iacp-test-notify-* only.
NOTIFY_TOPIC = "arn:aws:sns:us-east-1:123456789012:iacp-test-notify-runs"


@pytest.fixture
def pollers(stream_poller, queue_poller) -> tuple[StreamPoller, QueuePoller]:
    return stream_poller, queue_poller("NotificationFunction")


@pytest.fixture
def receiver() -> Iterator[CapturingService]:
    with capturing_service() as service:
        yield service


@pytest.fixture
def workspace(aws, admin: ApiClient) -> str:
    """A workspace with a configuration: ready for runs."""
    workspace_id = str(admin.post("/workspaces", {"name": "notified"}).json()["id"])
    upload_configuration(admin, aws, workspace_id)
    return workspace_id


def create(admin: ApiClient, workspace: str, **fields: Any) -> dict[str, Any]:
    body = {"name": "hook", "destination_type": "generic", "triggers": ["run:created"]} | fields
    reply = admin.post(f"/workspaces/{workspace}/notification-configurations", body)
    assert reply.status == 201, reply.body
    return reply.json()


def signature(body: bytes, key: str = TOKEN) -> str:
    """Computed here, independently of the platform's code."""
    return hmac.new(key.encode(), body, hashlib.sha512).hexdigest()


def deliver_until(
    pollers: tuple[StreamPoller, QueuePoller], done: Callable[[], bool], seconds: float = 20
) -> None:
    """Poll the stream and the queues (as Lambda does) until ``done``; retries come back
    after their delay, so this takes a few seconds when a receiver fails."""
    streams, queues = pollers
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        streams.poll()
        queues.poll()
        if done():
            return
        time.sleep(0.2)
    raise AssertionError("not delivered in time")


def deliveries(admin: ApiClient, nc: str) -> list[dict[str, Any]]:
    return admin.list_all(f"/notification-configurations/{nc}/deliveries")


# --- configurations -----------------------------------------------------------------------


def test_a_configuration_keeps_its_url_and_token_to_itself(aws, admin, workspace):
    created = create(admin, workspace, url="https://hooks.example.com/secret/path", token=TOKEN)

    assert created["id"].startswith("nc-")
    assert created["destination_type"] == "generic" and created["enabled"] is True
    assert created["url_set"] is True and created["token_set"] is True
    assert created["url_origin"] == "https://hooks.example.com"
    assert "secret/path" not in json.dumps(created) and TOKEN not in json.dumps(created)
    nc = created["id"]
    assert admin.get(f"/notification-configurations/{nc}").json() == created
    listed = admin.list_all(f"/workspaces/{workspace}/notification-configurations")
    assert listed == [created]
    item = boto3.client("dynamodb").get_item(
        TableName=aws.refs["WorkspacesTable"],
        Key={"pk": {"S": nc}, "sk": {"S": "notification-configuration"}},
    )["Item"]
    assert "secret/path" not in json.dumps(item) and TOKEN not in json.dumps(item)


def test_enable_disable_change_and_delete(admin, workspace):
    nc = create(admin, workspace, url="https://hooks.example.com/a", token=TOKEN)["id"]

    changed = admin.patch(
        f"/notification-configurations/{nc}",
        {"enabled": False, "triggers": ["run:errored", "run:completed"], "token": None},
    )
    assert changed.status == 200, changed.body
    assert changed.json()["enabled"] is False and changed.json()["token_set"] is False
    assert changed.json()["triggers"] == ["run:completed", "run:errored"]
    assert changed.json()["url_origin"] == "https://hooks.example.com"  # kept
    moved = admin.patch(f"/notification-configurations/{nc}", {"url": "http://other:8080/x"})
    assert moved.json()["url_origin"] == "http://other:8080" and moved.json()["enabled"] is False

    assert admin.delete(f"/notification-configurations/{nc}").status == 204
    assert_error(admin.get(f"/notification-configurations/{nc}"), 404)
    assert_error(admin.delete(f"/notification-configurations/{nc}"), 404)


def test_deleting_the_workspace_deletes_its_configurations(admin, workspace):
    nc = create(admin, workspace, url="https://hooks.example.com/a")["id"]

    assert admin.delete(f"/workspaces/{workspace}").status == 204

    assert_error(admin.get(f"/notification-configurations/{nc}"), 404)


@pytest.mark.parametrize(
    ("fields", "pointer"),
    [
        ({"url": None}, "/url"),
        ({"url": "https://x.example", "token": TOKEN, "destination_type": "slack"}, "/token"),
        ({"destination_type": "sns", "url": None}, "/topic_arn"),
        (
            {
                "destination_type": "sns",
                "topic_arn": "arn:aws:sns:us-east-1:123456789012:t",
                "url": "https://x.example",
            },
            "/url",
        ),
        ({"url": "https://x.example", "topic_arn": "arn:aws:sns:us-east-1:1:t"}, "/topic_arn"),
        # Only the topics the functions may publish to: named for the stack, in its account
        # and region.
        (
            {
                "destination_type": "sns",
                "url": None,
                "topic_arn": "arn:aws:sns:us-east-1:123456789012:iacp-test-other",
            },
            "/topic_arn",
        ),
        (
            {
                "destination_type": "sns",
                "url": None,
                "topic_arn": "arn:aws:sns:us-east-1:210987654321:iacp-test-notify-a",
            },
            "/topic_arn",
        ),
        (
            {
                "destination_type": "sns",
                "url": None,
                "topic_arn": "arn:aws:sns:eu-west-1:123456789012:iacp-test-notify-a",
            },
            "/topic_arn",
        ),
        ({"url": "https://x.example", "triggers": ["run:exploded"]}, "/triggers/0"),
        ({"url": "https://x.example", "triggers": ["run:created", "run:created"]}, "/triggers"),
        ({"url": "ftp://x.example"}, "/url"),
        ({"url": "https://x.example", "destination_type": "email"}, "/destination_type"),
        ({"url": "https://x.example", "name": ""}, "/name"),
        ({"url": "https://x.example", "surprise": 1}, "/surprise"),
    ],
)
def test_a_bad_configuration_is_refused_and_nothing_is_saved(admin, workspace, fields, pointer):
    body = {"name": "hook", "destination_type": "generic", "triggers": []} | fields
    body = {k: v for k, v in body.items() if v is not None}
    reply = admin.post(f"/workspaces/{workspace}/notification-configurations", body)
    assert_error(reply, 422, pointer)
    assert admin.list_all(f"/workspaces/{workspace}/notification-configurations") == []


def test_an_sns_configuration_cannot_move_to_a_topic_the_stack_may_not_publish_to(admin, workspace):
    nc = create(admin, workspace, destination_type="sns", topic_arn=NOTIFY_TOPIC)["id"]

    reply = admin.patch(
        f"/notification-configurations/{nc}",
        {"topic_arn": "arn:aws:sns:us-east-1:123456789012:billing-alerts"},
    )

    error = assert_error(reply, 422, "/topic_arn")
    assert "arn:aws:sns:us-east-1:123456789012:iacp-test-notify-" in error["detail"]
    assert admin.get(f"/notification-configurations/{nc}").json()["topic_arn"] == NOTIFY_TOPIC


def test_only_admins_of_the_workspace_manage_configurations(aws, admin, reader, workspace):
    nc = create(admin, workspace, url="https://x.example/h")["id"]
    other = admin.post("/workspaces", {"name": "elsewhere"}).json()["id"]
    limited = admin.with_token(mint(aws, Role.ADMIN, workspaces=[other]))
    writer = admin.with_token(mint(aws, Role.WRITE))

    body = {"name": "h", "destination_type": "generic", "url": "https://x.example"}
    assert_error(writer.post(f"/workspaces/{workspace}/notification-configurations", body), 403)
    assert_error(limited.post(f"/workspaces/{workspace}/notification-configurations", body), 403)
    assert_error(reader.patch(f"/notification-configurations/{nc}", {"enabled": False}), 403)
    assert_error(reader.post(f"/notification-configurations/{nc}/actions/verify"), 403)
    assert_error(limited.get(f"/notification-configurations/{nc}"), 403)
    assert reader.get(f"/notification-configurations/{nc}").status == 200
    assert reader.get(f"/notification-configurations/{nc}/deliveries").status == 200
    assert_error(admin.post("/workspaces/ws-nope/notification-configurations", body), 404)
    assert_error(admin.get("/notification-configurations/nc-nope/deliveries"), 404)
    reply = admin.get(f"/notification-configurations/{nc}/deliveries", query={"cursor": "x"})
    assert_error(reply, 422)


# --- verify ---------------------------------------------------------------------------------


def test_verify_sends_hcp_terraforms_verification_message_signed(admin, workspace, receiver):
    nc = create(admin, workspace, url=receiver.url, token=TOKEN)["id"]

    reply = admin.post(f"/notification-configurations/{nc}/actions/verify")

    assert reply.status == 200, reply.body
    assert reply.json()["delivered"] is True and reply.json()["status_code"] == 200
    [request] = receiver.requests
    assert request.header("X-TFE-Notification-Signature") == signature(request.body)
    body = request.json()
    assert body["payload_version"] == 1 and body["notification_configuration_id"] == nc
    assert body["workspace_name"] == "notified" and body["organization_name"] == "default"
    assert body["run_id"] is None and body["run_url"] is None
    assert body["notifications"][0]["trigger"] == "verification"
    [logged] = deliveries(admin, nc)
    assert logged["trigger"] == "verification" and logged["status"] == "delivered"


def test_verify_says_what_a_failing_receiver_did(admin, workspace):
    with capturing_service(status=503) as failing:
        nc = create(admin, workspace, url=failing.url)["id"]
        reply = admin.post(f"/notification-configurations/{nc}/actions/verify")
        assert failing.requests[0].header("X-TFE-Notification-Signature") is None  # no token

    assert reply.status == 200, reply.body
    result = reply.json()
    assert result["delivered"] is False and result["status_code"] == 503
    assert "503" in result["error"]
    assert deliveries(admin, nc)[0]["status"] == "failed"


def test_slack_gets_text_and_sns_a_message_with_attributes(aws, admin, workspace, receiver):
    slack = create(admin, workspace, destination_type="slack", url=receiver.url)["id"]
    sns = boto3.client("sns")
    topic = sns.create_topic(Name="iacp-test-notify-runs")["TopicArn"]
    assert topic == NOTIFY_TOPIC
    sqs = boto3.client("sqs")
    inbox = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn["Attributes"]["QueueArn"])
    email = create(admin, workspace, destination_type="sns", topic_arn=topic)["id"]

    assert admin.post(f"/notification-configurations/{slack}/actions/verify").json()["delivered"]
    assert admin.post(f"/notification-configurations/{email}/actions/verify").json()["delivered"]

    assert "notified" in receiver.requests[0].json()["text"]
    [message] = sqs.receive_message(QueueUrl=inbox)["Messages"]
    published = json.loads(message["Body"])
    assert "notified" in published["Message"]
    assert published["MessageAttributes"]["trigger"]["Value"] == "verification"


# --- delivery -------------------------------------------------------------------------------


def test_a_run_event_reaches_the_receiver_once_signed_in_hcp_terraforms_format(
    aws, admin, workspace, receiver, pollers
):
    nc = create(admin, workspace, url=receiver.url, token=TOKEN)["id"]
    create(admin, workspace, name="not-this", url=receiver.url, triggers=["run:errored"])
    disabled = create(admin, workspace, name="off", url=receiver.url, enabled=False)["id"]
    run = admin.post(f"/workspaces/{workspace}/runs", {"message": "Add queues"}).json()

    deliver_until(pollers, lambda: bool(receiver.requests))
    deliver_until(pollers, lambda: True)  # anything else would arrive now

    [request] = receiver.requests
    assert request.header("X-TFE-Notification-Signature") == signature(request.body)
    body = request.json()
    assert set(body) == {
        "payload_version",
        "notification_configuration_id",
        "run_url",
        "run_id",
        "run_message",
        "run_created_at",
        "run_created_by",
        "workspace_id",
        "workspace_name",
        "organization_name",
        "notifications",
    }
    assert body["payload_version"] == 1 and body["notification_configuration_id"] == nc
    assert body["run_id"] == run["id"] and body["run_message"] == "Add queues"
    assert body["run_created_at"] == run["created_at"]
    assert body["run_created_by"] == run["created_by"]
    assert body["run_url"].endswith(f"/api/v1/runs/{run['id']}")
    assert body["workspace_id"] == workspace and body["workspace_name"] == "notified"
    [notification] = body["notifications"]
    assert notification == {
        "message": "Run Created",
        "trigger": "run:created",
        "run_status": "pending",
        "run_updated_at": run["created_at"],
        "run_updated_by": run["created_by"],
    }
    [logged] = deliveries(admin, nc)
    assert logged["status"] == "delivered" and logged["attempts"] == 1
    assert logged["run_id"] == run["id"] and logged["last_status_code"] == 200
    assert deliveries(admin, disabled) == []


def test_a_receiver_that_fails_twice_gets_the_message_once_after_retries(
    aws, admin, workspace, pollers
):
    replies = iter([500, 502])

    def fail_twice(_: Received) -> None:
        service.status = next(replies, 200)

    with capturing_service(on_request=fail_twice) as service:
        nc = create(admin, workspace, url=service.url, token=TOKEN)["id"]
        admin.post(f"/workspaces/{workspace}/runs", {})
        deliver_until(
            pollers, lambda: any(d["status"] == "delivered" for d in deliveries(admin, nc))
        )

    assert len(service.requests) == 3  # two failures, then the one it took
    bodies = {r.body for r in service.requests}
    assert len(bodies) == 1  # the same message each time
    [logged] = deliveries(admin, nc)
    assert logged["status"] == "delivered" and logged["attempts"] == 3
    assert logged["last_status_code"] == 200 and logged["last_error"] is None


def test_a_receiver_that_always_fails_ends_in_the_dead_letter_queue_with_the_failure_logged(
    aws, admin, workspace, pollers, app_logs, capsys
):
    with capturing_service(status=500) as service:
        nc = create(admin, workspace, url=service.url)["id"]
        admin.post(f"/workspaces/{workspace}/runs", {})
        sqs = boto3.client("sqs")
        dead = sqs.get_queue_url(QueueName=aws.refs["NotificationDeadLetterQueue"])["QueueUrl"]

        def dead_lettered() -> list[Any]:
            return sqs.receive_message(QueueUrl=dead, VisibilityTimeout=0).get("Messages", [])

        deliver_until(pollers, lambda: bool(dead_lettered()))

    assert len(service.requests) == 3  # NotificationAttempts
    [message] = dead_lettered()
    assert json.loads(message["Body"])["detail"]["status"] == "pending"
    [logged] = deliveries(admin, nc)
    assert logged["status"] == "failed" and logged["attempts"] == 3
    assert logged["last_status_code"] == 500 and "HTTP 500" in logged["last_error"]
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    failed = [line for line in lines if line.get("message") == "notification failed for good"]
    assert len(failed) == 1 and failed[0]["nc_id"] == nc and "HTTP 500" in failed[0]["error"]


def test_a_duplicated_event_is_delivered_once(aws, admin, workspace, receiver, pollers):
    nc = create(admin, workspace, url=receiver.url, triggers=["run:created"])["id"]
    run_id = admin.post(f"/workspaces/{workspace}/runs", {}).json()["id"]
    deliver_until(pollers, lambda: bool(receiver.requests))

    # The same change published again, as a retried publish may do.
    item = (
        boto3.resource("dynamodb").Table(aws.refs["RunsTable"]).get_item(Key={"id": run_id})["Item"]
    )
    item["status"] = "pending"
    event = status_change(item, None, "https://iacp.example")
    assert event is not None
    publish(aws.refs["RunEventsBus"], [event])
    publish(aws.refs["RunEventsBus"], [event])
    sqs = boto3.client("sqs")
    queue = sqs.get_queue_url(QueueName=aws.refs["NotificationQueue"])["QueueUrl"]

    def queue_empty() -> bool:
        attributes = sqs.get_queue_attributes(
            QueueUrl=queue,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return set(attributes.values()) == {"0"}

    deliver_until(pollers, queue_empty)

    assert len(receiver.requests) == 1
    assert len(deliveries(admin, nc)) == 1


def test_a_mandatory_task_that_fails_notifies_task_failed_and_needs_attention(
    aws, admin, workspace, receiver, pollers
):
    triggers = ["task:failed", "run:needs_attention"]
    nc = create(admin, workspace, url=receiver.url, triggers=triggers)["id"]
    with capturing_service() as service:  # takes the verification, then fails every run
        task = admin.post("/run-tasks", {"name": "gate", "url": service.url}).json()["id"]
        service.status = 500
        run_id, _ = gated_run(aws, admin, task, workspace)

    deliver_until(pollers, lambda: len(receiver.requests) == 2)

    notified = {r.json()["notifications"][0]["trigger"]: r.json() for r in receiver.requests}
    assert set(notified) == {"task:failed", "run:needs_attention"}
    for body in notified.values():
        assert body["run_id"] == run_id
        assert body["notifications"][0]["run_status"] == "pre_plan_running"
    assert {d["trigger"] for d in deliveries(admin, nc)} == set(triggers)
