"""Where notification configurations and their deliveries are kept.

- A configuration lives in the workspaces table, ``pk = <nc id>``, ``sk =
  "notification-configuration"``, and is listed per workspace through the ``by-name`` index
  (``entity = "notification-configuration#<workspace id>"``). Its URL and token are sealed
  (AES-256-GCM, bound to the configuration), never stored in clear.
- Deliveries live in the deliveries table, ``pk = <nc id>``, ``sk = <delivery id>`` (derived
  from the event, so a redelivered event finds its delivery), newest first through the
  ``by-time`` local index, and expire after 30 days.
"""

import uuid
from datetime import datetime, timedelta
from typing import Any, Protocol

from iacp.crypto import Sealer
from iacp.dynamo import (
    LIST_INDEX,
    conditionally,
    delete_existing,
    page_by_name,
    query_all,
    read_page,
)
from iacp.model import Model
from iacp.notifications.destinations import Destination
from iacp.notifications.models import (
    DeliveryStatus,
    NotificationConfiguration,
    NotificationDelivery,
)
from iacp.pagination import decode_cursor
from iacp.tables import dynamodb_table
from iacp.timestamps import from_iso, to_iso

CONFIGURATION_SK = "notification-configuration"
DELIVERIES_BY_TIME = "by-time"
DELIVERY_RETENTION = timedelta(days=30)


def _entity(workspace_id: str) -> str:
    return f"{CONFIGURATION_SK}#{workspace_id}"


class ConfigurationRecord(Model):
    """A configuration as stored: what the API shows, and its sealed secrets."""

    configuration: NotificationConfiguration
    sealed_url: str | None = None
    sealed_token: str | None = None
    # Random, new with every write: what ``replace`` checks.
    revision: str = ""

    def url(self, sealer: Sealer) -> str | None:
        return self._open(sealer, self.sealed_url, "url")

    def token(self, sealer: Sealer) -> str | None:
        return self._open(sealer, self.sealed_token, "token")

    def destination(self, sealer: Sealer) -> Destination:
        """Where to send, its secrets opened for this delivery only."""
        return Destination(
            configuration_id=self.configuration.id,
            type=self.configuration.destination_type,
            url=self.url(sealer),
            token=self.token(sealer),
            topic_arn=self.configuration.topic_arn,
        )

    def _open(self, sealer: Sealer, sealed: str | None, what: str) -> str | None:
        if sealed is None:
            return None
        return sealer.open(sealed, bound_to=f"{self.configuration.id}/{what}")


def seal(sealer: Sealer, configuration_id: str, what: str, value: str | None) -> str | None:
    return None if value is None else sealer.seal(value, bound_to=f"{configuration_id}/{what}")


class NotificationStore(Protocol):
    def add(self, record: ConfigurationRecord) -> None: ...
    def get(self, configuration_id: str) -> ConfigurationRecord | None: ...
    def page(
        self, workspace_id: str, limit: int, cursor: str | None
    ) -> tuple[list[NotificationConfiguration], str | None]: ...
    def of_workspace(self, workspace_id: str) -> list[ConfigurationRecord]: ...
    def replace(self, current: ConfigurationRecord, new: ConfigurationRecord) -> bool: ...
    def forget(self, workspace_id: str) -> None: ...
    def delete(self, configuration_id: str) -> bool: ...


class DynamoNotificationStore:
    def __init__(self, table_name: str):
        self._table = dynamodb_table(table_name)

    def add(self, record: ConfigurationRecord) -> None:
        self._table.put_item(Item=_item(record), ConditionExpression="attribute_not_exists(pk)")

    def get(self, configuration_id: str) -> ConfigurationRecord | None:
        item = self._table.get_item(
            Key={"pk": configuration_id, "sk": CONFIGURATION_SK}, ConsistentRead=True
        ).get("Item")
        return None if item is None else _record(item)

    def page(
        self, workspace_id: str, limit: int, cursor: str | None
    ) -> tuple[list[NotificationConfiguration], str | None]:
        entity = _entity(workspace_id)
        items, next_cursor = page_by_name(self._table, entity, CONFIGURATION_SK, limit, cursor)
        return [_record(item).configuration for item in items], next_cursor

    def of_workspace(self, workspace_id: str) -> list[ConfigurationRecord]:
        """Every configuration of a workspace: a handful."""
        items = query_all(
            self._table,
            IndexName=LIST_INDEX,
            KeyConditionExpression="entity = :entity",
            ExpressionAttributeValues={":entity": _entity(workspace_id)},
        )
        return [_record(item) for item in items]

    def replace(self, current: ConfigurationRecord, new: ConfigurationRecord) -> bool:
        """Write ``new`` if the configuration is still as it was read; False if it changed."""
        written = conditionally(
            lambda: self._table.put_item(
                Item=_item(new),
                ConditionExpression="attribute_exists(pk) AND revision = :read",
                ExpressionAttributeValues={":read": current.revision},
            )
        )
        return written is not None

    def forget(self, workspace_id: str) -> None:
        """Delete a deleted workspace's configurations (their deliveries expire)."""
        for record in self.of_workspace(workspace_id):
            self.delete(record.configuration.id)

    def delete(self, configuration_id: str) -> bool:
        return delete_existing(self._table, {"pk": configuration_id, "sk": CONFIGURATION_SK})


def _item(record: ConfigurationRecord) -> dict[str, Any]:
    configuration = record.configuration
    item = configuration.model_dump(mode="json") | {
        "pk": configuration.id,
        "sk": CONFIGURATION_SK,
        "entity": _entity(configuration.workspace_id),
        "revision": uuid.uuid4().hex,
    }
    for name in ("sealed_url", "sealed_token"):
        if getattr(record, name) is not None:
            item[name] = getattr(record, name)
    return item


def _record(item: dict[str, Any]) -> ConfigurationRecord:
    return ConfigurationRecord(
        configuration=NotificationConfiguration.model_validate(item),
        sealed_url=item.get("sealed_url"),
        sealed_token=item.get("sealed_token"),
        revision=str(item.get("revision", "")),
    )


class DeliveryInFlight(Exception):
    """Another attempt at this delivery holds its lease; the event comes back later."""


class DeliveryLog(Protocol):
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
    ) -> NotificationDelivery | None: ...
    def finish(
        self,
        attempt: NotificationDelivery,
        status: DeliveryStatus,
        *,
        status_code: int | None,
        error: str | None,
        now: datetime,
    ) -> NotificationDelivery | None: ...
    def add(self, delivery: NotificationDelivery) -> None: ...
    def get(self, configuration_id: str, delivery_id: str) -> NotificationDelivery | None: ...
    def page(
        self, configuration_id: str, limit: int, cursor: str | None
    ) -> tuple[list[NotificationDelivery], str | None]: ...


class DynamoDeliveryLog:
    """Each delivery's attempts. Every change is a conditional write: an attempt is claimed
    with a lease, so two copies of one event never send at once, and a delivered message is
    never sent again."""

    def __init__(self, table_name: str):
        self._table = dynamodb_table(table_name)

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
        """Start an attempt: the delivery, its ``attempts`` counting this one; None if it was
        delivered already. Raises DeliveryInFlight while another attempt holds the lease."""
        reply = conditionally(
            lambda: self._table.update_item(
                Key={"pk": configuration_id, "sk": delivery_id},
                UpdateExpression=(
                    "SET #status = :sending, attempts = if_not_exists(attempts, :zero) + :one, "
                    "created_at = if_not_exists(created_at, :now), updated_at = :now, "
                    "lease_until = :lease_until, event_id = :event, #trigger = :trigger, "
                    "run_id = :run, expires_at = if_not_exists(expires_at, :expires)"
                ),
                ConditionExpression=(
                    "attribute_not_exists(pk) OR (#status <> :delivered AND "
                    "(attribute_not_exists(lease_until) OR lease_until < :now))"
                ),
                ExpressionAttributeNames={"#status": "status", "#trigger": "trigger"},
                ExpressionAttributeValues={
                    ":sending": DeliveryStatus.SENDING.value,
                    ":delivered": DeliveryStatus.DELIVERED.value,
                    ":zero": 0,
                    ":one": 1,
                    ":now": to_iso(now),
                    ":lease_until": to_iso(now + lease),
                    ":event": event_id,
                    ":trigger": trigger,
                    ":run": run_id,
                    ":expires": int((now + DELIVERY_RETENTION).timestamp()),
                },
                ReturnValues="ALL_NEW",
            )
        )
        if reply is None:
            current = self.get(configuration_id, delivery_id)
            if current is not None and current.status is DeliveryStatus.DELIVERED:
                return None
            raise DeliveryInFlight(delivery_id)
        return _delivery(reply["Attributes"])

    def finish(
        self,
        attempt: NotificationDelivery,
        status: DeliveryStatus,
        *,
        status_code: int | None,
        error: str | None,
        now: datetime,
    ) -> NotificationDelivery | None:
        """Record how the claimed attempt ended; None if it lost its lease meanwhile."""
        reply = conditionally(
            lambda: self._table.update_item(
                Key={"pk": attempt.notification_configuration_id, "sk": attempt.id},
                UpdateExpression=(
                    "SET #status = :status, last_status_code = :code, last_error = :error, "
                    "updated_at = :now REMOVE lease_until"
                ),
                ConditionExpression="#status = :sending AND attempts = :attempt",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":status": status.value,
                    ":code": status_code,
                    ":error": error,
                    ":now": to_iso(now),
                    ":sending": DeliveryStatus.SENDING.value,
                    ":attempt": attempt.attempts,
                },
                ReturnValues="ALL_NEW",
            )
        )
        return None if reply is None else _delivery(reply["Attributes"])

    def add(self, delivery: NotificationDelivery) -> None:
        """A delivery made in one go (the verify action's test message)."""
        item = delivery.model_dump(mode="json") | {
            "pk": delivery.notification_configuration_id,
            "sk": delivery.id,
            "expires_at": int((delivery.created_at + DELIVERY_RETENTION).timestamp()),
        }
        self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")

    def get(self, configuration_id: str, delivery_id: str) -> NotificationDelivery | None:
        item = self._table.get_item(
            Key={"pk": configuration_id, "sk": delivery_id}, ConsistentRead=True
        ).get("Item")
        return None if item is None else _delivery(item)

    def page(
        self, configuration_id: str, limit: int, cursor: str | None
    ) -> tuple[list[NotificationDelivery], str | None]:
        """Newest first."""
        request: dict[str, Any] = {
            "IndexName": DELIVERIES_BY_TIME,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": configuration_id},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        start = decode_cursor(
            cursor,
            frozenset({"pk", "sk", "created_at"}),
            within=lambda key: key["pk"] == configuration_id,
        )
        items, next_cursor = read_page(self._table.query, request, start)
        return [_delivery(item) for item in items], next_cursor


def _delivery(item: dict[str, Any]) -> NotificationDelivery:
    code = item.get("last_status_code")
    return NotificationDelivery(
        id=str(item["sk"]),
        created_at=from_iso(str(item["created_at"])),
        updated_at=from_iso(str(item["updated_at"])),
        notification_configuration_id=str(item["pk"]),
        event_id=str(item["event_id"]),
        trigger=str(item["trigger"]),
        run_id=item.get("run_id"),
        status=DeliveryStatus(item["status"]),
        attempts=int(item["attempts"]),
        last_status_code=None if code is None else int(code),
        last_error=item.get("last_error"),
    )
