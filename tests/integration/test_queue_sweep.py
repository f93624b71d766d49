"""The periodic queue sweep (design §7): a run left waiting for a free workspace starts."""

from iacp.runs.status import RunStatus
from iacp.timestamps import utcnow
from iacp.workspaces.store import DynamoWorkspaceStore
from local.functions import LambdaContext
from tests.runs_support import machinery_for, started, upload_configuration


def sweep(handlers) -> dict:
    return handlers["QueueSweepFunction"]({}, LambdaContext("QueueSweepFunction"))


def test_a_run_left_waiting_for_a_free_workspace_is_started(aws, admin, handlers):
    ws = admin.post("/workspaces", {"name": "swept"}).json()["id"]
    upload_configuration(admin, aws, ws)
    first = admin.post(f"/workspaces/{ws}/runs", {}).json()["id"]
    waiting = admin.post(f"/workspaces/{ws}/runs", {}).json()["id"]
    machinery = machinery_for(aws)
    started(machinery, first)
    # The first run ended and freed the workspace, but did not see the waiting run (the
    # queue index is eventually consistent): stand in for that at the tables.
    machinery.runs.transition(first, RunStatus.ERRORED, utcnow())
    DynamoWorkspaceStore(aws.refs["WorkspacesTable"]).release_queue(ws, first)
    assert admin.get(f"/runs/{waiting}").json()["execution_arn"] is None

    reply = sweep(handlers)

    assert reply == {"workspaces_with_waiting_runs": 1}
    assert admin.get(f"/runs/{waiting}").json()["execution_arn"] is not None
    assert admin.get(f"/workspaces/{ws}").json()["current_run_id"] == waiting


def test_the_sweep_leaves_a_busy_workspace_alone(aws, admin, handlers):
    ws = admin.post("/workspaces", {"name": "busy"}).json()["id"]
    upload_configuration(admin, aws, ws)
    first = admin.post(f"/workspaces/{ws}/runs", {}).json()["id"]
    waiting = admin.post(f"/workspaces/{ws}/runs", {}).json()["id"]

    assert sweep(handlers) == {"workspaces_with_waiting_runs": 1}

    assert admin.get(f"/workspaces/{ws}").json()["current_run_id"] == first
    assert admin.get(f"/runs/{waiting}").json()["execution_arn"] is None


def test_the_sweep_with_nothing_waiting_does_nothing(aws, handlers):
    assert sweep(handlers) == {"workspaces_with_waiting_runs": 0}
