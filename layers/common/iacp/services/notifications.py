"""The notification dispatcher (functions/notifications)."""

from functools import partial

from iacp.notifications.delivery import NotificationDispatcher
from iacp.notifications.service import SEALING_PURPOSE as NOTIFICATION_SEALING_PURPOSE
from iacp.notifications.store import DynamoDeliveryLog, DynamoNotificationStore
from iacp.secrets import sealer_for
from iacp.services.common import outbound
from iacp.settings import (
    NotificationSettings,
)
from iacp.workspaces.store import DynamoWorkspaceStore


def build_notification_dispatcher(settings: NotificationSettings) -> NotificationDispatcher:
    return NotificationDispatcher(
        DynamoNotificationStore(settings.workspaces_table),
        DynamoDeliveryLog(settings.notification_deliveries_table),
        DynamoWorkspaceStore(settings.workspaces_table),
        sealer=partial(sealer_for, settings.platform_secret_arn, NOTIFICATION_SEALING_PURPOSE),
        organization_name=settings.organization_name,
        outbound=outbound(settings.outbound_private_addresses),
    )
