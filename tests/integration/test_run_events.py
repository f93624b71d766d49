"""Run events: the runs table's stream, read as Lambda's event-source mapping reads it
(``local.streams``), published by RunEventsFunction to the stack's bus, and received through
a rule with an SQS target, as a user's rule would receive them."""

import json
from typing import Any

import boto3
import pytest

from iacp.orchestration.workflow import RunRef, StartInput
from iacp.runs.events import DETAIL_TYPE, SOURCE
from tests.runs_support import machinery_for, upload_configuration


@pytest.fixture
def received(aws) -> str:
    """A queue that a rule on the bus sends every run event to."""
    queue = boto3.client("sqs").create_queue(QueueName="run-events")["QueueUrl"]
    arn = boto3.client("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    events = boto3.client("events")
    bus = aws.refs["RunEventsBus"]
    events.put_rule(
        Name="all-run-events", EventBusName=bus, EventPattern=json.dumps({"source": [SOURCE]})
    )
    events.put_targets(
        Rule="all-run-events",
        EventBusName=bus,
        Targets=[{"Id": "queue", "Arn": arn["Attributes"]["QueueArn"]}],
    )
    return str(queue)


def drain(queue: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    events: list[dict[str, Any]] = []
    while True:
        reply = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)
        if not reply.get("Messages"):
            return events
        for message in reply["Messages"]:
            events.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])


def test_each_status_change_is_published_once(aws, admin, stream_poller, received):
    ws = admin.post("/workspaces", {"name": "events"}).json()["id"]
    upload_configuration(admin, aws, ws)
    run_id = admin.post(f"/workspaces/{ws}/runs", {"operation": "plan_only"}).json()["id"]
    workflow = machinery_for(aws).run_workflow()
    workflow.start(StartInput(run_id=run_id, execution_arn="arn:x"))
    workflow.start_plan(RunRef(run_id=run_id))

    assert stream_poller.poll() >= 3  # created, started (pending -> fetching), planning, and more
    stream_poller.poll()

    events = drain(received)
    assert [(e["source"], e["detail-type"]) for e in events] == [(SOURCE, DETAIL_TYPE)] * 3
    details = [e["detail"] for e in events]
    assert [(d["previous_status"], d["status"]) for d in details] == [
        (None, "pending"),
        ("pending", "fetching"),
        ("fetching", "planning"),
    ]
    run = admin.get(f"/runs/{run_id}").json()
    first = details[0]
    assert first["run_id"] == run_id and first["workspace_id"] == ws
    assert first["timestamp"] == run["status_timestamps"]["pending"]
    assert first["operation"] == "plan_only" and first["is_speculative"] is True
    assert first["links"]["run"].endswith(f"/api/v1/runs/{run_id}")
    assert first["links"]["workspace"].endswith(f"/api/v1/workspaces/{ws}")
    assert len({d["event_id"] for d in details}) == 3


def test_a_publish_that_fails_is_retried_until_it_succeeds(aws, admin, stream_poller, received):
    events = boto3.client("events")
    bus = aws.refs["RunEventsBus"]
    rules = events.list_targets_by_rule(Rule="all-run-events", EventBusName=bus)["Targets"]
    events.remove_targets(Rule="all-run-events", EventBusName=bus, Ids=["queue"])
    events.delete_rule(Name="all-run-events", EventBusName=bus)
    events.delete_event_bus(Name=bus)  # PutEvents fails while the bus is away
    ws = admin.post("/workspaces", {"name": "events"}).json()["id"]
    upload_configuration(admin, aws, ws)
    admin.post(f"/workspaces/{ws}/runs", {"operation": "plan_only"})

    stream_poller.poll()
    stream_poller.poll()
    events.create_event_bus(Name=bus)
    events.put_rule(
        Name="all-run-events", EventBusName=bus, EventPattern=json.dumps({"source": [SOURCE]})
    )
    events.put_targets(Rule="all-run-events", EventBusName=bus, Targets=rules)
    stream_poller.poll()

    assert [e["detail"]["status"] for e in drain(received)] == ["pending"]


def test_a_record_that_keeps_failing_goes_to_the_dead_letter_queue(aws, admin, stream_poller):
    boto3.client("events").delete_event_bus(Name=aws.refs["RunEventsBus"])
    ws = admin.post("/workspaces", {"name": "events"}).json()["id"]
    upload_configuration(admin, aws, ws)
    admin.post(f"/workspaces/{ws}/runs", {"operation": "plan_only"})
    [source] = stream_poller.sources

    for _ in range(source.maximum_retry_attempts + 1):
        stream_poller.poll()

    sqs = boto3.client("sqs")
    dead = sqs.get_queue_url(QueueName=aws.refs["RunEventsDeadLetterQueue"])["QueueUrl"]
    [message] = sqs.receive_message(QueueUrl=dead)["Messages"]
    failure = json.loads(message["Body"])
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["DDBStreamBatchInfo"]["batchSize"] >= 1
    assert stream_poller.poll() == 0  # given up: the stream goes on past it
