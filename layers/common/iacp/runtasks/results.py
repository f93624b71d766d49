"""The task-results table: one item per result, keyed by its id.

- ``by-run`` lists a run's results in stage order.
- ``due`` is sparse: only open (pending or running) results carry ``due_shard`` and
  ``due_at`` (the earlier of their two deadlines, epoch seconds), so the timeout sweep reads
  the results that are due and nothing else. Every write that makes a result final removes
  them; a heartbeat moves ``due_at`` on.

Every status change is conditional on the result still being open, so of a callback, the
sweep, a cancel and a late retry, the first to arrive decides and the rest change nothing.
"""

import time
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any, Protocol

from iacp.dynamo import Update, batch_get, conditionally, pages, query_all
from iacp.ids import derived_id
from iacp.model import Model
from iacp.runtasks.models import OPEN, ResultStatus, Stage, TaskResult
from iacp.tables import dynamodb_table
from iacp.timestamps import from_iso, to_iso

BY_RUN = "by-run"
DUE = "due"
DUE_SHARD = "open"


def result_id_for(run_id: str, stage: Stage, run_task_id: str) -> str:
    """A result's id is derived from what it is the result of, so a retried dispatch finds
    the result its first attempt created instead of making a second one."""
    return derived_id("taskrs", f"{run_id}/{stage}/{run_task_id}")


def outcome(result: TaskResult) -> dict[str, str]:
    """What a task stage's dispatch, waiting on its task token, is resumed with: by the
    result's callback, the timeout sweep or an override."""
    return {"result_id": result.id, "status": result.status.value}


class ResultRecord(Model):
    """A result as stored: the public result and what only the platform may see."""

    result: TaskResult
    task_token: str | None = None  # the waiting workflow step's Step Functions token
    sealed_access_token: str | None = None
    token_id: str | None = None  # the jti of the result's current access token
    timeout_seconds: int
    max_run_seconds: int
    run_deadline: int  # epoch seconds: created + max run time
    due_at: int | None = None  # epoch seconds while open: the earlier deadline


class TaskResultStore(Protocol):
    def open(self, record: ResultRecord) -> bool: ...
    def get(self, result_id: str) -> ResultRecord | None: ...
    def get_many(self, result_ids: Collection[str]) -> list[ResultRecord]: ...
    def for_run(self, run_id: str) -> list[ResultRecord]: ...
    def change(
        self,
        result_id: str,
        to: ResultStatus,
        at: datetime,
        fields: Mapping[str, Any] | None = None,
        *,
        due_at: int | None = None,
        allowed_from: Collection[ResultStatus] = OPEN,
        due_by: int | None = None,
    ) -> ResultRecord | None: ...
    def due(self, now: int) -> tuple[list[str], int]: ...


class DynamoTaskResultStore:
    def __init__(self, table_name: str):
        self._table = dynamodb_table(table_name)

    def open(self, record: ResultRecord) -> bool:
        """Write a new open result, or replace one that a retried dispatch left open.
        False if the result already exists and is final."""
        item = _item(record)
        written = conditionally(
            lambda: self._table.put_item(
                Item=item,
                ConditionExpression="attribute_not_exists(id) OR #status IN (:pending, :running)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":pending": ResultStatus.PENDING.value,
                    ":running": ResultStatus.RUNNING.value,
                },
            )
        )
        return written is not None

    def get(self, result_id: str) -> ResultRecord | None:
        item = self._table.get_item(Key={"id": result_id}, ConsistentRead=True).get("Item")
        return None if item is None else _record(item)

    def get_many(self, result_ids: Collection[str]) -> list[ResultRecord]:
        """In the order of ``result_ids``; missing ones left out."""
        keys = [{"id": result_id} for result_id in result_ids]
        found = {item["id"]: _record(item) for item in batch_get(self._table.name, keys)}
        return [found[result_id] for result_id in result_ids if result_id in found]

    def for_run(self, run_id: str) -> list[ResultRecord]:
        items = query_all(
            self._table,
            IndexName=BY_RUN,
            KeyConditionExpression="run_id = :run",
            ExpressionAttributeValues={":run": run_id},
        )
        return [_record(item) for item in items]

    def change(
        self,
        result_id: str,
        to: ResultStatus,
        at: datetime,
        fields: Mapping[str, Any] | None = None,
        *,
        due_at: int | None = None,
        allowed_from: Collection[ResultStatus] = OPEN,
        due_by: int | None = None,
    ) -> ResultRecord | None:
        """Move the result to ``to`` if its status is one of ``allowed_from`` (and, with
        ``due_by``, if it is due by then); ``None`` if not. An open ``to`` keeps the result
        in the ``due`` index at ``due_at``; a final one takes it out."""
        update = Update().set("status", to.value).set("updated_at", to_iso(at))
        update.set_all(fields or {})
        if to not in OPEN:
            update.remove(["due_shard", "due_at"])
        elif due_at is not None:
            update.set("due_at", due_at)
        condition = update.one_of("status", [status.value for status in allowed_from])
        if due_by is not None:
            condition += f" AND {update.name('due_at')} <= {update.value(due_by)}"
        request = update.request(condition)
        reply = conditionally(
            lambda: self._table.update_item(
                Key={"id": result_id}, ReturnValues="ALL_NEW", **request
            )
        )
        return None if reply is None else _record(reply["Attributes"])

    def due(self, now: int) -> tuple[list[str], int]:
        """The ids of open results whose deadline has passed, and how many items the query
        read (the sparse index holds open results only, and the key condition stops at
        ``now``: nothing else is read)."""
        request: dict[str, Any] = {
            "IndexName": DUE,
            "KeyConditionExpression": "due_shard = :shard AND due_at <= :now",
            "ExpressionAttributeValues": {":shard": DUE_SHARD, ":now": now},
        }
        ids: list[str] = []
        read = 0
        for reply in pages(self._table.query, **request):
            read += int(reply.get("ScannedCount", len(reply["Items"])))
            ids.extend(str(item["id"]) for item in reply["Items"])
        return ids, read


_PRIVATE = (
    "task_token",
    "sealed_access_token",
    "token_id",
    "timeout_seconds",
    "max_run_seconds",
    "run_deadline",
    "due_at",
    "due_shard",
    "order_key",
)


def _item(record: ResultRecord) -> dict[str, Any]:
    item = record.result.model_dump(mode="json", exclude_none=True)
    item.update(
        timeout_seconds=record.timeout_seconds,
        max_run_seconds=record.max_run_seconds,
        run_deadline=record.run_deadline,
        # Stage order, then creation: a run's results read in the order they happened.
        order_key=f"{list(Stage).index(record.result.stage)}#{time.time_ns():020d}",
    )
    for name in ("task_token", "sealed_access_token", "token_id"):
        value = getattr(record, name)
        if value is not None:
            item[name] = value
    if record.result.status in OPEN and record.due_at is not None:
        item.update(due_shard=DUE_SHARD, due_at=record.due_at)
    return item


def _record(item: Mapping[str, Any]) -> ResultRecord:
    public = {k: v for k, v in item.items() if k not in _PRIVATE}
    due_at = item.get("due_at")
    return ResultRecord(
        result=TaskResult.model_validate(
            public
            | {
                "created_at": from_iso(str(public["created_at"])),
                "updated_at": from_iso(str(public["updated_at"])),
            }
        ),
        task_token=item.get("task_token"),
        sealed_access_token=item.get("sealed_access_token"),
        token_id=item.get("token_id"),
        timeout_seconds=int(item["timeout_seconds"]),
        max_run_seconds=int(item["max_run_seconds"]),
        run_deadline=int(item["run_deadline"]),
        due_at=None if due_at is None else int(due_at),
    )
