"""Run tasks and their workspace attachments, in the workspaces table.

- A run task: ``pk = <task id>``, ``sk = "run-task"``, listed by name through the ``by-name``
  index (``entity = "run-task"``). Its HMAC key is stored sealed (AES-256-GCM), never plain.
- A name claim ``pk = "task-name#<lower-case name>"`` keeps names unique, as for workspaces.
- An attachment lives under its workspace: ``pk = <workspace id>``,
  ``sk = "run-task#<task id>"``, so a task is attached to a workspace at most once and
  deleting the workspace deletes its attachments with it.

A deleted run task leaves its attachments behind; they are ignored when a stage is prepared
and hidden from lists (HCP Terraform also removes a deleted task from every workspace).
"""

import uuid
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any, Protocol

from iacp.crypto import Sealer
from iacp.dynamo import (
    LIST_INDEX,
    TransactionCanceled,
    conditionally,
    page_by_name,
    query_all,
    transact_write,
)
from iacp.errors import Conflict
from iacp.model import Model
from iacp.runtasks.models import Enforcement, GlobalSettings, RunTask, Stage, WorkspaceRunTask
from iacp.tables import dynamodb_table
from iacp.timestamps import from_iso, to_iso

RUN_TASK_SK = "run-task"
ENTITY = "run-task"
ATTACHMENT_PREFIX = "run-task#"


class RunTaskRecord(Model):
    """A run task as stored: the public fields and the sealed HMAC key."""

    task: RunTask
    sealed_hmac_key: str | None = None

    def hmac_key(self, sealer: Sealer) -> str | None:
        """The key in clear, to sign a webhook with; never returned or logged."""
        if self.sealed_hmac_key is None:
            return None
        return sealer.open(self.sealed_hmac_key, bound_to=self.task.id)

    # Random, new with every write: what ``replace`` checks (``updated_at`` has whole
    # seconds only, so two changes within a second would look alike).
    revision: str | None = None


class NameTaken(Conflict):
    def __init__(self, name: str):
        super().__init__(f"A run task named '{name}' already exists.", pointer="/name")


class RunTaskStore(Protocol):
    def create(self, record: RunTaskRecord) -> None: ...
    def get(self, task_id: str) -> RunTaskRecord | None: ...
    def page(self, limit: int, cursor: str | None) -> tuple[list[RunTask], str | None]: ...
    def all(self) -> list[RunTaskRecord]: ...
    def replace(self, current: RunTaskRecord, new: RunTaskRecord) -> bool: ...
    def delete(self, record: RunTaskRecord) -> bool: ...
    def attach(self, attachment: WorkspaceRunTask) -> bool: ...
    def attachments(self, workspace_id: str) -> list[WorkspaceRunTask]: ...
    def update_attachment(self, attachment: WorkspaceRunTask) -> bool: ...
    def detach(self, attachment: WorkspaceRunTask) -> bool: ...


def _claim_key(name: str) -> dict[str, str]:
    return {"pk": f"task-name#{name.lower()}", "sk": "name"}


class DynamoRunTaskStore:
    def __init__(self, table_name: str):
        self._table = dynamodb_table(table_name)

    def create(self, record: RunTaskRecord) -> None:
        task = record.task
        try:
            transact_write(
                [
                    self._put(_item(record), "attribute_not_exists(pk)"),
                    self._put(_claim_key(task.name) | {"run_task_id": task.id}),
                ]
            )
        except TransactionCanceled as canceled:
            if canceled.failed[1]:
                raise NameTaken(task.name) from canceled
            raise

    def get(self, task_id: str) -> RunTaskRecord | None:
        reply = self._table.get_item(Key={"pk": task_id, "sk": RUN_TASK_SK}, ConsistentRead=True)
        item = reply.get("Item")
        return None if item is None else _record(item)

    def page(self, limit: int, cursor: str | None) -> tuple[list[RunTask], str | None]:
        items, next_cursor = page_by_name(self._table, ENTITY, RUN_TASK_SK, limit, cursor)
        return [_record(item).task for item in items], next_cursor

    def all(self) -> list[RunTaskRecord]:
        """Every run task (for the global ones): an organisation has tens, not thousands."""
        items = query_all(
            self._table,
            IndexName=LIST_INDEX,
            KeyConditionExpression="entity = :entity",
            ExpressionAttributeValues={":entity": ENTITY},
        )
        return [_record(item) for item in items]

    def replace(self, current: RunTaskRecord, new: RunTaskRecord) -> bool:
        """Write ``new`` if the task is still as it was read (its revision); a rename moves
        the name claim in the same transaction. False when the task changed meanwhile."""
        unchanged = "attribute_exists(pk) AND revision = :read"
        values = {":read": current.revision}
        put = self._put(_item(new), unchanged, values)
        old_name, new_name = current.task.name, new.task.name
        try:
            if old_name.lower() == new_name.lower():
                transact_write([put])
            else:
                transact_write(
                    [
                        put,
                        {"Delete": {"TableName": self._table.name, "Key": _claim_key(old_name)}},
                        self._put(_claim_key(new_name) | {"run_task_id": new.task.id}),
                    ]
                )
        except TransactionCanceled as canceled:
            if len(canceled.failed) > 2 and canceled.failed[2]:
                raise NameTaken(new_name) from canceled
            return False
        return True

    def delete(self, record: RunTaskRecord) -> bool:
        """Delete the task and its name claim if the task is still as it was read (a rename
        racing this delete would leave the new name claimed by nobody); False if not."""
        try:
            transact_write(
                [
                    {
                        "Delete": {
                            "TableName": self._table.name,
                            "Key": {"pk": record.task.id, "sk": RUN_TASK_SK},
                            "ConditionExpression": "attribute_exists(pk) AND revision = :read",
                            "ExpressionAttributeValues": {":read": record.revision},
                        }
                    },
                    {
                        "Delete": {
                            "TableName": self._table.name,
                            "Key": _claim_key(record.task.name),
                        }
                    },
                ]
            )
        except TransactionCanceled:
            return False
        return True

    def attach(self, attachment: WorkspaceRunTask) -> bool:
        """False when the task is already attached to the workspace. The workspace and the
        task must exist at that moment (checked in the same transaction)."""
        try:
            transact_write(
                [
                    self._put(_attachment_item(attachment), "attribute_not_exists(pk)"),
                    self._exists({"pk": attachment.workspace_id, "sk": "workspace"}),
                    self._exists({"pk": attachment.run_task_id, "sk": RUN_TASK_SK}),
                ]
            )
        except TransactionCanceled as canceled:
            if canceled.failed[0]:
                return False
            raise Conflict("The workspace or the run task was deleted meanwhile.") from canceled
        return True

    def attachments(self, workspace_id: str) -> list[WorkspaceRunTask]:
        items = query_all(
            self._table,
            KeyConditionExpression="pk = :ws AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":ws": workspace_id, ":prefix": ATTACHMENT_PREFIX},
            ConsistentRead=True,
        )
        return sorted((_attachment(i) for i in items), key=lambda a: a.created_at)

    def update_attachment(self, attachment: WorkspaceRunTask) -> bool:
        item = _attachment_item(attachment)
        return self._still_attached(attachment, partial(self._table.put_item, Item=item))

    def detach(self, attachment: WorkspaceRunTask) -> bool:
        key = _attachment_key(attachment)
        return self._still_attached(attachment, partial(self._table.delete_item, Key=key))

    def _still_attached(self, attachment: WorkspaceRunTask, write: Callable[..., object]) -> bool:
        """``write`` the attachment's item on condition that it is still this attachment (not
        detached, nor the task attached again since it was read); False if not."""
        done = conditionally(
            lambda: write(
                ConditionExpression="id = :id", ExpressionAttributeValues={":id": attachment.id}
            )
        )
        return done is not None

    def _put(
        self,
        item: dict[str, Any],
        condition: str = "attribute_not_exists(pk)",
        values: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        request: dict[str, Any] = {
            "TableName": self._table.name,
            "Item": item,
            "ConditionExpression": condition,
        }
        if values:
            request["ExpressionAttributeValues"] = values
        return {"Put": request}

    def _exists(self, key: dict[str, str]) -> dict[str, Any]:
        return {
            "ConditionCheck": {
                "TableName": self._table.name,
                "Key": key,
                "ConditionExpression": "attribute_exists(pk)",
            }
        }


def _item(record: RunTaskRecord) -> dict[str, Any]:
    task = record.task
    item: dict[str, Any] = {
        "pk": task.id,
        "sk": RUN_TASK_SK,
        "entity": ENTITY,
        "name": task.name,
        "url": task.url,
        "description": task.description,
        "enabled": task.enabled,
        "timeout_seconds": task.timeout_seconds,
        "max_run_seconds": task.max_run_seconds,
        "global": task.global_.model_dump(mode="json"),
        "created_at": to_iso(task.created_at),
        "updated_at": to_iso(task.updated_at),
        "revision": uuid.uuid4().hex,
    }
    if record.sealed_hmac_key is not None:
        item["sealed_hmac_key"] = record.sealed_hmac_key
    return item


def _record(item: dict[str, Any]) -> RunTaskRecord:
    sealed = item.get("sealed_hmac_key")
    task = RunTask(
        id=str(item["pk"]),
        name=str(item["name"]),
        url=str(item["url"]),
        description=str(item.get("description", "")),
        enabled=bool(item.get("enabled", True)),
        timeout_seconds=int(item["timeout_seconds"]),
        max_run_seconds=int(item["max_run_seconds"]),
        hmac_key_set=sealed is not None,
        global_=GlobalSettings.model_validate(item.get("global") or {}),
        created_at=from_iso(str(item["created_at"])),
        updated_at=from_iso(str(item["updated_at"])),
    )
    return RunTaskRecord(
        task=task,
        sealed_hmac_key=None if sealed is None else str(sealed),
        revision=item.get("revision"),
    )


def _attachment_key(attachment: WorkspaceRunTask) -> dict[str, str]:
    return {"pk": attachment.workspace_id, "sk": ATTACHMENT_PREFIX + attachment.run_task_id}


def _attachment_item(attachment: WorkspaceRunTask) -> dict[str, Any]:
    return _attachment_key(attachment) | {
        "id": attachment.id,
        "run_task_id": attachment.run_task_id,
        "stages": [s.value for s in attachment.stages],
        "enforcement_level": attachment.enforcement_level.value,
        "created_at": to_iso(attachment.created_at),
    }


def _attachment(item: dict[str, Any]) -> WorkspaceRunTask:
    return WorkspaceRunTask(
        id=str(item["id"]),
        workspace_id=str(item["pk"]),
        run_task_id=str(item["run_task_id"]),
        stages=[Stage(s) for s in item["stages"]],
        enforcement_level=Enforcement(item["enforcement_level"]),
        created_at=from_iso(str(item["created_at"])),
    )


def updated(record: RunTaskRecord, changes: dict[str, Any], at: datetime) -> RunTaskRecord:
    """A copy of ``record`` with ``changes`` (public fields, plus ``sealed_hmac_key``)."""
    sealed = changes.pop("sealed_hmac_key", record.sealed_hmac_key)
    fields = record.task.model_dump(by_alias=False) | changes | {"updated_at": at}
    fields["hmac_key_set"] = sealed is not None
    return RunTaskRecord(task=RunTask.model_validate(fields), sealed_hmac_key=sealed)
