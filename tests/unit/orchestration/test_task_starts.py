"""Fewer runner task starts (docs/performance.md): which runs fetch their commit in their plan
task, and what a run that does so still guarantees (its run tasks, its configuration
version's settling, its errors), on the fakes."""

import json

import pytest

from iacp.configurations.models import CommitSource, ConfigurationStatus, ConfigurationVersion
from iacp.orchestration.task_stages import StageRef
from iacp.orchestration.workflow import FailureInput, RunRef, StartInput, StartOutput
from iacp.runs.models import Operation, Run
from iacp.runs.phase import Phase, result_key
from iacp.runs.status import RunStatus
from iacp.runtasks.models import Stage
from iacp.vcs.models import VcsProvider
from iacp.workspaces.models import LockRequest
from tests.unit.orchestration.conftest import ADMIN, World
from tests.unit.orchestration.test_run_workflow import holder
from tests.unit.orchestration.test_task_stages import add_task

SHA = "0123456789abcdef0123456789abcdef01234567"
SOURCE = CommitSource(
    provider=VcsProvider.GITHUB,
    connection_id="vcs-1",
    repository="octo/infra",
    clone_url="https://github.com/octo/infra.git",
    branch="main",
    ref="refs/heads/main",
    commit_sha=SHA,
)


def vcs_run(world: World, ws: str, n: int = 1) -> str:
    """A run of a pushed commit, not fetched yet, as a push's delivery creates it."""
    version = ConfigurationVersion(
        id=f"cv-vcs{n}",
        created_at=world.clock(),
        workspace_id=ws,
        status=ConfigurationStatus.PENDING,
        vcs=SOURCE,
    )
    world.configuration_store.add(version)
    run = Run.pending(
        run_id=f"run-vcs{n}",
        workspace_id=ws,
        configuration_version_id=version.id,
        operation=Operation.PLAN_AND_APPLY,
        auto_apply=False,
        message="pushed",
        created_by="vcs",
        at=world.clock(),
        vcs=SOURCE,
    )
    assert world.runs.add(run)
    return run.id


def start(world: World, run_id: str) -> StartOutput:
    arn = world.workflow.execution_arn(run_id)
    return world.steps.start(StartInput(run_id=run_id, execution_arn=arn))


def test_a_vcs_run_without_pre_plan_tasks_fetches_its_commit_in_its_plan_task(world: World):
    ws = world.workspace()
    add_task(world, "after", workspace_id=ws, stages=(Stage.POST_PLAN,))
    run_id = vcs_run(world, ws)

    started = start(world, run_id)
    assert not started.needs_fetch and started.fetch is None  # no fetch task
    assert world.stages.prepare(StageRef(run_id=run_id, stage=Stage.PRE_PLAN)).tasks == []
    plan = world.steps.start_plan(RunRef(run_id=run_id))

    assert plan.phase is Phase.PLAN
    assert (plan.vcs_clone_url, plan.vcs_commit, plan.vcs_ref) == (
        SOURCE.clone_url,
        SHA,
        "refs/heads/main",
    )
    assert plan.configuration_key == f"configurations/{ws}/cv-vcs1.tar.gz"
    # Its credentials may write the configuration and read the clone token, as a fetch's.
    [scope] = world.credentials.scopes
    assert scope.phase is Phase.PLAN and scope.fetches_commit
    assert scope.vcs_connection_id == "vcs-1"


def test_a_vcs_run_with_pre_plan_tasks_fetches_first_for_their_services(world: World):
    ws = world.workspace()
    add_task(world, "before", workspace_id=ws, stages=(Stage.PRE_PLAN,))
    run_id = vcs_run(world, ws)

    started = start(world, run_id)

    assert started.needs_fetch and started.fetch is not None
    assert started.fetch.commit_sha == SHA
    world.objects.put(started.fetch.configuration_key, b"\x1f\x8b fetched")
    [item] = world.stages.prepare(StageRef(run_id=run_id, stage=Stage.PRE_PLAN)).tasks
    assert item.run_task_id == "task-before"
    plan = world.steps.start_plan(RunRef(run_id=run_id))
    assert plan.vcs_clone_url == "" and plan.vcs_commit == ""  # fetched already
    assert not world.credentials.scopes[-1].fetches_commit


def test_a_pre_plan_task_attached_after_the_run_started_applies_to_later_runs(world: World):
    ws = world.workspace()
    first = vcs_run(world, ws, 1)
    assert not start(world, first).needs_fetch
    add_task(world, "late", workspace_id=ws, stages=(Stage.PRE_PLAN,))

    assert world.stages.prepare(StageRef(run_id=first, stage=Stage.PRE_PLAN)).tasks == []
    world.steps.start_plan(RunRef(run_id=first))
    assert world.run(first).status is RunStatus.PLANNING

    second = vcs_run(world, world.workspace("beta"), 2)
    world.run_tasks.attach(
        world.run_tasks.attachments(ws)[0].model_copy(
            update={"id": "wstask-late-beta", "workspace_id": world.run(second).workspace_id}
        )
    )
    assert start(world, second).needs_fetch  # it has the task: it fetches first


def test_a_plan_whose_fetch_failed_errors_the_run_and_settles_its_version(world: World):
    ws = world.workspace()
    run_id = vcs_run(world, ws)
    start(world, run_id)
    world.steps.start_plan(RunRef(run_id=run_id))
    message = f"The commit {SHA} could not be fetched from {SOURCE.clone_url}:\nfatal: gone"
    failed = {
        "phase": "plan",
        "status": "failed",
        "error": {"stage": "configuration", "message": message},
    }
    world.objects.put(result_key(run_id, Phase.PLAN), json.dumps(failed).encode())

    world.steps.handle_failure(
        FailureInput(run_id=run_id, error={"Error": "States.TaskFailed", "Cause": "{}"})
    )

    run = world.run(run_id)
    assert run.status is RunStatus.ERRORED
    assert run.error is not None and (run.error.stage, run.error.message) == (
        "configuration",
        message,
    )
    version = world.configuration_store.get(ws, "cv-vcs1")
    assert version is not None and version.status is ConfigurationStatus.ERRORED


def test_a_plan_that_fetched_then_failed_leaves_its_version_usable(world: World):
    ws = world.workspace()
    run_id = vcs_run(world, ws)
    start(world, run_id)
    plan = world.steps.start_plan(RunRef(run_id=run_id))
    world.objects.put(plan.configuration_key, b"\x1f\x8b fetched")
    world.plan_result(run_id, status="failed", error={"stage": "plan", "message": "bad"})

    world.steps.handle_failure(
        FailureInput(run_id=run_id, error={"Error": "States.TaskFailed", "Cause": "{}"})
    )

    assert world.run(run_id).status is RunStatus.ERRORED
    version = world.configuration_store.get(ws, "cv-vcs1")
    assert version is not None and version.status is ConfigurationStatus.PENDING  # settles uploaded


def test_the_runner_task_has_the_workspaces_size_or_the_platforms(world: World):
    sized = world.workspace("sized", runner_size={"cpu": 512, "memory": 1024})
    plain = world.workspace("plain")
    for ws, expected in ((sized, ("512", "1024")), (plain, ("1024", "2048"))):
        run_id = world.new_run(ws, auto_apply=True)
        world.planning(run_id)
        plan = world.steps.start_plan(RunRef(run_id=run_id))
        world.plan_result(run_id, has_changes=True)
        world.steps.record_plan(RunRef(run_id=run_id))
        apply = world.steps.start_apply(RunRef(run_id=run_id))
        assert (plan.cpu, plan.memory) == expected
        assert (apply.cpu, apply.memory) == expected


# --- the apply in the plan task --------------------------------------------------------------


def test_an_auto_apply_run_without_tasks_locks_then_plans_and_applies_in_one_task(world: World):
    ws = world.workspace(auto_apply=True)
    run_id = world.new_run(ws)
    world.start(run_id)

    plan = world.steps.start_plan(RunRef(run_id=run_id))

    # Locked before anything can be applied; the runner may apply within half the limit.
    assert holder(world, ws) == (run_id, run_id)
    assert world.run(run_id).applies_in_plan_task
    assert (plan.apply_within_seconds, plan.apply_elsewhere) == ("300", "")
    assert world.credentials.scopes[-1].applies
    assert world.stages.prepare(StageRef(run_id=run_id, stage=Stage.POST_PLAN)).tasks == []
    world.plan_result(run_id, has_changes=True, resource_additions=2)
    world.apply_result(run_id, serial=1, resource_additions=2)
    assert world.run(run_id).status is RunStatus.PLANNING  # until the task has ended

    assert world.steps.record_plan(RunRef(run_id=run_id)).next == "applied"
    world.steps.record_apply(RunRef(run_id=run_id))
    assert world.run(run_id).status is RunStatus.APPLYING
    world.steps.finish(RunRef(run_id=run_id))

    run = world.run(run_id)
    assert run.status is RunStatus.APPLIED and run.resource_additions == 2
    assert list(run.status_timestamps)[-3:] == ["planning", "applying", "applied"]
    assert run.state_version_id is not None
    assert holder(world, ws) == (None, None)


@pytest.mark.parametrize(
    "why_not", ["confirmation", "post_plan task", "pre_apply task", "locked by a user"]
)
def test_other_runs_plan_and_apply_in_two_tasks(world: World, why_not: str):
    ws = world.workspace(auto_apply=why_not != "confirmation")
    if why_not.endswith("task"):
        add_task(world, "check", workspace_id=ws, stages=(Stage(why_not.split()[0]),))
    if why_not == "locked by a user":
        world.workspaces.lock(ADMIN, ws, LockRequest(reason="mine"))
    run_id = world.new_run(ws)
    world.start(run_id)

    plan = world.steps.start_plan(RunRef(run_id=run_id))

    assert plan.apply_within_seconds == "0"
    tasks = "its post_plan or pre_apply run tasks must see the plan, or pass, first"
    assert (
        plan.apply_elsewhere
        == {
            "confirmation": "",  # a person confirms: nothing to explain
            "post_plan task": tasks,
            "pre_apply task": tasks,
            "locked by a user": "its workspace could not be locked before the plan",
        }[why_not]
    )
    assert not world.run(run_id).applies_in_plan_task
    assert not world.credentials.scopes[-1].applies
    if why_not != "locked by a user":
        assert holder(world, ws) == (run_id, None)  # locked after the plan, as before


def test_a_task_attached_while_such_a_run_plans_waits_for_the_next_run(world: World):
    ws = world.workspace(auto_apply=True)
    run_id = world.new_run(ws)
    world.start(run_id)
    world.steps.start_plan(RunRef(run_id=run_id))
    add_task(world, "late", workspace_id=ws, stages=(Stage.POST_PLAN, Stage.PRE_APPLY))

    for stage in (Stage.POST_PLAN, Stage.PRE_APPLY):
        assert world.stages.prepare(StageRef(run_id=run_id, stage=stage)).tasks == []
    assert world.run_service.stages_ahead(world.run(run_id)) == []
    world.plan_result(run_id, has_changes=True)
    world.apply_result(run_id, serial=1)
    world.steps.record_plan(RunRef(run_id=run_id))
    world.steps.record_apply(RunRef(run_id=run_id))
    world.steps.finish(RunRef(run_id=run_id))

    later = world.new_run(ws)
    world.start(later)
    world.steps.start_plan(RunRef(run_id=later))
    assert not world.run(later).applies_in_plan_task
    assert [
        i.run_task_id
        for i in world.stages.prepare(StageRef(run_id=later, stage=Stage.POST_PLAN)).tasks
    ] == ["task-late"]


def test_a_plan_task_that_did_not_apply_leaves_the_apply_to_a_task_of_its_own(world: World):
    ws = world.workspace(auto_apply=True)
    run_id = world.new_run(ws)
    world.start(run_id)
    world.steps.start_plan(RunRef(run_id=run_id))
    world.plan_result(run_id, has_changes=True)  # the plan took too long to apply as well

    assert world.steps.record_plan(RunRef(run_id=run_id)).next == "apply"
    apply = world.steps.start_apply(RunRef(run_id=run_id))
    assert apply.phase is Phase.APPLY and world.run(run_id).status is RunStatus.APPLYING


def test_a_failed_apply_in_the_plan_task_keeps_its_partial_state_and_passes_applying(
    world: World,
):
    ws = world.workspace(auto_apply=True)
    run_id = world.new_run(ws)
    world.start(run_id)
    world.steps.start_plan(RunRef(run_id=run_id))
    world.plan_result(run_id, has_changes=True, resource_additions=2)
    failed = {"stage": "apply", "message": "terraform apply failed (exit code 1):\nboom"}
    world.apply_result(run_id, serial=3, status="failed", error=failed)

    world.steps.handle_failure(
        FailureInput(run_id=run_id, error={"Error": "States.TaskFailed", "Cause": "{}"})
    )

    run = world.run(run_id)
    assert run.status is RunStatus.ERRORED
    assert run.error is not None and run.error.model_dump() == failed
    assert "applying" in run.status_timestamps and run.resource_additions == 2
    current = world.states.current_version(ws)
    assert current is not None and current.serial == 3 and current.partial
    assert holder(world, ws) == (None, None)


def test_a_failed_plan_in_such_a_task_errors_as_a_plan_and_records_no_state(world: World):
    ws = world.workspace(auto_apply=True)
    run_id = world.new_run(ws)
    world.start(run_id)
    world.steps.start_plan(RunRef(run_id=run_id))
    world.plan_result(run_id, status="failed", error={"stage": "plan", "message": "bad"})

    world.steps.handle_failure(
        FailureInput(run_id=run_id, error={"Error": "States.TaskFailed", "Cause": "{}"})
    )

    run = world.run(run_id)
    assert run.status is RunStatus.ERRORED and run.error is not None
    assert (run.error.stage, "applying" in run.status_timestamps) == ("plan", False)
    assert world.states.current_version(ws) is None
    assert holder(world, ws) == (None, None)


def test_a_canceled_plan_task_that_applies_is_awaited_as_an_apply(world: World):
    ws = world.workspace(auto_apply=True)
    run_id = world.new_run(ws)
    world.start(run_id)
    world.steps.start_plan(RunRef(run_id=run_id))

    # The reconcile and a force-cancel wait for this phase's runner and keep its state.
    assert world.run(run_id).runner_phase is Phase.APPLY


def test_such_a_task_past_its_limit_keeps_the_workspace_for_the_apply_it_may_be_doing(
    world: World,
):
    ws = world.workspace(auto_apply=True)
    run_id = world.new_run(ws)
    world.start(run_id)
    world.steps.start_plan(RunRef(run_id=run_id))
    world.plan_result(run_id, has_changes=True)

    world.steps.handle_failure(FailureInput(run_id=run_id, error={"Error": "States.Timeout"}))

    run = world.run(run_id)
    assert run.status is RunStatus.ERRORED and run.error is not None
    assert run.error.stage == "apply"
    assert world.runs.private(run_id)["awaiting_runner"] == "apply"  # the reconcile releases
    assert holder(world, ws) == (run_id, run_id)


def test_a_lambda_plan_applies_in_its_invocation_within_half_the_workspaces_limit(
    world: World,
):
    ws = world.workspace(auto_apply=True, execution="lambda", phase_timeout_seconds=120)
    run_id = world.new_run(ws)
    world.start(run_id)

    plan = world.steps.start_plan(RunRef(run_id=run_id))

    assert (plan.execution, plan.timeout_seconds, plan.apply_within_seconds) == (
        "lambda",
        120,
        "60",
    )
    assert world.run(run_id).applies_in_plan_task


def test_a_lambda_plan_that_ran_out_of_time_in_its_apply_keeps_the_partial_state(world: World):
    ws = world.workspace(auto_apply=True, execution="lambda", phase_timeout_seconds=120)
    run_id = world.new_run(ws)
    world.start(run_id)
    world.steps.start_plan(RunRef(run_id=run_id))
    world.plan_result(run_id, has_changes=True, resource_additions=2)
    # The function stopped its runner at the deadline, as a cancel: the apply kept its state.
    world.apply_result(run_id, serial=2, status="canceled", state_uploaded=True)
    said = json.dumps({"errorMessage": "The plan phase ran longer than its limit of 120 s."})

    world.steps.handle_failure(
        FailureInput(
            run_id=run_id,
            error={"Error": "RunnerPhaseTimedOut", "Cause": said, "executor": "lambda"},
        )
    )

    run = world.run(run_id)
    assert run.status is RunStatus.ERRORED and run.error is not None
    assert run.error.model_dump() == {
        "stage": "apply",
        "message": "The apply phase ran longer than its limit of 120 s (the workspace's "
        "phase_timeout_seconds) in Lambda and was stopped; what Terraform wrote was kept.",
    }
    assert "applying" in run.status_timestamps
    current = world.states.current_version(ws)
    assert current is not None and current.serial == 2 and current.partial
    assert holder(world, ws) == (None, None)  # the function, and its runner, have ended
