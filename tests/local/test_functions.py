"""Functions as Lambda runs them (``local.functions``): execution environments made on
demand, one event at a time in each, each with its own module state, Powertools' request
state included (``local.lambda_fidelity``)."""

import importlib.util
import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from local import lambda_fidelity
from local.functions import (
    DEFAULT_CONCURRENCY,
    ExecutionEnvironment,
    Function,
    Handler,
    LambdaContext,
    Throttled,
    load_functions,
)
from local.gateway import ApiGateway
from local.template import Provisioned, Template
from tests.local.conftest import DEADLINE, wait_until

lambda_fidelity.apply()

# Shared by every environment, as the ``iacp`` modules are: the handler modules below
# import them from here.
ROUTER = APIGatewayRouter()
LOGGER = Logger(service="local-functions-test")
METRICS = Metrics(namespace="local-functions-test")

# The handler module of the tests: every environment loads it afresh.
INSTRUMENTED = """
import threading, uuid

LOADED = uuid.uuid4().hex  # made at this environment's cold start
active = 0
most = 0
count = 0
lock = threading.Lock()

def handler(event, context):
    global active, most, count
    with lock:
        active += 1
        most = max(most, active)
        count += 1
    event["entered"].release()
    try:
        assert event["gate"].wait(event["timeout"]), "the gate never opened"
        return {"loaded": LOADED, "most": most, "count": count, "n": event.get("n")}
    finally:
        with lock:
            active -= 1
"""

# Powertools' state of one request, read back after every request of the test set its own.
POWERTOOLS = """
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from tests.local.test_functions import LOGGER, METRICS, ROUTER

app = APIGatewayRestResolver()
app.include_router(ROUTER)

def handler(event, context):
    return app.resolve(event, context)
"""


@ROUTER.post("/echo")
def echo() -> dict[str, Any]:
    event = ROUTER.current_event
    number = event.json_body["n"]
    LOGGER.append_keys(request=number)
    METRICS.add_metric(name=f"request-{number}", unit="Count", value=1)
    ROUTER.append_context(number=number)
    event.raw_event["together"].wait(DEADLINE)  # every request has set its own by now
    return {
        "body": ROUTER.current_event.json_body["n"],
        "context": ROUTER.context.get("number"),
        "log_key": LOGGER.get_current_keys().get("request"),
        "metrics": sorted(METRICS.provider.metric_set),
    }


def loader(tmp_path: Path, source: str) -> Callable[[str], Handler]:
    path = tmp_path / "handler.py"
    path.write_text(source)

    def load(name: str) -> Handler:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        handler: Handler = module.handler
        return handler

    return load


class Calls:
    """Calls of a ``Function`` of the instrumented handler on threads of their own, each
    held inside its handler until ``open()``."""

    def __init__(self, function: Function):
        self.function = function
        self.entered = threading.Semaphore(0)
        self.gate = threading.Event()
        self._pool = ThreadPoolExecutor(16)
        self._futures: list[Any] = []

    def start(self, n: int = 0) -> None:
        event = {"entered": self.entered, "gate": self.gate, "timeout": DEADLINE, "n": n}
        self._futures.append(
            self._pool.submit(self.function, event, LambdaContext(self.function.name))
        )

    def wait_entered(self, count: int) -> None:
        for _ in range(count):
            assert self.entered.acquire(timeout=DEADLINE), "a call never reached its handler"

    def open(self) -> list[dict[str, Any]]:
        self.gate.set()
        results = [future.result(DEADLINE) for future in self._futures]
        self._futures.clear()
        return results

    def close(self) -> None:
        self.gate.set()
        self._pool.shutdown(wait=True)


@pytest.fixture
def calls(tmp_path: Path) -> Iterator[Callable[[int], Calls]]:
    made: list[Calls] = []

    def make(concurrency: int) -> Calls:
        function = Function("Instrumented", loader(tmp_path, INSTRUMENTED), concurrency)
        made.append(Calls(function))
        return made[-1]

    yield make
    for each in made:
        each.close()


def test_calls_one_after_another_reuse_one_environment(calls: Callable[[int], Calls]) -> None:
    run = calls(4)
    for n in range(3):
        run.start(n)
        run.wait_entered(1)
        [result] = run.open()
        run.gate.clear()
        assert result["count"] == n + 1  # the module's state went on from call to call

    [environment] = run.function.environments
    assert environment.invocations == 3


def test_concurrent_calls_get_environments_of_their_own(calls: Callable[[int], Calls]) -> None:
    run = calls(4)
    for n in range(3):
        run.start(n)
    run.wait_entered(3)  # all three inside their handlers at once

    results = run.open()

    assert len(run.function.environments) == 3
    assert len({result["loaded"] for result in results}) == 3  # one module each
    assert [result["most"] for result in results] == [1, 1, 1]


def test_beyond_the_concurrency_a_call_waits_for_a_free_environment(
    calls: Callable[[int], Calls],
) -> None:
    run = calls(2)
    run.start(0)
    run.start(1)
    run.wait_entered(2)
    run.start(2)  # both environments are busy: it waits, and no third is made
    wait_until(lambda: run.function.waiting == 1)

    results = run.open()
    run.wait_entered(1)  # the third entered once one was free

    assert len(run.function.environments) == 2
    assert {result["n"] for result in results} == {0, 1, 2}
    # No environment ever had two events at once, and the third call ran in one of the two.
    assert all(result["most"] == 1 for result in results)
    assert len({result["loaded"] for result in results}) == 2
    assert sorted(e.invocations for e in run.function.environments) == [1, 2]


def test_an_environment_handles_one_event_at_a_time(calls: Callable[[int], Calls]) -> None:
    run = calls(1)
    run.start(0)
    run.wait_entered(1)
    run.start(1)
    wait_until(lambda: run.function.waiting == 1)

    assert not run.entered.acquire(blocking=False)  # the second is not in the handler
    results = run.open()

    assert [result["n"] for result in results] == [0, 1]
    assert [result["most"] for result in results] == [1, 1]  # never two at once
    assert [result["count"] for result in results] == [1, 2]  # one after the other
    [environment] = run.function.environments
    assert environment.invocations == 2
    assert run.function.waiting == 0


def test_a_failed_cold_start_fails_the_call_and_the_next_one_tries_again(
    tmp_path: Path,
) -> None:
    attempts: list[str] = []
    good = loader(tmp_path, "def handler(event, context):\n    return 'ok'\n")

    def load(name: str) -> Handler:
        attempts.append(name)
        if len(attempts) == 1:
            raise ImportError("the first cold start fails")
        return good(name)

    function = Function("Flaky", load)

    with pytest.raises(ImportError):
        function({}, None)
    assert function({}, None) == "ok"
    assert len(attempts) == 2 and attempts[0] != attempts[1]  # each under a name of its own
    assert len(function.environments) == 1


def test_a_reserved_concurrency_of_zero_throttles() -> None:
    function = Function("Off", lambda name: lambda event, context: "never", concurrency=0)

    with pytest.raises(Throttled):
        function({}, None)


def test_powertools_request_state_is_per_environment(tmp_path: Path) -> None:
    """Powertools keeps the current event, a router's resolver, a logger's keys and the
    buffered metrics process-wide; two requests at once in two environments each see their
    own, read after both set theirs."""
    function = Function("Api", loader(tmp_path, POWERTOOLS), concurrency=2)
    together = threading.Barrier(2)

    def request(n: int) -> dict[str, Any]:
        event = {
            "httpMethod": "POST",
            "path": "/echo",
            "resource": "/echo",
            "headers": {"Content-Type": "application/json"},
            "requestContext": {"stage": "live", "path": "/live/echo"},
            "body": json.dumps({"n": n}),
            "isBase64Encoded": False,
            "together": together,
        }
        reply = function(event, LambdaContext("Api"))
        assert reply["statusCode"] == 200, reply
        result: dict[str, Any] = json.loads(reply["body"])
        return result

    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(request, [1, 2])

    for n, result in ((1, first), (2, second)):
        assert result == {"body": n, "context": n, "log_key": n, "metrics": [f"request-{n}"]}
    assert len(function.environments) == 2


def test_outside_any_environment_the_state_is_the_process_wide_one() -> None:
    logger = Logger(service="local-functions-outside")
    logger.append_keys(outside="yes")

    with lambda_fidelity.inside({}):
        logger.append_keys(inside="yes")
        assert logger.get_current_keys()["outside"] == "yes"  # the environment starts there

    assert "inside" not in logger.get_current_keys()
    assert logger.get_current_keys()["outside"] == "yes"


def test_every_invoker_shares_one_functions_environments(tmp_path: Path) -> None:
    """The gateway calls the ``Function`` it is given: requests beyond its concurrency wait."""
    source = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'ok'}\n"
    function = Function("Echo", loader(tmp_path, source), concurrency=1)
    template = Template(
        {
            "Resources": {
                "Api": {
                    "Type": "AWS::Serverless::Api",
                    "Properties": {"StageName": "live"},
                },
                "Echo": {
                    "Type": "AWS::Serverless::Function",
                    "Properties": {
                        "Events": {
                            "Get": {
                                "Type": "Api",
                                "Properties": {
                                    "RestApiId": {"Ref": "Api"},
                                    "Path": "/echo",
                                    "Method": "GET",
                                },
                            }
                        }
                    },
                },
            }
        }
    )
    gateway = ApiGateway(template, {"Echo": function})

    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda _: gateway.request("GET", "/echo"), range(40)))
    function({}, None)  # and a direct call, as Lambda Invoke or a poller makes

    assert {reply.status for reply in replies} == {200}
    [environment] = function.environments
    assert environment.invocations == 41


def test_the_template_sets_the_concurrency(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return 'ok'\n")
    properties: dict[str, Any] = {"CodeUri": str(tmp_path), "Handler": "app.handler"}
    function = {"Type": "AWS::Serverless::Function", "Properties": properties}
    reserved = {
        "Type": "AWS::Serverless::Function",
        "Properties": {**properties, "ReservedConcurrentExecutions": 2},
    }
    template = Template({"Resources": {"Plain": function, "Reserved": reserved}})

    functions = load_functions(Provisioned(template, prefix="iacp-functions-test"))

    assert functions["Plain"].concurrency == DEFAULT_CONCURRENCY
    assert functions["Reserved"].concurrency == 2
    assert functions["Plain"].environments == []  # none until the first call
    assert functions["Plain"]({}, None) == "ok"
    assert isinstance(functions["Plain"].environments[0], ExecutionEnvironment)
