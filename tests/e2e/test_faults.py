"""Faults injected into the running platform (docs/reliability.md): a workflow step's Lambda
failing once or for good, DynamoDB throttling a transition, an ECS task refused, not started
or killed, an execution's end never delivered. Each run ends in one terminal status with an
error naming the cause, its workspace is released, no state is lost, and the next queued run
starts. The faults come from ``local.faults`` and ``local.ecs.TaskFault``; everything else is
the real platform: the workflow, the functions, the runner and Terraform."""

import functools
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import boto3

from iacp.orchestration.workflow_client import WorkflowClient
from local.ecs import TaskFault
from local.faults import InvocationFault, failing_function, sets_status, throttled_updates
from local.platform import LocalPlatform
from tests.conftest import ApiClient
from tests.e2e.test_run_pipeline import (
    ENDED,
    new_workspace,
    released,
    run_status,
    start_run,
    wait_for,
)
from tests.runs_support import SIMPLE_CONFIGURATION
from tests.runtasks_support import capturing_service

# Every stage's tasks are prepared, with or without tasks attached; a stage without tasks is
# not concluded (its Choice skips the Conclude step).
STAGES = ("pre_plan", "post_plan", "pre_apply", "post_apply")
EVERY_STEP = {
    "start",
    "start_plan",
    "record_plan",
    "await_confirmation",
    "start_apply",
    "record_apply",
    "finish",
    *(f"prepare_tasks:{stage}" for stage in STAGES),
}


def run_of(event: dict[str, Any]) -> str:
    return str(event.get("run_id") or event.get("task", {}).get("run_id"))


def step_of(event: dict[str, Any]) -> str:
    stage = event.get("stage")
    return f"{event['step']}:{stage}" if stage else str(event["step"])


def workflow_fault(
    platform: LocalPlatform, fails: Callable[[str, str], bool], **settings: Any
) -> Any:
    """``failing_function`` on the workflow function, for the steps (``step_of``) of the runs
    whose workspace ``fails(workspace_id, step)``; handle_failure is never failed."""
    table = boto3.resource("dynamodb").Table(platform.provisioned.refs["RunsTable"])

    @functools.cache
    def workspace_of(run_id: str) -> str | None:
        item = table.get_item(Key={"id": run_id}).get("Item")
        return None if item is None else str(item["workspace_id"])

    def picks(event: dict[str, Any]) -> bool:
        if event.get("step") == "handle_failure":
            return False
        workspace = workspace_of(run_of(event))
        return workspace is not None and fails(workspace, step_of(event))

    fault = InvocationFault(picks=picks, kind_of=lambda e: f"{run_of(e)} {step_of(e)}", **settings)
    function = platform.provisioned.refs["WorkflowFunction"]
    return failing_function(platform.lambdas, function, fault)


@contextmanager
def task_fault(platform: LocalPlatform, fault: TaskFault) -> Iterator[TaskFault]:
    remove = platform.ecs.inject(fault)
    try:
        yield fault
    finally:
        remove()


def failed_tasks(platform: LocalPlatform, run_id: str) -> list[str]:
    """The errors of the failed task attempts of the run's execution, once it has ended (a
    run's status may show its end before the last step's invocation has returned)."""
    sfn = boto3.client("stepfunctions")
    machine = platform.provisioned.refs["RunStateMachine"]
    arn = WorkflowClient(machine, confirmation_timeout_seconds=60).execution_arn(run_id)
    wait_for(lambda: sfn.describe_execution(executionArn=arn)["status"] != "RUNNING", "its end")
    events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return [e["taskFailedEventDetails"]["error"] for e in events if e["type"] == "TaskFailed"]


def ended(admin: ApiClient, run_id: str) -> dict[str, Any]:
    return run_status(admin, run_id, ENDED, timeout=180)


def test_every_workflow_step_failing_once_after_its_work_is_retried_and_the_run_applies(
    platform: LocalPlatform, admin: ApiClient
):
    """Each step's invocation does its work and then fails (a timeout: its reply is lost);
    the workflow retries it, and the retry carries on from what the first attempt did."""
    ws = new_workspace(admin, "retried-steps", SIMPLE_CONFIGURATION)
    spared: set[str] = set()
    fault_for = workflow_fault(platform, lambda w, step: w == ws, times=1, after_work=True)
    with fault_for as fault:
        fault.picks = _sparing(fault.picks, spared)
        run_id = start_run(admin, ws, message="every step retried")
        spared.add(start_run(admin, ws, auto_apply=True, message="the next one"))
        # Confirmed once the retried wait has made the run wait on its own token.
        wait_for(lambda: fault.invoked[f"{run_id} await_confirmation"] == 2, "the retried wait")
        assert run_status(admin, run_id, {"planned"})["resource_additions"] == 1
        assert admin.post(f"/runs/{run_id}/actions/apply").status == 202
        run = ended(admin, run_id)

    assert run["status"] == "applied", run["error"]
    assert {kind.split(" ")[1] for kind in fault.failed if kind.startswith(run_id)} == EVERY_STEP
    assert failed_tasks(platform, run_id) == ["Sandbox.Timedout"] * len(EVERY_STEP)
    state = admin.get(f"/workspaces/{ws}/current-state-version").json()
    assert (state["id"], state["partial"]) == (run["state_version_id"], False)
    assert state["outputs"]["greeting"]["value"] == "hello"
    (next_run,) = spared
    assert ended(admin, next_run)["status"] == "planned_and_finished"  # nothing left to do
    released(admin, ws)


def _sparing(picks: Callable[[dict[str, Any]], bool], spared: set[str]) -> Any:
    return lambda event: run_of(event) not in spared and picks(event)


@dataclass
class Case:
    """One workspace, a first run meeting a fault, and the run queued behind it."""

    name: str
    status: str  # how the first run ends
    error: tuple[str, str] | None  # its error's stage and a part of its message
    next_status: str = "applied"
    partial_state: bool = False
    workspace: str = ""
    first: str = ""
    then: str = ""


CASES = [
    Case("start", "errored", ("workflow", "Sandbox.Timedout): Task timed out (injected")),
    # Its plan task applied too (auto-apply, no tasks): that state is kept, marked partial.
    Case(
        "record_plan",
        "errored",
        ("workflow", "Sandbox.Timedout"),
        next_status="planned_and_finished",
        partial_state=True,
    ),
    Case("start_apply", "errored", ("workflow", "Sandbox.Timedout")),
    # The apply happened: its state is kept, and the next run has nothing to do.
    Case(
        "record_apply",
        "errored",
        ("workflow", "Sandbox.Timedout"),
        next_status="planned_and_finished",
        partial_state=True,
    ),
    Case("finish", "applied", None, next_status="planned_and_finished"),
    Case("throttled", "errored", ("workflow", "ProvisionedThroughputExceededException")),
    Case("not_started", "errored", ("plan", "did not start (CannotPullContainerError")),
    Case("killed", "errored", ("plan", "exit code 137, OutOfMemoryError")),
    Case("refused_once", "applied", None, next_status="planned_and_finished"),
]
STEP_CASES = {"start", "record_plan", "start_apply", "record_apply", "finish"}


def test_faults_that_do_not_pass_end_the_run_release_the_workspace_and_start_the_next(
    platform: LocalPlatform, admin: ApiClient
):
    """Side by side, one workspace each: a workflow step failing on every try, DynamoDB
    throttling a transition beyond the SDK's retries, the runner's task not starting or
    killed, and a task refused once for lack of capacity (retried: the run applies)."""
    cases = {case.name: case for case in CASES}
    for case in CASES:
        case.workspace = new_workspace(admin, f"fault-{case.name}", SIMPLE_CONFIGURATION)
    by_workspace = {case.workspace: case.name for case in CASES}
    spared: set[str] = set()

    def in_case(name: str, phase: str) -> Callable[[Mapping[str, str]], bool]:
        workspace = cases[name].workspace
        return lambda env: (
            (env.get("IACP_WORKSPACE_ID"), env.get("IACP_PHASE"))
            == (
                workspace,
                phase,
            )
        )

    with ExitStack() as faults, capturing_service() as webhook:
        notified = {
            "name": "errors",
            "destination_type": "generic",
            "url": webhook.url,
            "triggers": ["run:errored"],
        }
        created = admin.post(
            f"/workspaces/{cases['start'].workspace}/notification-configurations", notified
        )
        assert created.status == 201, created.body
        steps = faults.enter_context(
            workflow_fault(
                platform,
                lambda w, step: by_workspace.get(w) == step and step in STEP_CASES,
                times=None,
                after_work=False,
            )
        )
        steps.picks = _sparing(steps.picks, spared)
        ecs_faults = [
            TaskFault("not_started", in_case("not_started", "plan"), "CannotPullContainerError"),
            # Early enough that the plan (init, plan, show) is still running.
            TaskFault("killed", in_case("killed", "plan"), "OutOfMemoryError", after=0.05),
            TaskFault("refused", in_case("refused_once", "plan"), "RESOURCE:FARGATE"),
        ]
        for fault in ecs_faults:
            faults.enter_context(task_fault(platform, fault))
        # The throttled run waits for its confirmation, so that its id is known before the
        # transition it meets; so does start_apply's, which an auto-apply run without tasks
        # never reaches (its plan task applies: docs/run-pipeline.md).
        confirmed = ("throttled", "start_apply")
        for case in CASES:
            case.first = start_run(admin, case.workspace, auto_apply=case.name not in confirmed)
            case.then = start_run(admin, case.workspace, auto_apply=True)
            spared.add(case.then)
        confirm = cases["start_apply"].first
        run_status(admin, confirm, {"planned"}, timeout=180)
        assert admin.post(f"/runs/{confirm}/actions/apply").status == 202
        throttled = cases["throttled"]
        run_status(admin, throttled.first, {"planned"}, timeout=180)
        runs_table = platform.provisioned.refs["RunsTable"]
        faults.enter_context(
            throttled_updates(runs_table, sets_status(throttled.first, "applying"))
        )
        assert admin.post(f"/runs/{throttled.first}/actions/apply").status == 202

        outcomes = {case.name: ended(admin, case.first) for case in CASES}
        wait_for(lambda: webhook.requests, "the run:errored notification")

    for case in CASES:
        run = outcomes[case.name]
        assert run["status"] == case.status, (case.name, run["error"])
        if case.error is None:
            assert run["error"] is None, (case.name, run["error"])
        else:
            stage, words = case.error
            assert run["error"]["stage"] == stage, (case.name, run["error"])
            assert words in run["error"]["message"], (case.name, run["error"])
        then = ended(admin, case.then)
        assert then["status"] == case.next_status, (case.name, then["error"])
        released(admin, case.workspace)
        state = admin.get(f"/workspaces/{case.workspace}/current-state-version").json()
        # The state is the first run's when it applied (or left a partial state), else the
        # next run's: nothing lost, nothing applied twice.
        kept = case.first if case.status == "applied" or case.partial_state else case.then
        assert (state["run_id"], state["partial"]) == (kept, case.partial_state), case.name
    assert failed_tasks(platform, cases["refused_once"].first) == ["AmazonECS.Unknown"]
    assert failed_tasks(platform, cases["start"].first) == ["Sandbox.Timedout"] * 4  # 3 retries
    (notification,) = [r.json()["notifications"][0] for r in webhook.requests]
    assert (notification["trigger"], notification["run_status"]) == ("run:errored", "errored")


def test_an_execution_end_that_never_arrives_is_found_by_the_sweep(
    platform: LocalPlatform, admin: ApiClient
):
    """A planned run is canceled: its execution is stopped, and the ABORTED status change that
    EventBridge would deliver to the reconcile is lost. The execution sweep ends the run."""
    ws = new_workspace(admin, "lost-end", SIMPLE_CONFIGURATION)
    run_id = start_run(admin, ws)
    then = start_run(admin, ws, auto_apply=True)
    run_status(admin, run_id, {"planned"}, timeout=180)
    reconcile = platform.handlers["ReconcileFunction"]
    lost: list[dict[str, Any]] = []

    def lose_this_runs_end(event: dict[str, Any], context: Any) -> Any:
        if event["detail"]["executionArn"].endswith(f":{run_id}"):
            lost.append(event)
            return None
        return reconcile(event, context)

    platform.handlers["ReconcileFunction"] = lose_this_runs_end
    try:
        assert admin.post(f"/runs/{run_id}/actions/cancel").status == 202
        run = ended(admin, run_id)
    finally:
        platform.handlers["ReconcileFunction"] = reconcile

    assert [e["detail"]["status"] for e in lost] == ["ABORTED"]
    assert run["status"] == "canceled"
    assert ended(admin, then)["status"] == "applied"
    released(admin, ws)
