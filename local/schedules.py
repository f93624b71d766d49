"""EventBridge Scheduler in local mode: the template's ``ScheduleV2`` events as a timer that
invokes their functions in this process, with the event the Scheduler sends a Lambda target.
"""

import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from local.background import BackgroundLoop
from local.functions import Handler, LambdaContext
from local.template import Template

logger = logging.getLogger(__name__)

_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
_RATE = re.compile(r"^rate\(\s*(\d+)\s+([a-z]+)\s*\)$")


class UnsupportedSchedule(ValueError):
    """A schedule expression local mode cannot run (cron and one-time schedules)."""


class Schedule(NamedTuple):
    function_id: str
    period: float  # seconds
    event: Mapping[str, Any] = {}  # what the Scheduler sends: the target's Input, else {}


def rate_seconds(expression: str) -> int:
    """The period of a ``rate(value unit)`` expression in seconds, with EventBridge's units:
    minute(s), hour(s), day(s)."""
    found = _RATE.match(expression.strip())
    if found is None:
        if expression.strip().startswith(("cron(", "at(")):
            raise UnsupportedSchedule(
                f"{expression!r}: only rate(...) schedules run in local mode, not cron or at"
            )
        raise ValueError(f"{expression!r} is not a rate(value unit) schedule expression")
    value, unit = int(found.group(1)), found.group(2)
    seconds = _UNITS.get(unit.removesuffix("s"))
    if seconds is None:
        raise ValueError(f"{expression!r}: the unit is minute(s), hour(s) or day(s), not {unit}")
    if value <= 0:
        raise ValueError(f"{expression!r}: the rate must be positive")
    return value * seconds


def read_schedules(template: Template) -> list[Schedule]:
    """Every enabled ``ScheduleV2`` event of the template's functions."""
    found = []
    for function_id, function in template.resources("AWS::Serverless::Function").items():
        for name, event in function.get("Properties", {}).get("Events", {}).items():
            if event.get("Type") == "Schedule":
                raise UnsupportedSchedule(
                    f"{function_id}.{name}: EventBridge rule schedules (Type: Schedule) are not"
                    " emulated; use ScheduleV2"
                )
            if event.get("Type") != "ScheduleV2":
                continue
            props = event.get("Properties", {})
            if props.get("State", "ENABLED") != "ENABLED":
                continue
            try:
                period = rate_seconds(str(props["ScheduleExpression"]))
            except ValueError as error:
                raise type(error)(f"{function_id}.{name}: {error}") from None
            payload = json.loads(props["Input"]) if "Input" in props else {}
            found.append(Schedule(function_id, float(period), payload))
    return found


class Scheduler(BackgroundLoop):
    """Invokes each scheduled function every period (``period_override`` instead of the
    template's, if given), the first time one period after ``start()``. A function's error
    is logged and its schedule goes on, as with the template's ``MaximumRetryAttempts: 0``."""

    name = "local-scheduler"

    def __init__(
        self,
        handlers: Mapping[str, Handler],
        schedules: Iterable[Schedule],
        period_override: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        super().__init__()
        self.schedules = {s.function_id: s for s in schedules}
        missing = set(self.schedules) - set(handlers)
        if missing:
            raise KeyError(f"no handler for the scheduled functions {sorted(missing)}")
        if period_override is not None and period_override <= 0:
            raise ValueError("period_override must be positive")
        self._handlers = handlers
        self._period_override = period_override
        self._clock = clock

    def period(self, function_id: str) -> float:
        return self._period_override or self.schedules[function_id].period

    def fire(self, function_id: str) -> Any:
        """Invoke one scheduled function now, in this thread; returns what it returns."""
        schedule = self.schedules[function_id]
        event = json.loads(json.dumps(schedule.event))  # a fresh copy, as if from JSON
        return self._handlers[function_id](event, LambdaContext(function_id))

    def _has_work(self) -> bool:
        return bool(self.schedules)

    def __enter__(self) -> "Scheduler":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        now = self._clock()
        due = {function_id: now + self.period(function_id) for function_id in self.schedules}
        while not self._stopping.is_set():
            function_id = min(due, key=due.__getitem__)
            if self._stopping.wait(max(0.0, due[function_id] - self._clock())):
                return
            try:
                self.fire(function_id)
            except Exception:
                logger.exception("the scheduled function %s failed", function_id)
            # The next time on the schedule; the ones missed while this ran are skipped.
            period = self.period(function_id)
            due[function_id] += period
            if due[function_id] <= self._clock():
                due[function_id] = self._clock() + period
