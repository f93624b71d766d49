"""Workspace locks (design §4): a lock records who holds it and why; only its holder unlocks;
force-unlock needs admin; of concurrent lock attempts exactly one wins."""

import threading

from iacp.principal import Role
from iacp.workspaces.service import WorkspaceService
from iacp.workspaces.store import DynamoWorkspaceStore
from tests.conftest import ApiClient, assert_error, mint


def new_workspace(client: ApiClient) -> str:
    reply = client.post("/workspaces", {"name": "locked-up"})
    assert reply.status == 201, reply.body
    return str(reply.json()["id"])


def token_id(client: ApiClient) -> str:
    assert client.token is not None
    return client.token.partition(".")[0]


def test_lock_records_holder_reason_and_time(writer):
    ws = new_workspace(writer)

    reply = writer.post(f"/workspaces/{ws}/actions/lock", {"reason": "rotating keys"})

    assert reply.status == 200
    workspace = reply.json()
    assert workspace["locked"] is True
    assert workspace["lock"]["holder"] == token_id(writer)
    assert workspace["lock"]["reason"] == "rotating keys"
    assert workspace["lock"]["locked_at"].endswith("Z")
    assert writer.get(f"/workspaces/{ws}").json()["lock"] == workspace["lock"]


def test_lock_without_a_body_has_an_empty_reason(writer):
    ws = new_workspace(writer)

    reply = writer.post(f"/workspaces/{ws}/actions/lock")

    assert reply.status == 200 and reply.json()["lock"]["reason"] == ""


def test_bad_lock_body_is_422_and_does_not_lock(writer):
    ws = new_workspace(writer)

    assert_error(writer.post(f"/workspaces/{ws}/actions/lock", {"reason": 5}), 422, "/reason")
    assert_error(writer.post(f"/workspaces/{ws}/actions/lock", {"why": "x"}), 422, "/why")

    assert writer.get(f"/workspaces/{ws}").json()["locked"] is False


def test_locking_a_locked_workspace_is_409_naming_the_holder(aws, gateway, writer):
    ws = new_workspace(writer)
    writer.post(f"/workspaces/{ws}/actions/lock", {"reason": "mine"})
    other = ApiClient(gateway, mint(aws, Role.WRITE))

    error = assert_error(other.post(f"/workspaces/{ws}/actions/lock", {}), 409)

    assert token_id(writer) in error["detail"] and "mine" in error["detail"]
    assert writer.get(f"/workspaces/{ws}").json()["lock"]["holder"] == token_id(writer)


def test_only_the_holder_unlocks(aws, gateway, writer):
    ws = new_workspace(writer)
    writer.post(f"/workspaces/{ws}/actions/lock", {})
    other = ApiClient(gateway, mint(aws, Role.WRITE))

    assert_error(other.post(f"/workspaces/{ws}/actions/unlock"), 409)
    assert writer.get(f"/workspaces/{ws}").json()["locked"] is True

    reply = writer.post(f"/workspaces/{ws}/actions/unlock")
    assert reply.status == 200 and reply.json()["locked"] is False and reply.json()["lock"] is None


def test_unlocking_an_unlocked_workspace_is_409(writer):
    ws = new_workspace(writer)

    assert_error(writer.post(f"/workspaces/{ws}/actions/unlock"), 409)


def test_a_run_lock_is_released_only_by_that_run_or_force(aws, writer, admin):
    ws = new_workspace(writer)
    service = WorkspaceService(DynamoWorkspaceStore(aws.refs["WorkspacesTable"]))
    service.lock_workspace(ws, holder="run-AAAAAAAAAAAAAAAA", reason="applying")

    assert_error(writer.post(f"/workspaces/{ws}/actions/unlock"), 409)
    assert_error(writer.post(f"/workspaces/{ws}/actions/lock"), 409)
    assert admin.post(f"/workspaces/{ws}/actions/force-unlock").status == 200
    assert writer.get(f"/workspaces/{ws}").json()["locked"] is False


def test_force_unlock_needs_admin(writer, admin):
    ws = new_workspace(writer)
    writer.post(f"/workspaces/{ws}/actions/lock", {})

    assert_error(writer.post(f"/workspaces/{ws}/actions/force-unlock"), 403)
    assert writer.get(f"/workspaces/{ws}").json()["locked"] is True

    reply = admin.post(f"/workspaces/{ws}/actions/force-unlock")
    assert reply.status == 200 and reply.json()["locked"] is False


def test_force_unlock_of_an_unlocked_workspace_is_409(writer, admin):
    ws = new_workspace(writer)

    assert_error(admin.post(f"/workspaces/{ws}/actions/force-unlock"), 409)


def test_read_role_cannot_lock_or_unlock(reader, writer):
    ws = new_workspace(writer)
    writer.post(f"/workspaces/{ws}/actions/lock", {})

    assert_error(reader.post(f"/workspaces/{ws}/actions/unlock"), 403)
    assert_error(reader.post(f"/workspaces/{ws}/actions/lock"), 403)
    assert writer.get(f"/workspaces/{ws}").json()["lock"]["holder"] == token_id(writer)


def test_concurrent_lock_attempts_exactly_one_wins(aws, writer):
    ws = new_workspace(writer)
    service = WorkspaceService(DynamoWorkspaceStore(aws.refs["WorkspacesTable"]))
    contenders = [f"run-{i:016d}" for i in range(12)]
    start = threading.Barrier(len(contenders))
    winners: list[str] = []
    conflicts: list[str] = []

    def try_lock(holder: str) -> None:
        start.wait()
        try:
            service.lock_workspace(ws, holder=holder, reason="race")
            winners.append(holder)
        except Exception as error:
            conflicts.append(type(error).__name__)

    threads = [threading.Thread(target=try_lock, args=(h,)) for h in contenders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(winners) == 1
    assert conflicts == ["Conflict"] * (len(contenders) - 1)
    assert writer.get(f"/workspaces/{ws}").json()["lock"]["holder"] == winners[0]
