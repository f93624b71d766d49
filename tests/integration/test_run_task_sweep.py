"""The run-task timeout sweep (design §6): what it times out, the message it leaves, what it
reads (the sparse ``due`` index: open results only, nothing that is not due), and the race
with a heartbeat. Results come from the workflow's own dispatch, or straight from the store
when only their deadlines matter."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from iacp.orchestration.task_sweep import sweep_timed_out_results
from iacp.orchestration.workflow_client import resume
from iacp.runtasks.models import Enforcement, ResultStatus, Stage, TaskResult
from iacp.runtasks.results import DynamoTaskResultStore, ResultRecord
from local.functions import LambdaContext
from tests.runtasks_support import (
    Dispatched,
    attach,
    behind,
    callback,
    callback_body,
    create_task,
    dispatch_all,
    new_workspace,
    raw_item,
    run_at,
)


@pytest.fixture
def ws(aws, admin) -> str:
    return new_workspace(aws, admin, "sweep")


@pytest.fixture
def store(aws) -> DynamoTaskResultStore:
    return DynamoTaskResultStore(aws.refs["TaskResultsTable"])


def dispatched_one(
    aws, machinery, admin, service, ws, monkeypatch, ago: float = 0, **task: Any
) -> Dispatched:
    """One post_plan result, dispatched ``ago`` seconds ago."""
    task_id = create_task(admin, service.url, **task)
    attach(admin, ws, task_id, ["post_plan"])
    run_id = run_at(aws, machinery, admin, ws, Stage.POST_PLAN)
    if ago:
        monkeypatch.setattr(machinery.task_stages, "_clock", behind(ago))
    [sent] = dispatch_all(machinery, service, run_id, ws, Stage.POST_PLAN)
    return sent


def at(seconds_from_now: float) -> Callable[[], datetime]:
    return behind(-seconds_from_now)


def test_a_pending_result_past_its_timeout_times_out(
    aws, machinery, admin, service, ws, store, resumes, monkeypatch, gateway
):
    sent = dispatched_one(aws, machinery, admin, service, ws, monkeypatch, timeout_seconds=120)

    report = sweep_timed_out_results(store, resume, clock=at(121))

    assert report.timed_out == 1
    item = raw_item(aws, sent.result_id)
    assert item["status"] == "timeout"
    assert "120 s" in item["message"] and "no callback" in item["message"]
    assert "due_at" not in item and "due_shard" not in item
    assert resumes.resumed == [
        (f"wait-{sent.result_id}", {"result_id": sent.result_id, "status": "timeout"})
    ]
    [listed] = admin.get(f"/runs/{sent.run_id}/task-results").json()["items"]
    assert listed["status"] == "timeout"
    # Swept once: a second sweep finds nothing.
    again = sweep_timed_out_results(store, resume, clock=at(200))
    assert (again.read, again.timed_out) == (0, 0)


def test_a_result_not_yet_due_is_untouched(
    aws, machinery, admin, service, ws, store, resumes, monkeypatch
):
    sent = dispatched_one(aws, machinery, admin, service, ws, monkeypatch, timeout_seconds=120)
    before = raw_item(aws, sent.result_id)

    report = sweep_timed_out_results(store, resume, clock=at(100))

    assert (report.read, report.timed_out) == (0, 0)
    assert raw_item(aws, sent.result_id) == before
    assert resumes.resumed == []


def test_a_running_result_without_progress_for_its_timeout_times_out(
    aws, machinery, admin, service, ws, store, resumes, monkeypatch, gateway
):
    sent = dispatched_one(aws, machinery, admin, service, ws, monkeypatch, timeout_seconds=120)
    assert callback(gateway, sent.result_id, sent.token, callback_body("running")).status == 200

    sweep_timed_out_results(store, resume, clock=at(130))

    item = raw_item(aws, sent.result_id)
    assert item["status"] == "timeout"
    assert "no progress" in item["message"] and "120 s" in item["message"]


def test_a_running_result_past_its_max_run_time_times_out(
    aws, machinery, admin, service, ws, store, resumes, monkeypatch, gateway
):
    # Dispatched 800 s ago; the heartbeat keeps it from the 600 s timeout, not from 900 s.
    sent = dispatched_one(
        aws,
        machinery,
        admin,
        service,
        ws,
        monkeypatch,
        ago=800,
        timeout_seconds=600,
        max_run_seconds=900,
    )
    assert callback(gateway, sent.result_id, sent.token, callback_body("running")).status == 200
    assert sweep_timed_out_results(store, resume, clock=at(50)).timed_out == 0

    report = sweep_timed_out_results(store, resume, clock=at(101))

    assert report.timed_out == 1
    item = raw_item(aws, sent.result_id)
    assert item["status"] == "timeout"
    assert "max run time" in item["message"] and "900 s" in item["message"]
    assert resumes.resumed == [
        (f"wait-{sent.result_id}", {"result_id": sent.result_id, "status": "timeout"})
    ]


# --- what the sweep reads ---------------------------------------------------------------------


def record(n: int, status: ResultStatus, due_at: int | None, now: datetime) -> ResultRecord:
    created = now - timedelta(minutes=5)
    return ResultRecord(
        result=TaskResult(
            id=f"taskrs-sweep{n:011d}",
            created_at=created,
            updated_at=created,
            run_id=f"run-sweep{n:011d}",
            workspace_id="ws-sweep00000000000",
            run_task_id="task-sweep0000000000",
            run_task_name="checker",
            stage=Stage.POST_PLAN,
            enforcement_level=Enforcement.MANDATORY,
            status=status,
        ),
        task_token=f"wait-{n}",
        timeout_seconds=600,
        max_run_seconds=3600,
        run_deadline=int(created.timestamp()) + 3600,
        due_at=due_at,
    )


def test_the_sweep_reads_only_the_results_that_are_due(aws, store, resumes):
    now = datetime.now(UTC)
    epoch = int(now.timestamp())
    due = {0, 7, 19}
    for n in range(30):
        if n in due:
            store.open(record(n, ResultStatus.PENDING, epoch - 10 * (n + 1), now))
        elif n % 3 == 0:  # final results carry no deadline: not in the index at all
            store.open(record(n, ResultStatus.PENDING, epoch - 5, now))
            store.change(f"taskrs-sweep{n:011d}", ResultStatus.PASSED, now)
        else:
            status = ResultStatus.RUNNING if n % 2 else ResultStatus.PENDING
            store.open(record(n, status, epoch + 60 * n, now))

    report = sweep_timed_out_results(store, resume, clock=lambda: now)

    assert report.read == 3
    assert report.timed_out == 3
    timed_out = {
        n for n in range(30) if raw_item(aws, f"taskrs-sweep{n:011d}")["status"] == "timeout"
    }
    assert timed_out == due
    assert sorted(token for token, _ in resumes.resumed) == sorted(f"wait-{n}" for n in due)


def test_the_due_index_holds_open_results_only(aws, store):
    now = datetime.now(UTC)
    epoch = int(now.timestamp())
    store.open(record(1, ResultStatus.PENDING, epoch - 1, now))
    store.change("taskrs-sweep00000000001", ResultStatus.FAILED, now)
    store.open(record(2, ResultStatus.PENDING, epoch + 1000, now))

    ids, read = store.due(epoch + 10_000)

    assert ids == ["taskrs-sweep00000000002"]
    assert read == 1


# --- the race with a heartbeat -------------------------------------------------------------


class HeartbeatBetweenReadAndWrite:
    """The store, with a service's heartbeat arriving just after the sweep read the result
    and before it wrote."""

    def __init__(self, store, beat) -> None:
        self._store = store
        self._beat = beat
        self.beats = 0

    def get(self, result_id):
        record = self._store.get(result_id)
        self._beat()
        self.beats += 1
        return record

    def __getattr__(self, name):
        return getattr(self._store, name)


def test_a_heartbeat_after_the_sweep_read_but_before_it_wrote_wins(
    aws, machinery, admin, service, ws, store, resumes, monkeypatch, gateway
):
    # Dispatched 700 s ago with a 600 s timeout: due 100 s ago.
    sent = dispatched_one(
        aws, machinery, admin, service, ws, monkeypatch, ago=700, timeout_seconds=600
    )
    replies = []

    def heartbeat():
        reply = callback(gateway, sent.result_id, sent.token, callback_body("running", "alive"))
        replies.append(reply.status)

    racing = HeartbeatBetweenReadAndWrite(store, heartbeat)

    report = sweep_timed_out_results(racing, resume, clock=at(0))

    assert racing.beats == 1 and replies == [200]
    assert report.read == 1
    assert report.timed_out == 0
    item = raw_item(aws, sent.result_id)
    assert item["status"] == "running"
    assert item["message"] == "alive"
    assert resumes.resumed == []
    # The token still works: the result is open.
    assert callback(gateway, sent.result_id, sent.token, callback_body("passed")).status == 200


def test_a_callback_after_the_sweep_is_too_late(
    aws, machinery, admin, service, ws, store, monkeypatch, gateway, resumes
):
    sent = dispatched_one(aws, machinery, admin, service, ws, monkeypatch, timeout_seconds=60)
    sweep_timed_out_results(store, resume, clock=at(61))

    reply = callback(gateway, sent.result_id, sent.token, callback_body("passed"))

    assert reply.status == 410
    assert raw_item(aws, sent.result_id)["status"] == "timeout"


# --- the scheduled function -------------------------------------------------------------------


def test_the_sweep_function_times_out_what_is_due(
    aws, machinery, admin, service, ws, handlers, resumes, monkeypatch
):
    sent = dispatched_one(
        aws, machinery, admin, service, ws, monkeypatch, ago=700, timeout_seconds=600
    )
    handler = handlers["RunTaskSweepFunction"]

    reply = handler({}, LambdaContext("RunTaskSweepFunction"))

    assert reply == {"read": 1, "timed_out": 1}
    assert raw_item(aws, sent.result_id)["status"] == "timeout"
    assert resumes.resumed == [
        (f"wait-{sent.result_id}", {"result_id": sent.result_id, "status": "timeout"})
    ]
    assert handler({}, LambdaContext("RunTaskSweepFunction")) == {"read": 0, "timed_out": 0}
