"""The resources table: a workspace's inventory and its sync record, under its id.

| item | ``pk`` | ``sk`` |
|---|---|---|
| inventory entry | ``ws-...`` | ``resource#<address>`` |
| sync record | ``ws-...`` | ``sync`` |

Entries carry ``cloud_id``, ``resource_type`` and ``locator`` (``<workspace id>#<address>``):
the keys of the ``by-cloud-id`` and ``by-type`` indexes, which find a resource across
workspaces. The sync record carries ``due_shard`` and ``due_at`` only while an attempt is
under way: the sparse ``sync-due`` index holds exactly the attempts a sweep may reset.

Writes are conditional. An entry is written only over an entry of the same or an older
serial, and removed only if older than the sync removing it, so a late worker never
overwrites a newer inventory; the sync record changes only if its ``version`` is still the
one read.
"""

import functools
from datetime import datetime
from typing import Any, Protocol

from boto3.dynamodb.conditions import Attr, ConditionBase, Key

from iacp.dynamo import Update, conditionally, query_all, read_page
from iacp.ids import derived_id
from iacp.inventory.models import (
    InventorySync,
    Resource,
    ResourceInstance,
    SyncStatus,
    SyncTarget,
)
from iacp.pagination import decode_cursor
from iacp.tables import dynamodb_table
from iacp.timestamps import from_iso, to_iso

BY_CLOUD_ID = "by-cloud-id"
BY_TYPE = "by-type"
SYNC_DUE = "sync-due"
DUE_SHARD = "syncing"
SYNC_SK = "sync"
RESOURCE_PREFIX = "resource#"
_TABLE_KEY = frozenset({"pk", "sk"})
_INDEX_KEYS = {
    BY_CLOUD_ID: frozenset({"pk", "sk", "cloud_id", "locator"}),
    BY_TYPE: frozenset({"pk", "sk", "resource_type", "locator"}),
}


class ResourceStore(Protocol):
    def get_sync(self, workspace_id: str) -> InventorySync | None: ...
    def save_sync(self, sync: InventorySync) -> InventorySync | None: ...
    def due_syncs(self, now: datetime) -> list[str]: ...
    def put_resources(
        self, workspace_id: str, target: SyncTarget, found: list[ResourceInstance], at: datetime
    ) -> None: ...
    def remove_older(self, workspace_id: str, serial: int) -> int: ...
    def page(
        self, workspace_id: str, limit: int, cursor: str | None
    ) -> tuple[list[Resource], str | None]: ...
    def search(
        self,
        resource_type: str | None,
        cloud_id: str | None,
        workspaces: frozenset[str] | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[Resource], str | None]: ...
    def forget(self, workspace_id: str) -> None: ...


def resource_id(workspace_id: str, address: str) -> str:
    return derived_id("wsr", workspace_id, address)


class DynamoResourceStore:
    def __init__(self, table_name: str):
        self._table = dynamodb_table(table_name)

    # --- the sync record -------------------------------------------------------------------

    def get_sync(self, workspace_id: str) -> InventorySync | None:
        item = self._table.get_item(
            Key={"pk": workspace_id, "sk": SYNC_SK}, ConsistentRead=True
        ).get("Item")
        return None if item is None else _sync(item)

    def save_sync(self, sync: InventorySync) -> InventorySync | None:
        """Write ``sync`` as the record's next version, if the record is still at the version
        ``sync`` was made from (absent for version 0). None when someone else got there
        first."""
        saved = sync.model_copy(update={"version": sync.version + 1})
        condition = (
            Attr("pk").not_exists() if sync.version == 0 else Attr("version").eq(sync.version)
        )
        item = _sync_item(saved)
        written = conditionally(
            lambda: self._table.put_item(Item=item, ConditionExpression=condition)
        )
        return None if written is None else saved

    def due_syncs(self, now: datetime) -> list[str]:
        """The workspaces whose sync attempt is past its deadline."""
        items = query_all(
            self._table,
            IndexName=SYNC_DUE,
            KeyConditionExpression=Key("due_shard").eq(DUE_SHARD)
            & Key("due_at").lte(int(now.timestamp())),
        )
        return sorted({str(item["pk"]) for item in items})

    # --- entries ---------------------------------------------------------------------------

    def put_resources(
        self, workspace_id: str, target: SyncTarget, found: list[ResourceInstance], at: datetime
    ) -> None:
        for instance in found:
            self._put_resource(workspace_id, target, instance, at)

    def _put_resource(
        self, workspace_id: str, target: SyncTarget, instance: ResourceInstance, at: datetime
    ) -> None:
        values: dict[str, Any] = {
            "id": resource_id(workspace_id, instance.address),
            "workspace_id": workspace_id,
            "locator": f"{workspace_id}#{instance.address}",
            "resource_type": instance.type,
            "instance": instance.model_dump(mode="json", exclude={"cloud_id"}),
            "state_version_id": target.state_version_id,
            "serial": target.serial,
            "run_id": target.run_id,
            "updated_at": to_iso(at),
        }
        update = Update().set_all(values)
        if instance.cloud_id is None:  # a sparse index key cannot be null: leave it out
            update.remove(["cloud_id"])
        else:
            update.set("cloud_id", instance.cloud_id)
        update.set_if_absent("created_at", values["updated_at"])
        not_newer = f"{update.name('serial')} <= {update.value(target.serial)}"
        request = update.request(condition=f"attribute_not_exists(pk) OR {not_newer}")
        # Refused when a newer state has indexed this resource already: it stays as it is.
        conditionally(
            lambda: self._table.update_item(
                Key={"pk": workspace_id, "sk": RESOURCE_PREFIX + instance.address}, **request
            )
        )

    def remove_older(self, workspace_id: str, serial: int) -> int:
        """Remove the workspace's entries indexed from a state older than ``serial``: the
        resources that state no longer has. Returns how many went."""
        stale = query_all(
            self._table,
            KeyConditionExpression=Key("pk").eq(workspace_id)
            & Key("sk").begins_with(RESOURCE_PREFIX),
            FilterExpression=Attr("serial").lt(serial),
            ProjectionExpression="pk, sk",
        )
        older = Attr("serial").lt(serial)  # and not indexed again since the query read it
        delete = functools.partial(self._table.delete_item, ConditionExpression=older)
        removed = 0
        for key in stale:
            item_key = {"pk": key["pk"], "sk": key["sk"]}
            removed += conditionally(functools.partial(delete, Key=item_key)) is not None
        return removed

    def forget(self, workspace_id: str) -> None:
        """Remove the workspace's whole inventory and its sync record (it was deleted)."""
        keys = query_all(
            self._table,
            KeyConditionExpression=Key("pk").eq(workspace_id),
            ProjectionExpression="pk, sk",
        )
        with self._table.batch_writer() as batch:
            for key in keys:
                batch.delete_item(Key={"pk": key["pk"], "sk": key["sk"]})

    # --- reading ---------------------------------------------------------------------------

    def page(
        self, workspace_id: str, limit: int, cursor: str | None
    ) -> tuple[list[Resource], str | None]:
        """A page of the workspace's entries, in address order."""
        start = decode_cursor(
            cursor,
            _TABLE_KEY,
            within=lambda key: key["pk"] == workspace_id and key["sk"].startswith(RESOURCE_PREFIX),
        )
        request: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(workspace_id)
            & Key("sk").begins_with(RESOURCE_PREFIX),
            "Limit": limit,
            "ConsistentRead": True,
        }
        items, next_cursor = read_page(self._table.query, request, start)
        return [_resource(i) for i in items], next_cursor

    def search(
        self,
        resource_type: str | None,
        cloud_id: str | None,
        workspaces: frozenset[str] | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[Resource], str | None]:
        """Entries across workspaces with this cloud id and/or type (at least one), in
        workspace and address order; only in ``workspaces`` unless it is None."""
        wanted: ConditionBase | None = None
        if cloud_id is not None:
            index, key = BY_CLOUD_ID, Key("cloud_id").eq(cloud_id)
            hash_name, hash_value = "cloud_id", cloud_id
            if resource_type is not None:
                wanted = Attr("resource_type").eq(resource_type)
        elif resource_type is not None:
            index, key = BY_TYPE, Key("resource_type").eq(resource_type)
            hash_name, hash_value = "resource_type", resource_type
        else:
            raise ValueError("a search needs a type or a cloud id")
        if workspaces is not None and not workspaces:
            return [], None  # within no workspace: nothing (DynamoDB refuses an empty IN)
        if workspaces is not None:
            mine = Attr("workspace_id").is_in(sorted(workspaces))
            wanted = mine if wanted is None else wanted & mine
        start = decode_cursor(
            cursor, _INDEX_KEYS[index], within=lambda start: start[hash_name] == hash_value
        )
        request: dict[str, Any] = {
            "IndexName": index,
            "KeyConditionExpression": key,
            "Limit": limit,
        }
        if wanted is not None:
            request["FilterExpression"] = wanted
        items, next_cursor = read_page(self._table.query, request, start)
        return [_resource(i) for i in items], next_cursor


def _resource(item: dict[str, Any]) -> Resource:
    return Resource(
        **item["instance"],
        cloud_id=item.get("cloud_id"),
        id=str(item["id"]),
        workspace_id=str(item["workspace_id"]),
        state_version_id=str(item["state_version_id"]),
        serial=int(item["serial"]),
        run_id=None if item.get("run_id") is None else str(item["run_id"]),
        created_at=from_iso(str(item["created_at"])),
        updated_at=from_iso(str(item["updated_at"])),
    )


_SYNC_TIMES = ("deadline", "started_at", "finished_at")


def _sync_item(sync: InventorySync) -> dict[str, Any]:
    item: dict[str, Any] = {"pk": sync.workspace_id, "sk": SYNC_SK, "version": sync.version}
    for name, value in sync.model_dump(mode="json", exclude={"workspace_id"}).items():
        if value is not None:
            item[name] = value
    if sync.status is SyncStatus.SYNCING and sync.deadline is not None:
        item.update(due_shard=DUE_SHARD, due_at=int(sync.deadline.timestamp()))
    return item


def _sync(item: dict[str, Any]) -> InventorySync:
    fields = {k: v for k, v in item.items() if k not in {"pk", "sk", "due_shard", "due_at"}}
    for name in _SYNC_TIMES:
        if name in fields:
            fields[name] = from_iso(str(fields[name]))
    for name in ("serial", "attempts", "version", "synced_serial", "resource_count"):
        if name in fields:
            fields[name] = int(fields[name])
    return InventorySync(workspace_id=str(item["pk"]), **fields)
