"""WorkspaceStore: the same cases against the in-memory fake and DynamoWorkspaceStore."""

from datetime import timedelta

import pytest

from iacp.errors import InvalidInput
from iacp.vcs.models import WorkspaceVcs
from iacp.workspaces.models import WorkspaceLock
from iacp.workspaces.store import NameTaken
from tests.contract.conftest import NOW, Stores, every_page, workspace


def test_a_workspace_is_created_once_per_name(stores: Stores):
    created = workspace("ws-1", "alpha", description="first")
    stores.workspaces.create(created)

    assert stores.workspaces.get("ws-1") == created
    assert stores.workspaces.get("ws-2") is None
    with pytest.raises(NameTaken):
        stores.workspaces.create(workspace("ws-2", "ALPHA"))


def test_workspaces_are_listed_by_name_a_page_at_a_time(stores: Stores):
    for n, name in enumerate(["delta", "alpha", "echo", "charlie", "bravo"]):
        stores.workspaces.create(workspace(f"ws-{n}", name))

    listed = every_page(stores.workspaces.page, 2)

    assert [w.name for w in listed] == ["alpha", "bravo", "charlie", "delta", "echo"]
    assert [w.name for w in stores.workspaces.get_many(["ws-2", "ws-0", "ws-9"])] == [
        "delta",
        "echo",
    ]
    with pytest.raises(InvalidInput):
        stores.workspaces.page(2, "garbage")


def test_an_update_changes_and_removes_fields(stores: Stores):
    current = workspace("ws-1", "alpha", terraform_version="1.9.0", aws_role_arn="arn:r")
    stores.workspaces.create(current)
    later = NOW + timedelta(seconds=3)

    updated = stores.workspaces.update(
        current,
        {"description": "d", "terraform_version": None, "aws_external_id": "ext"},
        later,
    )

    assert updated is not None
    assert (updated.description, updated.terraform_version) == ("d", None)
    assert (updated.aws_external_id, updated.updated_at) == ("ext", later)
    assert stores.workspaces.get("ws-1") == updated
    assert stores.workspaces.update(workspace("ws-9"), {"description": "x"}, later) is None


def test_the_executor_and_phase_timeout_are_kept_and_return_to_their_defaults(stores: Stores):
    current = workspace("ws-1", "alpha", execution="lambda", phase_timeout_seconds=300)
    stores.workspaces.create(current)
    assert stores.workspaces.get("ws-1") == current
    later = NOW + timedelta(seconds=3)

    back = stores.workspaces.update(
        current, {"execution": "fargate", "phase_timeout_seconds": None}, later
    )

    assert back is not None and (back.execution, back.phase_timeout_seconds) == ("fargate", None)
    assert stores.workspaces.get("ws-1") == back


@pytest.mark.parametrize(
    ("meanwhile", "change"),
    [
        ({"phase_timeout_seconds": 3600}, {"execution": "lambda"}),
        ({"execution": "lambda"}, {"phase_timeout_seconds": 3600}),
    ],
)
def test_the_executor_and_phase_timeout_change_only_against_the_other_as_it_was_read(
    stores: Stores, meanwhile, change
):
    """The service checks one against the other (a lambda workspace's limit): a concurrent
    update of the other makes this one fail, to be read and checked again."""
    read = workspace("ws-1", "alpha")
    stores.workspaces.create(read)
    assert stores.workspaces.update(read, meanwhile, NOW) is not None

    assert stores.workspaces.update(read, change, NOW) is None
    assert stores.workspaces.update(read, change | meanwhile, NOW) is not None  # both at once
    current = stores.workspaces.get("ws-1")
    assert current is not None
    assert stores.workspaces.update(current, {"description": "x"}, NOW) is not None
    assert stores.workspaces.update(current, change, NOW) is not None  # read as it is


def test_an_external_id_is_refused_on_a_workspace_without_a_role(stores: Stores):
    current = workspace()
    stores.workspaces.create(current)

    assert stores.workspaces.update(current, {"aws_external_id": "ext"}, NOW) is None


def test_a_rename_moves_the_name(stores: Stores):
    alpha, bravo = workspace("ws-1", "alpha"), workspace("ws-2", "bravo")
    stores.workspaces.create(alpha)
    stores.workspaces.create(bravo)

    with pytest.raises(NameTaken):
        stores.workspaces.update(alpha, {"name": "Bravo"}, NOW)
    renamed = stores.workspaces.update(alpha, {"name": "charlie"}, NOW)

    assert renamed is not None and renamed.name == "charlie"
    stores.workspaces.create(workspace("ws-3", "alpha"))  # the old name is free again
    with pytest.raises(NameTaken):
        stores.workspaces.create(workspace("ws-4", "charlie"))


def test_a_lock_is_taken_once_and_released_by_its_holder(stores: Stores):
    stores.workspaces.create(workspace())
    lock = WorkspaceLock(holder="run-1", reason="run run-1", locked_at=NOW)

    locked = stores.workspaces.lock("ws-1", lock)
    assert locked is not None and locked.lock == lock
    assert stores.workspaces.lock("ws-1", lock.model_copy(update={"holder": "at-2"})) is None
    assert stores.workspaces.lock("ws-9", lock) is None
    assert stores.workspaces.unlock("ws-1", "at-2") is None
    unlocked = stores.workspaces.unlock("ws-1", "run-1")
    assert unlocked is not None and unlocked.lock is None
    assert stores.workspaces.unlock("ws-1", None) is None  # not locked any more
    stores.workspaces.lock("ws-1", lock)
    forced = stores.workspaces.unlock("ws-1", None)
    assert forced is not None and forced.lock is None


def test_the_queue_is_claimed_by_one_run_at_a_time(stores: Stores):
    stores.workspaces.create(workspace())

    assert stores.workspaces.claim_queue("ws-1", "run-1") is True
    assert stores.workspaces.claim_queue("ws-1", "run-1") is True  # again: still its own
    assert stores.workspaces.claim_queue("ws-1", "run-2") is False
    assert stores.workspaces.claim_queue("ws-9", "run-1") is False
    assert stores.workspaces.release_queue("ws-1", "run-2") is False
    assert stores.workspaces.release_queue("ws-1", "run-1") is True
    assert stores.workspaces.release_queue("ws-1", "run-1") is False
    assert stores.workspaces.claim_queue("ws-1", "run-2") is True
    current = stores.workspaces.get("ws-1")
    assert current is not None and current.current_run_id == "run-2"


def test_a_locked_or_busy_workspace_is_not_deleted(stores: Stores):
    ws = workspace()
    stores.workspaces.create(ws)
    stores.workspaces.lock("ws-1", WorkspaceLock(holder="at-1", reason="", locked_at=NOW))
    assert stores.workspaces.delete(ws) is False
    stores.workspaces.unlock("ws-1", None)
    stores.workspaces.claim_queue("ws-1", "run-1")
    assert stores.workspaces.delete(ws) is False
    stores.workspaces.release_queue("ws-1", "run-1")
    assert stores.workspaces.delete(workspace("ws-1", "renamed")) is False  # not as read

    assert stores.workspaces.delete(ws) is True
    assert stores.workspaces.get("ws-1") is None
    assert stores.workspaces.delete(ws) is False
    stores.workspaces.create(workspace("ws-2", "alpha"))


def test_workspaces_are_found_by_their_repository(stores: Stores):
    vcs = WorkspaceVcs(connection_id="vcs-aaaaaaaaaaaaaaaa", repository="Acme/Infra", branch="main")
    stores.workspaces.create(workspace("ws-1", "alpha", vcs=vcs))
    stores.workspaces.create(workspace("ws-2", "bravo"))

    found = stores.workspaces.tracking("vcs-aaaaaaaaaaaaaaaa", "https://github.com/acme/infra.git")

    assert [w.id for w in found] == ["ws-1"]
    assert stores.workspaces.tracking("vcs-bbbbbbbbbbbbbbbb", "acme/infra") == []
    assert stores.workspaces.uses_connection("vcs-aaaaaaaaaaaaaaaa") is True
    assert stores.workspaces.uses_connection("vcs-bbbbbbbbbbbbbbbb") is False
