"""RunStore: the same cases against the in-memory fake and DynamoRunStore."""

from datetime import timedelta

import pytest

from iacp.errors import InvalidInput
from iacp.runs.models import Operation, Run
from iacp.runs.status import InvalidTransition, RunStatus
from iacp.runs.store import SEALED_VARIABLES
from tests.contract.conftest import NOW, Stores, every_page


def pending(run_id: str, workspace_id: str = "ws-1", *, speculative: bool = False) -> Run:
    return Run.pending(
        run_id=run_id,
        workspace_id=workspace_id,
        configuration_version_id="cv-1",
        operation=Operation.PLAN_ONLY if speculative else Operation.PLAN_AND_APPLY,
        auto_apply=False,
        message="",
        created_by="at-1",
        at=NOW,
    )


def test_a_run_is_added_once_and_read_back(stores: Stores):
    run = pending("run-1")

    assert stores.runs.add(run) is True
    assert stores.runs.add(run) is False
    assert stores.runs.get("run-1") == run
    assert stores.runs.get("run-2") is None


def test_a_runs_private_attributes_are_written_with_it_and_never_part_of_it(stores: Stores):
    run = pending("run-1").model_copy(update={"variable_keys": ["size"]})

    stores.runs.add(run, {SEALED_VARIABLES: "c2VhbGVk"})

    assert stores.runs.private("run-1")[SEALED_VARIABLES] == "c2VhbGVk"
    assert stores.runs.get("run-1") == run
    assert stores.runs.add(run, {SEALED_VARIABLES: "b3RoZXI="}) is False
    assert stores.runs.private("run-1")[SEALED_VARIABLES] == "c2VhbGVk"


def test_runs_are_listed_newest_first_a_page_at_a_time(stores: Stores):
    for n in range(5):
        stores.runs.add(pending(f"run-{n}"))
    stores.runs.add(pending("run-other", "ws-2"))

    listed = every_page(lambda limit, cursor: stores.runs.page("ws-1", limit, cursor), 2)

    assert [r.id for r in listed] == [f"run-{n}" for n in reversed(range(5))]


def test_a_cursor_from_another_list_is_refused(stores: Stores):
    for n in range(3):
        stores.runs.add(pending(f"run-{n}"))
    _, cursor = stores.runs.page("ws-1", 1, None)

    with pytest.raises(InvalidInput):
        stores.runs.page("ws-2", 1, cursor)
    with pytest.raises(InvalidInput):
        stores.runs.page("ws-1", 1, "not-a-cursor")


def test_the_queue_holds_waiting_non_speculative_runs_oldest_first(stores: Stores):
    stores.runs.add(pending("run-plan", speculative=True))
    stores.runs.add(pending("run-a"))
    stores.runs.add(pending("run-b"))
    stores.runs.add(pending("run-c", "ws-2"))

    oldest = stores.runs.oldest_queued("ws-1")
    assert oldest is not None and oldest.id == "run-a"
    assert stores.runs.workspaces_with_queued_runs() == {"ws-1", "ws-2"}

    stores.runs.transition("run-a", RunStatus.FETCHING, NOW)  # started: it leaves the queue
    oldest = stores.runs.oldest_queued("ws-1")
    assert oldest is not None and oldest.id == "run-b"
    stores.runs.transition("run-b", RunStatus.CANCELED, NOW)
    assert stores.runs.oldest_queued("ws-1") is None
    assert stores.runs.workspaces_with_queued_runs() == {"ws-2"}


def test_a_transition_records_its_time_and_fields(stores: Stores):
    stores.runs.add(pending("run-1"))
    later = NOW + timedelta(seconds=5)

    moved = stores.runs.transition(
        "run-1", RunStatus.FETCHING, later, {"execution_arn": "arn:x"}, ("confirmation_token",)
    )

    assert moved.status is RunStatus.FETCHING
    assert moved.status_timestamps == {"pending": NOW, "fetching": later}
    assert moved.execution_arn == "arn:x"
    assert stores.runs.get("run-1") == moved


def test_a_transition_from_a_status_not_allowed_is_refused_naming_the_status(stores: Stores):
    stores.runs.add(pending("run-1"))

    with pytest.raises(InvalidTransition) as refused:
        stores.runs.transition("run-1", RunStatus.APPLIED, NOW)
    assert (refused.value.current, refused.value.to) == (RunStatus.PENDING, RunStatus.APPLIED)

    with pytest.raises(InvalidTransition) as missing:
        stores.runs.transition("run-2", RunStatus.FETCHING, NOW)
    assert missing.value.current is None

    run = stores.runs.get("run-1")
    assert run is not None and run.status is RunStatus.PENDING


def test_only_from_narrows_a_transition(stores: Stores):
    stores.runs.add(pending("run-1"))
    stores.runs.transition("run-1", RunStatus.FETCHING, NOW)

    with pytest.raises(InvalidTransition):
        stores.runs.transition("run-1", RunStatus.CANCELED, NOW, only_from={RunStatus.PENDING})
    ended = stores.runs.transition("run-1", RunStatus.CANCELED, NOW)
    assert ended.status is RunStatus.CANCELED
    with pytest.raises(InvalidTransition):  # a terminal status is final
        stores.runs.transition("run-1", RunStatus.ERRORED, NOW)


def test_update_and_update_in_status_are_conditional(stores: Stores):
    stores.runs.add(pending("run-1"))

    assert stores.runs.update("run-2", {"has_changes": True}) is None
    updated = stores.runs.update("run-1", {"has_changes": True, "lock_held": True})
    assert updated is not None and updated.has_changes is True
    private = stores.runs.private("run-1")
    assert (private["lock_held"], private["queued_workspace_id"]) == (True, "ws-1")
    assert stores.runs.update_in_status("run-1", RunStatus.PLANNED, {"has_changes": False}) is None
    kept = stores.runs.update_in_status("run-1", RunStatus.PENDING, {"has_changes": False})
    assert kept is not None and kept.has_changes is False
    removed = stores.runs.update("run-1", {}, remove=("has_changes", "lock_held"))
    assert removed is not None and removed.has_changes is None
    assert "lock_held" not in stores.runs.private("run-1")


def test_a_private_attribute_is_taken_once(stores: Stores):
    stores.runs.add(pending("run-1"))
    stores.runs.update("run-1", {"override_token": "token-1"})

    assert stores.runs.take_private("run-1", "override_token") == "token-1"
    assert stores.runs.take_private("run-1", "override_token") is None
    assert stores.runs.take_private("run-2", "override_token") is None


def test_task_stages_are_rewritten_from_the_run_as_stored(stores: Stores):
    stores.runs.add(pending("run-1"))
    stage = {"stage": "pre_plan", "status": "running", "warnings": [], "results": []}

    first = stores.runs.rewrite_task_stages("run-1", lambda run: [stage], {"error": None})
    second = stores.runs.rewrite_task_stages(
        "run-1",
        lambda run: [s.model_dump(mode="json") for s in run.task_stages] + [stage],
        remove=("error",),
    )

    assert first is not None and len(first.task_stages) == 1
    assert second is not None and len(second.task_stages) == 2
    assert stores.runs.rewrite_task_stages("run-2", lambda run: []) is None


def test_unsettled_runs_are_the_open_ones_and_those_whose_runner_is_awaited(stores: Stores):
    for run_id in ("open", "ended", "awaited"):
        stores.runs.add(pending(run_id))
    for run_id in ("ended", "awaited"):
        stores.runs.transition(run_id, RunStatus.CANCELED, NOW)
    stores.runs.update("awaited", {"awaiting_runner": "plan"})

    asked = ["open", "ended", "awaited", "unknown"]
    assert stores.runs.unsettled(asked) == {"open", "awaited"}
    assert stores.runs.unsettled([]) == set()


def test_unsettled_reads_any_number_of_runs(stores: Stores):
    ids = [f"run-{i:03d}" for i in range(130)]  # more than one BatchGetItem's hundred keys
    for run_id in ids:
        stores.runs.add(pending(run_id))

    assert stores.runs.unsettled([*ids, ids[0]]) == set(ids)
