"""RunWorkflow's steps and the queue, on the fakes: the state machine's path through a run,
the lock, and steps that run twice (a retry finds its own work done and carries on)."""

from typing import Any

import pytest

from iacp.errors import Conflict
from iacp.orchestration.steps import LockFailed, ResultMissing, RunNotRunnable
from iacp.orchestration.workflow import ConfirmationInput, FailureInput, RunRef, StartInput
from iacp.runs.models import Run, RunAction
from iacp.runs.phase import Phase, result_key, run_state_key
from iacp.runs.status import RunStatus
from iacp.variables.handoff import variables_key
from iacp.workspaces.models import LockRequest, WorkspaceLock
from tests.unit.orchestration.conftest import ADMIN, World


def holder(world: World, ws: str) -> tuple[str | None, str | None]:
    workspace = world.workspace_store.get(ws)
    assert workspace is not None
    return workspace.current_run_id, workspace.lock.holder if workspace.lock else None


def test_a_new_run_starts_at_once_on_a_free_workspace(world: World):
    ws = world.workspace()
    run_id = world.new_run(ws)

    assert world.workflow.started == [run_id]
    assert world.run(run_id).execution_arn == world.workflow.execution_arn(run_id)
    assert holder(world, ws) == (run_id, None)


def test_a_second_run_waits_and_starts_when_the_first_ends(world: World):
    ws = world.workspace()
    first = world.new_run(ws)
    second = world.new_run(ws)
    assert world.workflow.started == [first]

    world.planning(first)
    world.plan_result(first, has_changes=False)
    world.steps.record_plan(RunRef(run_id=first))
    world.steps.finish(RunRef(run_id=first))

    assert world.run(first).status is RunStatus.PLANNED_AND_FINISHED
    assert world.workflow.started == [first, second]
    assert holder(world, ws) == (second, None)


def test_a_speculative_run_never_waits(world: World):
    ws = world.workspace()
    first = world.new_run(ws)
    plan_only = world.new_run(ws, operation="plan_only")

    assert world.workflow.started == [first, plan_only]
    world.start(plan_only)
    assert world.run(plan_only).status is RunStatus.FETCHING
    assert holder(world, ws) == (first, None)


def test_start_refuses_a_run_whose_workspace_is_busy(world: World):
    ws = world.workspace()
    first = world.new_run(ws)
    second = world.new_run(ws)
    world.start(first)

    with pytest.raises(RunNotRunnable, match="busy"):
        world.start(second)
    assert world.run(second).status is RunStatus.PENDING


def test_start_twice_carries_on_but_another_execution_is_refused(world: World):
    ws = world.workspace()
    run_id = world.new_run(ws)
    world.start(run_id)
    world.start(run_id)  # a retry of the same execution

    assert world.run(run_id).status is RunStatus.FETCHING
    with pytest.raises(RunNotRunnable, match="another execution"):
        world.steps.start(StartInput(run_id=run_id, execution_arn="arn:other"))


def test_start_plan_hands_the_runner_its_phase_and_credentials(world: World):
    ws = world.workspace(working_directory="infra")
    run_id = world.new_run(ws)
    world.start(run_id)

    runner = world.steps.start_plan(RunRef(run_id=run_id))

    assert (runner.phase, runner.working_directory, runner.state_key) == (Phase.PLAN, "infra", "")
    assert runner.aws_access_key_id == "AKIAFAKE"
    assert world.credentials.scopes[-1].phase is Phase.PLAN
    assert world.objects.exists(variables_key(run_id, Phase.PLAN))  # sealed for the runner
    assert world.run(run_id).status is RunStatus.PLANNING


def test_a_plan_without_changes_finishes_and_releases(world: World):
    ws = world.workspace()
    run_id = world.new_run(ws)
    world.planning(run_id)
    world.plan_result(run_id, has_changes=False)

    assert world.steps.record_plan(RunRef(run_id=run_id)).next == "finish"
    world.steps.finish(RunRef(run_id=run_id))

    run = world.run(run_id)
    assert (run.status, run.has_changes) == (RunStatus.PLANNED_AND_FINISHED, False)
    assert holder(world, ws) == (None, None)


def test_a_plan_with_changes_locks_the_workspace_and_waits(world: World):
    ws = world.workspace()
    run_id = world.new_run(ws)

    world.planned(run_id)

    run = world.run(run_id)
    assert (run.status, run.resource_additions) == (RunStatus.PLANNED, 1)
    assert holder(world, ws) == (run_id, run_id)
    assert world.runs.private(run_id)["confirmation_token"] == "confirm-token"


def test_an_auto_apply_run_goes_straight_to_apply(world: World):
    ws = world.workspace(auto_apply=True)
    run_id = world.new_run(ws)
    world.planning(run_id)
    world.plan_result(run_id, has_changes=True)

    assert world.steps.record_plan(RunRef(run_id=run_id)).next == "apply"
    runner = world.steps.start_apply(RunRef(run_id=run_id))
    assert runner.phase is Phase.APPLY


def test_record_plan_twice_keeps_the_lock_it_took(world: World):
    ws = world.workspace()
    run_id = world.new_run(ws)
    world.planning(run_id)
    world.plan_result(run_id, has_changes=True)

    world.steps.record_plan(RunRef(run_id=run_id))
    assert world.steps.record_plan(RunRef(run_id=run_id)).next == "confirm"
    assert holder(world, ws) == (run_id, run_id)


def test_a_workspace_locked_by_someone_else_fails_the_plan(world: World):
    ws = world.workspace()
    run_id = world.new_run(ws)
    world.planning(run_id)
    world.plan_result(run_id, has_changes=True)
    lock = WorkspaceLock(holder="at-someone", reason="maintenance", locked_at=world.clock())
    world.workspace_store.lock(ws, lock)

    with pytest.raises(LockFailed, match="at-someone"):
        world.steps.record_plan(RunRef(run_id=run_id))


def test_a_missing_or_failed_result_fails_the_step(world: World):
    ws = world.workspace()
    run_id = world.new_run(ws)
    world.planning(run_id)

    with pytest.raises(ResultMissing, match="no result"):
        world.steps.record_plan(RunRef(run_id=run_id))
    world.plan_result(run_id, status="failed")
    with pytest.raises(ResultMissing, match="ended failed"):
        world.steps.record_plan(RunRef(run_id=run_id))


def test_a_confirmed_run_applies_records_its_state_and_ends_applied(world: World):
    ws = world.workspace()
    run_id = world.new_run(ws)
    world.planned(run_id)

    world.run_service.apply(ADMIN, run_id, RunAction(comment="ship it"))
    assert world.workflow.resumed == [("confirm-token", {"decision": "apply"})]
    world.steps.start_apply(RunRef(run_id=run_id))
    world.apply_result(run_id, serial=1)
    world.steps.record_apply(RunRef(run_id=run_id))
    world.steps.record_apply(RunRef(run_id=run_id))  # a retry: recorded once
    world.steps.finish(RunRef(run_id=run_id))

    run = world.run(run_id)
    current = world.state_store.current(ws)
    assert run.status is RunStatus.APPLIED
    assert current is not None and (current.run_id, current.serial) == (run_id, 1)
    assert run.state_version_id == current.id
    assert world.objects.get(f"state/{ws}/{current.id}.tfstate") == world.objects.get(
        run_state_key(run_id)
    )
    assert holder(world, ws) == (None, None)


def test_await_confirmation_twice_waits_on_the_latest_token(world: World):
    ws = world.workspace()
    run_id = world.new_run(ws)
    world.planned(run_id, token="first")

    world.steps.await_confirmation(ConfirmationInput(run_id=run_id, task_token="second"))

    assert world.run(run_id).status is RunStatus.PLANNED
    assert world.runs.private(run_id)["confirmation_token"] == "second"


def test_a_discarded_run_releases_the_workspace_for_the_next(world: World):
    ws = world.workspace()
    run_id = world.new_run(ws)
    waiting = world.new_run(ws)
    world.planned(run_id)

    world.run_service.discard(ADMIN, run_id, RunAction())
    world.steps.finish(RunRef(run_id=run_id))

    assert world.run(run_id).status is RunStatus.DISCARDED
    assert holder(world, ws) == (waiting, None)
    assert world.workflow.started[-1] == waiting


def test_a_failed_plan_errors_the_run_with_the_runners_error(world: World):
    ws = world.workspace()
    run_id = world.new_run(ws)
    world.planning(run_id)
    world.plan_result(run_id, status="failed", error={"stage": "plan", "message": "bad hcl"})

    world.steps.handle_failure(
        FailureInput(run_id=run_id, error={"Error": "States.TaskFailed", "Cause": "{}"})
    )

    run = world.run(run_id)
    assert run.status is RunStatus.ERRORED
    assert run.error is not None and (run.error.stage, run.error.message) == ("plan", "bad hcl")
    assert holder(world, ws) == (None, None)


def test_a_failure_reads_the_runners_report_once(world: World, monkeypatch):
    ws = world.workspace()
    run_id = world.new_run(ws)
    world.planning(run_id)
    world.plan_result(run_id, status="failed", error={"stage": "plan", "message": "bad hcl"})
    reads: list[str] = []
    get = world.objects.get

    def counted_get(key: str, **options: Any) -> bytes | None:
        reads.append(key)
        return get(key, **options)

    monkeypatch.setattr(world.objects, "get", counted_get)

    world.steps.handle_failure(
        FailureInput(run_id=run_id, error={"Error": "States.TaskFailed", "Cause": "{}"})
    )

    assert world.run(run_id).status is RunStatus.ERRORED
    assert reads.count(result_key(run_id, Phase.PLAN)) == 1


def test_a_failed_apply_keeps_what_terraform_wrote_as_a_partial_state(world: World):
    ws = world.workspace(auto_apply=True)
    run_id = world.new_run(ws)
    world.applying(run_id)
    world.state_file(run_id, serial=4)  # a checkpoint, and no result: the runner died

    world.steps.handle_failure(
        FailureInput(run_id=run_id, error={"Error": "States.TaskFailed", "Cause": "{}"})
    )

    current = world.state_store.current(ws)
    assert current is not None and (current.serial, current.partial) == (4, True)
    assert world.run(run_id).status is RunStatus.ERRORED
    assert holder(world, ws) == (None, None)


def test_a_phase_past_its_limit_ends_the_run_but_keeps_the_workspace(world: World):
    ws = world.workspace()
    run_id = world.new_run(ws)
    world.planning(run_id)

    world.steps.handle_failure(
        FailureInput(run_id=run_id, error={"Error": "States.Timeout", "Cause": ""})
    )

    run = world.run(run_id)
    assert run.status is RunStatus.ERRORED
    assert run.error is not None and "600 s" in run.error.message
    assert world.runs.private(run_id)["awaiting_runner"] == "plan"
    assert holder(world, ws) == (run_id, None)


def test_a_failure_after_the_state_was_recorded_ends_the_run_applied(world: World):
    ws = world.workspace(auto_apply=True)
    run_id = world.new_run(ws)
    world.applying(run_id)
    world.apply_result(run_id, serial=1)
    world.steps.record_apply(RunRef(run_id=run_id))

    world.steps.handle_failure(
        FailureInput(run_id=run_id, error={"Error": "States.TaskFailed", "Cause": "{}"})
    )

    assert world.run(run_id).status is RunStatus.APPLIED
    assert holder(world, ws) == (None, None)


def test_a_step_on_a_run_that_ended_meanwhile_cannot_go_on(world: World):
    ws = world.workspace()
    run_id = world.new_run(ws)
    world.start(run_id)
    world.run_service.cancel(ADMIN, run_id, RunAction())
    world.run_service.force_cancel(ADMIN, run_id, RunAction())

    with pytest.raises(RunNotRunnable):
        world.steps.start_plan(RunRef(run_id=run_id))
    assert world.run(run_id).status is RunStatus.FORCE_CANCELED


def test_a_start_step_that_runs_on_after_its_run_was_canceled_gives_its_claim_back(
    world: World,
):
    # The queue claimed the workspace and started the execution; a cancel stopped it, and the
    # run's end released the workspace, all before the execution's first step (which AWS
    # lets run on) claimed the workspace again.
    ws = world.workspace()
    run_id = world.new_run(ws)
    world.run_service.cancel(ADMIN, run_id, RunAction())
    world.finisher.end(world.run(run_id), RunStatus.CANCELED, None, reason="execution aborted")

    with pytest.raises(RunNotRunnable):
        world.start(run_id)

    assert world.run(run_id).status is RunStatus.CANCELED
    assert holder(world, ws) == (None, None)
    later = world.new_run(ws)
    assert holder(world, ws) == (later, None)  # and the next run starts at once


def test_a_run_canceled_between_the_queues_read_and_its_claim_passes_the_workspace_on(
    world: World, monkeypatch: pytest.MonkeyPatch
):
    ws = world.workspace()
    first, second = world.new_run(ws), world.new_run(ws)
    oldest_queued = world.runs.oldest_queued

    def canceled_once_read(workspace_id: str) -> Run | None:
        waiting = oldest_queued(workspace_id)
        if waiting is not None and waiting.id == second and not world.run(second).status.terminal:
            world.run_service.cancel(ADMIN, second, RunAction())
        return waiting

    monkeypatch.setattr(world.runs, "oldest_queued", canceled_once_read)
    world.finisher.end(world.run(first), RunStatus.ERRORED, None, reason="test")
    assert holder(world, ws) == (second, None)  # claimed for a run that has just ended...

    assert world.workflow.started == [first, second]
    with pytest.raises(RunNotRunnable):
        world.start(second)  # ...whose execution's first step gives it back

    assert holder(world, ws) == (None, None)
    third = world.new_run(ws)
    assert holder(world, ws) == (third, None)


@pytest.mark.parametrize("step", ["start_plan", "record_plan"])
def test_a_run_that_ends_while_its_step_locks_the_workspace_gives_the_lock_back(
    world: World, monkeypatch: pytest.MonkeyPatch, step: str
):
    # A cancel ends the run, and its end releases, between the step's read and its lock.
    ws = world.workspace(auto_apply=step == "start_plan")  # start_plan locks an auto-apply run
    run_id = world.new_run(ws)
    world.start(run_id)
    if step == "record_plan":
        world.steps.start_plan(RunRef(run_id=run_id))
        world.plan_result(run_id, has_changes=True)
    lock = world.workspace_store.lock

    def canceled_first(workspace_id: str, wanted: WorkspaceLock) -> object:
        run = world.run(run_id)
        world.finisher.end(run, RunStatus.CANCELED, None, reason="execution aborted")
        return lock(workspace_id, wanted)

    monkeypatch.setattr(world.workspace_store, "lock", canceled_first)

    with pytest.raises(RunNotRunnable, match="ended"):
        getattr(world.steps, step)(RunRef(run_id=run_id))

    assert holder(world, ws) == (None, None)
    assert "lock_held" not in world.runs.private(run_id)


def test_finish_of_a_run_already_ended_only_releases(world: World):
    ws = world.workspace()
    run_id = world.new_run(ws)
    world.planning(run_id)
    world.finisher.end(world.run(run_id), RunStatus.ERRORED, None, reason="test")

    world.steps.finish(RunRef(run_id=run_id))

    assert world.run(run_id).status is RunStatus.ERRORED
    assert holder(world, ws) == (None, None)


def test_the_periodic_check_starts_runs_that_wait_on_free_workspaces(world: World):
    ws = world.workspace()
    run_id = world.new_run(ws)
    world.workspace_store.release_queue(ws, run_id)  # as if its start never happened
    world.workflow.started.clear()

    assert world.queue.start_waiting() == 1
    assert world.workflow.started == [run_id]


# --- saved plans (HCP's save-plan runs) --------------------------------------------------------


def saved_plan(world: World, ws: str) -> str:
    """A saved-plan run that has planned changes and waits for its apply."""
    run_id = world.new_run(ws, save_plan=True)
    world.planning(run_id)
    world.plan_result(run_id, has_changes=True)
    assert world.steps.record_plan(RunRef(run_id=run_id)).next == "confirm"
    world.steps.await_confirmation(ConfirmationInput(run_id=run_id, task_token="saved-token"))
    return run_id


def test_a_saved_plan_plans_and_waits_without_holding_the_workspace(world: World):
    ws = world.workspace(auto_apply=True)
    busy = world.new_run(ws)  # holds the queue: the saved plan does not wait for it

    run_id = saved_plan(world, ws)

    run = world.run(run_id)
    assert (run.status, run.save_plan, run.auto_apply) == (RunStatus.PLANNED, True, False)
    assert holder(world, ws) == (busy, None)
    assert run_id in world.workflow.started


def test_applying_a_saved_plan_takes_the_workspace_then_confirms_it(world: World):
    ws = world.workspace()
    run_id = saved_plan(world, ws)
    assert holder(world, ws) == (None, None)

    confirmed = world.run_service.apply(ADMIN, run_id, RunAction())

    assert confirmed.status is RunStatus.CONFIRMED
    assert holder(world, ws) == (run_id, run_id)
    assert world.workflow.resumed == [("saved-token", {"decision": "apply"})]
    world.steps.start_apply(RunRef(run_id=run_id))
    world.apply_result(run_id, serial=1)
    world.steps.record_apply(RunRef(run_id=run_id))
    world.steps.finish(RunRef(run_id=run_id))
    assert world.run(run_id).status is RunStatus.APPLIED
    assert holder(world, ws) == (None, None)


def test_a_saved_plan_is_not_applied_while_another_run_or_a_user_holds_the_workspace(
    world: World,
):
    ws = world.workspace()
    run_id = saved_plan(world, ws)
    other = world.new_run(ws)

    with pytest.raises(Conflict, match=f"busy with run {other}"):
        world.run_service.apply(ADMIN, run_id, RunAction())
    assert (world.run(run_id).status, holder(world, ws)) == (RunStatus.PLANNED, (other, None))

    world.finisher.end(world.run(other), RunStatus.CANCELED, None, reason="canceled")
    world.workspaces.lock(ADMIN, ws, LockRequest(reason="maintenance"))
    with pytest.raises(Conflict, match=r"locked by .* once it is unlocked"):
        world.run_service.apply(ADMIN, run_id, RunAction())
    assert (world.run(run_id).status, holder(world, ws)) == (
        RunStatus.PLANNED,
        (None, ADMIN.token_id),
    )
    assert world.workflow.resumed == []


def test_discarding_a_saved_plan_leaves_the_workspace_to_whoever_holds_it(world: World):
    ws = world.workspace()
    run_id = saved_plan(world, ws)
    other = world.new_run(ws)

    world.run_service.discard(ADMIN, run_id, RunAction())
    world.steps.finish(RunRef(run_id=run_id))

    assert world.run(run_id).status is RunStatus.DISCARDED
    assert holder(world, ws) == (other, None)
