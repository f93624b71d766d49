"""The functions of template.yaml as local Lambda functions: execution environments in this
process, made on demand, each running its own instance of the handler module one event at a
time, as Lambda runs a function.

A ``Function`` is a pool of ``ExecutionEnvironment``s. A call takes a free environment (the
one used last, as Lambda reuses a warm one), or makes a new one while fewer than the
function's concurrency exist: its cold start loads the handler module afresh, under a name of
its own, with the function's environment variables set, so module-level objects (the
Powertools resolver ``app``, the services) are the environment's. Cold starts take turns
(the variables are process-wide); calls in environments already made never wait for one.
When all are busy the call waits for one to be free, where AWS would throttle. The
concurrency is the template's ``ReservedConcurrentExecutions``, else ``DEFAULT_CONCURRENCY``.

The shared modules (``iacp``, Powertools) are imported once for all environments; what
Powertools keeps of an invocation process-wide is made environment-local by
``local.lambda_fidelity``, applied by ``load_functions``.

Every place local mode invokes a function (the API Gateway emulator, Lambda Invoke for the
workflow, the schedules, the stream and queue pollers) calls the ``Function`` that
``load_functions`` made for it, so they share its environments and its limit.
"""

import importlib.util
import itertools
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from local import lambda_fidelity
from local.template import ACCOUNT, NO_VALUE, REGION, TEMPLATE_PATH, Provisioned, Template

Handler = Callable[[dict[str, Any], Any], Any]
ROOT = TEMPLATE_PATH.parent
# Environments per function when the template reserves no concurrency: enough for the
# concurrency tests and a busy local server, few enough to be cheap (each is a cold start).
DEFAULT_CONCURRENCY = 4
# One cold start at a time in this process: a function's environment variables are set
# process-wide for it, and two first imports of the shared modules must not interleave.
_COLD_START = threading.RLock()


@dataclass
class LambdaContext:
    """What a handler's ``context`` offers in Lambda, enough for Powertools."""

    function_name: str
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = ""
    timeout_seconds: float = 29.0  # the function's Timeout
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        """What is left of the function's timeout since the invocation began (local mode
        does not end an invocation at its timeout: the handlers that read this are the
        ones that must end before it)."""
        left = self.started + self.timeout_seconds - time.monotonic()
        return max(0, int(left * 1000))


class Throttled(Exception):
    """Lambda's TooManyRequestsException: the function's reserved concurrency is 0."""


class ExecutionEnvironment:
    """One execution environment: its own handler module, loaded by ``load(module_name)``
    (the cold start), and its own environment-local state; one event at a time (its
    ``Function`` sees to that)."""

    def __init__(self, function: str, number: int, load: Callable[[str], Handler]):
        self.function = function
        self.number = number
        self.invocations = 0
        self.state: lambda_fidelity.State = {}
        with lambda_fidelity.inside(self.state):
            self.handler = load(f"iacp_function_{function}_{number}")

    def invoke(self, event: dict[str, Any], context: Any) -> Any:
        self.invocations += 1
        with lambda_fidelity.inside(self.state):
            return self.handler(event, context)

    def __repr__(self) -> str:
        return f"<ExecutionEnvironment {self.function} #{self.number}>"


class Function:
    """A function as Lambda runs it: called like its handler, ``function(event, context)``,
    in one of up to ``concurrency`` execution environments, each made when a call finds none
    free and handling one event at a time. A cold start that raises fails that call (as an
    init error does in Lambda); the next call tries again."""

    def __init__(
        self,
        name: str,
        load: Callable[[str], Handler],
        concurrency: int = DEFAULT_CONCURRENCY,
        timeout_seconds: float = 29.0,
    ):
        self.name = name
        self.concurrency = concurrency
        self.timeout_seconds = timeout_seconds  # what its invocations' context says
        self._load = load
        self._numbers = itertools.count(1)
        self._idle: list[ExecutionEnvironment] = []  # the one used last at the end
        self._making = 0  # cold starts under way
        self._waiting = 0  # calls waiting for a free environment
        self._environments: list[ExecutionEnvironment] = []
        self._changed = threading.Condition()

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        environment = self._acquire()
        try:
            return environment.invoke(event, context)
        finally:
            self._release(environment)

    @property
    def environments(self) -> list[ExecutionEnvironment]:
        """Every environment made so far, the first made first."""
        with self._changed:
            return list(self._environments)

    @property
    def waiting(self) -> int:
        """How many calls are waiting for an environment to be free (where AWS throttles)."""
        with self._changed:
            return self._waiting

    @property
    def __wrapped__(self) -> Handler:
        """The handler of the environment a call would run in now, if none is under way
        (made if there is none): what ``inspect.unwrap`` finds, e.g. for a test to reach the
        handler module's globals (a function called one event at a time keeps using it)."""
        environment = self._acquire()
        self._release(environment)
        return environment.handler

    def _acquire(self) -> ExecutionEnvironment:
        if self.concurrency <= 0:
            raise Throttled(f"{self.name}: the reserved concurrency is 0")
        with self._changed:
            while not self._idle and len(self._environments) + self._making >= self.concurrency:
                self._waiting += 1
                try:
                    self._changed.wait()
                finally:
                    self._waiting -= 1
            if self._idle:
                return self._idle.pop()
            self._making += 1
            number = next(self._numbers)
        made: ExecutionEnvironment | None = None
        try:
            # Outside the lock: a cold start holds up no call that finds a free environment.
            made = ExecutionEnvironment(self.name, number, self._load)
            return made
        finally:
            with self._changed:
                self._making -= 1
                if made is not None:
                    self._environments.append(made)
                else:
                    self._changed.notify()  # a slot is free again for whoever waits

    def _release(self, environment: ExecutionEnvironment) -> None:
        with self._changed:
            self._idle.append(environment)
            self._changed.notify()

    def __repr__(self) -> str:
        return f"<Function {self.name}: {len(self._environments)}/{self.concurrency}>"


def load_functions(provisioned: Provisioned) -> dict[str, Function]:
    """Every function of the template as a ``Function``, by logical id; no environment is
    made yet.

    The functions' environment variables go into ``os.environ``, all of them now (the shared
    modules may read any when first imported) and each function's again at each of its cold
    starts. All functions share this process, so their variables are merged; the template
    gives one variable the same value wherever it appears (e.g. TOKENS_TABLE).
    """
    lambda_fidelity.apply()
    template = provisioned.template
    functions = template.functions()
    environments = {logical_id: provisioned.environment(logical_id) for logical_id in functions}
    for environment in environments.values():
        os.environ.update(environment)
    return {
        logical_id: Function(
            logical_id,
            _loader(logical_id, template, environments[logical_id]),
            concurrency=_concurrency(logical_id, provisioned),
            timeout_seconds=_timeout(logical_id, provisioned),
        )
        for logical_id in functions
    }


def load_handlers(provisioned: Provisioned) -> dict[str, Handler]:
    """``load_functions``, typed as the handlers the callers take."""
    return dict(load_functions(provisioned))


def _concurrency(logical_id: str, provisioned: Provisioned) -> int:
    template = provisioned.template
    globals_ = template.body.get("Globals", {}).get("Function", {})
    reserved = template.properties(logical_id).get(
        "ReservedConcurrentExecutions", globals_.get("ReservedConcurrentExecutions")
    )
    value = provisioned.resolve(reserved)
    if value is None or value is NO_VALUE:
        return DEFAULT_CONCURRENCY
    return int(value)


def _timeout(logical_id: str, provisioned: Provisioned) -> float:
    template = provisioned.template
    globals_ = template.body.get("Globals", {}).get("Function", {})
    image = "PackageType" in template.properties(logical_id)  # no SAM Globals for it
    timeout = template.properties(logical_id).get(
        "Timeout", None if image else globals_.get("Timeout")
    )
    return float(provisioned.resolve(timeout) or 3)  # Lambda's default: 3 s


def _loader(
    logical_id: str, template: Template, environment: Mapping[str, str]
) -> Callable[[str], Handler]:
    props = template.properties(logical_id)
    if props.get("PackageType") == "Image":
        # A container image's handler, as its runtime client is told (``module.attribute``
        # of the image's Python path, which is the repository's root here).
        module_path, _, attribute = str(props["ImageConfig"]["Command"][0]).rpartition(".")
        path = ROOT / f"{module_path.replace('.', '/')}.py"
    else:
        module_name, _, attribute = str(props["Handler"]).rpartition(".")
        path = ROOT / str(props["CodeUri"]) / f"{module_name}.py"

    def load(name: str) -> Handler:
        with _COLD_START:
            os.environ.update(environment)
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot load {path}")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        handler: Handler = getattr(module, attribute)
        return handler

    return load
