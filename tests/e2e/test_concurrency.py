"""Sixteen clients at once, over real HTTP to the local platform (issue 15): every reply is the
reply to its own request, runs on one workspace run one at a time in the order they were
queued, every run ends, no workspace stays locked, and a read token never gets an admin
route."""

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from typing import Any

import pytest
import requests

from iacp.principal import Role
from iacp.tokens.service import mint_token
from iacp.tokens.store import DynamoTokenStore
from local.platform import LocalPlatform
from tests.e2e.test_run_pipeline import ENDED, wait_for
from tests.runs_support import SIMPLE_CONFIGURATION, put_archive, tar_gz

CLIENTS = 16
WORKSPACES = 10
QUEUED = 5
PROBE_PAUSE = 0.5  # seconds between two rounds of the read token's tries
# Seconds between two looks at one run: fifteen runs are awaited at once, and each look costs
# the platform (one process) about 10 ms of CPU, taken from the runs it awaits.
POLL_EVERY = 1.0
RUNS_DEADLINE = 300.0  # seconds for every run to end: 15 real Terraform runs on 2 cores


class Client:
    """One HTTP client with its token; raises on nothing, returns (status, JSON body)."""

    def __init__(self, base_url: str, token: str):
        self._base = f"{base_url}/api/v1"
        self._session = requests.Session()
        self._session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        reply = self._session.request(method, self._base + path, json=body, timeout=60)
        assert reply.headers["Content-Type"].startswith("application/json"), reply.text
        return reply.status_code, reply.json() if reply.content else None


def token(platform: LocalPlatform, role: Role) -> str:
    store = DynamoTokenStore(platform.provisioned.refs["TokensTable"])
    return mint_token(store, role=role, description="concurrency", created_by="e2e").token


def new_workspace(client: Client, name: str) -> str:
    status, workspace = client.call("POST", "/workspaces", {"name": name})
    assert status == 201, workspace
    assert workspace["name"] == name  # its own reply, not another request's
    status, version = client.call(
        "POST", f"/workspaces/{workspace['id']}/configuration-versions", {}
    )
    assert status == 201, version
    assert version["workspace_id"] == workspace["id"]
    put_archive(version["upload_url"], tar_gz(SIMPLE_CONFIGURATION))
    return str(workspace["id"])


def start_run(client: Client, workspace_id: str, message: str, **options: Any) -> str:
    status, run = client.call(
        "POST", f"/workspaces/{workspace_id}/runs", {"message": message, **options}
    )
    assert status == 201, run
    assert (run["workspace_id"], run["message"]) == (workspace_id, message)
    return str(run["id"])


def test_sixteen_clients_at_once_get_their_own_replies_and_runs_that_end_in_order(
    platform: LocalPlatform,
) -> None:
    admin = Client(platform.front.base_url, token(platform, Role.ADMIN))
    reader = Client(platform.front.base_url, token(platform, Role.READ))
    refused: list[int] = []
    stop = threading.Event()

    def read_token_tries_admin_routes() -> None:
        # Four tries a second while everything else goes on: a tight loop took a fifth of the
        # CPU the platform and its runners need on a 2-core machine, and proved no more.
        while not stop.wait(PROBE_PAUSE):
            refused.append(reader.call("GET", "/tokens")[0])
            body = {"role": "admin", "description": "escalation"}
            refused.append(reader.call("POST", "/tokens", body)[0])

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        prober = pool.submit(read_token_tries_admin_routes)
        names = [f"concurrent-{i}" for i in range(WORKSPACES)] + ["concurrent-queue"]
        workspaces = dict(
            zip(names, pool.map(lambda n: new_workspace(admin, n), names), strict=True)
        )
        queue = workspaces.pop("concurrent-queue")
        # Five runs queued on one workspace from five clients at once, and one run on each of
        # the others; every second one of those is canceled at once, the others confirmed.
        queued = list(
            pool.map(
                lambda i: start_run(admin, queue, f"queued {i}", auto_apply=True), range(QUEUED)
            )
        )
        single = dict(
            zip(
                workspaces.values(),
                pool.map(lambda ws: start_run(admin, ws, f"single {ws}"), workspaces.values()),
                strict=True,
            )
        )
        canceled = set(list(single.values())[::2])
        for status in pool.map(
            lambda r: admin.call("POST", f"/runs/{r}/actions/cancel", {})[0], canceled
        ):
            assert status in (202, 409)  # 409: it had ended already (an empty plan cannot)
        confirmed = [r for r in single.values() if r not in canceled]
        list(pool.map(lambda r: confirm_when_planned(admin, r), confirmed))
        runs = [*queued, *single.values()]
        ended = dict(zip(runs, pool.map(lambda r: ended_run(admin, r), runs), strict=True))
        stop.set()
        prober.result()

    assert refused and set(refused) == {403}, sorted(set(refused))
    for run_id in confirmed:
        assert ended[run_id]["status"] == "applied", ended[run_id]["error"]
    # The first of the queue applies; the same configuration then has nothing to change.
    statuses = {ended[run_id]["status"] for run_id in queued}
    assert "applied" in statuses and statuses <= {"applied", "planned_and_finished"}, statuses
    for run_id in canceled:
        assert ended[run_id]["status"] in ("canceled", "discarded"), ended[run_id]
    one_at_a_time(admin, queue, [ended[r] for r in queued])
    # Every workspace is given back: at once when its run ends, or, for a run canceled while
    # its runner worked, once the reconcile has seen that runner end (docs/run-pipeline.md).
    for workspace_id in [queue, *workspaces.values()]:
        try:
            wait_for(_released(admin, workspace_id), f"{workspace_id} released", RUNS_DEADLINE)
        except pytest.fail.Exception:  # say which run keeps it, and where that run is
            _, workspace = admin.call("GET", f"/workspaces/{workspace_id}")
            holder = workspace["current_run_id"] or (workspace["lock"] or {}).get("holder")
            _, run = admin.call("GET", f"/runs/{holder}")
            pytest.fail(f"{workspace_id} is still held: {workspace} by {run}")


def _released(client: Client, workspace_id: str) -> Callable[[], bool]:
    def check() -> bool:
        status, workspace = client.call("GET", f"/workspaces/{workspace_id}")
        assert status == 200 and workspace["id"] == workspace_id  # its own reply
        return not workspace["locked"] and workspace["current_run_id"] is None

    return check


def confirm_when_planned(client: Client, run_id: str) -> None:
    run = wait_for(
        _status_in(client, run_id, {"planned"} | ENDED),
        f"{run_id} planned",
        RUNS_DEADLINE,
        every=POLL_EVERY,
    )
    assert run["status"] == "planned", run["error"]
    status, reply = client.call("POST", f"/runs/{run_id}/actions/apply", {"comment": "go"})
    assert status == 202, reply


def ended_run(client: Client, run_id: str) -> dict[str, Any]:
    run: dict[str, Any] = wait_for(
        _status_in(client, run_id, ENDED), f"{run_id} ended", RUNS_DEADLINE, every=POLL_EVERY
    )
    return run


def _status_in(client: Client, run_id: str, statuses: set[str]) -> Callable[[], Any]:
    def check() -> dict[str, Any] | None:
        status, run = client.call("GET", f"/runs/{run_id}")
        assert status == 200 and run["id"] == run_id  # its own reply
        return run if run["status"] in statuses else None

    return check


def one_at_a_time(client: Client, workspace_id: str, runs: list[dict[str, Any]]) -> None:
    """The queued runs ran one after the other, each starting only once the one before had
    ended. Runs sent at the same moment by different clients leave the queue in the order
    their records were written, which can differ from their ``created_at`` order by the
    milliseconds between a request's stamp and its write (docs/architecture.md, the queue);
    runs sent one after another run in the order sent
    (test_run_pipeline.py::test_runs_on_one_workspace_run_one_after_the_other)."""
    status, listing = client.call("GET", f"/workspaces/{workspace_id}/runs")
    assert status == 200
    assert sorted(run["id"] for run in listing["items"]) == sorted(run["id"] for run in runs)
    spans = sorted(_span(run) for run in runs)
    for (_, ended), (started, _) in pairwise(spans):
        assert ended <= started, spans


def _span(run: dict[str, Any]) -> tuple[str, str]:
    """When the run left the queue (fetching) and when it ended."""
    stamps = run["status_timestamps"]
    return stamps["fetching"], stamps[run["status"]]
