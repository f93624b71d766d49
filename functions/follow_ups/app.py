"""Follow-up work after a run ends, from the FollowUpQueue (a rule on the run events bus):
its workspace's next run starts. A message that fails is reported alone (partial batch
response); SQS retries it after its visibility timeout, then dead-letters it."""

from iacp.cold_start import collector_paused

# Everything the function loads at a cold start (iacp.cold_start says why).
with collector_paused():
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from iacp.batches import partial_batch_handler
    from iacp.orchestration.follow_ups import FollowUps
    from iacp.services.queue import run_queue
    from iacp.settings import RunQueueSettings

    follow_ups = FollowUps(run_queue(RunQueueSettings.from_env()))


def follow_up(record: SQSRecord) -> None:
    follow_ups.run_ended(record.json_body)


lambda_handler = partial_batch_handler(follow_up)
