"""local.schedules: the template's ScheduleV2 events as a local timer."""

import logging
import threading
import time
from typing import Any

import pytest

from local.schedules import (
    Schedule,
    Scheduler,
    UnsupportedSchedule,
    rate_seconds,
    read_schedules,
)
from local.template import Template
from tests.local.conftest import wait_until


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("rate(1 minute)", 60),
        ("rate(5 minutes)", 300),
        ("rate(1 hour)", 3600),
        ("rate(2 hours)", 7200),
        ("rate(1 day)", 86400),
        ("rate(3 days)", 259200),
        (" rate( 10  minutes ) ", 600),
    ],
)
def test_rate_expressions(expression: str, seconds: int):
    assert rate_seconds(expression) == seconds


@pytest.mark.parametrize("expression", ["cron(0 12 * * ? *)", "at(2030-01-01T00:00:00)"])
def test_cron_and_one_time_schedules_are_refused(expression: str):
    with pytest.raises(UnsupportedSchedule, match="only rate"):
        rate_seconds(expression)


@pytest.mark.parametrize(
    "expression", ["rate(1 week)", "rate(30 seconds)", "rate(0 minutes)", "rate(minute)", "1m"]
)
def test_invalid_rates_are_refused(expression: str):
    with pytest.raises(ValueError, match="rate"):
        rate_seconds(expression)


def function(*events: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": "AWS::Serverless::Function",
        "Properties": {"Events": {f"E{i}": event for i, event in enumerate(events)}},
    }


def scheduled(expression: str, **properties: Any) -> dict[str, Any]:
    return {"Type": "ScheduleV2", "Properties": {"ScheduleExpression": expression, **properties}}


def test_the_templates_scheduled_functions_are_read():
    template = Template(
        {
            "Resources": {
                "Sweep": function(scheduled("rate(1 minute)")),
                "Daily": function(scheduled("rate(1 day)", Input='{"kind": "daily"}')),
                "Off": function(scheduled("rate(1 minute)", State="DISABLED")),
                "Api": function({"Type": "Api", "Properties": {"Path": "/", "Method": "GET"}}),
                "Bucket": {"Type": "AWS::S3::Bucket"},
            }
        }
    )

    assert read_schedules(template) == [
        Schedule("Sweep", 60.0),
        Schedule("Daily", 86400.0, {"kind": "daily"}),
    ]


def test_a_cron_schedule_in_the_template_is_refused_with_its_function():
    template = Template({"Resources": {"Nightly": function(scheduled("cron(0 3 * * ? *)"))}})

    with pytest.raises(UnsupportedSchedule, match="Nightly"):
        read_schedules(template)


def test_the_real_template_sweeps_the_queue_every_minute():
    assert Schedule("QueueSweepFunction", 60.0) in read_schedules(Template.load())


class Recorder:
    """A handler that records its calls and can fail on some of them."""

    def __init__(self, fail_on: set[int] | None = None) -> None:
        self.calls: list[tuple[Any, Any]] = []
        self.fail_on = fail_on or set()
        self.lock = threading.Lock()

    def __call__(self, event: Any, context: Any) -> Any:
        with self.lock:
            self.calls.append((event, context))
            number = len(self.calls)
        if number in self.fail_on:
            raise RuntimeError(f"call {number} failed")
        return {"call": number}

    def count(self) -> int:
        with self.lock:
            return len(self.calls)


def test_fire_calls_the_handler_with_an_empty_event_and_returns_its_result():
    handler = Recorder()
    scheduler = Scheduler({"Sweep": handler}, [Schedule("Sweep", 60.0)])

    assert scheduler.fire("Sweep") == {"call": 1}
    event, context = handler.calls[0]
    assert event == {}
    assert context.function_name == "Sweep"
    assert scheduler.fire("Sweep") == {"call": 2}
    assert handler.calls[1][0] == {} and handler.calls[1][0] is not event  # a fresh event


def test_fire_sends_the_schedules_input():
    handler = Recorder()
    scheduler = Scheduler({"Daily": handler}, [Schedule("Daily", 86400.0, {"kind": "daily"})])

    scheduler.fire("Daily")

    assert handler.calls[0][0] == {"kind": "daily"}


def test_a_schedule_without_a_handler_is_an_error():
    with pytest.raises(KeyError, match="Sweep"):
        Scheduler({}, [Schedule("Sweep", 60.0)])


def test_the_timer_fires_each_schedule_repeatedly():
    sweep, other = Recorder(), Recorder()
    schedules = [Schedule("Sweep", 60.0), Schedule("Other", 3600.0)]
    with Scheduler({"Sweep": sweep, "Other": other}, schedules, period_override=0.05):
        wait_until(lambda: sweep.count() >= 3 and other.count() >= 3)

    assert all(event == {} for event, _ in sweep.calls + other.calls)


def test_without_override_the_templates_period_applies():
    handler = Recorder()
    scheduler = Scheduler({"Sweep": handler}, [Schedule("Sweep", 60.0)])
    assert scheduler.period("Sweep") == 60.0
    assert Scheduler({"Sweep": handler}, [Schedule("Sweep", 60.0)], 0.5).period("Sweep") == 0.5

    with scheduler:
        pass

    assert handler.count() == 0  # the first call is one period after start


def test_a_failing_handler_is_logged_and_the_timer_goes_on(caplog: pytest.LogCaptureFixture):
    handler = Recorder(fail_on={1, 2})
    scheduler = Scheduler({"Sweep": handler}, [Schedule("Sweep", 60.0)], period_override=0.02)
    with caplog.at_level(logging.ERROR, logger="local.schedules"), scheduler:
        wait_until(lambda: handler.count() >= 4)

    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(failures) == 2
    assert all("Sweep" in r.getMessage() and r.exc_info for r in failures)


def test_stop_stops_the_timer():
    handler = Recorder()
    scheduler = Scheduler({"Sweep": handler}, [Schedule("Sweep", 60.0)], period_override=0.02)
    scheduler.start()
    wait_until(lambda: handler.count() >= 1)

    scheduler.stop()
    calls = handler.count()
    time.sleep(0.2)  # ten periods

    assert handler.count() == calls
    scheduler.stop()  # again: nothing to do


def test_stop_waits_for_a_call_under_way():
    started, release = threading.Event(), threading.Event()
    finished: list[bool] = []

    def slow(event: Any, context: Any) -> None:
        started.set()
        release.wait(10)
        finished.append(True)

    scheduler = Scheduler({"Slow": slow}, [Schedule("Slow", 60.0)], period_override=0.01)
    scheduler.start()
    assert started.wait(10)
    threading.Timer(0.05, release.set).start()

    scheduler.stop()

    assert finished == [True]
