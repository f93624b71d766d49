"""An in-memory ``RunStore``: each run kept as the item the runs table would hold (the
public fields as JSON, plus the workflow's private attributes)."""

import copy
import itertools
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import Any

from iacp.runs.models import Operation, Run
from iacp.runs.status import InvalidTransition, RunStatus, allowed_from
from iacp.runs.store import AWAITING_RUNNER, PRIVATE, TASK_STAGES_VERSION, RunStore
from iacp.timestamps import to_iso
from tests.fakes.pages import page_of


def pending_run(at: datetime, **arguments: Any) -> Run:
    """A new run as ``Run.pending`` makes it: run-1 of ws-1, on its cv-1, plan and apply,
    confirmed by hand, unless ``arguments`` say otherwise."""
    defaults: dict[str, Any] = {
        "run_id": "run-1",
        "workspace_id": "ws-1",
        "configuration_version_id": "cv-1",
        "operation": Operation.PLAN_AND_APPLY,
        "auto_apply": False,
        "message": "m",
        "created_by": "user-1",
    }
    return Run.pending(at=at, **(defaults | arguments))


class InMemoryRunStore:
    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self._order = itertools.count()

    def add(self, run: Run, private: Mapping[str, str] | None = None) -> bool:
        if run.id in self.items:
            return False
        item = run.model_dump(mode="json", exclude_none=True) | dict(private or {})
        item["created_key"] = f"{next(self._order):020d}#{run.id}"
        if run.status is RunStatus.PENDING and run.queues:
            item["queued_workspace_id"] = run.workspace_id
        self.items[run.id] = item
        return True

    def get(self, run_id: str) -> Run | None:
        item = self.items.get(run_id)
        return None if item is None else _run(item)

    def private(self, run_id: str) -> dict[str, Any]:
        item = self.items.get(run_id, {})
        return {k: copy.deepcopy(item[k]) for k in PRIVATE if k in item}

    def unsettled(self, run_ids: Collection[str]) -> set[str]:
        return {
            run_id
            for run_id in run_ids
            if (item := self.items.get(run_id)) is not None
            and (not RunStatus(item["status"]).terminal or AWAITING_RUNNER in item)
        }

    def page(
        self, workspace_id: str, limit: int, cursor: str | None
    ) -> tuple[list[Run], str | None]:
        items = sorted(
            (i for i in self.items.values() if i["workspace_id"] == workspace_id),
            key=lambda i: str(i["created_key"]),
            reverse=True,
        )
        page, next_cursor = page_of(items, lambda i: str(i["id"]), limit, cursor, workspace_id)
        return [_run(i) for i in page], next_cursor

    def oldest_queued(self, workspace_id: str) -> Run | None:
        queued = [i for i in self.items.values() if i.get("queued_workspace_id") == workspace_id]
        if not queued:
            return None
        return _run(min(queued, key=lambda i: str(i["created_key"])))

    def workspaces_with_queued_runs(self) -> set[str]:
        return {
            str(i["queued_workspace_id"]) for i in self.items.values() if "queued_workspace_id" in i
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
        allowed = allowed_from(to, only_from)
        item = self.items.get(run_id)
        if item is None or RunStatus(item["status"]) not in allowed:
            raise InvalidTransition(run_id, None if item is None else RunStatus(item["status"]), to)
        item["status"] = to.value
        item["status_timestamps"][to.value] = to_iso(at)
        _change(item, fields or {}, remove)
        if to is not RunStatus.PENDING:
            item.pop("queued_workspace_id", None)
        return _run(item)

    def update(
        self, run_id: str, fields: Mapping[str, Any], remove: Collection[str] = ()
    ) -> Run | None:
        item = self.items.get(run_id)
        if item is None:
            return None
        _change(item, fields, remove)
        return _run(item)

    def update_in_status(
        self, run_id: str, status: RunStatus, fields: Mapping[str, Any]
    ) -> Run | None:
        item = self.items.get(run_id)
        if item is None or item["status"] != status.value:
            return None
        _change(item, fields, ())
        return _run(item)

    def take_private(self, run_id: str, name: str) -> str | None:
        item = self.items.get(run_id)
        if item is None or name not in item:
            return None
        return str(item.pop(name))

    def rewrite_task_stages(
        self,
        run_id: str,
        change: Callable[[Run], list[dict[str, Any]]],
        fields: Mapping[str, Any] | None = None,
        remove: Collection[str] = (),
    ) -> Run | None:
        item = self.items.get(run_id)
        if item is None:
            return None
        stages = change(_run(item))
        version = int(item.get(TASK_STAGES_VERSION, 0)) + 1
        _change(
            item, {"task_stages": stages, **(fields or {}), TASK_STAGES_VERSION: version}, remove
        )
        return _run(item)


def _change(item: dict[str, Any], fields: Mapping[str, Any], remove: Collection[str]) -> None:
    item.update(copy.deepcopy(dict(fields)))
    for name in remove:
        item.pop(name, None)


def _run(item: Mapping[str, Any]) -> Run:
    return Run.model_validate(copy.deepcopy({k: v for k, v in item.items() if k not in PRIVATE}))


_: RunStore = InMemoryRunStore()
