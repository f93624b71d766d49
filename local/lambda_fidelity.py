"""Where running many Lambda execution environments in one process differs from AWS, made to
behave like AWS.

In AWS every execution environment is a process of its own, so whatever a library keeps
process-wide belongs to one environment, which handles one event at a time. Local mode runs
the environments of every function in one process (``local.functions``): each loads its
handler module afresh, but the libraries' modules (``iacp``, Powertools) are shared, and
Powertools keeps some of an invocation's state process-wide:

- the event handler's current event and Lambda context are class attributes of
  ``BaseRouter``, set by every ``resolve`` (Powertools' own ``http_resolver`` works around
  the same thing for its threaded server): two resolves at once read each other's request;
- a ``Router`` answers ``context`` and ``current_event`` from the last resolver that included
  it (``api_resolver``), so the shared routers would point to the last environment created;
- ``Logger``'s appended keys (``inject_lambda_context``'s request id and correlation id,
  ``append_keys``) are on its formatter (``log_format``);
- ``Metrics`` buffers its metrics, dimensions and metadata on its provider until
  ``log_metrics`` flushes them: a flush would publish, or clear, another invocation's, or
  fail on a dict that changed size while it was serialised.

Each of these is made environment-local: while an environment runs (``inside(state)``, set by
``local.functions`` around an environment's cold start and each of its invocations), reading
or assigning one gives that environment's value, which starts as (a copy of) the
process-wide one; outside any environment it is the process-wide value, as before. Powertools'
cold-start flags (module globals) stay process-wide: only the process's first invocation of
each logs ``cold_start: true``.
"""

import contextlib
import copy
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import BaseRouter, Router
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import (
    AmazonCloudWatchEMFProvider,
)

State = dict[Any, Any]
_environment: ContextVar[State | None] = ContextVar("local_lambda_environment", default=None)


@contextlib.contextmanager
def inside(state: State) -> Iterator[None]:
    """Run the block as the execution environment whose environment-local values are
    ``state`` (a dict the environment keeps for its lifetime, empty at first)."""
    token = _environment.set(state)
    try:
        yield
    finally:
        _environment.reset(token)


def current() -> State | None:
    """The state of the execution environment running in this context, if any."""
    return _environment.get()


_MISSING = object()


class _PerEnvironment:
    """Attribute ``name`` of a class's instances, environment-local.

    An object's own value (its ``__dict__``'s, set when it was made) is the process-wide one.
    In an environment, the first read gives ``start(own value)`` (a copy for a container, the
    value itself for a reference) and keeps it as the environment's; an assignment sets the
    environment's. An object that has no value of its own yet (its constructor is running)
    gets one, wherever that happens.
    """

    def __init__(self, name: str, start: Callable[[Any], Any] = copy.copy):
        self.name = name
        self.start = start

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        own = vars(obj)
        state = _environment.get()
        if self.name not in own:
            raise AttributeError(self.name)
        if state is None:
            return own[self.name]
        key = (id(obj), self.name)
        if key not in state:
            state[key] = (obj, self.start(own[self.name]))  # obj: kept alive, its id unique
        return state[key][1]

    def __set__(self, obj: Any, value: Any) -> None:
        own = vars(obj)
        state = _environment.get()
        if state is None or self.name not in own:
            own[self.name] = value
        else:
            state[(id(obj), self.name)] = (obj, value)


class _PerEnvironmentClassAttribute:
    """A class attribute of ``BaseRouter`` (set as ``BaseRouter.current_event = ...``),
    environment-local, with no value in an environment until one is set there.

    Installed twice: on ``BaseRouter``'s metaclass, so that assigning it on the class lands
    here, and in ``BaseRouter``'s ``__dict__``, so that reading it from a resolver (or from a
    subclass) does. An instance's own assignment stays the instance's, as without this.
    """

    def __init__(self, name: str, value: Any = _MISSING):
        self.name = name
        self.value = value  # outside any environment

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is not None and not isinstance(obj, type) and self.name in vars(obj):
            return vars(obj)[self.name]
        state = _environment.get()
        value = self.value if state is None else state.get(self, _MISSING)
        if value is _MISSING:
            raise AttributeError(self.name)
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        if not isinstance(obj, type):
            vars(obj)[self.name] = value
            return
        state = _environment.get()
        if state is None:
            self.value = value
        else:
            state[self] = value


def _request_state_per_environment() -> None:
    if type(BaseRouter).__name__ == "_EnvironmentLocalRouterMeta":
        return
    attributes = {}
    for name in ("current_event", "lambda_context"):
        attribute = _PerEnvironmentClassAttribute(name, vars(BaseRouter).get(name, _MISSING))
        setattr(BaseRouter, name, attribute)  # still the plain metaclass: into __dict__
        attributes[name] = attribute
    meta = type("_EnvironmentLocalRouterMeta", (type(BaseRouter),), attributes)
    BaseRouter.__class__ = meta  # type: ignore[method-assign]  # a class's own metaclass


def apply() -> None:
    """Idempotent: safe to call from every test session and every local server start."""
    _request_state_per_environment()
    setattr(Router, "api_resolver", _PerEnvironment("api_resolver", start=lambda r: r))  # noqa: B010
    setattr(LambdaPowertoolsFormatter, "log_format", _PerEnvironment("log_format"))  # noqa: B010
    for name in ("metric_set", "dimension_set", "dimension_sets", "metadata_set", "timestamp"):
        setattr(AmazonCloudWatchEMFProvider, name, _PerEnvironment(name))
