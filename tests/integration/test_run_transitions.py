"""The runs store writes the transitions table (iacp.runs.status.TRANSITIONS) as its
condition: every status to every status, against DynamoDB (moto), is moved exactly when the
table allows it, and a refused move names where the run is and changes nothing."""

import itertools
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from iacp.runs.models import Run
from iacp.runs.status import TRANSITIONS, InvalidTransition, RunStatus
from iacp.runs.store import DynamoRunStore

AT = datetime(2026, 12, 4, tzinfo=UTC)


def test_the_store_moves_a_run_exactly_where_the_table_allows(aws):
    table = boto3.resource("dynamodb").Table(aws.refs["RunsTable"])
    store = DynamoRunStore(aws.refs["RunsTable"])
    refused = allowed = 0
    for number, (from_, to) in enumerate(itertools.product(RunStatus, RunStatus)):
        run_id = f"run-{number:04d}"
        table.put_item(Item=_item(run_id, from_))
        if from_ in TRANSITIONS[to]:
            moved = store.transition(run_id, to, AT, {"message": "moved"})
            assert (moved.status, moved.message) == (to, "moved")
            assert moved.status_timestamps[to.value] == AT
            allowed += 1
        else:
            with pytest.raises(InvalidTransition) as raised:
                store.transition(run_id, to, AT, {"message": "moved"})
            assert (raised.value.current, raised.value.to) == (from_, to)
            assert raised.value.detail == f"Run {run_id} is {from_}; it cannot become {to}."
            unchanged = store.get(run_id)
            assert unchanged is not None
            assert (unchanged.status, unchanged.message) == (from_, "")
            refused += 1
    assert allowed and refused


def test_a_move_narrowed_by_its_caller_is_refused_outside_it(aws):
    table = boto3.resource("dynamodb").Table(aws.refs["RunsTable"])
    store = DynamoRunStore(aws.refs["RunsTable"])
    table.put_item(Item=_item("run-started", RunStatus.PLANNING))

    with pytest.raises(InvalidTransition):
        store.transition("run-started", RunStatus.CANCELED, AT, only_from={RunStatus.PENDING})
    with pytest.raises(InvalidTransition, match="run-gone no longer exists"):
        store.transition("run-gone", RunStatus.CANCELED, AT)


def _item(run_id: str, status: RunStatus) -> dict[str, Any]:
    return {
        "id": run_id,
        "created_at": "2026-12-04T00:00:00Z",
        "created_key": f"0#{run_id}",
        "workspace_id": "ws-transitions",
        "operation": "plan_and_apply",
        "is_speculative": False,
        "auto_apply": False,
        "status": status.value,
        "status_timestamps": {},
        "message": "",
        "created_by": "at-test",
        "configuration_version_id": "cv-test",
    }


def test_summaries_of_two_stages_written_at_once_are_both_kept(aws):
    """A rewrite of the task-stage summaries is conditional: one that lost the race reads
    the other's and writes again, instead of overwriting it."""
    table = boto3.resource("dynamodb").Table(aws.refs["RunsTable"])
    store = DynamoRunStore(aws.refs["RunsTable"])
    table.put_item(Item=_item("run-stages", RunStatus.POST_PLAN_RUNNING))
    pre_plan = {"stage": "pre_plan", "status": "passed"}
    post_plan = {"stage": "post_plan", "status": "running"}
    raced: list[Run | None] = []

    def add_post_plan(run: Run) -> list[dict[str, Any]]:
        if not raced:  # another writer gets in between this one's read and its write
            raced.append(store.rewrite_task_stages("run-stages", lambda r: [pre_plan]))
        return [*(s.model_dump(mode="json", exclude_none=True) for s in run.task_stages), post_plan]

    written = store.rewrite_task_stages("run-stages", add_post_plan)

    assert written is not None
    assert [(s.stage, s.status) for s in written.task_stages] == [
        ("pre_plan", "passed"),
        ("post_plan", "running"),
    ]
