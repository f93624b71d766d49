"""Delivering run events to a workspace's notification configurations, from the
NotificationQueue (a rule on the run events bus).

- **Once per event and configuration.** Each (event, configuration) pair is a delivery with
  an id derived from both. An attempt claims it with a lease (a conditional write), so a
  duplicated event, or a retry after a partial failure, never sends a delivered message
  again, and two copies of an event never send at once.
- **Retries with backoff.** When a configuration's attempt fails, the event's message fails
  (the configurations it reached are not sent again) and comes back after a delay that
  doubles with each receive: ``iacp.receives``.
- **Then the dead-letter queue.** On the last receive the delivery is marked ``failed``, the
  failure is logged at error level, and SQS moves the message to the dead-letter queue.
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from iacp.crypto import Sealer
from iacp.ids import derived_id
from iacp.notifications.destinations import TIMEOUT_SECONDS, Context, send
from iacp.notifications.models import DeliveryStatus
from iacp.notifications.store import (
    ConfigurationRecord,
    DeliveryInFlight,
    DeliveryLog,
    NotificationStore,
)
from iacp.notifications.triggers import Notification, notifications_of
from iacp.observability import logger
from iacp.outbound import Outbound
from iacp.receives import Attempt
from iacp.timestamps import utcnow
from iacp.workspaces.store import WorkspaceStore

# Longer than an attempt can take: a lease that outlives its attempt only delays a retry.
LEASE = timedelta(seconds=3 * TIMEOUT_SECONDS)


class DeliveryFailed(Exception):
    """At least one configuration did not get the event; SQS brings it back."""


class NotificationDispatcher:
    def __init__(
        self,
        configurations: NotificationStore,
        deliveries: DeliveryLog,
        workspaces: WorkspaceStore,
        sealer: Callable[[], Sealer],
        organization_name: str,
        outbound: Outbound,
        clock: Callable[[], datetime] = utcnow,
    ):
        self._configurations = configurations
        self._deliveries = deliveries
        self._workspaces = workspaces
        self._sealer = sealer
        self._organization_name = organization_name
        self._outbound = outbound
        self._clock = clock

    def deliver(self, event: dict[str, Any], attempt: Attempt) -> None:
        """Send the event to every enabled configuration of its workspace that has its
        trigger; raises DeliveryFailed if one still needs it."""
        notifications = notifications_of(event)
        if not notifications:
            return
        workspace = self._workspaces.get(notifications[0].workspace_id)
        if workspace is None:
            return  # deleted since: nobody left to tell
        context = Context(self._organization_name, workspace.name)
        configurations = [
            c for c in self._configurations.of_workspace(workspace.id) if c.configuration.enabled
        ]
        failures = [
            problem
            for notification in notifications
            for record in configurations
            if notification.trigger in record.configuration.triggers
            and (problem := self._deliver_one(record, notification, context, attempt))
        ]
        if failures:
            raise DeliveryFailed("; ".join(failures))

    def _deliver_one(
        self,
        record: ConfigurationRecord,
        notification: Notification,
        context: Context,
        attempt: Attempt,
    ) -> str | None:
        """None when delivered (now or before), else what went wrong."""
        configuration_id = record.configuration.id
        delivery_id = derived_id("ntfdlv", notification.event_id, configuration_id)
        try:
            claimed = self._deliveries.claim(
                configuration_id,
                delivery_id,
                event_id=notification.event_id,
                trigger=notification.trigger.value,
                run_id=notification.run_id,
                now=self._clock(),
                lease=LEASE,
            )
        except DeliveryInFlight:
            return f"{configuration_id}: another attempt is under way"
        if claimed is None:
            return None  # delivered before: a duplicated event
        destination = record.destination(self._sealer())
        outcome = send(destination, notification, context, self._outbound)
        if outcome.accepted:
            status = DeliveryStatus.DELIVERED
        else:
            status = DeliveryStatus.FAILED if attempt.last else DeliveryStatus.RETRYING
        self._deliveries.finish(
            claimed,
            status,
            status_code=outcome.status_code,
            error=outcome.problem or None,
            now=self._clock(),
        )
        facts = {
            "nc_id": configuration_id,
            "delivery_id": delivery_id,
            "event_id": notification.event_id,
            "trigger": notification.trigger.value,
            "attempts": claimed.attempts,
        }
        if outcome.accepted:
            logger.info("notification delivered", extra=facts)
            return None
        if attempt.last:
            logger.error("notification failed for good", extra=facts | {"error": outcome.problem})
        else:
            logger.warning(
                "notification failed; retrying", extra=facts | {"error": outcome.problem}
            )
        return f"{configuration_id}: {outcome.problem}"
