"""Notifications: run events from the NotificationQueue (a rule on the run events bus),
delivered to the workspace's notification configurations. An event that did not reach every
configuration is reported alone (partial batch response) and comes back after a delay that
doubles with each receive; after the last receive SQS dead-letters it."""

from iacp.cold_start import collector_paused

# Everything the function loads at a cold start (iacp.cold_start says why).
with collector_paused():
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from iacp.batches import delay_next_receive, partial_batch_handler
    from iacp.notifications.delivery import DeliveryFailed
    from iacp.receives import Attempt
    from iacp.services.notifications import build_notification_dispatcher
    from iacp.settings import NotificationSettings

    settings = NotificationSettings.from_env()
    dispatcher = build_notification_dispatcher(settings)


def deliver(record: SQSRecord) -> None:
    receives = int(record.attributes.approximate_receive_count)
    attempt = Attempt(receives, settings.notification_max_receives)
    try:
        dispatcher.deliver(record.json_body, attempt)
    except DeliveryFailed:
        delay_next_receive(record, attempt.delay_before_next(settings.notification_retry_seconds))
        raise


lambda_handler = partial_batch_handler(deliver)
