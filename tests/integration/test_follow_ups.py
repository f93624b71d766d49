"""Follow-up work on the durable path: a run's ending goes from the runs table's stream to the
run events bus, through the RunEndedRule to the FollowUpQueue, and FollowUpFunction starts
the workspace's next run, as Lambda's event-source mappings would drive them
(``local.streams``, ``local.queues``)."""

import boto3
import pytest
from botocore.exceptions import ClientError

from iacp.orchestration.workflow import FailureInput, StartInput
from iacp.orchestration.workflow_client import WorkflowClient
from local.queues import QueuePoller
from local.streams import StreamPoller
from tests.runs_support import machinery_for, upload_configuration


@pytest.fixture
def pollers(stream_poller, queue_poller) -> tuple[StreamPoller, QueuePoller]:
    return stream_poller, queue_poller("FollowUpFunction")


def throttled(self: WorkflowClient, run_id: str) -> str:
    raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate"}}, "Start")


def test_the_next_run_starts_even_when_the_start_at_the_end_of_a_run_failed(aws, admin, pollers):
    streams, queues = pollers
    ws = admin.post("/workspaces", {"name": "follow-ups"}).json()["id"]
    upload_configuration(admin, aws, ws)
    first = admin.post(f"/workspaces/{ws}/runs", {}).json()["id"]
    workflow = machinery_for(aws).run_workflow()
    workflow.start(StartInput(run_id=first, execution_arn="arn:first"))
    second = admin.post(f"/workspaces/{ws}/runs", {}).json()["id"]
    assert admin.get(f"/runs/{second}").json()["execution_arn"] is None  # it waits its turn

    # The first run errors, and starting the second at that moment is throttled.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(WorkflowClient, "start", throttled)
        with pytest.raises(ClientError):
            workflow.handle_failure(
                FailureInput(run_id=first, error={"Error": "States.TaskFailed"})
            )
    assert admin.get(f"/runs/{first}").json()["status"] == "errored"
    assert admin.get(f"/runs/{second}").json()["execution_arn"] is None

    streams.poll()  # the first run's events reach the bus, its ending the follow-up queue
    assert queues.poll() == 1

    started = admin.get(f"/runs/{second}").json()
    assert started["execution_arn"] is not None
    executions = boto3.client("stepfunctions").list_executions(
        stateMachineArn=aws.refs["RunStateMachine"]
    )["executions"]
    assert second in {e["name"] for e in executions}
    assert queues.poll() == 0  # the message was handled and deleted


def test_a_follow_up_that_fails_stays_in_the_queue_for_a_retry(aws, pollers):
    _, queues = pollers
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=aws.refs["FollowUpQueue"])["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody='{"detail": {"not": "a run event"}}')

    assert queues.poll() == 1

    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesNotVisible", "RedrivePolicy"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "1"  # back after 60 s
    assert attributes["RedrivePolicy"]  # and dead-lettered after 5 receives
