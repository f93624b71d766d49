"""Each patch of ``local.moto_fidelity`` (and ``local.ecs``'s RunTask reply) is still needed,
and so is each of ``local.moto_speed``.

Every patch replaces a private method of the pinned moto (5.2.5). Two kinds of test guard it:

- the method is still there, with the parameters the patch expects (one parametrised test);
- with moto's own method back (``unpatched``), moto still behaves unlike AWS in the way the
  patch corrects (or, for ``moto_speed``, still repeats the work the patch does once). When
  moto changes that, the test fails: remove the patch (and its entry in docs/local-mode.md)
  rather than this test's assertion.

The tests that the patched moto behaves like AWS are here for what no other test covers, and
otherwise in tests/local/test_workflows.py and test_ecs.py; docs/local-mode.md names them.
moto's server runs in this process (``local_aws``), so a patch taken away here is taken away
from the server too, for the one test.
"""

import contextlib
import inspect
import json
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import moto
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from jsonpath_ng.ext.parser import ExtendedJsonPathParser
from jsonpath_ng.parser import JsonPathParser
from moto import backends
from moto.core.serialize import AttributePicker
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.models import table as moto_dynamodb_table
from moto.dynamodb.responses import DynamoHandler
from moto.ecs.models import Task
from moto.ecs.responses import EC2ContainerServiceResponse
from moto.stepfunctions.parser.asl.antlr.runtime.ASLLexer import ASLLexer
from moto.stepfunctions.parser.asl.component.common.path import result_path
from moto.stepfunctions.parser.asl.component.state.exec.execute_state import ExecutionState
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.component.state.exec.state_task.credentials import (
    StateCredentials,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_ecs,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_ecs import (  # noqa: E501
    StateTaskServiceEcs,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_lambda import (  # noqa: E501
    StateTaskServiceLambda,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.parse import asl_parser
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.asl.utils import boto_client, json_path
from moto.stepfunctions.parser.models import StepFunctionsParserBackend
from moto.stepfunctions.responses import StepFunctionResponse

from local import ecs, moto_fidelity, moto_speed
from local.ecs import TaskFault
from tests.local.conftest import DEADLINE, ROLE_ARN, Local, unique, wait_until
from tests.local.test_workflows import (
    TERMINATES_ON_SIGTERM,
    ecs_workflow,
    event_types,
    lambda_phase_workflow,
    token_workflow,
)

NO_RETRIES = Config(retries={"total_max_attempts": 1})  # a 500 is not retried away
# How long a request held inside moto waits for the other one of a race: all of it when moto
# runs one request at a time (the patched moto), so short; the unpatched moto's guards wait as
# long as the other request needs.
RENDEZVOUS = 1.0
# How long a guard watches for what the pinned moto never does.
WATCH = 0.5


def unpatched(monkeypatch: pytest.MonkeyPatch, owner: type | ModuleType, name: str) -> None:
    """moto's own ``owner.name`` for this test, in place of the patch."""
    monkeypatch.setattr(owner, name, moto_fidelity.original(owner, name))


def still_needed(patch: str, moto_does: str) -> str:
    """The message of a guard whose moto no longer shows what ``patch`` corrects."""
    return (
        f"moto no longer {moto_does}: {patch} may be unneeded. Remove the patch, its entry in "
        "docs/local-mode.md and this test if the behaviour test still passes without it."
    )


def parameters(function: Callable[..., Any]) -> list[tuple[str, Any, Any]]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


EVERY_PATCH = moto_fidelity.PATCHES + ecs.PATCHES + moto_speed.PATCHES


@pytest.mark.parametrize(
    ("owner", "name", "replacement"),
    EVERY_PATCH,
    ids=[f"{owner.__name__}.{name}" for owner, name, _ in EVERY_PATCH],
)
def test_each_patched_moto_method_is_there_with_the_parameters_the_patch_expects(
    owner: type, name: str, replacement: Callable[..., Any]
) -> None:
    moto_method = moto_fidelity.original(owner, name)

    # moto's own, or (JSONPath) the jsonpath_ng function a moto module imported
    assert moto_method.__module__.startswith(("moto.", "jsonpath_ng.")), (
        f"{owner.__name__}.{name}: not moto's"
    )
    assert getattr(owner, "__module__", owner.__name__).startswith("moto."), (
        f"{owner.__name__}: not a moto module or class"
    )
    assert parameters(moto_method) == parameters(replacement), (
        f"moto's {owner.__name__}.{name} now takes {inspect.signature(moto_method)}: "
        "rewrite the patch for the new moto"
    )


# --- DynamoDB: one of two concurrent conditional writes wins ----------------------------------


def racing_conditional_puts(
    local: Local, monkeypatch: pytest.MonkeyPatch, rendezvous: float
) -> list[str]:
    """Two PutItems of one new item on condition ``attribute_not_exists(id)``, at once.

    moto's check of each condition waits (up to ``rendezvous`` s) for the other request's
    check before it writes, so two requests that moto runs side by side both see no item.
    """
    dynamodb = local.client("dynamodb", NO_RETRIES)
    table = unique("table")
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    both_checked = threading.Barrier(2, timeout=rendezvous)

    class CheckedThenWait:
        def __init__(self, condition: Any):
            self.condition = condition

        def expr(self, item: Any) -> bool:
            holds: bool = self.condition.expr(item)
            with contextlib.suppress(threading.BrokenBarrierError):  # alone: go on
                both_checked.wait()
            return holds

    monkeypatch.setattr(
        moto_dynamodb_table,
        "get_filter_expression",
        lambda *args, **kwargs: CheckedThenWait(get_filter_expression(*args, **kwargs)),
    )
    outcomes: list[str] = []

    def put(writer: str) -> None:
        try:
            dynamodb.put_item(
                TableName=table,
                Item={"id": {"S": "lock"}, "writer": {"S": writer}},
                ConditionExpression="attribute_not_exists(id)",
            )
            outcomes.append("written")
        except ClientError as error:
            outcomes.append(error.response["Error"]["Code"])

    writers = [threading.Thread(target=put, args=(name,)) for name in ("a", "b")]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(DEADLINE)
    return sorted(outcomes)


def test_of_two_concurrent_conditional_writes_one_wins(
    local_aws: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcomes = racing_conditional_puts(local_aws, monkeypatch, RENDEZVOUS)

    assert outcomes == ["ConditionalCheckFailedException", "written"]


def test_moto_still_lets_two_concurrent_conditional_writes_both_win(
    local_aws: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    unpatched(monkeypatch, DynamoHandler, "call_action")

    outcomes = racing_conditional_puts(local_aws, monkeypatch, DEADLINE)

    assert outcomes == ["written", "written"], still_needed(
        "serialising DynamoDB requests (DynamoHandler.call_action)",
        "runs two DynamoDB requests side by side",
    )


# --- ECS: DescribeTasks while a RunTask adds a task ---------------------------------------------


def describe_while_a_task_starts(
    local: Local, monkeypatch: pytest.MonkeyPatch, rendezvous: float
) -> list[str]:
    """A DescribeTasks that pauses (up to ``rendezvous`` s) in the middle of moto's walk over
    the cluster's tasks, while a RunTask adds a task to the cluster; returns the errors."""
    client = local.client("ecs", NO_RETRIES)
    cluster, family = local.cluster(), local.task_definition(command=["sleep", "60"])
    network = local.network()["AwsvpcConfiguration"]

    def run_task() -> str:
        return str(
            client.run_task(
                cluster=cluster,
                taskDefinition=family,
                launchType="FARGATE",
                networkConfiguration={
                    "awsvpcConfiguration": {
                        "subnets": network["Subnets"],
                        "securityGroups": network["SecurityGroups"],
                    }
                },
            )["tasks"][0]["taskArn"]
        )

    tasks = [run_task()]
    describing, started = threading.Event(), threading.Event()
    moto_advance = Task.advance

    def advance(task: Task) -> None:  # moto's DescribeTasks calls it for each task it finds
        describing.set()
        started.wait(rendezvous)
        moto_advance(task)

    monkeypatch.setattr(Task, "advance", advance)
    errors: list[str] = []

    def describe() -> None:
        try:
            client.describe_tasks(cluster=cluster, tasks=tasks[:1])
        except ClientError as error:
            errors.append(str(error))

    describer = threading.Thread(target=describe)
    describer.start()
    try:
        assert describing.wait(DEADLINE)
        tasks.append(run_task())
        started.set()
        describer.join(DEADLINE)
    finally:
        for task in tasks:
            client.stop_task(cluster=cluster, task=task)
    return errors


def test_describe_tasks_answers_while_a_task_starts(
    local_aws: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert describe_while_a_task_starts(local_aws, monkeypatch, RENDEZVOUS) == []


def test_moto_still_fails_describe_tasks_while_a_task_starts(
    local_aws: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    unpatched(monkeypatch, EC2ContainerServiceResponse, "call_action")

    errors = describe_while_a_task_starts(local_aws, monkeypatch, DEADLINE)

    assert len(errors) == 1 and "500" in errors[0], still_needed(
        "serialising ECS requests (EC2ContainerServiceResponse.call_action)",
        "fails a DescribeTasks whose cluster gains a task meanwhile",
    )


# --- Step Functions: ecs:runTask.sync ------------------------------------------------------------


def test_moto_still_passes_asl_parameters_to_boto3_as_written(
    local_aws: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    unpatched(monkeypatch, StateTaskServiceEcs, "_normalise_parameters")
    unpatched(monkeypatch, StateTaskServiceEcs, "_normalise_response")

    ended = local_aws.wait_for_end(
        local_aws.start(ecs_workflow(local_aws, "pass"), {"marker": "unused"})
    )

    assert (ended["status"], ended.get("error")) == ("FAILED", "States.Runtime"), still_needed(
        "StateTaskServiceEcs._normalise_parameters/_normalise_response",
        "passes ASL's PascalCase parameters to boto3 unchanged",
    )
    assert "'Cluster'" in ended["cause"]


REFUSED = "RESOURCE:MEMORY"


def refused_run_task(local: Local) -> dict[str, Any]:
    """A ``runTask.sync`` step whose RunTask ECS refuses; returns the execution's end."""
    marker = unique("refused")
    local.ecs_backend.inject(
        TaskFault(
            "refused", when=lambda environment: environment.get("MARKER") == marker, reason=REFUSED
        )
    )
    return local.wait_for_end(local.start(ecs_workflow(local, "pass"), {"marker": marker}))


def test_a_refused_run_task_fails_the_step_with_amazon_ecs_unknown(local_aws: Local) -> None:
    ended = refused_run_task(local_aws)

    assert ended["status"] == "FAILED"
    assert ended["error"] == moto_fidelity.ECS_RUN_TASK_FAILED
    reply = json.loads(ended["cause"])
    assert reply["Tasks"] == []
    assert reply["Failures"][0]["Reason"] == REFUSED


def test_moto_still_fails_a_refused_run_task_with_an_index_error(
    local_aws: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    unpatched(monkeypatch, StateTaskServiceEcs, "_eval_service_task")

    ended = refused_run_task(local_aws)

    assert (ended["status"], ended.get("error")) == ("FAILED", "States.Runtime"), still_needed(
        "StateTaskServiceEcs._eval_service_task", "fails a refused RunTask with States.Runtime"
    )
    assert "list index out of range" in ended["cause"]


def test_run_task_replies_with_the_failures_of_the_local_backend(local_aws: Local) -> None:
    reply = run_task_refused_directly(local_aws)

    assert reply["tasks"] == []
    assert reply["failures"][0]["reason"] == REFUSED


def test_moto_still_replies_to_run_task_with_no_failures(
    local_aws: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    unpatched(monkeypatch, EC2ContainerServiceResponse, "run_task")

    reply = run_task_refused_directly(local_aws)

    assert reply["tasks"] == [] and reply["failures"] == [], still_needed(
        "local.ecs's RunTask reply (EC2ContainerServiceResponse.run_task)",
        "replies to RunTask with no failures whatever its backend found",
    )


def run_task_refused_directly(local: Local) -> dict[str, Any]:
    """A RunTask (no workflow) that the local backend refuses; returns the reply."""
    local.ecs_backend.inject(TaskFault("refused", when=lambda _: True, reason=REFUSED))
    network = local.network()["AwsvpcConfiguration"]
    reply: dict[str, Any] = local.ecs.run_task(
        cluster=local.cluster(),
        taskDefinition=local.task_definition("pass"),
        launchType="FARGATE",
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": network["Subnets"],
                "securityGroups": network["SecurityGroups"],
            }
        },
    )
    return reply


def test_moto_still_reports_a_failed_ecs_task_as_succeeded(
    local_aws: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    unpatched(monkeypatch, StateTaskServiceEcs, "_build_sync_resolver")

    ended = local_aws.wait_for_end(
        local_aws.start(ecs_workflow(local_aws, "import sys; sys.exit(3)"), {"marker": "unused"})
    )

    assert ended["status"] == "SUCCEEDED", still_needed(
        "StateTaskServiceEcs._build_sync_resolver", "reports a failed ECS task as succeeded"
    )
    assert json.loads(ended["output"])["Containers"][0]["ExitCode"] == 3


def test_moto_still_leaves_the_ecs_task_of_a_stopped_execution_running(
    local_aws: Local, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    unpatched(monkeypatch, StateTaskServiceEcs, "_eval_sync")
    marker = tmp_path / "marker"
    definition = ecs_workflow(local_aws, TERMINATES_ON_SIGTERM)
    execution = local_aws.start(definition, {"marker": str(marker)})
    wait_until(Path(f"{marker}.started").exists)

    local_aws.sfn.stop_execution(executionArn=execution)
    assert local_aws.wait_for_end(execution)["status"] == "ABORTED"
    time.sleep(2 * WATCH)  # twice moto's poll of a .sync task (0.5 s)

    cluster = definition["States"]["Run"]["Parameters"]["Cluster"]
    running = local_aws.ecs.list_tasks(cluster=cluster, desiredStatus="RUNNING")["taskArns"]
    signalled = marker.exists()  # the task writes it on SIGTERM
    for task in running:
        local_aws.ecs.stop_task(cluster=cluster, task=task)
    assert len(running) == 1 and not signalled, still_needed(
        "StateTaskServiceEcs._eval_sync", "leaves a stopped execution's ECS task running"
    )


def test_moto_still_keeps_a_stopped_execution_running_while_its_lambda_invocation_runs(
    local_aws: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    unpatched(monkeypatch, StateTaskServiceLambda, "_eval_service_task")
    released = threading.Event()

    def phase(event: dict[str, Any], context: Any) -> dict[str, Any]:
        released.wait(DEADLINE)
        return {}

    execution = local_aws.start(lambda_phase_workflow(local_aws, phase))
    try:
        wait_until(lambda: "TaskStarted" in event_types(local_aws, execution))
        local_aws.sfn.stop_execution(executionArn=execution)
        time.sleep(0.5)  # ten looks of the patch's at the execution's status
        status = local_aws.sfn.describe_execution(executionArn=execution)["status"]
    finally:
        released.set()
    assert local_aws.wait_for_end(execution)["status"] == "ABORTED"
    assert status == "RUNNING", still_needed(
        "StateTaskServiceLambda._eval_service_task",
        "keeps a stopped execution RUNNING until its Lambda invocation returns",
    )


# --- Step Functions: the end of an execution while a task waits for its token -----------------


@contextlib.contextmanager
def waiting_for_a_token(local: Local, **extra: Any) -> Iterator[tuple[str, str]]:
    """An execution waiting for a task token: (execution ARN, token). Leaving the block sends
    the token, so that no thread of moto's is left waiting whatever the test did."""
    tokens: queue.Queue[dict[str, Any]] = queue.Queue()
    execution = local.start(token_workflow(local, tokens, **extra))
    token = str(tokens.get(timeout=DEADLINE)["token"])
    # The function has the token before the state waits for it: moto records TaskSubmitted
    # after the invocation has returned and then waits, with no look at the execution's
    # status in between. A stop sent earlier would find no wait to leave running.
    wait_until(lambda: "TaskSubmitted" in event_types(local, execution))
    try:
        yield execution, token
    finally:
        with contextlib.suppress(ClientError):
            local.sfn.send_task_success(taskToken=token, output="{}")


def test_moto_still_ignores_stop_execution_while_a_token_is_pending(
    local_aws: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    unpatched(monkeypatch, Environment, "set_stop")

    with waiting_for_a_token(local_aws) as (execution, _):
        local_aws.sfn.stop_execution(executionArn=execution)
        time.sleep(WATCH)
        status = local_aws.describe(execution)["status"]

    assert status == "RUNNING", still_needed(
        "Environment.set_stop", "leaves a stopped execution waiting for its task token"
    )


def test_moto_still_leaves_a_timed_out_execution_waiting_for_its_token(
    local_aws: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    unpatched(monkeypatch, Environment, "set_timed_out")

    with waiting_for_a_token(local_aws, TimeoutSeconds=1) as (execution, _):
        assert local_aws.wait_for_end(execution)["status"] == "TIMED_OUT"
        time.sleep(WATCH)
        types = event_types(local_aws, execution)

    assert "ExecutionTimedOut" not in types, still_needed(
        "Environment.set_timed_out", "leaves a timed-out execution's thread waiting for a token"
    )


def test_moto_still_fails_an_execution_whose_waiting_state_a_stop_interrupted(
    local_aws: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    unpatched(monkeypatch, ExecutionState, "_evaluate_with_timeout")

    with waiting_for_a_token(local_aws) as (execution, _):
        local_aws.sfn.stop_execution(executionArn=execution)
        ended = local_aws.wait_for_end(execution)

    assert (ended["status"], ended.get("error")) == ("FAILED", "States.Timeout"), still_needed(
        "ExecutionState._evaluate_with_timeout",
        "turns the interrupted wait of a stopped execution into its failure",
    )
    assert "TaskTimedOut" in event_types(local_aws, execution)


def test_moto_still_drops_the_cause_of_send_task_failure(
    local_aws: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    unpatched(monkeypatch, StepFunctionResponse, "send_task_failure")

    with waiting_for_a_token(local_aws) as (execution, token):
        local_aws.sfn.send_task_failure(taskToken=token, error="Rejected", cause="said no")
        ended = local_aws.wait_for_end(execution)

    assert ended["error"] == "Rejected"
    assert not ended.get("cause"), still_needed(
        "StepFunctionResponse.send_task_failure", "drops SendTaskFailure's cause"
    )


def test_moto_still_names_an_unnamed_execution_none(
    local_aws: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    unpatched(monkeypatch, StepFunctionsParserBackend, "start_execution")
    machine = local_aws.sfn.create_state_machine(
        name=unique("unnamed"),
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
        roleArn="arn:aws:iam::123456789012:role/iacp-test-workflow",
    )["stateMachineArn"]

    started = local_aws.sfn.start_execution(stateMachineArn=machine)["executionArn"]

    assert started.endswith(":None"), still_needed(
        "StepFunctionsParserBackend.start_execution", 'names an unnamed execution "None"'
    )


# --- local.moto_speed: what moto repeats, done once ----------------------------------------------

PASS_THROUGH = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 1, "End": True}}}


def antlr_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each definition ANTLR parses from now on (moto's parse starts with the lexer)."""
    parsed: list[str] = []

    def counting_lexer(input_stream: Any) -> Any:
        parsed.append(str(input_stream))
        return ASLLexer(input_stream)

    monkeypatch.setattr(asl_parser, "ASLLexer", counting_lexer)
    return parsed


def run_three_executions(local: Local) -> list[dict[str, Any]]:
    """Three executions of one new state machine, each to its end."""
    definition = {**PASS_THROUGH, "Comment": unique("parsed")}
    machine = local.sfn.create_state_machine(
        name=unique("parsed"), definition=json.dumps(definition), roleArn=ROLE_ARN
    )["stateMachineArn"]
    started = [local.sfn.start_execution(stateMachineArn=machine)["executionArn"] for _ in "abc"]
    return [local.wait_for_end(execution) for execution in started]


def test_a_definition_is_parsed_once_and_each_execution_evaluates_its_own_program(
    local_aws: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed = antlr_parses(monkeypatch)

    ended = run_three_executions(local_aws)

    assert [e["status"] for e in ended] == ["SUCCEEDED"] * 3
    assert [e["output"] for e in ended] == ["1"] * 3
    assert len(parsed) == 1
    first, _ = AmazonStateLanguageParser.parse(json.dumps(PASS_THROUGH))
    second, _ = AmazonStateLanguageParser.parse(json.dumps(PASS_THROUGH))
    assert first is not second  # components hold no execution's state, but none is shared


def test_moto_still_parses_the_definition_for_every_execution(
    local_aws: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    unpatched(monkeypatch, AmazonStateLanguageParser, "parse")
    parsed = antlr_parses(monkeypatch)

    run_three_executions(local_aws)

    assert len(parsed) >= 3, still_needed(
        "AmazonStateLanguageParser.parse", "parses a definition for every execution"
    )


def listings_of_motos_directory(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    listed: list[str] = []
    listdir = os.listdir

    def counting_listdir(path: Any) -> list[str]:
        if str(path) == os.path.dirname(moto.__file__):
            listed.append(str(path))
        return listdir(path)

    monkeypatch.setattr(os, "listdir", counting_listdir)
    return listed


def test_the_services_moto_serves_are_listed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    moto_speed.apply()
    expected = list(moto_fidelity.original(backends, "list_of_moto_modules")())
    listed = listings_of_motos_directory(monkeypatch)

    answers = [list(backends.list_of_moto_modules()) for _ in range(3)]

    assert answers == [expected] * 3 and "dynamodb" in expected
    assert len(listed) <= 1  # none when an earlier request already listed them


def test_moto_still_lists_its_directory_for_every_request(monkeypatch: pytest.MonkeyPatch) -> None:
    unpatched(monkeypatch, backends, "list_of_moto_modules")
    listed = listings_of_motos_directory(monkeypatch)

    for _ in range(3):
        list(backends.list_of_moto_modules())

    assert len(listed) == 3, still_needed(
        "backends.list_of_moto_modules", "lists its package directory on every call"
    )


def test_a_task_states_client_is_made_once_per_service(local_aws: Local) -> None:
    moto_speed.apply()

    lambda_client_for = getattr(lambda_eval_utils, "boto_client_for")  # noqa: B009 -- not exported
    ecs_client_for = getattr(state_task_service_ecs, "boto_client_for")  # noqa: B009

    lambdas = [lambda_client_for("us-east-1", "lambda") for _ in range(2)]
    ecs_clients = [ecs_client_for("us-east-1", "ecs") for _ in range(2)]

    assert lambdas[0] is lambdas[1] and ecs_clients[0] is ecs_clients[1]
    assert lambdas[0].meta.service_model.service_name == "lambda"
    assert ecs_clients[0].meta.service_model.service_name == "ecs"
    assert lambdas[0].meta.endpoint_url.endswith(f":{local_aws.moto.port}")
    # Every Task state passes its credentials (the execution's role, if not its own).
    assert (
        lambda_client_for("us-east-1", "lambda", StateCredentials(role_arn=ROLE_ARN)) is lambdas[0]
    )


def test_moto_still_makes_a_client_for_every_task_state(
    local_aws: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    unpatched(monkeypatch, lambda_eval_utils, "boto_client_for")

    client_for = getattr(lambda_eval_utils, "boto_client_for")  # noqa: B009 -- not exported
    first, second = (client_for("us-east-1", "lambda") for _ in range(2))

    assert first is not second, still_needed(
        "boto_client_for", "makes a new client for every Task state"
    )
    # ... with moto's placeholder keys, whatever credentials the state passes: the kept
    # client stands for any of them.
    own = client_for("us-east-1", "lambda", StateCredentials(role_arn=ROLE_ARN))
    keys = [c._request_signer._credentials.access_key for c in (first, own)]
    assert keys == ["ak", "ak"], still_needed(
        "boto_client_for (one client whatever the state's credentials)",
        "ignores a Task state's credentials",
    )


def test_the_ecs_steps_client_is_the_kept_one(local_aws: Local) -> None:
    moto_speed.apply()

    # local.moto_fidelity's RunTask (.sync) looks the function up in its module when called
    client_for = getattr(boto_client, "boto_client_for")  # noqa: B009 -- not exported

    assert client_for("us-east-1", "ecs") is getattr(state_task_service_ecs, "boto_client_for")(  # noqa: B009
        "us-east-1", "ecs"
    )


def path_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each JSONPath jsonpath_ng parses from now on, extended (``extract_json``) or plain
    (``ResultPath``)."""
    parsed: list[str] = []
    for parser in (ExtendedJsonPathParser, JsonPathParser):
        parse = parser.parse

        def counting_parse(self: Any, string: str, *args: Any, _parse: Any = parse) -> Any:
            parsed.append(string)
            return _parse(self, string, *args)

        monkeypatch.setattr(parser, "parse", counting_parse)
    return parsed


def run_three_path_executions(local: Local) -> tuple[list[dict[str, Any]], str, str]:
    """Three executions of a state machine with a path to read and one to write, each new to
    this process; its executions, and the two paths."""
    read, write = f"$.{unique('read').replace('-', '_')}", f"$.{unique('write').replace('-', '_')}"
    definition = {
        "StartAt": "P",
        "States": {
            "P": {"Type": "Pass", "Parameters": {"v.$": read}, "ResultPath": write, "End": True}
        },
    }
    machine = local.sfn.create_state_machine(
        name=unique("paths"), definition=json.dumps(definition), roleArn=ROLE_ARN
    )["stateMachineArn"]
    started = [
        local.sfn.start_execution(stateMachineArn=machine, input=json.dumps({read[2:]: value}))[
            "executionArn"
        ]
        for value in (1, 2, 3)
    ]
    return [local.wait_for_end(execution) for execution in started], read, write


def test_a_path_is_parsed_once_and_evaluated_for_each_execution(
    local_aws: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    moto_speed.apply()
    parsed = path_parses(monkeypatch)

    ended, read, write = run_three_path_executions(local_aws)

    assert [json.loads(e["output"]) for e in ended] == [
        {read[2:]: value, write[2:]: {"v": value}} for value in (1, 2, 3)
    ]
    assert parsed.count(read) == 1 and parsed.count(write) == 1


def test_moto_still_parses_a_path_every_time_it_evaluates_it(
    local_aws: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    unpatched(monkeypatch, json_path, "parse")
    unpatched(monkeypatch, result_path, "parse")
    parsed = path_parses(monkeypatch)

    _, read, write = run_three_path_executions(local_aws)

    assert parsed.count(read) >= 3 and parsed.count(write) >= 3, still_needed(
        "json_path.parse and result_path.parse", "parses a JSONPath every time it evaluates it"
    )


ITEM = {
    "pk": {"S": "a"},
    "sk": {"N": "1"},
    "text": {"S": "x"},
    "blob": {"B": b"\x00\x01"},
    "flag": {"BOOL": True},
    "nothing": {"NULL": True},
    "names": {"SS": ["n1", "n2"]},
    "numbers": {"NS": ["1", "2.5"]},
    "nested": {"M": {"list": {"L": [{"S": "y"}, {"N": "3"}, {"M": {"S": {"S": "s"}}}]}}},
}


def dynamodb_answers(local: Local) -> list[Any]:
    """What a few DynamoDB requests answer about a new table with an item of every type."""
    dynamodb = local.client("dynamodb")
    table = unique("table")
    keys = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
    created = dynamodb.create_table(
        TableName=table,
        KeySchema=keys,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    key = {"pk": ITEM["pk"], "sk": ITEM["sk"]}
    answers = [
        created["TableDescription"]["KeySchema"],
        dynamodb.put_item(TableName=table, Item=ITEM, ReturnConsumedCapacity="TOTAL"),
        dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True),
        dynamodb.query(
            TableName=table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": ITEM["pk"]},
        ),
        dynamodb.update_item(
            TableName=table,
            Key=key,
            UpdateExpression="SET #t = :t REMOVE #f",
            ExpressionAttributeNames={"#t": "text", "#f": "flag"},
            ExpressionAttributeValues={":t": {"S": "z"}},
            ReturnValues="ALL_NEW",
        ),
        dynamodb.batch_get_item(RequestItems={table: {"Keys": [key]}}),
        dynamodb.get_item(TableName=table, Key={"pk": {"S": "none"}, "sk": {"N": "0"}}),
    ]
    for answer in answers[1:]:
        answer.pop("ResponseMetadata")
    # The table's name as a placeholder, so that answers about two tables compare.
    return json.loads(json.dumps(answers, default=repr).replace(table, "TABLE"))


def test_dynamodb_answers_the_same_with_the_kept_names(
    local_aws: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    moto_speed.apply()
    kept = dynamodb_answers(local_aws)
    unpatched(monkeypatch, AttributePicker, "__call__")

    assert kept == dynamodb_answers(local_aws)
    assert kept[2]["Item"]["nested"] == ITEM["nested"] and "Item" not in kept[6]
    assert set(kept[2]["Item"]) == set(ITEM)


def alias_lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each member whose names the serializer asks its alias providers for, from now on."""
    asked: list[str] = []
    possible_keys = AttributePicker.get_possible_keys

    def counting(self: Any, context: Any) -> Any:
        asked.append(context.key)
        return possible_keys(self, context)

    monkeypatch.setattr(AttributePicker, "get_possible_keys", counting)
    return asked


def test_a_members_names_are_worked_out_once(
    local_aws: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    moto_speed.apply()
    dynamodb_answers(local_aws)
    asked = alias_lookups(monkeypatch)

    dynamodb_answers(local_aws)

    # The table's description is an object, not a dict: moto's own picker for it.
    assert len([k for k in asked if k in ("S", "N", "B", "M", "L", "NULL", "BOOL")]) == 0


def test_moto_still_works_out_a_members_names_for_every_value(
    local_aws: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    unpatched(monkeypatch, AttributePicker, "__call__")
    dynamodb_answers(local_aws)
    asked = alias_lookups(monkeypatch)

    dynamodb_answers(local_aws)

    assert asked.count("S") >= 10, still_needed(
        "AttributePicker.__call__", "asks every alias provider again for each value it picks"
    )
