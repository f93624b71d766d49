"""The runs table: one item per run, keyed by its id.

Two indexes: ``by-workspace`` lists a workspace's runs newest first; ``queue`` is sparse and
holds only pending, non-speculative runs (``queued_workspace_id`` is set while a run waits), so
the oldest waiting run of a workspace is one query away.

Every status change is a conditional write on the status the caller expects, so a late or
duplicate event (a second confirm, a reconcile after the run already ended) changes nothing.
"""

import time
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import Any, Protocol

from iacp.dynamo import Update, batch_get, conditionally, pages, read_page
from iacp.pagination import decode_cursor
from iacp.runs.models import Run
from iacp.runs.status import InvalidTransition, RunStatus, allowed_from
from iacp.tables import dynamodb_table
from iacp.timestamps import from_iso, to_iso

BY_WORKSPACE = "by-workspace"
QUEUE = "queue"
_LIST_KEY = frozenset({"id", "workspace_id", "created_key"})
# The phase of a run force-canceled while that phase's runner ran: the reconcile still has to
# wait for the runner, record what it left and release (iacp.orchestration.reconcile).
AWAITING_RUNNER = "awaiting_runner"
# Counts the rewrites of a run's task-stage summaries: each rewrite is conditional on it.
TASK_STAGES_VERSION = "task_stages_version"
# The run's own variables, sealed (iacp.variables.run_scoped): written once, with the run.
SEALED_VARIABLES = "sealed_variables"
# Whether a VCS-driven run's plan task fetches its commit (no fetch task of its own): decided
# when the run starts (iacp.orchestration.workflow, RunWorkflow.start).
FETCH_IN_PLAN = "fetch_in_plan"
REWRITE_ATTEMPTS = 10
# Attributes the workflow keeps on the run item that are never part of the API's Run.
PRIVATE = (
    "confirmation_token",
    "queued_workspace_id",
    "created_key",
    "lock_held",
    "cancel_requested_at",
    "canceled_by",
    "apply_by",
    "apply_comment",
    "discard_by",
    "discard_comment",
    "override_token",
    AWAITING_RUNNER,
    TASK_STAGES_VERSION,
    SEALED_VARIABLES,
    FETCH_IN_PLAN,
)


class RunStore(Protocol):
    def add(self, run: Run, private: Mapping[str, str] | None = None) -> bool: ...
    def get(self, run_id: str) -> Run | None: ...
    def private(self, run_id: str) -> dict[str, Any]: ...
    def unsettled(self, run_ids: Collection[str]) -> set[str]: ...
    def page(
        self, workspace_id: str, limit: int, cursor: str | None
    ) -> tuple[list[Run], str | None]: ...
    def oldest_queued(self, workspace_id: str) -> Run | None: ...
    def workspaces_with_queued_runs(self) -> set[str]: ...
    def transition(
        self,
        run_id: str,
        to: RunStatus,
        at: datetime,
        fields: Mapping[str, Any] | None = None,
        remove: Collection[str] = (),
        *,
        only_from: Collection[RunStatus] | None = None,
    ) -> Run: ...
    def update(
        self, run_id: str, fields: Mapping[str, Any], remove: Collection[str] = ()
    ) -> Run | None: ...
    def update_in_status(
        self, run_id: str, status: RunStatus, fields: Mapping[str, Any]
    ) -> Run | None: ...
    def take_private(self, run_id: str, name: str) -> str | None: ...
    def rewrite_task_stages(
        self,
        run_id: str,
        change: Callable[[Run], list[dict[str, Any]]],
        fields: Mapping[str, Any] | None = None,
        remove: Collection[str] = (),
    ) -> Run | None: ...


class DynamoRunStore:
    def __init__(self, table_name: str):
        self._table = dynamodb_table(table_name)

    def add(self, run: Run, private: Mapping[str, str] | None = None) -> bool:
        """Store a new run, with private attributes of its own (``PRIVATE``); False when a
        run with its id exists (a derived id, made again)."""
        item = _item(run) | dict(private or {})
        if run.status is RunStatus.PENDING and run.queues:
            item["queued_workspace_id"] = run.workspace_id
        new = "attribute_not_exists(id)"
        return (
            conditionally(lambda: self._table.put_item(Item=item, ConditionExpression=new))
            is not None
        )

    def get(self, run_id: str) -> Run | None:
        item = self._read(run_id)
        return None if item is None else _run(item)

    def private(self, run_id: str) -> dict[str, Any]:
        """The workflow's own attributes of a run (task token, lock flag); never returned."""
        item = self._read(run_id) or {}
        return {k: item[k] for k in PRIVATE if k in item}

    def unsettled(self, run_ids: Collection[str]) -> set[str]:
        """Of ``run_ids``, the runs not ended yet or whose runner is still awaited; unknown
        ids are left out. Read a hundred runs a request (the execution sweep asks about every
        execution that ended unsuccessfully in two hours)."""
        items = batch_get(self._table.name, [{"id": run_id} for run_id in run_ids])
        return {str(item["id"]) for item in items if _unsettled(item)}

    def _read(self, run_id: str) -> dict[str, Any] | None:
        return self._table.get_item(Key={"id": run_id}, ConsistentRead=True).get("Item")

    def page(
        self, workspace_id: str, limit: int, cursor: str | None
    ) -> tuple[list[Run], str | None]:
        request: dict[str, Any] = {
            "IndexName": BY_WORKSPACE,
            "KeyConditionExpression": "workspace_id = :ws",
            "ExpressionAttributeValues": {":ws": workspace_id},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        start = decode_cursor(cursor, _LIST_KEY, within=lambda k: k["workspace_id"] == workspace_id)
        items, next_cursor = read_page(self._table.query, request, start)
        return [_run(i) for i in items], next_cursor

    def oldest_queued(self, workspace_id: str) -> Run | None:
        reply = self._table.query(
            IndexName=QUEUE,
            KeyConditionExpression="queued_workspace_id = :ws",
            ExpressionAttributeValues={":ws": workspace_id},
            Limit=1,
        )
        items = reply["Items"]
        # The index is eventually consistent: confirm with a strong read.
        return self.get(str(items[0]["id"])) if items else None

    def workspaces_with_queued_runs(self) -> set[str]:
        """Every workspace that has a run waiting. The ``queue`` index is sparse (only
        waiting runs are in it), so scanning it reads the waiting runs and nothing else."""
        return {
            str(item["queued_workspace_id"])
            for reply in pages(
                self._table.scan, IndexName=QUEUE, ProjectionExpression="queued_workspace_id"
            )
            for item in reply["Items"]
        }

    def transition(
        self,
        run_id: str,
        to: RunStatus,
        at: datetime,
        fields: Mapping[str, Any] | None = None,
        remove: Collection[str] = (),
        *,
        only_from: Collection[RunStatus] | None = None,
    ) -> Run:
        """Move the run to ``to``, on condition that its status is one ``TRANSITIONS`` leads
        from (narrowed to ``only_from``); ``InvalidTransition`` names the status it is in if
        not."""
        update = Update().set("status", to.value).set_in("status_timestamps", to.value, to_iso(at))
        update.set_all(fields or {}).remove(remove)
        if to is not RunStatus.PENDING:
            update.remove(["queued_workspace_id"])
        allowed = sorted(s.value for s in allowed_from(to, only_from))
        moved = self._update(run_id, update, update.one_of("status", allowed)) if allowed else None
        if moved is None:  # no status leads to ``to`` (pending), or the run is elsewhere
            current = self.get(run_id)
            raise InvalidTransition(run_id, None if current is None else current.status, to)
        return moved

    def update(
        self, run_id: str, fields: Mapping[str, Any], remove: Collection[str] = ()
    ) -> Run | None:
        return self._update(run_id, Update().set_all(fields).remove(remove), "attribute_exists(id)")

    def update_in_status(
        self, run_id: str, status: RunStatus, fields: Mapping[str, Any]
    ) -> Run | None:
        """Set ``fields`` if the run is still ``status``; ``None`` if it is not."""
        update = Update().set_all(fields)
        return self._update(run_id, update, update.one_of("status", [status.value]))

    def rewrite_task_stages(
        self,
        run_id: str,
        change: Callable[[Run], list[dict[str, Any]]],
        fields: Mapping[str, Any] | None = None,
        remove: Collection[str] = (),
    ) -> Run | None:
        """Set the run's task-stage summaries to ``change(run)`` (and ``fields``), on condition
        that nobody rewrote them since the run was read (a version number kept beside them);
        read and try again if someone did. ``None`` if there is no such run."""
        for _ in range(REWRITE_ATTEMPTS):
            item = self._read(run_id)
            if item is None:
                return None
            version = int(item.get(TASK_STAGES_VERSION, 0))
            update = Update().set_all({"task_stages": change(_run(item)), **(fields or {})})
            update.set(TASK_STAGES_VERSION, version + 1).remove(remove)
            unchanged = (
                f"{update.name(TASK_STAGES_VERSION)} = {update.value(version)}"
                if TASK_STAGES_VERSION in item
                else f"attribute_not_exists({update.name(TASK_STAGES_VERSION)})"
            )
            rewritten = self._update(run_id, update, unchanged)
            if rewritten is not None:
                return rewritten
        raise RuntimeError(f"run {run_id}: its task stages kept changing while rewritten")

    def take_private(self, run_id: str, name: str) -> str | None:
        """Remove a private attribute (a task token) and return what it was, atomically: of
        two callers, one gets the token and the other ``None``."""
        reply = conditionally(
            lambda: self._table.update_item(
                Key={"id": run_id},
                UpdateExpression="REMOVE #name",
                ConditionExpression="attribute_exists(#name)",
                ExpressionAttributeNames={"#name": name},
                ReturnValues="ALL_OLD",
            )
        )
        return None if reply is None else str(reply["Attributes"][name])

    def _update(self, run_id: str, update: Update, condition: str) -> Run | None:
        request = update.request(condition)
        reply = conditionally(
            lambda: self._table.update_item(Key={"id": run_id}, ReturnValues="ALL_NEW", **request)
        )
        return None if reply is None else _run(reply["Attributes"])


def _item(run: Run) -> dict[str, Any]:
    item = run.model_dump(mode="json", exclude_none=True)
    # Orders runs (newest first in lists, oldest first in the queue): created_at has only
    # second resolution, so the key carries the creation time in nanoseconds.
    item["created_key"] = f"{time.time_ns():020d}#{run.id}"
    return item


def _unsettled(item: Mapping[str, Any]) -> bool:
    """Whether the run of ``item`` still needs its workflow's end: it has not ended, or it was
    force-canceled and its runner is still awaited."""
    return not RunStatus(item["status"]).terminal or AWAITING_RUNNER in item


def _run(item: Mapping[str, Any]) -> Run:
    public = {k: v for k, v in item.items() if k not in PRIVATE}
    for count in ("resource_additions", "resource_changes", "resource_destructions"):
        if count in public:
            public[count] = int(public[count])
    public["created_at"] = from_iso(str(public["created_at"]))
    return Run.model_validate(public)
