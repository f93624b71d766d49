"""Where moto differs from AWS in ways the platform depends on, made to behave like AWS.

DynamoDB applies each request atomically: of concurrent conditional writes to one item,
exactly one succeeds. moto evaluates a condition and then writes, unguarded, so two threads can
both pass the check. Serialising moto's DynamoDB requests restores DynamoDB's guarantee; it
does not make the platform's own code any safer than it is (an unconditional write still
overwrites), so tests that race writes keep their meaning.

ECS answers concurrent requests; moto's backend walks its dicts of clusters and tasks
unguarded (DescribeTasks, ListTasks, StopTask), so one that ran while a RunTask added a task
failed with a 500 ("dictionary changed size during iteration"), and the workflow step polling
it failed. ECS requests are serialised under ``ECS_LOCK``, which ``local.ecs`` also holds
when a task's process ends and it records the task as stopped.

Step Functions: moto's interpreter runs the real workflow, but (moto 5.2.5) it cannot call
``ecs:runTask.sync``, fails a RunTask that reports failures with a Python error, reports a
failed ECS task as succeeded, ignores StopExecution while a task waits for a token, leaves a
stopped or timed-out execution's threads waiting and its ECS task running, drops
``SendTaskFailure``'s cause, names an unnamed execution "None" and announces no execution's
end.

Each patch below names the moto code it replaces and what AWS does instead; ``PATCHES`` lists
them all and ``original`` gives moto's own method back (the tests in
tests/local/test_moto_fidelity.py run it to show that the pinned moto still needs the patch).
docs/local-mode.md says which test guards which patch. The patches apply to the in-process
``mock_aws`` and to the threaded server alike.
"""

import datetime
import functools
import logging
import threading
import uuid
from collections.abc import Callable
from types import ModuleType
from typing import Any

import botocore.session
from botocore.model import OperationModel
from moto.core.responses import EmptyResult
from moto.dynamodb.responses import DynamoHandler
from moto.ecs.responses import EC2ContainerServiceResponse
from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
    CustomErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
    StatesErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.state.exec.execute_state import ExecutionState
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (  # noqa: E501
    StateTaskService,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (  # noqa: E501
    StateTaskServiceCallback,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_ecs import (  # noqa: E501
    StateTaskServiceEcs,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_lambda import (  # noqa: E501
    StateTaskServiceLambda,
)
from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackEndpoint, HeartbeatEndpoint
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped, ProgramTimedOut
from moto.stepfunctions.parser.asl.utils import boto_client
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str
from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication
from moto.stepfunctions.parser.models import StepFunctionsParserBackend
from moto.stepfunctions.parser.utils import camel_to_snake_case
from moto.stepfunctions.responses import StepFunctionResponse

from local import executions

LOG = logging.getLogger(__name__)

# moto's methods as the pinned version has them, before ``apply`` replaces them.
_ORIGINALS: dict[tuple[type | ModuleType, str], Callable[..., Any]] = {}


def original(owner: type | ModuleType, name: str) -> Callable[..., Any]:
    """moto's own ``owner.name``, which ``apply`` replaces (recorded on first use, before)."""
    if (owner, name) not in _ORIGINALS:
        _ORIGINALS[owner, name] = getattr(owner, name)
    return _ORIGINALS[owner, name]


def _serialised(owner: type, lock: threading.RLock) -> Callable[[Any], Any]:
    """``owner.call_action`` (one request to a service) run under ``lock``."""
    call_action = original(owner, "call_action")

    @functools.wraps(call_action)
    def serialised_call_action(self: Any) -> Any:
        with lock:
            return call_action(self)

    return serialised_call_action


# DynamoDB applies each request atomically; moto checks a condition, then writes, unguarded.
_atomic_call_action = _serialised(DynamoHandler, threading.RLock())

# ECS answers concurrent requests; moto's backend walks its dicts of tasks unguarded.
# ``local.ecs`` holds the lock too when a task's process ends and it records the task stopped.
ECS_LOCK = threading.RLock()
_atomic_ecs_call_action = _serialised(EC2ContainerServiceResponse, ECS_LOCK)


class TaskStops:
    """How many ECS tasks have stopped so far, and a wait for the next stop.

    ``local.ecs`` calls ``stopped()`` (holding ``ECS_LOCK``) once it has recorded a task as
    STOPPED. A ``.sync`` wait (``_EcsTaskWait``) asks ECS about its task after each stop, and
    otherwise twice a second: AWS learns of a task's end from an event, where moto's loop
    would ask twenty times a second for the whole run of every phase.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition(ECS_LOCK)
        self.count = 0

    def stopped(self) -> None:
        with self._changed:
            self.count += 1
            self._changed.notify_all()

    def wait_after(self, seen: int, timeout: float) -> int:
        """Wait until a task stops after the ``seen``-th stop, at most ``timeout`` seconds;
        the number of stops then."""
        with self._changed:
            self._changed.wait_for(lambda: self.count != seen, timeout)
            return self.count


TASK_STOPS = TaskStops()
# The longest a .sync wait goes without asking ECS: a stopped execution is noticed by then.
_TASK_WAIT_SECONDS = 0.5


# --- Step Functions: moto's ASL interpreter (moto/stepfunctions/parser), as AWS behaves ---------


@functools.lru_cache
def _operation_model(service: str, action: str) -> OperationModel:
    """botocore's model of ``action`` (snake_case, e.g. run_task) of ``service``."""
    model = botocore.session.get_session().get_service_model(service)
    names = {camel_to_snake_case(name): name for name in model.operation_names}
    return model.operation_model(names[action])


def _ecs_normalise_parameters(
    self: StateTaskService,
    parameters: dict[Any, Any],
    boto_service_name: str | None = None,
    service_action_name: str | None = None,
) -> None:
    """ASL's PascalCase parameters (``Cluster``) as boto3 names them (``cluster``).

    ``StateTaskService._normalise_parameters`` is a stub in moto 5.2.5, so ``ecs:runTask``
    passed ``Cluster=...`` to boto3 and failed (``States.Runtime``, cause ``'Cluster'``);
    getmoto/moto#10076. The mapping is botocore's request shape, nested structures and lists
    included, through moto's own ``_to_boto_request``.
    """
    operation = _operation_model(
        self._get_boto_service_name(boto_service_name),
        self._get_boto_service_action(service_action_name),
    )
    if operation.input_shape is not None:
        self._to_boto_request(parameters, operation.input_shape)


def _ecs_normalise_response(
    self: StateTaskService,
    response: Any,
    boto_service_name: str | None = None,
    service_action_name: str | None = None,
) -> None:
    """boto3's response names (``taskArn``) as Step Functions outputs them (``TaskArn``).

    The other half of the same stub: moto's ``.sync`` resolver reads ``["Tasks"][0]["TaskArn"]``
    from the normalised RunTask output, and a ``.sync`` step's output is the task's
    description as AWS gives it (``TaskArn``, ``Containers[].ExitCode``, ``StoppedReason``).
    Timestamps become epoch milliseconds, as Step Functions outputs them (boto3's datetimes
    are not JSON: moto's DescribeExecution failed on them).
    """
    operation = _operation_model(
        self._get_boto_service_name(boto_service_name),
        self._get_boto_service_action(service_action_name),
    )
    if operation.output_shape is not None:
        self._from_boto_response(response, operation.output_shape)
    _timestamps_to_millis(response)


def _timestamps_to_millis(value: Any) -> None:
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in list(items):
        if isinstance(item, datetime.datetime):
            value[key] = int(item.timestamp() * 1000)
        elif isinstance(item, dict | list):
            _timestamps_to_millis(item)


# Step Functions' error for a RunTask whose reply lists failures (no capacity, a bad
# placement): the task never started (docs: "Run Amazon ECS or Fargate tasks").
ECS_RUN_TASK_FAILED = "AmazonECS.Unknown"
_original_ecs_eval_service_task = original(StateTaskServiceEcs, "_eval_service_task")


def _task_failed(
    state: StateTaskServiceEcs,
    env: Environment,
    error: StatesErrorName | CustomErrorName,
    cause: dict[str, Any],
) -> FailureEventException:
    """The failure of an ECS step, as Step Functions records it: ``error``, the reply or the
    task's description as the cause."""
    return FailureEventException(
        failure_event=FailureEvent(
            env=env,
            error_name=error,
            event_type=HistoryEventType.TaskFailed,
            event_details=EventDetails(  # type: ignore[typeddict-item]  # as moto does
                taskFailedEventDetails=TaskFailedEventDetails(
                    error=error.error_name,
                    cause=to_json_str(cause),
                    resource=state._get_sfn_resource(),
                    resourceType=state._get_sfn_resource_type(),
                )
            ),
        )
    )


def _ecs_eval_service_task(
    self: StateTaskServiceEcs,
    env: Environment,
    resource_runtime_part: Any,
    normalised_parameters: dict[str, Any],
    state_credentials: Any,
) -> None:
    """``StateTaskServiceEcs._eval_service_task`` for RunTask, failing as AWS fails it.

    moto's reads ``Tasks[0]`` of the reply: a RunTask that started nothing and answered with
    ``failures`` raised an IndexError (``States.Runtime``). AWS fails the step with
    ``AmazonECS.Unknown``, the reply as the cause, which a Retry can match.
    """
    if self._get_boto_service_action() != "run_task":
        _original_ecs_eval_service_task(
            self, env, resource_runtime_part, normalised_parameters, state_credentials
        )
        return
    # Looked up when called: local.moto_speed keeps one client per service.
    ecs: Any = boto_client.boto_client_for(
        region=resource_runtime_part.region, service="ecs", state_credentials=state_credentials
    )
    reply = ecs.run_task(**normalised_parameters)
    reply.pop("ResponseMetadata", None)
    self._normalise_response(response=reply, service_action_name="run_task")
    if reply.get("Failures") or not reply.get("Tasks"):
        raise _task_failed(self, env, CustomErrorName(ECS_RUN_TASK_FAILED), reply)
    task = reply["Tasks"][0]
    described = ecs.describe_tasks(cluster=task["ClusterArn"], tasks=[task["TaskArn"]])
    described.pop("ResponseMetadata", None)
    self._normalise_response(response=described, service_action_name="describe_tasks")
    env.stack.append(described)


class _EcsTaskWait:
    """The poll of a ``runTask.sync`` step, in place of moto's ``_sync_resolver``.

    moto's resolver returns the task once STOPPED whatever its containers' exit codes; AWS
    fails the step with ``States.TaskFailed`` when a container exits non-zero (or never ran),
    the task's description as the cause. This one does, and it can stop the task (below).
    It asks ECS once a task has stopped (``TASK_STOPS``), or after half a second.
    """

    def __init__(
        self, state: StateTaskServiceEcs, env: Environment, ecs: Any, cluster: str, task: str
    ):
        self.state, self.env, self.ecs = state, env, ecs
        self.cluster, self.task = cluster, task
        self.stopped = False
        self._stops_seen = TASK_STOPS.count

    def __call__(self) -> dict[str, Any] | None:
        self._stops_seen = TASK_STOPS.wait_after(self._stops_seen, _TASK_WAIT_SECONDS)
        described = self.ecs.describe_tasks(cluster=self.cluster, tasks=[self.task])
        if described["tasks"][0]["lastStatus"] != "STOPPED":
            return None
        self.stopped = True
        described.pop("ResponseMetadata", None)
        self.state._normalise_response(response=described, service_action_name="describe_tasks")
        task: dict[str, Any] = described["Tasks"][0]
        if any(c.get("ExitCode") != 0 for c in task.get("Containers", [])):
            failed = StatesErrorName(typ=StatesErrorNameType.StatesTaskFailed)
            raise _task_failed(self.state, self.env, failed, task)
        return task

    def stop(self, reason: str) -> None:
        try:
            self.ecs.stop_task(cluster=self.cluster, task=self.task, reason=reason)
        except Exception:
            LOG.exception("could not stop ECS task %s", self.task)


def _ecs_build_sync_resolver(
    self: StateTaskServiceEcs,
    env: Environment,
    resource_runtime_part: Any,
    normalised_parameters: dict[str, Any],
    state_credentials: Any,
) -> _EcsTaskWait:
    """``StateTaskServiceEcs._build_sync_resolver``, with ``_EcsTaskWait`` as the resolver."""
    ecs = boto_client.boto_client_for(
        service="ecs", region=resource_runtime_part.region, state_credentials=state_credentials
    )
    submission: dict[str, Any] = env.stack.pop()
    task = submission["Tasks"][0]
    return _EcsTaskWait(self, env, ecs, task["ClusterArn"], task["TaskArn"])


class _WaitEnded(Exception):
    """A ``.sync`` wait ended because its state or execution did: there is no result."""


_original_eval_sync = original(StateTaskServiceEcs, "_eval_sync")


def _ecs_eval_sync(
    self: StateTaskServiceCallback,
    env: Environment,
    sync_resolver: Callable[[], Any] | None,
    timeout_seconds: int | None,
    callback_endpoint: CallbackEndpoint | None,
    heartbeat_endpoint: HeartbeatEndpoint | None,
) -> Any:
    """Stop the ECS task when the wait ends because the step or the execution ended.

    moto's ``StateTaskServiceCallback._eval_sync`` polls while the state's environment runs;
    on ``StopExecution``, the execution's timeout or the step's ``TimeoutSeconds`` it returns
    None and the task runs on. AWS stops a ``.sync`` ECS task then (StopTask: SIGTERM to the
    container, SIGKILL after its stopTimeout), and records no result for the step.
    """
    outcome = _original_eval_sync(
        self,
        env=env,
        sync_resolver=sync_resolver,
        timeout_seconds=timeout_seconds,
        callback_endpoint=callback_endpoint,
        heartbeat_endpoint=heartbeat_endpoint,
    )
    if env.is_running() or not isinstance(sync_resolver, _EcsTaskWait):
        return outcome
    if not sync_resolver.stopped:
        state = env.program_state()
        if isinstance(state, ProgramStopped):
            reason = "Step Functions: the execution was stopped"
        elif isinstance(state, ProgramTimedOut):
            reason = "Step Functions: the execution timed out"
        else:
            reason = "Step Functions: the state timed out"
        sync_resolver.stop(reason)
    raise _WaitEnded()


def _execution_over(env: Environment) -> bool:
    return isinstance(env.program_state(), ProgramStopped | ProgramTimedOut)


_original_set_stop = original(Environment, "set_stop")
_original_set_timed_out = original(Environment, "set_timed_out")


def _interrupt_callbacks(env: Environment) -> None:
    """Wake every task waiting for a task token (or a heartbeat) in this execution.

    moto's ``Environment.set_stop`` / ``set_timed_out`` only change the program state; a
    waitForTaskToken task (also inside a Map) sleeps on its callback endpoint until a token
    or its own timeout, so a stopped execution stayed RUNNING and a timed-out one kept
    threads blocked. The endpoints are shared by all frames of an execution: only the
    execution's root environment interrupts them.
    """
    if env.is_frame():
        return
    for endpoint in list(env.callback_pool_manager._pool.values()):
        endpoint.interrupt_all()


def _set_stop(self: Environment, stop_date: Any, cause: str | None, error: str | None) -> None:
    _original_set_stop(self, stop_date=stop_date, cause=cause, error=error)
    _interrupt_callbacks(self)


def _set_timed_out(self: Environment) -> None:
    _original_set_timed_out(self)
    _interrupt_callbacks(self)


_original_evaluate_with_timeout = original(ExecutionState, "_evaluate_with_timeout")


def _evaluate_with_timeout(self: ExecutionState, env: Environment) -> None:
    """A state interrupted by the end of its execution just ends: no error, Retry or Catch.

    In moto the interrupted wait raises (States.Timeout, or the ended ``.sync`` wait), and
    ``ExecutionState._eval_state`` would record a failure event, sleep a Retry's interval or
    follow a Catch of an execution that is already over; an uncaught error would then reach
    ``Environment.set_error``, which turns ABORTED or TIMED_OUT into FAILED. AWS does none of
    these.
    """
    try:
        _original_evaluate_with_timeout(self, env)
    except Exception:
        if not _execution_over(env):
            raise


_original_lambda_eval_service_task = original(StateTaskServiceLambda, "_eval_service_task")
# How often a Lambda step whose invocation has not returned looks at its execution's status.
_LAMBDA_WATCH_SECONDS = 0.05


class _ExecutionEnded(Exception):
    """The execution ended while its Lambda step's invocation ran on (not a step error:
    ``_evaluate_with_timeout`` drops it)."""


def _lambda_eval_service_task(
    self: StateTaskServiceLambda,
    env: Environment,
    resource_runtime_part: Any,
    normalised_parameters: dict[str, Any],
    state_credentials: Any,
) -> None:
    """A ``lambda:invoke`` step leaves its invocation running when its execution ends.

    moto's ``StateTaskServiceLambda._eval_service_task`` waits for the invocation to return,
    whatever happens to the execution: a StopExecution meanwhile leaves the execution RUNNING
    until the function returns. AWS marks it ABORTED at once, and the invocation runs on
    by itself (the runner's function finds out with DescribeExecution: runner/lambda_handler.py).
    """
    done = threading.Event()
    raised: list[BaseException] = []

    def invoke() -> None:
        try:
            _original_lambda_eval_service_task(
                self, env, resource_runtime_part, normalised_parameters, state_credentials
            )
        except BaseException as error:  # handed to the step below, as moto raises it
            raised.append(error)
        finally:
            done.set()

    threading.Thread(target=invoke, name="lambda-invoke", daemon=True).start()
    while not done.wait(_LAMBDA_WATCH_SECONDS):
        if _execution_over(env):
            raise _ExecutionEnded("the execution ended while its Lambda function ran")
    if raised:
        raise raised[0]


def _send_task_failure(self: StepFunctionResponse) -> EmptyResult:
    """``StepFunctionResponse.send_task_failure`` never reads ``cause``; AWS keeps it."""
    backend = self.stepfunction_backend
    error, cause = self._get_param("error"), self._get_param("cause")
    if isinstance(backend, StepFunctionsParserBackend):
        backend.send_task_failure(self._get_param("taskToken"), error=error, cause=cause)
    else:  # moto's stub backend takes no cause (and ignores the call)
        backend.send_task_failure(self._get_param("taskToken"), error=error)
    return EmptyResult()


_original_start_execution = original(StepFunctionsParserBackend, "start_execution")


def _start_execution(
    self: StepFunctionsParserBackend,
    state_machine_arn: str,
    name: str | None = None,
    execution_input: Any = None,
    trace_header: Any = None,
) -> Any:
    """An execution started without a name gets a unique one, as in AWS.

    ``StepFunctionsParserBackend.start_execution`` uses the name as given: without one the
    ARN ends in ``:None`` and the next unnamed start fails with ExecutionAlreadyExists.
    (moto's non-executing backend does generate a UUID.)
    """
    return _original_start_execution(
        self, state_machine_arn, name or str(uuid.uuid4()), execution_input, trace_header
    )


_original_terminated = original(BaseExecutionWorkerCommunication, "terminated")


def _terminated(self: BaseExecutionWorkerCommunication) -> None:
    """Report the execution's end to ``local.executions`` once moto has recorded it.

    ``BaseExecutionWorkerCommunication.terminated`` is the one call moto makes when an
    execution ends (any status); AWS would publish the status change to EventBridge.
    """
    _original_terminated(self)
    execution = self.execution
    executions.notify(execution.exec_arn, str(execution.status))


# (owner, name, replacement): every moto method this module replaces.
PATCHES: tuple[tuple[type, str, Callable[..., Any]], ...] = (
    (DynamoHandler, "call_action", _atomic_call_action),
    (EC2ContainerServiceResponse, "call_action", _atomic_ecs_call_action),
    (StateTaskServiceEcs, "_normalise_parameters", _ecs_normalise_parameters),
    (StateTaskServiceEcs, "_normalise_response", _ecs_normalise_response),
    (StateTaskServiceEcs, "_eval_service_task", _ecs_eval_service_task),
    (StateTaskServiceEcs, "_build_sync_resolver", _ecs_build_sync_resolver),
    (StateTaskServiceEcs, "_eval_sync", _ecs_eval_sync),
    (StateTaskServiceLambda, "_eval_service_task", _lambda_eval_service_task),
    (Environment, "set_stop", _set_stop),
    (Environment, "set_timed_out", _set_timed_out),
    (ExecutionState, "_evaluate_with_timeout", _evaluate_with_timeout),
    (StepFunctionResponse, "send_task_failure", _send_task_failure),
    (StepFunctionsParserBackend, "start_execution", _start_execution),
    (BaseExecutionWorkerCommunication, "terminated", _terminated),
)


def apply() -> None:
    """Idempotent: safe to call from every test session and every local server start."""
    for owner, name, replacement in PATCHES:
        original(owner, name)  # recorded before it is replaced
        setattr(owner, name, replacement)
