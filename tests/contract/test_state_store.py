"""StateStore: the same cases against the in-memory fake and DynamoStateStore."""

import pytest

from iacp.states.models import StateVersion
from iacp.states.store import StaleState, WorkspaceMovedOn
from tests.contract.conftest import NOW, Stores, workspace


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
