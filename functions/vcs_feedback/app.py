"""VCS feedback: run events from the VcsFeedbackQueue (a rule on the run events bus, for
runs with a commit), each run's current state reported to its repository host as a commit
status and, for a pull request, a comment. A report the host did not take is reported alone
(partial batch response) and comes back after a delay that doubles with each receive; after
the last receive SQS dead-letters it, and the run's ``vcs_feedback`` still says failed."""

from iacp.cold_start import collector_paused

# Everything the function loads at a cold start (iacp.cold_start says why).
with collector_paused():
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from iacp.batches import delay_next_receive, partial_batch_handler
    from iacp.orchestration.vcs_feedback import FeedbackFailed, run_id_of
    from iacp.receives import Attempt
    from iacp.services.vcs_feedback import build_vcs_feedback
    from iacp.settings import VcsFeedbackSettings

    settings = VcsFeedbackSettings.from_env()
    reporter = build_vcs_feedback(settings)


def report(record: SQSRecord) -> None:
    attempt = Attempt(
        int(record.attributes.approximate_receive_count), settings.vcs_feedback_max_receives
    )
    try:
        reporter.report(run_id_of(record.json_body), attempt.receive_count, attempt.last)
    except FeedbackFailed:
        delay_next_receive(record, attempt.delay_before_next(settings.vcs_feedback_retry_seconds))
        raise


lambda_handler = partial_batch_handler(report)
