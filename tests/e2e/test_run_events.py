"""Run events end to end: a real run's status changes reach the stack's bus through the runs
table's stream (polled as Lambda's event-source mapping polls it), in order, once each; and
the workspace's notification configuration gets its triggers, signed."""

import hashlib
import hmac
import json
from typing import Any

import boto3

from iacp.runs.events import SOURCE
from local.platform import LocalPlatform
from tests.e2e.test_run_pipeline import new_workspace, run_status, start_run, wait_for
from tests.runs_support import SIMPLE_CONFIGURATION
from tests.runtasks_support import capturing_service


def test_every_status_of_a_run_is_published_in_order_and_notified(platform: LocalPlatform, admin):
    sqs, events = boto3.client("sqs"), boto3.client("events")
    queue = sqs.create_queue(QueueName="e2e-run-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    bus = platform.provisioned.refs["RunEventsBus"]
    ws = new_workspace(admin, "run-events", SIMPLE_CONFIGURATION)
    pattern = {"source": [SOURCE], "detail": {"workspace_id": [ws]}}
    events.put_rule(Name="e2e-run-events", EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(
        Rule="e2e-run-events",
        EventBusName=bus,
        Targets=[{"Id": "queue", "Arn": queue_arn["Attributes"]["QueueArn"]}],
    )
    with capturing_service() as webhook:
        configuration = {
            "name": "e2e",
            "destination_type": "generic",
            "url": webhook.url,
            "token": "e2e-token",
            "triggers": ["run:created", "run:planning", "run:completed", "run:errored"],
        }
        created = admin.post(f"/workspaces/{ws}/notification-configurations", configuration)
        assert created.status == 201, created.body

        run_id = start_run(admin, ws, operation="plan_only")
        run_status(admin, run_id, {"planned_and_finished"})
        received: list[dict[str, Any]] = []

        def all_arrived() -> bool:
            reply = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            received.extend(json.loads(m["Body"])["detail"] for m in reply.get("Messages", []))
            return bool(received) and received[-1]["status"] == "planned_and_finished"

        wait_for(all_arrived, "the run's events")
        wait_for(lambda: len(webhook.requests) == 3, "the run's notifications")

    assert [(e["previous_status"], e["status"]) for e in received] == [
        (None, "pending"),
        ("pending", "fetching"),
        ("fetching", "planning"),
        ("planning", "planned_and_finished"),
    ]
    assert {e["run_id"] for e in received} == {run_id}
    for request in webhook.requests:
        expected = hmac.new(b"e2e-token", request.body, hashlib.sha512).hexdigest()
        assert request.header("X-TFE-Notification-Signature") == expected
    notified = [r.json()["notifications"][0] for r in webhook.requests]
    # SQS keeps no order: a receiver orders by run_updated_at.
    assert {(n["trigger"], n["run_status"]) for n in notified} == {
        ("run:created", "pending"),
        ("run:planning", "planning"),
        ("run:completed", "planned_and_finished"),
    }
