"""In-memory ``RunTaskStore`` (tasks, and attachments under their workspace in the shared
table) and ``TaskResultStore``."""

import itertools
import uuid
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from iacp.errors import Conflict
from iacp.runtasks.models import OPEN, ResultStatus, RunTask, Stage, TaskResult, WorkspaceRunTask
from iacp.runtasks.results import ResultRecord, TaskResultStore
from iacp.runtasks.store import (
    ATTACHMENT_PREFIX,
    RUN_TASK_SK,
    NameTaken,
    RunTaskRecord,
    RunTaskStore,
)
from iacp.workspaces.store import WORKSPACE_SK
from tests.fakes.pages import page_of
from tests.fakes.table import FakeTable


def _claim(name: str) -> tuple[str, str]:
    return f"task-name#{name.lower()}", "name"


def _attachment_key(attachment: WorkspaceRunTask) -> tuple[str, str]:
    return attachment.workspace_id, ATTACHMENT_PREFIX + attachment.run_task_id


class InMemoryRunTaskStore:
    def __init__(self, table: FakeTable):
        self.table = table

    def create(self, record: RunTaskRecord) -> None:
        if _claim(record.task.name) in self.table:
            raise NameTaken(record.task.name)
        self.table[(record.task.id, RUN_TASK_SK)] = _written(record)
        self.table[_claim(record.task.name)] = record.task.id

    def get(self, task_id: str) -> RunTaskRecord | None:
        found = self.table.get((task_id, RUN_TASK_SK))
        return None if found is None else found.model_copy(deep=True)

    def page(self, limit: int, cursor: str | None) -> tuple[list[RunTask], str | None]:
        tasks = [record.task for record in self.all()]
        return page_of(tasks, lambda t: t.id, limit, cursor, "run-tasks")

    def all(self) -> list[RunTaskRecord]:
        records = [item for (_, sk), item in self.table.items() if sk == RUN_TASK_SK]
        return [r.model_copy(deep=True) for r in sorted(records, key=lambda r: r.task.name)]

    def replace(self, current: RunTaskRecord, new: RunTaskRecord) -> bool:
        stored = self.get(current.task.id)
        renamed = current.task.name.lower() != new.task.name.lower()
        if renamed and _claim(new.task.name) in self.table:
            raise NameTaken(new.task.name)
        if stored is None or stored.revision != current.revision:
            return False
        self.table[(new.task.id, RUN_TASK_SK)] = _written(new)
        if renamed:
            self.table.pop(_claim(current.task.name), None)
            self.table[_claim(new.task.name)] = new.task.id
        return True

    def delete(self, record: RunTaskRecord) -> bool:
        stored = self.get(record.task.id)
        if stored is None or stored.revision != record.revision:
            return False
        del self.table[(record.task.id, RUN_TASK_SK)]
        self.table.pop(_claim(record.task.name), None)
        return True

    def attach(self, attachment: WorkspaceRunTask) -> bool:
        if _attachment_key(attachment) in self.table:
            return False
        if (attachment.workspace_id, WORKSPACE_SK) not in self.table or (
            attachment.run_task_id,
            RUN_TASK_SK,
        ) not in self.table:
            raise Conflict("The workspace or the run task was deleted meanwhile.")
        self.table[_attachment_key(attachment)] = attachment.model_copy(deep=True)
        return True

    def attachments(self, workspace_id: str) -> list[WorkspaceRunTask]:
        found = [
            a.model_copy(deep=True) for _, a in self.table.under(workspace_id, ATTACHMENT_PREFIX)
        ]
        return sorted(found, key=lambda a: a.created_at)

    def update_attachment(self, attachment: WorkspaceRunTask) -> bool:
        stored = self.table.get(_attachment_key(attachment))
        if stored is None or stored.id != attachment.id:
            return False
        self.table[_attachment_key(attachment)] = attachment.model_copy(deep=True)
        return True

    def detach(self, attachment: WorkspaceRunTask) -> bool:
        stored = self.table.get(_attachment_key(attachment))
        if stored is None or stored.id != attachment.id:
            return False
        del self.table[_attachment_key(attachment)]
        return True


def _written(record: RunTaskRecord) -> RunTaskRecord:
    """As stored: a new revision with every write."""
    return record.model_copy(deep=True, update={"revision": uuid.uuid4().hex})


class InMemoryTaskResultStore:
    def __init__(self) -> None:
        self.records: dict[str, ResultRecord] = {}
        self._order: dict[str, tuple[int, int]] = {}
        self._counter = itertools.count()

    def open(self, record: ResultRecord) -> bool:
        stored = self.records.get(record.result.id)
        if stored is not None and stored.result.status not in OPEN:
            return False
        due_at = record.due_at if record.result.status in OPEN else None
        self.records[record.result.id] = record.model_copy(deep=True, update={"due_at": due_at})
        self._order[record.result.id] = (
            list(Stage).index(record.result.stage),
            next(self._counter),
        )
        return True

    def get(self, result_id: str) -> ResultRecord | None:
        found = self.records.get(result_id)
        return None if found is None else found.model_copy(deep=True)

    def get_many(self, result_ids: Collection[str]) -> list[ResultRecord]:
        return [r for r in (self.get(i) for i in result_ids) if r is not None]

    def for_run(self, run_id: str) -> list[ResultRecord]:
        ids = [i for i, r in self.records.items() if r.result.run_id == run_id]
        return [
            self.records[i].model_copy(deep=True) for i in sorted(ids, key=self._order.__getitem__)
        ]

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
        stored = self.records.get(result_id)
        if stored is None or stored.result.status not in allowed_from:
            return None
        if due_by is not None and (stored.due_at is None or stored.due_at > due_by):
            return None
        result = TaskResult.model_validate(
            stored.result.model_dump(mode="json")
            | dict(fields or {})
            | {"status": to.value, "updated_at": at}
        )
        new_due = stored.due_at if due_at is None else due_at
        changed = stored.model_copy(
            update={"result": result, "due_at": new_due if to in OPEN else None}
        )
        self.records[result_id] = changed
        return changed.model_copy(deep=True)

    def due(self, now: int) -> tuple[list[str], int]:
        due = sorted(
            (r.due_at, i)
            for i, r in self.records.items()
            if r.due_at is not None and r.due_at <= now
        )
        return [i for _, i in due], len(due)


_: RunTaskStore = InMemoryRunTaskStore(FakeTable())
__: TaskResultStore = InMemoryTaskResultStore()
