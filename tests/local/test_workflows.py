"""Small workflows on moto's interpreter with ``local.moto_fidelity``'s patches.

ECS ``runTask.sync`` steps run real local processes; waitForTaskToken steps are resumed,
failed, stopped and timed out as the platform's workflow will be.
"""

import json
import queue
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.ecs.responses import EC2ContainerServiceResponse
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_callback,
)

from iacp.orchestration import runner_tasks
from tests.local.conftest import Local, wait_until

ECS_SYNC = "arn:aws:states:::ecs:runTask.sync"
LAMBDA_TOKEN = "arn:aws:states:::lambda:invoke.waitForTaskToken"

TERMINATES_ON_SIGTERM = (
    "import os, signal, sys, time\n"
    "marker = os.environ['MARKER']\n"
    "signal.signal(signal.SIGTERM, lambda *a: (open(marker, 'w').write('term'), sys.exit(143)))\n"
    "open(marker + '.started', 'w').close()\n"
    "time.sleep(60)"
)
IGNORES_SIGTERM = (
    "import os, signal, time\n"
    "marker = os.environ['MARKER']\n"
    "signal.signal(signal.SIGTERM, lambda *a: open(marker, 'w').write('term'))\n"
    "open(marker + '.started', 'w').close()\n"
    "time.sleep(60)"
)


def ecs_workflow(local: Local, script: str, stop_timeout: int | None = None, **state: Any) -> Any:
    """One ``runTask.sync`` step; the input's ``marker`` and ``greeting`` become overrides."""
    family = local.task_definition(script, stop_timeout=stop_timeout)
    return {
        "StartAt": "Run",
        "States": {
            "Run": {
                "Type": "Task",
                "Resource": ECS_SYNC,
                "Parameters": {
                    "Cluster": local.cluster(),
                    "TaskDefinition": family,
                    "LaunchType": "FARGATE",
                    "NetworkConfiguration": local.network(),
                    "Overrides": {
                        "ContainerOverrides": [
                            {
                                "Name": "main",
                                "Environment": [
                                    {"Name": "MARKER", "Value.$": "$.marker"},
                                    {"Name": "GREETING", "Value": "hello from the workflow"},
                                ],
                            }
                        ]
                    },
                },
                "End": True,
                **state,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }


def token_workflow(local: Local, tokens: "queue.Queue[dict[str, Any]]", **extra: Any) -> Any:
    """One waitForTaskToken step whose handler hands ``{"token", "input"}`` to ``tokens``."""
    name = local.function(lambda event, context: tokens.put(event))
    return {
        "StartAt": "Wait",
        "States": {
            "Wait": {
                "Type": "Task",
                "Resource": LAMBDA_TOKEN,
                "Parameters": {
                    "FunctionName": name,
                    "Payload": {"token.$": "$$.Task.Token", "input.$": "$"},
                },
                "End": True,
            }
        },
        **extra,
    }


def event_types(local: Local, execution: str) -> list[str]:
    return [event["type"] for event in local.history(execution)]


def task_of(local: Local, definition: Any) -> dict[str, Any]:
    """The one ECS task that the workflow's cluster ran."""
    cluster = definition["States"]["Run"]["Parameters"]["Cluster"]
    tasks = local.ecs.list_tasks(cluster=cluster, desiredStatus="STOPPED")["taskArns"]
    assert len(tasks) == 1
    described: dict[str, Any] = local.ecs.describe_tasks(cluster=cluster, tasks=tasks)["tasks"][0]
    return described


# --- ecs:runTask.sync ---------------------------------------------------------------------------

WRITES_GREETING = (
    "import os, sys\n"
    "open(os.environ['MARKER'], 'w').write(os.environ['GREETING'])\n"
    "sys.exit(int(os.environ.get('EXIT_CODE', '0')))"
)


def test_sync_task_succeeds_when_the_process_exits_zero(local_aws: Local, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    definition = ecs_workflow(local_aws, WRITES_GREETING)

    ended = local_aws.wait_for_end(local_aws.start(definition, {"marker": str(marker)}))

    assert ended["status"] == "SUCCEEDED"
    assert marker.read_text() == "hello from the workflow"  # it ran, with the overrides
    task = json.loads(ended["output"])
    assert task["LastStatus"] == "STOPPED"
    assert task["Containers"][0]["ExitCode"] == 0
    assert task["StartedBy"] == "AWS Step Functions"


def test_a_sync_wait_asks_ecs_after_a_stop_or_twice_a_second_not_in_a_tight_loop(
    local_aws: Local, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # moto's pause between two checks as local mode sets it (local/platform.py).
    monkeypatch.setattr(state_task_service_callback, "_DELAY_SECONDS_SYNC_CONDITION_CHECK", 0.01)
    asked: list[str] = []
    describe_tasks = EC2ContainerServiceResponse.describe_tasks

    def counting_describe_tasks(self: EC2ContainerServiceResponse) -> Any:
        asked.append("DescribeTasks")
        return describe_tasks(self)

    monkeypatch.setattr(EC2ContainerServiceResponse, "describe_tasks", counting_describe_tasks)
    marker = tmp_path / "marker"
    script = "import time; time.sleep(2)\n" + WRITES_GREETING
    definition = ecs_workflow(local_aws, script)

    ended = local_aws.wait_for_end(local_aws.start(definition, {"marker": str(marker)}))

    assert ended["status"] == "SUCCEEDED"
    assert marker.read_text() == "hello from the workflow"
    # Two seconds of the process: about four looks (and one after RunTask), not two hundred.
    assert len(asked) <= 10, len(asked)


def test_sync_task_fails_when_the_process_exits_non_zero(local_aws: Local, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    definition = ecs_workflow(local_aws, WRITES_GREETING.replace("'0'", "'3'"))

    ended = local_aws.wait_for_end(local_aws.start(definition, {"marker": str(marker)}))

    assert ended["status"] == "FAILED"
    assert marker.read_text() == "hello from the workflow"
    assert ended["error"] == "States.TaskFailed"
    task = json.loads(ended["cause"])
    assert task["Containers"][0]["ExitCode"] == 3
    assert task["StoppedReason"] == "Essential container in task exited"


def test_a_failed_sync_task_can_be_caught(local_aws: Local, tmp_path: Path) -> None:
    definition = ecs_workflow(
        local_aws,
        "import sys; sys.exit(2)",
        Catch=[{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": "Caught"}],
    )

    ended = local_aws.wait_for_end(local_aws.start(definition, {"marker": "unused"}))

    assert ended["status"] == "SUCCEEDED"
    error = json.loads(ended["output"])["error"]
    assert error["Error"] == "States.TaskFailed"
    assert json.loads(error["Cause"])["Containers"][0]["ExitCode"] == 2


def test_stop_execution_stops_the_sync_task(local_aws: Local, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    definition = ecs_workflow(local_aws, TERMINATES_ON_SIGTERM)
    execution = local_aws.start(definition, {"marker": str(marker)})
    wait_until(Path(f"{marker}.started").exists)

    local_aws.sfn.stop_execution(executionArn=execution)
    ended = local_aws.wait_for_end(execution)

    assert ended["status"] == "ABORTED"
    wait_until(lambda: marker.exists() and marker.read_text() == "term")
    task = wait_until(
        lambda: (t := task_of(local_aws, definition))["lastStatus"] == "STOPPED" and t
    )
    assert task["containers"][0]["exitCode"] == 143
    assert "stopped" in task["stoppedReason"]
    types = event_types(local_aws, execution)
    assert types[-1] == "ExecutionAborted"
    assert not {"TaskFailed", "TaskTimedOut", "ExecutionFailed"} & set(types)


def test_a_task_ignoring_sigterm_is_killed_after_its_stop_timeout(
    local_aws: Local, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    definition = ecs_workflow(local_aws, IGNORES_SIGTERM, stop_timeout=2)
    execution = local_aws.start(definition, {"marker": str(marker)})
    wait_until(Path(f"{marker}.started").exists)

    began = time.monotonic()
    local_aws.sfn.stop_execution(executionArn=execution)

    assert local_aws.wait_for_end(execution)["status"] == "ABORTED"
    wait_until(marker.exists)  # SIGTERM arrived, and was ignored
    task = wait_until(
        lambda: (t := task_of(local_aws, definition))["lastStatus"] == "STOPPED" and t
    )
    assert time.monotonic() - began >= 1.9
    assert task["containers"][0]["exitCode"] == 137


def test_a_state_timeout_stops_the_sync_task(local_aws: Local, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    definition = ecs_workflow(
        local_aws,
        TERMINATES_ON_SIGTERM,
        TimeoutSeconds=1,
        Catch=[{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.error", "Next": "Caught"}],
    )

    ended = local_aws.wait_for_end(local_aws.start(definition, {"marker": str(marker)}))

    assert ended["status"] == "SUCCEEDED"
    assert json.loads(ended["output"])["error"]["Error"] == "States.Timeout"
    wait_until(lambda: marker.exists() and marker.read_text() == "term")


# --- waitForTaskToken ---------------------------------------------------------------------------


def test_the_runner_an_execution_may_have_left_is_its_last_task_until_that_has_stopped(
    local_aws: Local, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a reconcile asks (iacp.orchestration.runner_tasks) before, while and after the
    execution's ECS step runs: its history names the task, ECS says whether it stopped."""
    monkeypatch.setattr(runner_tasks, "stepfunctions_client", lambda: local_aws.sfn)
    monkeypatch.setattr(runner_tasks, "ecs_client", lambda: local_aws.ecs)
    marker = tmp_path / "marker"
    tokens: queue.Queue[dict[str, Any]] = queue.Queue()
    definition = ecs_workflow(local_aws, TERMINATES_ON_SIGTERM)
    first = token_workflow(local_aws, tokens)["States"]["Wait"]
    del first["End"]
    definition["States"]["Wait"] = first | {"Next": "Run"}
    definition["StartAt"] = "Wait"
    execution = local_aws.start(definition, {"marker": str(marker)})
    waiting = tokens.get(timeout=10)
    tasks = runner_tasks.EcsRunnerTasks()

    assert tasks.any_running(execution) is False  # no task started yet
    local_aws.sfn.send_task_success(taskToken=waiting["token"], output=json.dumps(waiting["input"]))
    wait_until(Path(f"{marker}.started").exists)
    # Found once the execution has recorded the task (TaskSubmitted), just after RunTask.
    wait_until(lambda: tasks.any_running(execution))
    local_aws.sfn.stop_execution(executionArn=execution)
    wait_until(lambda: not tasks.any_running(execution))
    assert marker.read_text() == "term"  # it stopped because its container did


def lambda_phase_workflow(local: Local, handler: Any) -> Any:
    """A phase in the runner's Lambda function as the run workflow names it (a state of
    ``runner_tasks.LAMBDA_RUNNER_STATES``), then a state after it."""
    name = local.function(handler)
    return {
        "StartAt": "PlanRunInLambda",
        "States": {
            "PlanRunInLambda": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {
                    "FunctionName": name,
                    "Payload": {"runner.$": "$", "execution_arn.$": "$$.Execution.Id"},
                },
                "ResultPath": None,
                "Next": "After",
            },
            "After": {"Type": "Pass", "End": True},
        },
    }


def test_a_phase_in_lambda_is_a_runner_left_until_the_execution_moves_on(
    local_aws: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner_tasks, "stepfunctions_client", lambda: local_aws.sfn)
    called: queue.Queue[dict[str, Any]] = queue.Queue()
    released = threading.Event()

    def phase(event: dict[str, Any], context: Any) -> dict[str, Any]:
        called.put(event)
        released.wait(10)
        return {"status": "succeeded"}

    execution = local_aws.start(lambda_phase_workflow(local_aws, phase), {"run_id": "run-1"})
    event = called.get(timeout=10)
    tasks = runner_tasks.EcsRunnerTasks()

    assert event == {"runner": {"run_id": "run-1"}, "execution_arn": execution}
    assert tasks.any_running(execution) is True
    released.set()
    assert local_aws.wait_for_end(execution)["status"] == "SUCCEEDED"
    assert tasks.any_running(execution) is False


def test_a_phase_in_lambda_sees_its_execution_stopped_and_is_awaited_after_it(
    local_aws: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cancel stops the execution while its Lambda invocation runs on: the runner's
    function learns it from DescribeExecution (runner.lambda_handler), and the reconcile
    still counts its runner as running."""
    from runner import lambda_handler

    monkeypatch.setattr(runner_tasks, "stepfunctions_client", lambda: local_aws.sfn)
    for name, value in local_aws.moto.environment().items():
        monkeypatch.setenv(name, value)
    saw: queue.Queue[str] = queue.Queue()

    def phase(event: dict[str, Any], context: Any) -> dict[str, Any]:
        still_running = lambda_handler._execution_running(event["execution_arn"])
        deadline = time.monotonic() + 10
        while still_running() and time.monotonic() < deadline:
            time.sleep(0.05)
        saw.put("running" if still_running() else "ended")
        return {"status": "canceled"}

    execution = local_aws.start(lambda_phase_workflow(local_aws, phase))
    wait_until(lambda: "TaskStarted" in event_types(local_aws, execution))
    local_aws.sfn.stop_execution(executionArn=execution)

    assert saw.get(timeout=15) == "ended"
    assert local_aws.wait_for_end(execution)["status"] == "ABORTED"
    assert runner_tasks.EcsRunnerTasks().any_running(execution) is True


def test_a_token_task_resumed_from_another_thread(local_aws: Local) -> None:
    tokens: queue.Queue[dict[str, Any]] = queue.Queue()
    execution = local_aws.start(token_workflow(local_aws, tokens), {"run": "run-1"})

    def approve() -> None:
        event = tokens.get(timeout=10)
        local_aws.sfn.send_task_success(
            taskToken=event["token"], output=json.dumps({"approved": event["input"]["run"]})
        )

    approver = threading.Thread(target=approve)
    approver.start()
    ended = local_aws.wait_for_end(execution)
    approver.join(timeout=10)

    assert ended["status"] == "SUCCEEDED"
    assert json.loads(ended["output"]) == {"approved": "run-1"}


def test_stop_execution_while_a_token_is_pending(local_aws: Local) -> None:
    tokens: queue.Queue[dict[str, Any]] = queue.Queue()
    execution = local_aws.start(token_workflow(local_aws, tokens))
    token = tokens.get(timeout=10)["token"]

    local_aws.sfn.stop_execution(executionArn=execution)
    ended = local_aws.wait_for_end(execution)

    assert ended["status"] == "ABORTED"
    types = event_types(local_aws, execution)
    assert types[-1] == "ExecutionAborted"
    assert not {"TaskFailed", "TaskTimedOut", "ExecutionFailed"} & set(types)
    with pytest.raises(ClientError):  # a late answer is refused, and changes nothing
        local_aws.sfn.send_task_success(taskToken=token, output="{}")
    assert local_aws.describe(execution)["status"] == "ABORTED"


def test_send_task_failure_keeps_its_cause(local_aws: Local) -> None:
    tokens: queue.Queue[dict[str, Any]] = queue.Queue()
    definition = token_workflow(local_aws, tokens)
    definition["States"]["Wait"]["Catch"] = [
        {"ErrorEquals": ["Rejected"], "ResultPath": "$.error", "Next": "Caught"}
    ]
    definition["States"]["Caught"] = {"Type": "Pass", "End": True}
    execution = local_aws.start(definition)

    local_aws.sfn.send_task_failure(
        taskToken=tokens.get(timeout=10)["token"], error="Rejected", cause="the reviewer said no"
    )
    ended = local_aws.wait_for_end(execution)

    assert ended["status"] == "SUCCEEDED"
    error = json.loads(ended["output"])["error"]
    assert error == {"Error": "Rejected", "Cause": "the reviewer said no"}
    failed = [e for e in local_aws.history(execution) if e["type"] == "TaskFailed"]
    assert failed[0]["taskFailedEventDetails"]["cause"] == "the reviewer said no"


def map_workflow(local: Local, tokens: "queue.Queue[dict[str, Any]]") -> Any:
    inner = token_workflow(local, tokens)
    return {
        "StartAt": "Tasks",
        "States": {
            "Tasks": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Wait",
                    "States": inner["States"],
                },
                "End": True,
            }
        },
    }


def test_a_map_of_token_tasks_resumed_in_any_order(local_aws: Local) -> None:
    tokens: queue.Queue[dict[str, Any]] = queue.Queue()
    execution = local_aws.start(map_workflow(local_aws, tokens), {"items": ["a", "b", "c"]})
    events = [tokens.get(timeout=10) for _ in range(3)]

    for event in sorted(events, key=lambda e: str(e["input"]), reverse=True):
        local_aws.sfn.send_task_success(
            taskToken=event["token"], output=json.dumps({"item": event["input"]})
        )
    ended = local_aws.wait_for_end(execution)

    assert ended["status"] == "SUCCEEDED"
    assert json.loads(ended["output"]) == [{"item": "a"}, {"item": "b"}, {"item": "c"}]


def test_stop_execution_while_a_map_waits_for_tokens(local_aws: Local) -> None:
    tokens: queue.Queue[dict[str, Any]] = queue.Queue()
    execution = local_aws.start(map_workflow(local_aws, tokens), {"items": [1, 2, 3]})
    for _ in range(3):
        tokens.get(timeout=10)

    local_aws.sfn.stop_execution(executionArn=execution)

    assert local_aws.wait_for_end(execution)["status"] == "ABORTED"
    assert "ExecutionFailed" not in event_types(local_aws, execution)


def test_an_execution_timeout(local_aws: Local) -> None:
    tokens: queue.Queue[dict[str, Any]] = queue.Queue()
    execution = local_aws.start(token_workflow(local_aws, tokens, TimeoutSeconds=1))

    ended = local_aws.wait_for_end(execution)

    assert ended["status"] == "TIMED_OUT"
    # moto records the event when the execution's thread has unwound: nothing is left waiting.
    wait_until(lambda: "ExecutionTimedOut" in event_types(local_aws, execution))
    assert "ExecutionFailed" not in event_types(local_aws, execution)


# --- execution endings --------------------------------------------------------------------------


def test_every_ending_is_reported_once(local_aws: Local) -> None:
    tokens: queue.Queue[dict[str, Any]] = queue.Queue()
    succeeded = local_aws.start({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    failed = local_aws.start(
        {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "c"}}}
    )
    timed_out = local_aws.start(token_workflow(local_aws, tokens, TimeoutSeconds=1))
    aborted = local_aws.start(token_workflow(local_aws, tokens))
    wait_until(lambda: tokens.qsize() == 2)
    local_aws.sfn.stop_execution(executionArn=aborted)
    expected = {
        succeeded: "SUCCEEDED",
        failed: "FAILED",
        aborted: "ABORTED",
        timed_out: "TIMED_OUT",
    }

    for execution, status in expected.items():
        assert local_aws.wait_for_end(execution)["status"] == status
    wait_until(lambda: set(expected.items()) <= set(local_aws.ended))

    reported = [(arn, status) for arn, status in local_aws.ended if arn in expected]
    assert sorted(reported) == sorted(expected.items())


def test_unnamed_executions_get_unique_names(local_aws: Local) -> None:
    machine = local_aws.sfn.create_state_machine(
        name="unnamed-executions",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
        roleArn="arn:aws:iam::123456789012:role/iacp-test-workflow",
    )["stateMachineArn"]

    first, second = (
        local_aws.sfn.start_execution(stateMachineArn=machine)["executionArn"] for _ in range(2)
    )

    assert first != second
    assert not first.endswith(":None")
    assert local_aws.wait_for_end(second)["status"] == "SUCCEEDED"
