"""RunTaskStore and TaskResultStore: the same cases against the in-memory fakes and the
DynamoDB stores."""

from datetime import timedelta

import pytest

from iacp.errors import Conflict, InvalidInput
from iacp.runtasks.models import Enforcement, ResultStatus, RunTask, Stage, TaskResult
from iacp.runtasks.models import WorkspaceRunTask as Attachment
from iacp.runtasks.results import ResultRecord
from iacp.runtasks.store import NameTaken, RunTaskRecord
from tests.contract.conftest import NOW, Stores, every_page, workspace


def task(task_id: str, name: str, **fields: object) -> RunTaskRecord:
    return RunTaskRecord(
        task=RunTask.model_validate(
            {
                "id": task_id,
                "created_at": NOW,
                "updated_at": NOW,
                "name": name,
                "url": "https://tasks.example/hook",
                "description": "",
                "enabled": True,
                "timeout_seconds": 60,
                "max_run_seconds": 600,
                "hmac_key_set": False,
                "global": {},
            }
            | fields
        )
    )


def attachment(attachment_id: str, task_id: str, **fields: object) -> Attachment:
    return Attachment.model_validate(
        {
            "id": attachment_id,
            "created_at": NOW,
            "workspace_id": "ws-1",
            "run_task_id": task_id,
            "stages": ["pre_plan"],
            "enforcement_level": "mandatory",
        }
        | fields
    )


def test_a_task_name_is_unique_and_a_rename_frees_it(stores: Stores):
    stores.run_tasks.create(task("task-1", "lint"))
    with pytest.raises(NameTaken):
        stores.run_tasks.create(task("task-2", "LINT"))
    stores.run_tasks.create(task("task-2", "scan"))
    current = stores.run_tasks.get("task-1")
    assert current is not None and current.task == task("task-1", "lint").task

    with pytest.raises(NameTaken):
        stores.run_tasks.replace(current, task("task-1", "scan"))
    assert stores.run_tasks.replace(current, task("task-1", "policy")) is True
    assert stores.run_tasks.replace(current, task("task-1", "again")) is False  # not as read
    stores.run_tasks.create(task("task-3", "lint"))


def test_tasks_are_listed_by_name(stores: Stores):
    for n, name in enumerate(["c", "a", "d", "b"]):
        stores.run_tasks.create(task(f"task-{n}", name))

    assert [t.name for t in every_page(stores.run_tasks.page, 3)] == ["a", "b", "c", "d"]
    assert sorted(r.task.name for r in stores.run_tasks.all()) == ["a", "b", "c", "d"]
    with pytest.raises(InvalidInput):
        stores.run_tasks.page(3, "garbage")


def test_a_task_is_deleted_only_as_read(stores: Stores):
    stores.run_tasks.create(task("task-1", "lint"))
    read = stores.run_tasks.get("task-1")
    assert read is not None
    stores.run_tasks.replace(read, task("task-1", "lint", description="changed"))

    assert stores.run_tasks.delete(read) is False
    current = stores.run_tasks.get("task-1")
    assert current is not None
    assert stores.run_tasks.delete(current) is True
    assert stores.run_tasks.get("task-1") is None
    stores.run_tasks.create(task("task-2", "lint"))


def test_a_task_is_attached_to_a_workspace_once(stores: Stores):
    stores.workspaces.create(workspace())
    stores.run_tasks.create(task("task-1", "lint"))
    first = attachment("wstask-1", "task-1")

    with pytest.raises(Conflict):
        stores.run_tasks.attach(attachment("wstask-2", "task-9"))
    assert stores.run_tasks.attach(first) is True
    assert stores.run_tasks.attach(attachment("wstask-3", "task-1")) is False
    assert stores.run_tasks.attachments("ws-1") == [first]

    changed = first.model_copy(update={"enforcement_level": Enforcement.ADVISORY})
    assert stores.run_tasks.update_attachment(changed) is True
    assert stores.run_tasks.update_attachment(attachment("wstask-9", "task-1")) is False
    assert stores.run_tasks.attachments("ws-1") == [changed]
    assert stores.run_tasks.detach(attachment("wstask-9", "task-1")) is False
    assert stores.run_tasks.detach(changed) is True
    assert stores.run_tasks.attachments("ws-1") == []


# --- results -----------------------------------------------------------------------------


def result(
    result_id: str, stage: Stage = Stage.PRE_PLAN, due_at: int | None = 1000
) -> ResultRecord:
    return ResultRecord(
        result=TaskResult(
            id=result_id,
            created_at=NOW,
            updated_at=NOW,
            run_id="run-1",
            workspace_id="ws-1",
            run_task_id="task-1",
            run_task_name="lint",
            stage=stage,
            enforcement_level=Enforcement.MANDATORY,
            status=ResultStatus.PENDING,
        ),
        task_token="token",
        timeout_seconds=60,
        max_run_seconds=600,
        run_deadline=1600,
        due_at=due_at,
    )


def test_a_result_opens_until_it_is_final(stores: Stores):
    assert stores.results.open(result("taskrs-1")) is True
    assert stores.results.open(result("taskrs-1")) is True  # a retried dispatch
    assert stores.results.get("taskrs-1") == result("taskrs-1")

    stores.results.change("taskrs-1", ResultStatus.PASSED, NOW, {"message": "ok"})

    assert stores.results.open(result("taskrs-1")) is False
    final = stores.results.get("taskrs-1")
    assert final is not None and final.result.status is ResultStatus.PASSED
    assert stores.results.get("taskrs-2") is None


def test_a_change_is_conditional_on_the_status(stores: Stores):
    stores.results.open(result("taskrs-1"))
    later = NOW + timedelta(seconds=5)

    running = stores.results.change("taskrs-1", ResultStatus.RUNNING, later, due_at=1200)
    assert running is not None and running.due_at == 1200
    assert running.result.updated_at == later
    failed = stores.results.change("taskrs-1", ResultStatus.FAILED, later, {"message": "bad"})
    assert failed is not None and (failed.result.message, failed.due_at) == ("bad", None)
    assert stores.results.change("taskrs-1", ResultStatus.PASSED, later) is None
    overridden = stores.results.change(
        "taskrs-1", ResultStatus.OVERRIDDEN, later, allowed_from={ResultStatus.FAILED}
    )
    assert overridden is not None and overridden.result.status is ResultStatus.OVERRIDDEN
    assert stores.results.change("taskrs-9", ResultStatus.PASSED, later) is None


def test_results_due_are_found_and_changed_only_while_due(stores: Stores):
    stores.results.open(result("taskrs-1", due_at=100))
    stores.results.open(result("taskrs-2", due_at=200))
    stores.results.open(result("taskrs-3", due_at=None))

    due, _ = stores.results.due(150)
    assert due == ["taskrs-1"]
    assert stores.results.change("taskrs-2", ResultStatus.TIMEOUT, NOW, due_by=150) is None
    assert stores.results.change("taskrs-1", ResultStatus.TIMEOUT, NOW, due_by=150) is not None
    assert stores.results.due(1000)[0] == ["taskrs-2"]


def test_a_runs_results_are_read_in_stage_order(stores: Stores):
    stores.results.open(result("taskrs-post", Stage.POST_PLAN))
    stores.results.open(result("taskrs-pre", Stage.PRE_PLAN))

    assert [r.result.id for r in stores.results.for_run("run-1")] == ["taskrs-pre", "taskrs-post"]
    many = stores.results.get_many(["taskrs-post", "taskrs-9", "taskrs-pre"])
    assert [r.result.id for r in many] == ["taskrs-post", "taskrs-pre"]
    assert stores.results.for_run("run-2") == []
