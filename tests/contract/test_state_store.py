"""StateStore: the same cases against the in-memory fake and DynamoStateStore."""

import pytest

from iacp.errors import InvalidInput
from iacp.states.models import PendingState, StateVersion, StateVersionStatus
from iacp.states.store import StaleState, WorkspaceBusy, WorkspaceMovedOn
from iacp.workspaces.models import WorkspaceLock
from tests.contract.conftest import NOW, Stores, every_page, workspace


def state(version_id: str, serial: int, run_id: str = "run-1") -> StateVersion:
    return StateVersion(
        id=version_id,
        created_at=NOW,
        workspace_id="ws-1",
        run_id=run_id,
        serial=serial,
        lineage="lin",
    )


@pytest.fixture
def held(stores: Stores) -> Stores:
    """A workspace whose queue run-1 holds."""
    stores.workspaces.create(workspace())
    stores.workspaces.claim_queue("ws-1", "run-1")
    return stores


def test_a_newer_state_becomes_current(held: Stores):
    assert held.states.current("ws-1") is None

    held.states.add_current(state("sv-1", 1))
    held.states.add_current(state("sv-2", 2).model_copy(update={"partial": True}))

    current = held.states.current("ws-1")
    assert current == state("sv-2", 2).model_copy(update={"partial": True})


def test_a_state_not_newer_is_refused(held: Stores):
    held.states.add_current(state("sv-1", 2))

    with pytest.raises(StaleState):
        held.states.add_current(state("sv-2", 2))
    with pytest.raises(StaleState):
        held.states.add_current(state("sv-3", 1))
    current = held.states.current("ws-1")
    assert current is not None and current.id == "sv-1"


def test_only_the_run_holding_the_workspace_records_its_state(held: Stores):
    with pytest.raises(WorkspaceMovedOn):
        held.states.add_current(state("sv-1", 1, run_id="run-2"))
    held.workspaces.release_queue("ws-1", "run-1")
    with pytest.raises(WorkspaceMovedOn):
        held.states.add_current(state("sv-1", 1))
    with pytest.raises(WorkspaceMovedOn):
        held.states.add_current(state("sv-1", 1).model_copy(update={"workspace_id": "ws-9"}))
    assert held.states.current("ws-1") is None


# --- the history -----------------------------------------------------------------------------


def recorded(stores: Stores, count: int) -> list[StateVersion]:
    """``count`` run states recorded in workspace ws-1, serials 1..count, each with its facts."""
    versions = [
        state(f"sv-{serial}", serial).model_copy(
            update={"resource_count": serial * 2, "output_names": ["a", f"o{serial}"]}
        )
        for serial in range(1, count + 1)
    ]
    for version in versions:
        stores.states.add_current(version)
    return versions


def test_the_history_lists_every_version_newest_first_a_page_at_a_time(held: Stores):
    versions = recorded(held, 5)
    held.workspaces.create(workspace("ws-2", "beta"))
    held.workspaces.claim_queue("ws-2", "run-1")
    held.states.add_current(state("sv-x", 9).model_copy(update={"workspace_id": "ws-2"}))

    listed = every_page(lambda limit, cursor: held.states.page("ws-1", limit, cursor), 2)

    assert listed == list(reversed(versions))
    assert held.states.page("ws-9", 10, None) == ([], None)


def test_a_cursor_of_another_workspaces_history_is_refused(held: Stores):
    recorded(held, 3)
    _, cursor = held.states.page("ws-1", 1, None)
    held.workspaces.create(workspace("ws-2", "beta"))

    with pytest.raises(InvalidInput):
        held.states.page("ws-2", 1, cursor)
    with pytest.raises(InvalidInput):
        held.states.page("ws-1", 1, "not-a-cursor")


def test_a_version_is_found_by_its_id_alone(held: Stores):
    versions = recorded(held, 2)

    assert held.states.get("sv-1") == versions[0]
    assert held.states.get("sv-2") == versions[1]
    assert held.states.get("sv-unknown") is None


def test_a_deleted_workspaces_versions_are_not_found(held: Stores):
    recorded(held, 1)
    held.workspaces.release_queue("ws-1", "run-1")
    found = held.workspaces.get("ws-1")
    assert found is not None and held.workspaces.delete(found)

    assert held.states.get("sv-1") is None
    assert held.states.page("ws-1", 10, None) == ([], None)


# --- rollbacks -------------------------------------------------------------------------------


def rollback(version_id: str, serial: int, restores: str) -> StateVersion:
    return state(version_id, serial).model_copy(
        update={"run_id": None, "rolled_back_from": restores, "resource_count": 2}
    )


@pytest.fixture
def idle(held: Stores) -> Stores:
    """Workspace ws-1 with states sv-1 and sv-2 (current), no run holding it, unlocked."""
    recorded(held, 2)
    held.workspaces.release_queue("ws-1", "run-1")
    return held


def lock(stores: Stores, holder: str) -> None:
    assert stores.workspaces.lock("ws-1", WorkspaceLock(holder=holder, reason="", locked_at=NOW))


def test_a_rollback_becomes_current_when_the_workspace_is_idle_and_unlocked(idle: Stores):
    idle.states.add_rollback(rollback("sv-3", 3, "sv-1"), replaces="sv-2", holder="at-me")

    assert idle.states.current("ws-1") == rollback("sv-3", 3, "sv-1")
    assert idle.states.get("sv-3") == rollback("sv-3", 3, "sv-1")
    assert [v.id for v in idle.states.page("ws-1", 10, None)[0]] == ["sv-3", "sv-2", "sv-1"]


def test_a_rollback_becomes_current_under_its_callers_lock(idle: Stores):
    lock(idle, "at-me")

    idle.states.add_rollback(rollback("sv-3", 3, "sv-1"), replaces="sv-2", holder="at-me")

    current = idle.states.current("ws-1")
    assert current is not None and current.id == "sv-3"


def unchanged(stores: Stores) -> None:
    """Nothing of the refused rollback sv-3 was written."""
    current = stores.states.current("ws-1")
    assert current is not None and current.id == "sv-2"
    assert stores.states.get("sv-3") is None
    assert [v.id for v in stores.states.page("ws-1", 10, None)[0]] == ["sv-2", "sv-1"]


def test_a_rollback_is_refused_under_someone_elses_lock(idle: Stores):
    lock(idle, "at-other")

    with pytest.raises(WorkspaceBusy):
        idle.states.add_rollback(rollback("sv-3", 3, "sv-1"), replaces="sv-2", holder="at-me")
    unchanged(idle)


def test_a_rollback_is_refused_while_a_run_holds_the_workspace(idle: Stores):
    idle.workspaces.claim_queue("ws-1", "run-2")

    with pytest.raises(WorkspaceBusy):
        idle.states.add_rollback(rollback("sv-3", 3, "sv-1"), replaces="sv-2", holder="at-me")
    unchanged(idle)


def test_a_rollback_from_a_version_no_longer_current_is_refused(idle: Stores):
    with pytest.raises(StaleState):
        idle.states.add_rollback(rollback("sv-3", 3, "sv-2"), replaces="sv-1", holder="at-me")
    with pytest.raises(StaleState):  # not newer than the current one
        idle.states.add_rollback(rollback("sv-3", 2, "sv-1"), replaces="sv-2", holder="at-me")
    unchanged(idle)


def test_a_runs_state_version_names_its_run(held: Stores):
    with pytest.raises(ValueError, match="names its run"):
        held.states.add_current(state("sv-1", 1).model_copy(update={"run_id": None}))
    assert held.states.current("ws-1") is None


# --- a client's state versions (no run) ------------------------------------------------------


def pushed(version_id: str, serial: int) -> StateVersion:
    return state(version_id, serial).model_copy(update={"run_id": None, "md5": "0" * 32})


def announced(version_id: str, serial: int, replaces: str | None) -> PendingState:
    version = pushed(version_id, serial).model_copy(update={"status": StateVersionStatus.PENDING})
    return PendingState(version=version, holder="at-me", replaces=replaces)


def test_a_clients_version_becomes_current_under_its_lock_only(idle: Stores):
    with pytest.raises(WorkspaceBusy):  # not locked
        idle.states.add_pushed(pushed("sv-3", 3), replaces="sv-2", holder="at-me")
    lock(idle, "at-other")
    with pytest.raises(WorkspaceBusy):
        idle.states.add_pushed(pushed("sv-3", 3), replaces="sv-2", holder="at-me")
    unchanged(idle)
    assert idle.workspaces.unlock("ws-1", "at-other")
    lock(idle, "at-me")

    idle.states.add_pushed(pushed("sv-3", 3), replaces="sv-2", holder="at-me")

    assert idle.states.current("ws-1") == pushed("sv-3", 3)
    assert [v.id for v in idle.states.page("ws-1", 10, None)[0]] == ["sv-3", "sv-2", "sv-1"]


def test_a_clients_version_is_refused_while_a_run_holds_the_workspace(idle: Stores):
    lock(idle, "at-me")
    idle.workspaces.claim_queue("ws-1", "run-2")

    with pytest.raises(WorkspaceBusy):
        idle.states.add_pushed(pushed("sv-3", 3), replaces="sv-2", holder="at-me")
    unchanged(idle)


def test_a_clients_version_is_refused_when_the_state_moved_on(idle: Stores):
    lock(idle, "at-me")

    with pytest.raises(StaleState):
        idle.states.add_pushed(pushed("sv-3", 3), replaces="sv-1", holder="at-me")
    with pytest.raises(StaleState):  # the workspace has a state
        idle.states.add_pushed(pushed("sv-3", 3), replaces=None, holder="at-me")
    with pytest.raises(StaleState):  # not newer
        idle.states.add_pushed(pushed("sv-3", 2), replaces="sv-2", holder="at-me")
    unchanged(idle)


def test_a_clients_first_version(stores: Stores):
    stores.workspaces.create(workspace())
    lock(stores, "at-me")

    stores.states.add_pushed(pushed("sv-1", 7), replaces=None, holder="at-me")

    current = stores.states.current("ws-1")
    assert current is not None and (current.id, current.serial) == ("sv-1", 7)


def test_a_pending_version_is_found_by_id_and_nowhere_else_until_finalized(idle: Stores):
    lock(idle, "at-me")
    idle.states.add_pending(announced("sv-3", 3, "sv-2"))

    assert idle.states.pending("sv-3") == announced("sv-3", 3, "sv-2")
    found = idle.states.get("sv-3")
    assert found is not None and found.status is StateVersionStatus.PENDING
    unchanged_but_pending = idle.states.current("ws-1")
    assert unchanged_but_pending is not None and unchanged_but_pending.id == "sv-2"
    assert [v.id for v in idle.states.page("ws-1", 10, None)[0]] == ["sv-2", "sv-1"]

    idle.states.finalize(pushed("sv-3", 3), replaces="sv-2", holder="at-me")

    assert idle.states.current("ws-1") == pushed("sv-3", 3)
    assert idle.states.get("sv-3") == pushed("sv-3", 3)
    assert idle.states.pending("sv-3") is None
    with pytest.raises(StaleState):  # finalized once
        idle.states.finalize(pushed("sv-3", 4), replaces="sv-3", holder="at-me")
    assert not idle.states.discard("ws-1", "sv-3")


def test_a_pending_version_refused_at_finalizing_can_be_discarded(idle: Stores):
    idle.states.add_pending(announced("sv-3", 3, "sv-2"))

    with pytest.raises(WorkspaceBusy):  # the lock is gone
        idle.states.finalize(pushed("sv-3", 3), replaces="sv-2", holder="at-me")
    assert idle.states.discard("ws-1", "sv-3")

    found = idle.states.get("sv-3")
    assert found is not None and found.status is StateVersionStatus.DISCARDED
    assert idle.states.pending("sv-3") is None
    assert not idle.states.discard("ws-1", "sv-3")
    lock(idle, "at-me")
    with pytest.raises(StaleState):
        idle.states.finalize(pushed("sv-3", 3), replaces="sv-2", holder="at-me")
    current = idle.states.current("ws-1")
    assert current is not None and current.id == "sv-2"


def test_a_pending_version_needs_its_workspace(stores: Stores):
    with pytest.raises(StaleState):
        stores.states.add_pending(announced("sv-1", 1, None))
    assert stores.states.get("sv-1") is None
