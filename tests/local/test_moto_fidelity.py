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
import copy
import inspect
import json
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import moto
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from jsonpath_ng.ext.parser import ExtendedJsonPathParser
from jsonpath_ng.parser import JsonPathParser
from moto import backends
from moto.core.serialize import AttributePicker
from moto.dynamodb import models as moto_dynamodb_models
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models import table as moto_dynamodb_table
from moto.dynamodb.parsing.ast_nodes import Node  # type: ignore[attr-defined]
from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]
from moto.dynamodb.parsing.tokens import ExpressionTokenizer
from moto.dynamodb.parsing.validators import ActionCountValidator, OverlappingPathsValidator
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


def answers_alike(
    local_aws: Local,
    monkeypatch: pytest.MonkeyPatch,
    answers: Callable[[Local], Any],
    *patches: tuple[type | ModuleType, str],
) -> Any:
    """What ``answers`` finds with local.moto_speed's patches, asserted to be what it finds
    again with moto's own code in place of ``patches``."""
    moto_speed.apply()
    kept = answers(local_aws)
    for owner, name in patches:
        unpatched(monkeypatch, owner, name)

    assert kept == answers(local_aws)
    return kept


def string_keyed_table(dynamodb: Any, prefix: str, key: str = "pk", **options: Any) -> str:
    """A new on-demand table, named after ``prefix``, whose items are keyed by the string
    attribute ``key`` alone; its name."""
    table = unique(prefix)
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        **options,
    )
    return table


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
    table = string_keyed_table(dynamodb, "table", "id")
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
    kept = answers_alike(local_aws, monkeypatch, dynamodb_answers, (AttributePicker, "__call__"))

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


# DynamoDB's UpdateItem: the expression is parsed once, two checks run at the root only.

UPDATE_PATCHES = (
    (UpdateExpressionParser, "make"),
    (ActionCountValidator, "traverse"),
    (OverlappingPathsValidator, "traverse"),
)
# What the platform's stores send (``iacp.dynamo.Update``), and what moto must refuse.
UPDATES: list[tuple[str, dict[str, str], dict[str, Any], str | None]] = [
    (
        "SET #n0 = :v0, #n1 = :v1, #n2.#n3 = :v2, #n4 = if_not_exists(#n4, :v3) REMOVE #n5",
        {
            "#n0": "status",
            "#n1": "name",
            "#n2": "stamps",
            "#n3": "planned",
            "#n4": "created",
            "#n5": "gone",
            "#n6": "serial",
        },
        {
            ":v0": {"S": "planned"},
            ":v1": {"S": "n"},
            ":v2": {"S": "t1"},
            ":v3": {"S": "t0"},
            ":v4": {"N": "5"},
        },
        "attribute_not_exists(pk) OR #n6 <= :v4",
    ),
    ("SET c = c + :one, l = list_append(l, :l)", {}, {":one": {"N": "1"}, ":l": {"L": []}}, None),
    ("ADD c :one, tags :s", {}, {":one": {"N": "1"}, ":s": {"SS": ["a", "b"]}}, None),
    ("DELETE tags :s", {}, {":s": {"SS": ["a"]}}, None),
    ("REMOVE l[0], l[1]", {}, {}, None),
    ("SET #s = :s", {"#s": "status"}, {":s": {"S": "x"}, ":no": {"S": "y"}}, "#s = :no"),
    # refused: what moto raises, and at which node, must not change
    ("SET a = :a SET b = :a", {}, {":a": {"S": "a"}}, None),
    ("ADD a :one ADD b :one REMOVE c REMOVE d", {}, {":one": {"N": "1"}}, None),
    ("SET a = :a, a.b = :a REMOVE c, c", {}, {":a": {"S": "a"}}, None),
    ("SET #a = :a, #b = :a", {"#a": "x", "#b": "x"}, {":a": {"S": "a"}}, None),
    ("SET a = :a, b = :a, a = :a", {}, {":a": {"S": "a"}}, None),
    ("SET #k = :a", {"#k": "pk"}, {":a": {"S": "a"}}, None),
    ("SET a = :nowhere", {}, {":a": {"S": "a"}}, None),
    ("SET a = = :a", {}, {":a": {"S": "a"}}, None),
    ("SET m.n.o = :a", {}, {":a": {"S": "a"}}, None),
    ("SET c = c + :a", {}, {":a": {"S": "a"}}, None),
    ("SET l = list_append(c, :l)", {}, {":l": {"L": []}}, None),
]


def update_outcomes(local: Local) -> list[Any]:
    """What each of ``UPDATES`` answers, on an item that exists and on a new one (each twice:
    the second time moto may have kept something of the first), and the items it leaves."""
    dynamodb = local.client("dynamodb", NO_RETRIES)
    table = string_keyed_table(dynamodb, "updates")
    outcomes: list[Any] = []
    for number, (expression, names, values, condition) in enumerate(UPDATES):
        for key in ("old", f"new{number}", "old", f"new{number}"):
            if key == "old":
                seeded = {
                    "c": {"N": "1"},
                    "l": {"L": [{"S": "x"}, {"S": "y"}]},
                    "gone": {"S": "g"},
                    "serial": {"N": "5"},
                    "stamps": {"M": {}},
                }
                dynamodb.put_item(TableName=table, Item={"pk": {"S": key}, **seeded})
            request: dict[str, Any] = {
                "TableName": table,
                "Key": {"pk": {"S": key}},
                "UpdateExpression": expression,
                "ReturnValues": "ALL_NEW",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
            if names:
                request["ExpressionAttributeNames"] = names
            if values:
                request["ExpressionAttributeValues"] = values
            if condition:
                request["ConditionExpression"] = condition
            try:
                answer = dynamodb.update_item(**request)
                answer.pop("ResponseMetadata")
            except ClientError as error:
                answer = {"error": error.response["Error"], "item": error.response.get("Item")}
            item = dynamodb.get_item(TableName=table, Key={"pk": {"S": key}}).get("Item")
            outcomes.append((expression, key, answer, item))
    return json.loads(json.dumps(outcomes).replace(table, "TABLE"))


def shape(node: Any) -> Any:
    """A syntax tree as nested tuples; fails where a node's ``parent`` is not its parent."""
    if not isinstance(node, Node):
        return node
    for child in node.children or []:
        assert not isinstance(child, Node) or child.parent is node
    return (type(node).__name__, tuple(shape(child) for child in node.children or []))


def test_update_item_answers_the_same_with_a_kept_parse_and_root_checks(
    local_aws: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = answers_alike(local_aws, monkeypatch, update_outcomes, *UPDATE_PATCHES)

    errors = [answer["error"]["Message"] for _, _, answer, _ in kept if "error" in answer]
    assert any('The "REMOVE" section can only be used once' in e for e in errors)  # the deepest
    assert any('The "SET" section can only be used once' in e for e in errors)
    assert any("Two document paths overlap" in e for e in errors)
    assert any(answer.get("item") for _, _, answer, _ in kept if "error" in answer)  # ALL_OLD
    assert sum("error" not in answer for _, _, answer, _ in kept) >= 12
    # The checks kept at the root change no node where moto's walk passes: moto's walk of a
    # valid expression leaves its tree as it was, every node's parent its parent.
    for expression, names, _, _ in UPDATES[:6]:
        tree = UpdateExpressionParser.make(expression)
        walked = copy.deepcopy(tree)
        for validator in (ActionCountValidator(), OverlappingPathsValidator(names)):
            moto_traverse = moto_fidelity.original(type(validator), "traverse")
            assert moto_traverse(validator, walked) is walked
        assert shape(walked) == shape(tree)


def update_expression_work(monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    """Each update expression moto tokenizes from now on, and each node at which it counts an
    update expression's clauses."""
    tokenized: list[str] = []
    counted: list[str] = []
    make_list = ExpressionTokenizer.make_list
    verify = ActionCountValidator.verify_action_counts

    def counting_make_list(cls: Any, input_expression_str: str) -> Any:
        tokenized.append(input_expression_str)
        return make_list(input_expression_str)

    def counting_verify(self: Any, node: Any) -> Any:
        counted.append(type(node).__name__)
        return verify(self, node)

    monkeypatch.setattr(ExpressionTokenizer, "make_list", classmethod(counting_make_list))
    monkeypatch.setattr(ActionCountValidator, "verify_action_counts", counting_verify)
    return tokenized, counted


def three_updates(local: Local) -> str:
    """Three UpdateItems of one expression new to this process, of a new item and then of
    the item; the expression."""
    dynamodb = local.client("dynamodb")
    table = string_keyed_table(dynamodb, "updated")
    field = unique("f").replace("-", "_")
    expression = f"SET {field} = :v, a = :v, b = if_not_exists(b, :v) REMOVE c"
    for value in "xyz":
        dynamodb.update_item(
            TableName=table,
            Key={"pk": {"S": "k"}},
            UpdateExpression=expression,
            ExpressionAttributeValues={":v": {"S": value}},
        )
    item = dynamodb.get_item(TableName=table, Key={"pk": {"S": "k"}})["Item"]
    assert item[field] == {"S": "z"} and item["b"] == {"S": "x"}
    return expression


def test_an_update_expression_is_parsed_once_and_its_clauses_counted_at_the_root(
    local_aws: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    moto_speed.apply()
    tokenized, counted = update_expression_work(monkeypatch)

    expression = three_updates(local_aws)

    assert tokenized.count(expression) == 1
    assert counted == []  # the root's count passed: moto's count at each node is not needed


def test_moto_still_parses_an_update_expression_and_counts_its_clauses_at_every_node(
    local_aws: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    for owner, name in UPDATE_PATCHES:
        unpatched(monkeypatch, owner, name)
    tokenized, counted = update_expression_work(monkeypatch)

    expression = three_updates(local_aws)

    assert tokenized.count(expression) >= 6, still_needed(
        "UpdateExpressionParser.make", "parses an update expression twice per UpdateItem"
    )
    # 4 validations (the new item's is validated twice), each counting at every clause node
    assert len(counted) > 4 * 10, still_needed(
        "ActionCountValidator.traverse", "counts the clauses again at every node of the tree"
    )


# DynamoDB's TransactWriteItems: a backup of the items a transaction writes, not of its tables.


def stream_records(local: Local, table: str) -> list[Any]:
    """The table's stream records so far: what each says, without its id and time."""
    streams = local.client("dynamodbstreams")
    arn = local.client("dynamodb").describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    return [
        (
            r["eventName"],
            r["dynamodb"]["Keys"],
            r["dynamodb"].get("NewImage"),
            r["dynamodb"].get("OldImage"),
            r["dynamodb"]["SequenceNumber"],
        )
        for r in records
    ]


def transaction_outcomes(local: Local) -> list[Any]:
    """What a few transactions answer, on a table with a range key and one without (both
    with streams), each failing after writes of every kind, for every reason moto has, and
    one that succeeds; after each, both tables' items in scan order and their stream
    records."""
    dynamodb = local.client("dynamodb", NO_RETRIES)
    ranged = unique("ranged")
    stream = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    dynamodb.create_table(
        TableName=ranged,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification=stream,
    )
    plain = string_keyed_table(dynamodb, "plain", "id", StreamSpecification=stream)
    nested = {"M": {"m": {"M": {"x": {"S": "0"}}}, "l": {"L": [{"N": "1"}]}}}
    for pk, sk in (("a", "1"), ("a", "2"), ("a", "3"), ("b", "1")):
        item = {"pk": {"S": pk}, "sk": {"N": sk}, "n": nested, "c": {"N": "1"}, "gone": {"S": "g"}}
        dynamodb.put_item(TableName=ranged, Item=item)
    for name in ("x1", "x2", "x3", "x4"):
        dynamodb.put_item(TableName=plain, Item={"id": {"S": name}, "n": nested})

    def key(pk: str, sk: str) -> dict[str, Any]:
        return {"pk": {"S": pk}, "sk": {"N": sk}}

    writes = [
        {"Update": {"TableName": ranged, "Key": key("a", "1"),
                    "UpdateExpression": "SET n.m.x = :v, c = c + :one REMOVE gone",
                    "ExpressionAttributeValues": {":v": {"S": "1"}, ":one": {"N": "1"}}}},
        {"Update": {"TableName": ranged, "Key": key("d", "1"),  # a new item, a new partition
                    "UpdateExpression": "SET c = :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}}}},
        {"Put": {"TableName": ranged, "Item": {**key("a", "9"), "c": {"N": "9"}}}},
        {"Put": {"TableName": ranged, "Item": {**key("c", "1"), "c": {"N": "9"}}}},
        {"Put": {"TableName": ranged, "Item": {**key("a", "3"), "c": {"N": "7"}}}},
        {"Delete": {"TableName": ranged, "Key": key("a", "2")}},
        {"Put": {"TableName": plain, "Item": {"id": {"S": "x9"}}}},
        {"Delete": {"TableName": plain, "Key": {"id": {"S": "x2"}}}},
        {"Update": {"TableName": plain, "Key": {"id": {"S": "x3"}},
                    "UpdateExpression": "SET n.l = list_append(n.l, :l)",
                    "ExpressionAttributeValues": {":l": {"L": [{"N": "2"}]}}}},
    ]  # fmt: skip
    check = {"TableName": plain, "Key": {"id": {"S": "x1"}}}
    fails = {**check, "ConditionExpression": "attribute_not_exists(id)"}
    failing = [
        [*writes, {"ConditionCheck": {**fails, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}],
        [*writes[:3], {"ConditionCheck": fails}, *writes[3:]],
        [*writes, {"Delete": {"TableName": ranged, "Key": key("a", "1")}}],  # an item twice
        [
            *writes,
            {
                "Update": {
                    **check,
                    "UpdateExpression": "SET a = :a SET b = :a",
                    "ExpressionAttributeValues": {":a": {"S": "a"}},
                }
            },
        ],
        [*writes, {"Put": {"TableName": plain, "Item": {"id": {"N": "1"}}}}],  # the key's type
        [*writes, {"ConditionCheck": {**fails, "TableName": "no-such-table"}}],
    ]
    outcomes: list[Any] = []

    def state() -> list[Any]:
        return [
            [dynamodb.scan(TableName=t)["Items"] for t in (ranged, plain)],
            [stream_records(local, t) for t in (ranged, plain)],
        ]

    outcomes.append(("seeded", state()))
    for transaction in [*failing, writes]:
        try:
            dynamodb.transact_write_items(TransactItems=transaction)
            answer: Any = "written"
        except ClientError as error:
            answer = (error.response["Error"], error.response.get("CancellationReasons"))
        outcomes.append((answer, state()))
    return json.loads(json.dumps(outcomes).replace(ranged, "RANGED").replace(plain, "PLAIN"))


def test_a_transaction_answers_and_rolls_back_the_same_with_a_backup_of_its_items(
    local_aws: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = answers_alike(
        local_aws, monkeypatch, transaction_outcomes, (DynamoDBBackend, "transact_write_items")
    )

    seeded = kept[0][1]
    *failed, (written, after) = kept[1:]
    assert [answer[0]["Code"] for answer, _ in failed] == [
        "TransactionCanceledException",
        "TransactionCanceledException",
        "ValidationException",  # an item twice
        "ValidationException",  # an update of two SET clauses
        "ValidationException",  # a key of the wrong type
        "TransactionCanceledException",
    ]
    assert all(state == seeded for _, state in failed)  # rolled back, in order, streams too
    assert written == "written" and after != seeded
    assert len(after[1][0]) > len(seeded[1][0]) and len(after[1][1]) > len(seeded[1][1])
    reasons = failed[0][0][1]
    assert reasons[-1]["Code"] == "ConditionalCheckFailed" and reasons[-1]["Item"]  # ALL_OLD


def table_copies(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The class of each copy of a table moto's DynamoDB backend makes from now on."""
    copies: list[str] = []
    deepcopy = copy.deepcopy

    def counting_deepcopy(x: Any, memo: Any = None) -> Any:
        copied = deepcopy(x, memo)
        if isinstance(x, moto_dynamodb_table.Table):
            copies.append(type(copied).__name__)
        return copied

    monkeypatch.setattr(moto_dynamodb_models, "copy", SimpleNamespace(deepcopy=counting_deepcopy))
    return copies


def one_transaction(local: Local) -> None:
    """A transaction of two writes to one table, which holds two items."""
    dynamodb = local.client("dynamodb")
    table = string_keyed_table(dynamodb, "transacted")
    for name in "ab":
        dynamodb.put_item(TableName=table, Item={"pk": {"S": name}})
    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": table, "Item": {"pk": {"S": "c"}}}},
            {"Delete": {"TableName": table, "Key": {"pk": {"S": "a"}}}},
        ]
    )
    assert len(dynamodb.scan(TableName=table)["Items"]) == 2


def test_a_transaction_copies_no_table(local_aws: Local, monkeypatch: pytest.MonkeyPatch) -> None:
    moto_speed.apply()
    copies = table_copies(monkeypatch)

    one_transaction(local_aws)

    assert copies == ["_Backup", "_Backup"]  # what moto keeps to roll back: the items' backup


def test_moto_still_copies_every_table_a_transaction_writes_to(
    local_aws: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    unpatched(monkeypatch, DynamoDBBackend, "transact_write_items")
    copies = table_copies(monkeypatch)

    one_transaction(local_aws)

    assert copies == ["Table", "Table"], still_needed(
        "DynamoDBBackend.transact_write_items",
        "deep-copies each table a transaction writes to (once per write) before it runs",
    )
