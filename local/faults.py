"""Faults a test injects into local mode, to see the platform live through them
(docs/reliability.md lists each with the test that injects it).

Each fault picks what it breaks (one run's invocations, one item's writes), so the rest of a
shared platform goes on as usual, and each is undone when its ``with`` block ends:

- ``failing_function``: a function's invocations fail as Lambda reports a failure, before
  the handler runs or after it has done its work (its reply lost: a timeout);
- ``throttled_updates``: DynamoDB refuses UpdateItem with
  ``ProvisionedThroughputExceededException``, as a throttled table does; the SDK's retries see
  it first, as in AWS.

ECS's faults (a task refused, not started, or killed) are ``local.ecs.TaskFault``s.
"""

import contextlib
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException
from moto.dynamodb.responses import DynamoHandler

from local.lambdas import LocalLambdaBackend

# Lambda's error for an invocation that ran out of time; Step Functions matches it by name.
LambdaTimedOut = type("Sandbox.Timedout", (Exception,), {"__doc__": "The function timed out."})
THROTTLED = "ProvisionedThroughputExceededException"


@dataclass
class InvocationFault:
    """Which invocations fail: those ``picks`` (by their event) until each kind of event
    (``kind_of``, e.g. the workflow step) has failed ``times`` times (None: always); after the
    handler's work if ``after_work``, else before it."""

    picks: Callable[[dict[str, Any]], bool]
    kind_of: Callable[[dict[str, Any]], str]
    times: int | None = 1
    after_work: bool = True
    failed: Counter[str] = field(default_factory=Counter)
    invoked: Counter[str] = field(default_factory=Counter)  # every invocation picked
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def should_fail(self, event: dict[str, Any]) -> str | None:
        """The kind of event to fail now, or None."""
        if not self.picks(event):
            return None
        kind = self.kind_of(event)
        with self._lock:
            self.invoked[kind] += 1
            if self.times is not None and self.failed[kind] >= self.times:
                return None
            self.failed[kind] += 1
            return kind


@contextlib.contextmanager
def failing_function(
    backend: LocalLambdaBackend, function_name: str, fault: InvocationFault
) -> Iterator[InvocationFault]:
    """Invocations of ``function_name`` (its physical name) through Lambda Invoke fail as
    ``fault`` says, with Lambda's timeout error."""
    handler = backend.handlers[function_name]

    def faulty(event: dict[str, Any], context: Any) -> Any:
        kind = fault.should_fail(event)
        if kind is None:
            return handler(event, context)
        if fault.after_work:
            handler(event, context)
        raise LambdaTimedOut(f"Task timed out (injected: {kind})")

    backend.handlers[function_name] = faulty
    try:
        yield fault
    finally:
        backend.handlers[function_name] = handler


@dataclass
class Throttle:
    """UpdateItem requests to ``table`` that ``picks`` (by the request's body, in DynamoDB's
    wire format) are refused, the next ``times`` of them (None: all)."""

    table: str
    picks: Callable[[dict[str, Any]], bool]
    times: int | None
    refused: int = 0


_throttles: list[Throttle] = []
_throttles_lock = threading.Lock()
_original_update_item: Callable[[DynamoHandler], Any] = DynamoHandler.update_item


def _update_item(self: DynamoHandler) -> Any:
    with _throttles_lock:
        for throttle in _throttles:
            if throttle.table == self.body.get("TableName") and throttle.picks(self.body):
                if throttle.times is not None and throttle.refused >= throttle.times:
                    continue
                throttle.refused += 1
                raise DynamodbException(
                    ERROR_TYPE_PREFIX + THROTTLED,
                    "The level of configured provisioned throughput for the table was exceeded.",
                )
    return _original_update_item(self)


@contextlib.contextmanager
def throttled_updates(
    table: str, picks: Callable[[dict[str, Any]], bool], times: int | None = None
) -> Iterator[Throttle]:
    throttle = Throttle(table, picks, times)
    with _throttles_lock:
        DynamoHandler.update_item = _update_item  # type: ignore[method-assign]
        _throttles.append(throttle)
    try:
        yield throttle
    finally:
        with _throttles_lock:
            _throttles.remove(throttle)


def sets_status(run_id: str, status: str) -> Callable[[dict[str, Any]], bool]:
    """Picks the UpdateItem of a run's item that moves it to ``status``."""

    def picks(body: dict[str, Any]) -> bool:
        if body.get("Key", {}).get("id", {}).get("S") != run_id:
            return False
        names = body.get("ExpressionAttributeNames", {})
        values = body.get("ExpressionAttributeValues", {})
        assignments = re.findall(r"(#\w+) = (:\w+)", str(body.get("UpdateExpression", "")))
        return any(
            names.get(name) == "status" and values.get(value) == {"S": status}
            for name, value in assignments
        )

    return picks
