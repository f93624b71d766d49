"""TaskStages on the fakes: preparing a stage, dispatching its tasks, concluding it (pass,
warn, stop for an override), the override, and a run's open results closed when it ends."""

from typing import Any

import pytest

from iacp.errors import Conflict, Forbidden
from iacp.orchestration.steps import RunNotRunnable
from iacp.orchestration.task_stages import ConcludeInput, DispatchInput, StageRef, TaskItem
from iacp.orchestration.workflow import RunRef
from iacp.runs.models import RunAction
from iacp.runs.status import RunStatus
from iacp.runtasks.models import (
    Enforcement,
    GlobalSettings,
    ResultStatus,
    RunTask,
    Stage,
    StageStatus,
    WorkspaceRunTask,
)
from iacp.runtasks.store import RunTaskRecord
from tests.unit.orchestration.conftest import ADMIN, WRITER, World


def add_task(
    world: World,
    name: str,
    *,
    workspace_id: str | None = None,
    enforcement: Enforcement = Enforcement.MANDATORY,
    stages: tuple[Stage, ...] = (Stage.PRE_PLAN, Stage.POST_PLAN, Stage.POST_APPLY),
    global_: GlobalSettings | None = None,
) -> str:
    task_id = f"task-{name}"
    now = world.clock()
    world.run_tasks.create(
        RunTaskRecord(
            task=RunTask(
                id=task_id,
                created_at=now,
                updated_at=now,
                name=name,
                url=f"https://{name}.example/hook",
                description="",
                enabled=True,
                timeout_seconds=60,
                max_run_seconds=600,
                hmac_key_set=False,
                global_=global_ or GlobalSettings(),
            )
        )
    )
    if workspace_id is not None:
        world.run_tasks.attach(
            WorkspaceRunTask(
                id=f"wstask-{name}",
                created_at=now,
                workspace_id=workspace_id,
                run_task_id=task_id,
                stages=list(stages),
                enforcement_level=enforcement,
            )
        )
    return task_id


def dispatched(world: World, run_id: str, stage: Stage) -> list[TaskItem]:
    items = world.stages.prepare(StageRef(run_id=run_id, stage=stage)).tasks
    for n, item in enumerate(items):
        world.stages.dispatch(DispatchInput(task=item, task_token=f"dispatch-{n}"))
    return items


def answer(world: World, item: TaskItem, status: ResultStatus, message: str = "") -> None:
    """What the service's callback does to the result."""
    assert world.results.change(item.result_id, status, world.clock(), {"message": message})


def conclude(world: World, run_id: str, stage: Stage, items: list[TaskItem]) -> None:
    world.stages.conclude(
        ConcludeInput(run_id=run_id, stage=stage, tasks=items, task_token="conclude")
    )


def summary(world: World, run_id: str, stage: Stage) -> Any:
    return next(s for s in world.run(run_id).task_stages if s.stage is stage)


@pytest.fixture
def ws(world: World) -> str:
    return world.workspace()


@pytest.fixture
def fetching(world: World, ws: str) -> str:
    run_id = world.new_run(ws)
    world.start(run_id)
    return run_id


def test_a_stage_without_tasks_leaves_no_trace(world: World, fetching: str):
    assert world.stages.prepare(StageRef(run_id=fetching, stage=Stage.PRE_PLAN)).tasks == []
    conclude(world, fetching, Stage.PRE_PLAN, [])

    run = world.run(fetching)
    assert (run.status, run.task_stages) == (RunStatus.FETCHING, [])
    assert world.workflow.resumed == [("conclude", {"decision": "continue"})]


def test_prepare_lists_the_attached_tasks_and_shows_the_stage_running(
    world: World, ws: str, fetching: str
):
    add_task(world, "lint", workspace_id=ws)
    add_task(world, "unattached")

    items = world.stages.prepare(StageRef(run_id=fetching, stage=Stage.PRE_PLAN)).tasks

    assert [(i.run_task_id, i.enforcement_level) for i in items] == [
        ("task-lint", Enforcement.MANDATORY)
    ]
    assert items[0].backstop_seconds == 600 + 300
    assert world.run(fetching).status is RunStatus.PRE_PLAN_RUNNING
    assert summary(world, fetching, Stage.PRE_PLAN).status is StageStatus.RUNNING


def test_a_stage_prepared_again_carries_on_and_one_for_an_ended_run_is_refused(
    world: World, ws: str, fetching: str
):
    add_task(world, "lint", workspace_id=ws)
    first = world.stages.prepare(StageRef(run_id=fetching, stage=Stage.PRE_PLAN))
    again = world.stages.prepare(StageRef(run_id=fetching, stage=Stage.PRE_PLAN))
    assert first == again

    world.finisher.end(world.run(fetching), RunStatus.ERRORED, None, reason="test")
    with pytest.raises(RunNotRunnable):
        world.stages.prepare(StageRef(run_id=fetching, stage=Stage.PRE_PLAN))


def test_a_global_task_runs_unless_the_workspace_attaches_it_itself(
    world: World, ws: str, fetching: str
):
    everywhere = GlobalSettings(
        enabled=True, stages=[Stage.PRE_PLAN], enforcement_level=Enforcement.ADVISORY
    )
    add_task(world, "global", global_=everywhere)
    add_task(world, "own", workspace_id=ws, global_=everywhere)

    items = world.stages.prepare(StageRef(run_id=fetching, stage=Stage.PRE_PLAN)).tasks

    assert [(i.run_task_id, i.workspace_run_task_id, i.enforcement_level) for i in items] == [
        ("task-own", "wstask-own", Enforcement.MANDATORY),
        ("task-global", None, Enforcement.ADVISORY),
    ]


def test_dispatch_opens_the_result_and_calls_the_service(world: World, ws: str, fetching: str):
    add_task(world, "lint", workspace_id=ws)

    [item] = dispatched(world, fetching, Stage.PRE_PLAN)

    [(url, body)] = world.deliveries.sent
    assert url == "https://lint.example/hook"
    assert (body["stage"], body["task_result_id"], body["run_id"]) == (
        "pre_plan",
        item.result_id,
        fetching,
    )
    assert body["access_token"]
    record = world.results.get(item.result_id)
    assert record is not None and record.result.status is ResultStatus.PENDING
    assert record.task_token == "dispatch-0"
    assert world.workflow.resumed == []  # the service's callback resumes it


def test_a_retried_dispatch_of_a_final_result_only_resumes(world: World, ws: str, fetching: str):
    add_task(world, "lint", workspace_id=ws)
    [item] = dispatched(world, fetching, Stage.PRE_PLAN)
    answer(world, item, ResultStatus.PASSED)

    world.stages.dispatch(DispatchInput(task=item, task_token="retry"))

    assert len(world.deliveries.sent) == 1
    assert world.workflow.resumed == [("retry", {"result_id": item.result_id, "status": "passed"})]


def test_a_failed_delivery_errors_the_result_and_resumes_at_once(
    world: World, ws: str, fetching: str
):
    add_task(world, "lint", workspace_id=ws)
    world.deliveries.accept = False

    [item] = dispatched(world, fetching, Stage.PRE_PLAN)

    record = world.results.get(item.result_id)
    assert record is not None and record.result.status is ResultStatus.ERRORED
    assert record.result.message == "Delivery failed: HTTP 500."
    assert world.workflow.resumed == [
        ("dispatch-0", {"result_id": item.result_id, "status": "errored"})
    ]


def test_a_dispatch_that_runs_on_after_its_run_ended_calls_no_service(
    world: World, ws: str, fetching: str
):
    add_task(world, "lint", workspace_id=ws)
    [item] = world.stages.prepare(StageRef(run_id=fetching, stage=Stage.PRE_PLAN)).tasks
    # A cancel stopped the execution and the run's end closed its results, before the Map's
    # iteration (which AWS lets run on) opened this one.
    world.finisher.end(world.run(fetching), RunStatus.CANCELED, None, reason="execution aborted")

    world.stages.dispatch(DispatchInput(task=item, task_token="dispatch-0"))

    assert world.deliveries.sent == []
    record = world.results.get(item.result_id)
    assert record is not None and record.result.status is ResultStatus.CANCELED
    assert record.result.message == "The run ended before the task was called."


def test_a_task_deleted_before_its_dispatch_errors_its_result(world: World, ws: str, fetching: str):
    add_task(world, "lint", workspace_id=ws)
    [item] = world.stages.prepare(StageRef(run_id=fetching, stage=Stage.PRE_PLAN)).tasks
    task = world.run_tasks.get("task-lint")
    assert task is not None and world.run_tasks.delete(task)

    world.stages.dispatch(DispatchInput(task=item, task_token="dispatch-0"))

    record = world.results.get(item.result_id)
    assert record is not None and record.result.status is ResultStatus.ERRORED
    assert world.deliveries.sent == []


def test_a_stage_whose_tasks_passed_passes(world: World, ws: str, fetching: str):
    add_task(world, "lint", workspace_id=ws)
    items = dispatched(world, fetching, Stage.PRE_PLAN)
    answer(world, items[0], ResultStatus.PASSED)

    conclude(world, fetching, Stage.PRE_PLAN, items)

    stage = summary(world, fetching, Stage.PRE_PLAN)
    assert (stage.status, stage.warnings) == (StageStatus.PASSED, [])
    assert [r.status for r in stage.results] == [ResultStatus.PASSED]
    assert world.workflow.resumed[-1] == ("conclude", {"decision": "continue"})


def test_an_advisory_failure_passes_with_a_warning_naming_the_task(
    world: World, ws: str, fetching: str
):
    add_task(world, "lint", workspace_id=ws, enforcement=Enforcement.ADVISORY)
    items = dispatched(world, fetching, Stage.PRE_PLAN)
    answer(world, items[0], ResultStatus.FAILED, "style")

    conclude(world, fetching, Stage.PRE_PLAN, items)

    stage = summary(world, fetching, Stage.PRE_PLAN)
    assert stage.status is StageStatus.PASSED
    assert stage.warnings == ["Advisory run task 'lint' failed at pre_plan: style"]


def test_a_mandatory_failure_stops_the_run_for_an_override(world: World, ws: str, fetching: str):
    add_task(world, "lint", workspace_id=ws)
    items = dispatched(world, fetching, Stage.PRE_PLAN)
    answer(world, items[0], ResultStatus.FAILED, "denied")

    conclude(world, fetching, Stage.PRE_PLAN, items)

    run = world.run(fetching)
    assert summary(world, fetching, Stage.PRE_PLAN).status is StageStatus.AWAITING_OVERRIDE
    assert run.error is not None and "'lint' (failed: denied)" in run.error.message
    assert world.runs.private(fetching)["override_token"] == "conclude"
    assert world.workflow.resumed == []


def test_a_result_still_open_at_conclude_times_out_and_blocks(world: World, ws: str, fetching: str):
    add_task(world, "lint", workspace_id=ws)
    items = dispatched(world, fetching, Stage.PRE_PLAN)

    conclude(world, fetching, Stage.PRE_PLAN, items)

    record = world.results.get(items[0].result_id)
    assert record is not None and record.result.status is ResultStatus.TIMEOUT
    assert summary(world, fetching, Stage.PRE_PLAN).status is StageStatus.AWAITING_OVERRIDE


def test_a_mandatory_failure_at_post_apply_never_blocks(world: World, ws: str):
    add_task(world, "lint", workspace_id=ws)
    run_id = world.new_run(ws)
    world.planned(run_id)
    world.run_service.apply(ADMIN, run_id, RunAction())
    world.steps.start_apply(RunRef(run_id=run_id))
    items = dispatched(world, run_id, Stage.POST_APPLY)
    answer(world, items[0], ResultStatus.FAILED, "drift")

    conclude(world, run_id, Stage.POST_APPLY, items)

    stage = summary(world, run_id, Stage.POST_APPLY)
    assert stage.status is StageStatus.PASSED
    assert stage.warnings == ["Mandatory run task 'lint' failed at post_apply: drift"]


def stopped(world: World, ws: str, fetching: str, enforcement: Enforcement) -> None:
    add_task(world, "lint", workspace_id=ws, enforcement=enforcement)
    add_task(world, "scan", workspace_id=ws)
    items = dispatched(world, fetching, Stage.PRE_PLAN)
    answer(world, items[0], ResultStatus.FAILED, "denied")
    answer(world, items[1], ResultStatus.FAILED, "denied too")
    conclude(world, fetching, Stage.PRE_PLAN, items)


def test_overriding_a_mandatory_failure_needs_admin(world: World, ws: str, fetching: str):
    stopped(world, ws, fetching, Enforcement.MANDATORY)

    with pytest.raises(Forbidden):
        world.run_service.override_tasks(WRITER, fetching, RunAction(comment="please"))
    assert world.workflow.resumed == []


def test_an_admin_override_resumes_the_run_and_records_who_and_why(
    world: World, ws: str, fetching: str
):
    stopped(world, ws, fetching, Enforcement.MANDATORY)

    world.run_service.override_tasks(ADMIN, fetching, RunAction(comment="known issue"))

    run = world.run(fetching)
    stage = summary(world, fetching, Stage.PRE_PLAN)
    assert stage.status is StageStatus.OVERRIDDEN
    assert [r.status for r in stage.results] == [ResultStatus.OVERRIDDEN] * 2
    assert run.error is None
    assert world.workflow.resumed == [("conclude", {"decision": "override"})]
    record = world.results.for_run(fetching)[0]
    assert record.result.override is not None
    assert (record.result.override.by, record.result.override.comment) == (
        "at-admin",
        "known issue",
    )
    with pytest.raises(Conflict):  # stopped no more
        world.run_service.override_tasks(ADMIN, fetching, RunAction())


def test_a_run_that_is_not_stopped_cannot_be_overridden(world: World, fetching: str):
    with pytest.raises(Conflict, match="not stopped"):
        world.run_service.override_tasks(ADMIN, fetching, RunAction())


def test_ending_a_run_cancels_its_open_results_and_its_running_stage(
    world: World, ws: str, fetching: str
):
    add_task(world, "lint", workspace_id=ws)
    add_task(world, "scan", workspace_id=ws)
    items = dispatched(world, fetching, Stage.PRE_PLAN)
    answer(world, items[0], ResultStatus.PASSED)

    world.finisher.end(world.run(fetching), RunStatus.CANCELED, None, reason="test")

    statuses = [r.result.status for r in world.results.for_run(fetching)]
    assert statuses == [ResultStatus.PASSED, ResultStatus.CANCELED]
    stage = summary(world, fetching, Stage.PRE_PLAN)
    assert stage.status is StageStatus.CANCELED
    assert [r.status for r in stage.results] == statuses


def test_a_run_shows_its_running_stage_s_results_as_they_are_now(
    world: World, ws: str, fetching: str
):
    add_task(world, "lint", workspace_id=ws)
    items = dispatched(world, fetching, Stage.PRE_PLAN)
    answer(world, items[0], ResultStatus.RUNNING)

    shown = world.run_service.get(ADMIN, fetching)

    [stage] = shown.task_stages
    assert [r.status for r in stage.results] == [ResultStatus.RUNNING]
    assert world.run(fetching).task_stages[0].results == []  # the stored summary is older
