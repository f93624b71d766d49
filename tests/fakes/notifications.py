"""In-memory ``NotificationStore`` and ``DeliveryLog`` (with the delivery's lease)."""

import uuid
from datetime import datetime, timedelta

from iacp.notifications.models import (
    DeliveryStatus,
    NotificationConfiguration,
    NotificationDelivery,
)
from iacp.notifications.store import (
    ConfigurationRecord,
    DeliveryInFlight,
    DeliveryLog,
    NotificationStore,
)
from tests.fakes.pages import page_of


class InMemoryNotificationStore:
    def __init__(self) -> None:
        self.records: dict[str, ConfigurationRecord] = {}

    def add(self, record: ConfigurationRecord) -> None:
        if record.configuration.id in self.records:
            raise ValueError(f"{record.configuration.id} exists")  # DynamoDB: a failed condition
        self.records[record.configuration.id] = _written(record)

    def get(self, configuration_id: str) -> ConfigurationRecord | None:
        found = self.records.get(configuration_id)
        return None if found is None else found.model_copy(deep=True)

    def page(
        self, workspace_id: str, limit: int, cursor: str | None
    ) -> tuple[list[NotificationConfiguration], str | None]:
        configurations = [r.configuration for r in self.of_workspace(workspace_id)]
        return page_of(configurations, lambda c: c.id, limit, cursor, workspace_id)

    def of_workspace(self, workspace_id: str) -> list[ConfigurationRecord]:
        records = [r for r in self.records.values() if r.configuration.workspace_id == workspace_id]
        ordered = sorted(records, key=lambda r: (r.configuration.name, r.configuration.id))
        return [r.model_copy(deep=True) for r in ordered]

    def replace(self, current: ConfigurationRecord, new: ConfigurationRecord) -> bool:
        stored = self.records.get(current.configuration.id)
        if stored is None or stored.revision != current.revision:
            return False
        self.records[new.configuration.id] = _written(new)
        return True

    def forget(self, workspace_id: str) -> None:
        for record in self.of_workspace(workspace_id):
            self.delete(record.configuration.id)

    def delete(self, configuration_id: str) -> bool:
        return self.records.pop(configuration_id, None) is not None


def _written(record: ConfigurationRecord) -> ConfigurationRecord:
    return record.model_copy(deep=True, update={"revision": uuid.uuid4().hex})


class InMemoryDeliveryLog:
    def __init__(self) -> None:
        self.deliveries: dict[tuple[str, str], NotificationDelivery] = {}
        self.leases: dict[tuple[str, str], datetime] = {}

    def claim(
        self,
        configuration_id: str,
        delivery_id: str,
        *,
        event_id: str,
        trigger: str,
        run_id: str | None,
        now: datetime,
        lease: timedelta,
    ) -> NotificationDelivery | None:
        key = (configuration_id, delivery_id)
        current = self.deliveries.get(key)
        if current is not None:
            if current.status is DeliveryStatus.DELIVERED:
                return None
            held = self.leases.get(key)
            if held is not None and held >= now:
                raise DeliveryInFlight(delivery_id)
        claimed = NotificationDelivery(
            id=delivery_id,
            created_at=current.created_at if current else now,
            updated_at=now,
            notification_configuration_id=configuration_id,
            event_id=event_id,
            trigger=trigger,
            run_id=run_id,
            status=DeliveryStatus.SENDING,
            attempts=(current.attempts if current else 0) + 1,
            last_status_code=current.last_status_code if current else None,
            last_error=current.last_error if current else None,
        )
        self.deliveries[key] = claimed
        self.leases[key] = now + lease
        return claimed.model_copy()

    def finish(
        self,
        attempt: NotificationDelivery,
        status: DeliveryStatus,
        *,
        status_code: int | None,
        error: str | None,
        now: datetime,
    ) -> NotificationDelivery | None:
        key = (attempt.notification_configuration_id, attempt.id)
        current = self.deliveries.get(key)
        if (
            current is None
            or current.status is not DeliveryStatus.SENDING
            or current.attempts != attempt.attempts
        ):
            return None
        finished = current.model_copy(
            update={
                "status": status,
                "last_status_code": status_code,
                "last_error": error,
                "updated_at": now,
            }
        )
        self.deliveries[key] = finished
        self.leases.pop(key, None)
        return finished.model_copy()

    def add(self, delivery: NotificationDelivery) -> None:
        key = (delivery.notification_configuration_id, delivery.id)
        if key in self.deliveries:
            raise ValueError(f"{delivery.id} exists")  # DynamoDB: a failed condition
        self.deliveries[key] = delivery.model_copy()

    def get(self, configuration_id: str, delivery_id: str) -> NotificationDelivery | None:
        found = self.deliveries.get((configuration_id, delivery_id))
        return None if found is None else found.model_copy()

    def page(
        self, configuration_id: str, limit: int, cursor: str | None
    ) -> tuple[list[NotificationDelivery], str | None]:
        mine = [d for (c, _), d in self.deliveries.items() if c == configuration_id]
        newest_first = sorted(mine, key=lambda d: (d.created_at, d.id), reverse=True)
        return page_of(newest_first, lambda d: d.id, limit, cursor, configuration_id)


_: NotificationStore = InMemoryNotificationStore()
__: DeliveryLog = InMemoryDeliveryLog()
