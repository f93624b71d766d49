"""Which notification trigger each change of a run item is: the run item's old and new images,
as the runs table's stream carries them, through the run events to the notifications."""

from datetime import UTC, datetime
from typing import Any

import pytest

from iacp.notifications.destinations import Context, text_of
from iacp.notifications.triggers import notifications_of
from iacp.runs.events import DETAIL_TYPE, STAGE_DETAIL_TYPE, RunEvent, run_events

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def run_item(status: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": "run-1",
        "workspace_id": "ws-1",
        "status": status,
        "status_timestamps": {status: "2026-11-24T11:59:00Z"},
        "created_at": "2026-11-24T11:00:00Z",
        "operation": "plan_and_apply",
        "is_speculative": False,
        "message": "m",
        "created_by": "at-1",
    } | fields


def stage(name: str, status: str, *results: str) -> dict[str, Any]:
    return {
        "stage": name,
        "status": status,
        "results": [
            {
                "id": f"taskrs-{i}",
                "run_task_id": "task-1",
                "run_task_name": f"check{i}",
                "enforcement_level": "mandatory",
                "status": result,
            }
            for i, result in enumerate(results)
        ],
    }


def triggered(new: dict[str, Any], old: dict[str, Any] | None) -> list[tuple[str, str]]:
    events = run_events(new, old, "https://iacp.example", NOW)
    return [
        (n.trigger.value, n.message)
        for event in events
        for n in notifications_of(
            {
                "detail-type": DETAIL_TYPE if isinstance(event, RunEvent) else STAGE_DETAIL_TYPE,
                "detail": event.model_dump(mode="json"),
            }
        )
    ]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (None, "pending", [("run:created", "Run Created")]),
        ("pending", "fetching", []),
        ("fetching", "planning", [("run:planning", "Run Planning")]),
        ("planning", "planned", [("run:needs_attention", "Run Needs Attention")]),
        ("confirmed", "applying", [("run:applying", "Run Applying")]),
        ("applying", "applied", [("run:completed", "Run Applied")]),
        ("planning", "planned_and_finished", [("run:completed", "Run Planned And Finished")]),
        ("planning", "errored", [("run:errored", "Run Errored")]),
        ("planning", "canceled", [("run:canceled", "Run Canceled")]),
        ("applying", "force_canceled", [("run:canceled", "Run Force Canceled")]),
        ("planned", "discarded", [("run:canceled", "Run Discarded")]),
        ("planned", "planned", []),  # another attribute changed
    ],
)
def test_status_changes(old, new, expected):
    assert triggered(run_item(new), None if old is None else run_item(old)) == expected


def test_a_stage_with_a_failed_advisory_result_is_a_task_failure_only():
    old = run_item("post_plan_running", task_stages=[stage("post_plan", "running")])
    new = run_item("post_plan_running", task_stages=[stage("post_plan", "passed", "failed")])
    assert triggered(new, old) == [("task:failed", "Run Task Failed")]


def test_a_stage_that_stops_the_run_fails_a_task_and_needs_attention():
    old = run_item("pre_plan_running", task_stages=[stage("pre_plan", "running")])
    new = run_item(
        "pre_plan_running", task_stages=[stage("pre_plan", "awaiting_override", "timeout")]
    )
    assert triggered(new, old) == [
        ("task:failed", "Run Task Failed"),
        ("run:needs_attention", "Run Needs Attention"),
    ]


def test_a_passed_stage_or_one_seen_before_notifies_nobody():
    passed = [stage("pre_plan", "passed", "passed")]
    assert triggered(run_item("planning", task_stages=passed), run_item("pre_plan_running")) == [
        ("run:planning", "Run Planning")
    ]
    stopped = [stage("pre_plan", "awaiting_override", "failed")]
    overridden = [stage("pre_plan", "overridden", "failed")]
    assert (
        triggered(
            run_item("pre_plan_running", task_stages=overridden),
            run_item("pre_plan_running", task_stages=stopped),
        )
        == []
    )


def test_the_events_of_a_stage_and_its_triggers_have_ids_of_their_own():
    old = run_item("pre_plan_running", task_stages=[stage("pre_plan", "running")])
    new = run_item(
        "pre_plan_running", task_stages=[stage("pre_plan", "awaiting_override", "failed")]
    )
    [event] = run_events(new, old, "https://iacp.example", NOW)
    envelope = {"detail-type": STAGE_DETAIL_TYPE, "detail": event.model_dump(mode="json")}
    ids = [n.event_id for n in notifications_of(envelope)]
    assert len(set(ids)) == 2
    again = run_events(new, old, "https://iacp.example", datetime(2027, 1, 1, tzinfo=UTC))
    assert again[0].event_id == event.event_id  # a redelivered record: the same event


def test_a_destroy_runs_event_carries_its_options_and_people_read_them():
    """The run's plan options reach its events (older run items have none: the defaults),
    and the text a Slack or email destination gets names them."""
    new = run_item(
        "errored",
        is_destroy=True,
        target_addrs=["terraform_data.a"],
        variable_keys=["size"],
        save_plan=True,
    )
    [event] = run_events(new, run_item("planning"), "https://iacp.example", NOW)
    [older] = run_events(run_item("errored"), run_item("planning"), "https://iacp.example", NOW)
    assert isinstance(event, RunEvent) and isinstance(older, RunEvent)

    [notification] = notifications_of(
        {"detail-type": DETAIL_TYPE, "detail": event.model_dump(mode="json")}
    )
    text = text_of(notification, Context(organization_name="default", workspace_name="prod"))

    assert (event.is_destroy, event.target_addrs, event.refresh) == (
        True,
        ["terraform_data.a"],
        True,
    )
    assert (older.is_destroy, older.target_addrs) == (False, [])
    assert text.startswith(
        "Run Errored: run run-1 (saved plan; destroy plan; targets: terraform_data.a; "
        "run variables: size) in workspace prod"
    )
