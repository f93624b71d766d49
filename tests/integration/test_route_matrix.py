"""Every route, its success and each error class that applies to it, in one table.

Each row runs against a fresh world: workspaces ``main`` (with variable ``v``) and ``other``
(named ``taken``), and admin, write, read and limited (to ``other``) tokens; run task
``checks`` (verified by the reference run-task service, which keeps running) attached to
``main``, and run task ``gate``, whose service takes the verification request and then
answers every run's request with 500; VCS connections ``vcs`` (GitHub), ``gitlab_vcs``
(GitLab) and ``used_vcs`` (CodeCommit, which ``taken`` uses). Each world is built once and a
copy of it restored (moto's backends) for every row. Detailed behaviour lives in the
per-domain test files; this table proves the coverage.
"""

import socket
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest

from examples.runtask_service import RunTaskService
from iacp.principal import Role
from local.template import Provisioned
from tests.conftest import ApiClient, assert_error, mint
from tests.moto_snapshot import BackendSnapshot
from tests.runs_support import (
    applied_run,
    machinery_for,
    planned_run,
    started,
    upload_configuration,
)
from tests.runtasks_support import CapturingService, capturing_service, gated_run


@dataclass
class World:
    clients: dict[str, ApiClient]
    ids: dict[str, str]


@dataclass
class SavedWorld:
    """A world as built, restored for each row: building one costs a second of requests."""

    backends: BackendSnapshot
    tokens: dict[str, str | None]
    ids: dict[str, str]

    def restore(self, gateway: Any) -> World:
        self.backends.restore()
        clients = {who: ApiClient(gateway, token) for who, token in self.tokens.items()}
        return World(clients, self.ids)


@dataclass
class WorldServices:
    """What a world's run tasks call; they outlive the rows, as the saved worlds name them."""

    service: RunTaskService
    broken: CapturingService
    dead: socket.socket


RUN_PATHS = (
    "{cv}",
    "{run}",
    "{planned}",
    "{running}",
    "{gated}",
    "{result}",
    "/runs",
    "configuration-versions",
    "state",
    "sync-resources",  # needs a state to index
)


@pytest.fixture(scope="module")
def services() -> Iterator[WorldServices]:
    with ExitStack() as stack:
        dead = stack.enter_context(socket.socket())
        dead.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        yield WorldServices(
            service=stack.enter_context(RunTaskService()),
            broken=stack.enter_context(capturing_service()),
            dead=dead,
        )


@pytest.fixture(scope="module")
def saved_worlds() -> dict[bool, SavedWorld]:
    """The two worlds (with runs and without), each built by the first row that needs it."""
    return {}


@pytest.fixture
def world(
    aws: Provisioned,
    gateway: Any,
    services: WorldServices,
    saved_worlds: dict[bool, SavedWorld],
    request: pytest.FixtureRequest,
) -> World:
    case = getattr(request.node, "callspec", None) and request.node.callspec.params["case"]
    needs_runs = case is None or any(part in CASES[case][2] for part in RUN_PATHS)
    if needs_runs not in saved_worlds:
        built = build_world(aws, gateway, services, needs_runs)
        tokens = {who: client.token for who, client in built.clients.items()}
        saved_worlds[needs_runs] = SavedWorld(BackendSnapshot(), tokens, built.ids)
    return saved_worlds[needs_runs].restore(gateway)


def build_world(aws: Provisioned, gateway: Any, services: WorldServices, needs_runs: bool) -> World:
    admin = ApiClient(gateway, mint(aws, Role.ADMIN))
    main = admin.post("/workspaces", {"name": "main"}).json()["id"]
    other = admin.post("/workspaces", {"name": "taken"}).json()["id"]
    variable = admin.post(
        f"/workspaces/{main}/vars", {"key": "v", "value": "1", "category": "terraform"}
    ).json()["id"]
    admin.post(f"/workspaces/{main}/vars", {"key": "w", "value": "2", "category": "terraform"})
    spare_token = admin.post("/tokens", {"role": "read"}).json()["id"]
    vcs = admin.post("/vcs-connections", NEW_VCS).json()["id"]
    used_vcs = admin.post("/vcs-connections", {"provider": "codecommit"}).json()["id"]
    gitlab_vcs = admin.post("/vcs-connections", NEW_VCS | {"provider": "gitlab"}).json()["id"]
    admin.patch(
        f"/workspaces/{other}",
        {"vcs": {"connection_id": used_vcs, "repository": "infra", "branch": "main"}},
    )
    service, broken, dead = services.service, services.broken, services.dead
    # It answers the verification request, then (once the task exists) fails every run's
    # request with HTTP 500; it records them: their access token is the result's.
    broken.status, broken.requests[:] = 200, []
    task = admin.post("/run-tasks", {"name": "checks", "url": service.url}).json()["id"]
    gate = admin.post("/run-tasks", {"name": "gate", "url": broken.url}).json()["id"]
    broken.status = 500
    nc = admin.post(
        f"/workspaces/{main}/notification-configurations",
        {"name": "hook", "destination_type": "generic", "url": "https://hooks.example.com/x"},
    ).json()["id"]
    attachment = admin.post(
        f"/workspaces/{main}/run-tasks",
        {"run_task_id": task, "stages": ["post_plan"], "enforcement_level": "advisory"},
    ).json()["id"]
    runs = {}
    result_token = None
    if needs_runs:  # runs in each state the run actions care about, each in its workspace
        runs["cv"] = upload_configuration(admin, aws, main)
        runs["run"] = applied_run(aws, admin, main)
        runs["sv"] = admin.get(f"/workspaces/{main}/current-state-version").json()["id"]
        confirmable = admin.post("/workspaces", {"name": "confirmable"}).json()["id"]
        upload_configuration(admin, aws, confirmable)
        runs["planned"] = planned_run(aws, admin, confirmable)
        busy = admin.post("/workspaces", {"name": "busy"}).json()["id"]
        upload_configuration(admin, aws, busy)
        runs["running"] = admin.post(f"/workspaces/{busy}/runs", {}).json()["id"]
        started(machinery_for(aws), runs["running"])
        runs["gated"], runs["result"] = gated_run(aws, admin, gate)
        # The service received the result's access token; the result is final (errored),
        # so the token is dead.
        [request] = [r.json() for r in broken.webhooks if r.json()["stage"] == "pre_plan"]
        result_token = request["access_token"]
    clients = {
        "admin": admin,
        "writer": ApiClient(gateway, mint(aws, Role.WRITE)),
        "reader": ApiClient(gateway, mint(aws, Role.READ)),
        "limited": ApiClient(gateway, mint(aws, Role.WRITE, workspaces=[other])),
        "nobody": ApiClient(gateway, None),
        "result_token": ApiClient(gateway, result_token),
    }
    ids = {
        "ws": main,
        "other": other,
        "var": variable,
        "at": spare_token,
        "vcs": vcs,
        "used_vcs": used_vcs,
        "gitlab_vcs": gitlab_vcs,
        "nc": nc,
        "task": task,
        "gate_task": gate,
        "wstask": attachment,
        "service": service.url,
        "dead_url": f"http://127.0.0.1:{dead.getsockname()[1]}/",
        **runs,
        "missing_run": "run-AAAAAAAAAAAAAAAA",
        "missing_cv": "cv-AAAAAAAAAAAAAAAA",
        "missing_ws": "ws-AAAAAAAAAAAAAAAA",
        "missing_var": "var-AAAAAAAAAAAAAAAA",
        "missing_at": "at-AAAAAAAAAAAAAAAA",
        "missing_task": "task-AAAAAAAAAAAAAAAA",
        "missing_wstask": "wstask-AAAAAAAAAAAAAAAA",
        "missing_result": "taskrs-AAAAAAAAAAAAAAAA",
        "missing_vcs": "vcs-AAAAAAAAAAAAAAAA",
        "missing_nc": "nc-AAAAAAAAAAAAAAAA",
        "missing_sv": "sv-AAAAAAAAAAAAAAAA",
    }
    return World(clients, ids)


WS = "/workspaces/{ws}"
VAR = "/workspaces/{ws}/vars/{var}"
LOCK = "/workspaces/{ws}/actions/lock"
UNLOCK = "/workspaces/{ws}/actions/unlock"
FORCE = "/workspaces/{ws}/actions/force-unlock"
VARS = "/workspaces/{ws}/vars"
GOOD_VAR = {"key": "new", "value": "x", "category": "env"}
CVS = "/workspaces/{ws}/configuration-versions"
RUNS = "/workspaces/{ws}/runs"
RUN = "/runs/{run}"
MISSING_RUN = "/runs/{missing_run}"
TASK = "/run-tasks/{task}"
MISSING_TASK = "/run-tasks/{missing_task}"
NEW_TASK = {"name": "fresh", "url": "{service}"}
WS_TASKS = "/workspaces/{ws}/run-tasks"
WS_TASK = "/workspaces/{ws}/run-tasks/{wstask}"
ATTACH_GATE = {
    "run_task_id": "{gate_task}",
    "stages": ["pre_plan"],
    "enforcement_level": "advisory",
}
OVERRIDE = "/runs/{gated}/actions/override-tasks"
RESULT = "/run-task-results/{result}"
VCS = "/vcs-connections/{vcs}"
MISSING_VCS = "/vcs-connections/{missing_vcs}"
NEW_VCS = {"provider": "github", "webhook_secret": "sixteen-or-more-chars"}
WEBHOOK = "/webhooks/github/{vcs}"
GITLAB_WEBHOOK = "/webhooks/gitlab/{gitlab_vcs}"
NCS = "/workspaces/{ws}/notification-configurations"
NC = "/notification-configurations/{nc}"
MISSING_NC = "/notification-configurations/{missing_nc}"
NEW_NC = {"name": "n", "destination_type": "slack", "url": "https://hooks.example.com/y"}
SVS = "/workspaces/{ws}/state-versions"
SV = "/state-versions/{sv}"
ROLLBACK = {"rollback_to": "{sv}"}
PASSED = {"data": {"type": "task-results", "attributes": {"status": "passed"}}}

# (who, method, path, body, setup, expected status); setup runs as admin before the call.
CASES: dict[str, tuple[str, str, str, Any, tuple[str, str] | None, int]] = {
    # POST /workspaces
    "create-ws ok": ("writer", "POST", "/workspaces", {"name": "fresh"}, None, 201),
    "create-ws 401": ("nobody", "POST", "/workspaces", {"name": "fresh"}, None, 401),
    "create-ws 403": ("reader", "POST", "/workspaces", {"name": "fresh"}, None, 403),
    "create-ws 409": ("writer", "POST", "/workspaces", {"name": "TAKEN"}, None, 409),
    "create-ws 422": ("writer", "POST", "/workspaces", {"name": "no spaces"}, None, 422),
    # GET /workspaces
    "list-ws ok": ("reader", "GET", "/workspaces", None, None, 200),
    "list-ws 401": ("nobody", "GET", "/workspaces", None, None, 401),
    "list-ws 422": ("reader", "GET", "/workspaces?limit=0", None, None, 422),
    # GET /workspaces/{ws}
    "show-ws ok": ("reader", "GET", WS, None, None, 200),
    "show-ws 401": ("nobody", "GET", WS, None, None, 401),
    "show-ws 403": ("limited", "GET", WS, None, None, 403),
    "show-ws 404": ("reader", "GET", "/workspaces/{missing_ws}", None, None, 404),
    # PATCH /workspaces/{ws}
    "update-ws ok": ("writer", "PATCH", WS, {"description": "d"}, None, 200),
    "update-ws 401": ("nobody", "PATCH", WS, {"description": "d"}, None, 401),
    "update-ws 403": ("reader", "PATCH", WS, {"description": "d"}, None, 403),
    "update-ws 404": (
        "writer",
        "PATCH",
        "/workspaces/{missing_ws}",
        {"description": "d"},
        None,
        404,
    ),
    "update-ws 409": ("writer", "PATCH", WS, {"name": "taken"}, None, 409),
    "update-ws 422": ("writer", "PATCH", WS, {"auto_apply": "sometimes"}, None, 422),
    # DELETE /workspaces/{ws}
    "delete-ws ok": ("writer", "DELETE", WS, None, None, 204),
    "delete-ws 401": ("nobody", "DELETE", WS, None, None, 401),
    "delete-ws 403": ("limited", "DELETE", WS, None, None, 403),
    "delete-ws 404": ("writer", "DELETE", "/workspaces/{missing_ws}", None, None, 404),
    "delete-ws 409": ("writer", "DELETE", WS, None, ("POST", LOCK), 409),
    # POST .../actions/lock
    "lock ok": ("writer", "POST", LOCK, {"reason": "r"}, None, 200),
    "lock 401": ("nobody", "POST", LOCK, {}, None, 401),
    "lock 403": ("reader", "POST", LOCK, {}, None, 403),
    "lock 404": ("writer", "POST", "/workspaces/{missing_ws}/actions/lock", {}, None, 404),
    "lock 409": ("writer", "POST", LOCK, {}, ("POST", LOCK), 409),
    "lock 422": ("writer", "POST", LOCK, {"reason": ["r"]}, None, 422),
    # POST .../actions/unlock
    "unlock ok": ("admin", "POST", UNLOCK, None, ("POST", LOCK), 200),
    "unlock 401": ("nobody", "POST", UNLOCK, None, ("POST", LOCK), 401),
    "unlock 403": ("reader", "POST", UNLOCK, None, ("POST", LOCK), 403),
    "unlock 404": ("writer", "POST", "/workspaces/{missing_ws}/actions/unlock", None, None, 404),
    "unlock 409": ("writer", "POST", UNLOCK, None, ("POST", LOCK), 409),
    # POST .../actions/force-unlock
    "force-unlock ok": ("admin", "POST", FORCE, None, ("POST", LOCK), 200),
    "force-unlock 401": ("nobody", "POST", FORCE, None, ("POST", LOCK), 401),
    "force-unlock 403": ("writer", "POST", FORCE, None, ("POST", LOCK), 403),
    "force-unlock 404": (
        "admin",
        "POST",
        "/workspaces/{missing_ws}/actions/force-unlock",
        None,
        None,
        404,
    ),
    "force-unlock 409": ("admin", "POST", FORCE, None, None, 409),
    # GET .../vars
    "list-vars ok": ("reader", "GET", VARS, None, None, 200),
    "list-vars 401": ("nobody", "GET", VARS, None, None, 401),
    "list-vars 403": ("limited", "GET", VARS, None, None, 403),
    "list-vars 404": ("reader", "GET", "/workspaces/{missing_ws}/vars", None, None, 404),
    "list-vars 422": ("reader", "GET", VARS + "?cursor=nonsense", None, None, 422),
    # POST .../vars
    "create-var ok": ("writer", "POST", VARS, GOOD_VAR, None, 201),
    "create-var 401": ("nobody", "POST", VARS, GOOD_VAR, None, 401),
    "create-var 403": ("reader", "POST", VARS, GOOD_VAR, None, 403),
    "create-var 404": ("writer", "POST", "/workspaces/{missing_ws}/vars", GOOD_VAR, None, 404),
    "create-var 409": ("writer", "POST", VARS, {"key": "v", "category": "terraform"}, None, 409),
    "create-var 422": ("writer", "POST", VARS, {"key": "v"}, None, 422),
    # PATCH .../vars/{var}
    "update-var ok": ("writer", "PATCH", VAR, {"value": "2"}, None, 200),
    "update-var 401": ("nobody", "PATCH", VAR, {"value": "2"}, None, 401),
    "update-var 403": ("reader", "PATCH", VAR, {"value": "2"}, None, 403),
    "update-var 404": ("writer", "PATCH", VARS + "/{missing_var}", {"value": "2"}, None, 404),
    "update-var 409": ("writer", "PATCH", VAR, {"key": "w"}, None, 409),
    "update-var 422": ("writer", "PATCH", VAR, {"hcl": "yes"}, None, 422),
    # DELETE .../vars/{var}
    "delete-var ok": ("writer", "DELETE", VAR, None, None, 204),
    "delete-var 401": ("nobody", "DELETE", VAR, None, None, 401),
    "delete-var 403": ("reader", "DELETE", VAR, None, None, 403),
    "delete-var 404": ("writer", "DELETE", VARS + "/{missing_var}", None, None, 404),
    # POST /tokens
    "create-token ok": ("admin", "POST", "/tokens", {"role": "read"}, None, 201),
    "create-token 401": ("nobody", "POST", "/tokens", {"role": "read"}, None, 401),
    "create-token 403": ("writer", "POST", "/tokens", {"role": "read"}, None, 403),
    "create-token 422": ("admin", "POST", "/tokens", {"role": "owner"}, None, 422),
    # GET /tokens
    "list-tokens ok": ("admin", "GET", "/tokens", None, None, 200),
    "list-tokens 401": ("nobody", "GET", "/tokens", None, None, 401),
    "list-tokens 403": ("reader", "GET", "/tokens", None, None, 403),
    "list-tokens 422": ("admin", "GET", "/tokens?limit=1000", None, None, 422),
    # DELETE /tokens/{at}
    "revoke-token ok": ("admin", "DELETE", "/tokens/{at}", None, None, 204),
    "revoke-token 401": ("nobody", "DELETE", "/tokens/{at}", None, None, 401),
    "revoke-token 403": ("writer", "DELETE", "/tokens/{at}", None, None, 403),
    "revoke-token 404": ("admin", "DELETE", "/tokens/{missing_at}", None, None, 404),
    # GET /account: any token, even one limited to other workspaces
    "account ok": ("reader", "GET", "/account", None, None, 200),
    "account limited ok": ("limited", "GET", "/account", None, None, 200),
    "account 401": ("nobody", "GET", "/account", None, None, 401),
    # POST .../configuration-versions
    "create-cv ok": ("writer", "POST", CVS, {}, None, 201),
    "create-cv 401": ("nobody", "POST", CVS, {}, None, 401),
    "create-cv 403": ("reader", "POST", CVS, {}, None, 403),
    "create-cv 404": (
        "writer",
        "POST",
        "/workspaces/{missing_ws}/configuration-versions",
        {},
        None,
        404,
    ),
    "create-cv 422": ("writer", "POST", CVS, {"speculative": True}, None, 422),
    # GET .../configuration-versions/{cv}
    "show-cv ok": ("reader", "GET", CVS + "/{cv}", None, None, 200),
    "show-cv 401": ("nobody", "GET", CVS + "/{cv}", None, None, 401),
    "show-cv 403": ("limited", "GET", CVS + "/{cv}", None, None, 403),
    "show-cv 404": ("reader", "GET", CVS + "/{missing_cv}", None, None, 404),
    # POST .../runs
    "create-run ok": ("writer", "POST", RUNS, {}, None, 201),
    "create-run 401": ("nobody", "POST", RUNS, {}, None, 401),
    "create-run 403": ("reader", "POST", RUNS, {}, None, 403),
    "create-run 404": ("writer", "POST", "/workspaces/{missing_ws}/runs", {}, None, 404),
    "create-run 422": ("writer", "POST", RUNS, {"operation": "destroy"}, None, 422),
    # GET .../runs
    "list-runs ok": ("reader", "GET", RUNS, None, None, 200),
    "list-runs 401": ("nobody", "GET", RUNS, None, None, 401),
    "list-runs 403": ("limited", "GET", RUNS, None, None, 403),
    "list-runs 404": ("reader", "GET", "/workspaces/{missing_ws}/runs", None, None, 404),
    "list-runs 422": ("reader", "GET", RUNS + "?limit=0", None, None, 422),
    # GET /runs/{run}
    "show-run ok": ("reader", "GET", RUN, None, None, 200),
    "show-run 401": ("nobody", "GET", RUN, None, None, 401),
    "show-run 403": ("limited", "GET", RUN, None, None, 403),
    "show-run 404": ("reader", "GET", MISSING_RUN, None, None, 404),
    # POST /runs/{run}/actions/apply and discard: only a planned run
    "apply-run ok": ("writer", "POST", "/runs/{planned}/actions/apply", {}, None, 202),
    "apply-run 401": ("nobody", "POST", "/runs/{planned}/actions/apply", {}, None, 401),
    "apply-run 403": ("reader", "POST", "/runs/{planned}/actions/apply", {}, None, 403),
    "apply-run 404": ("writer", "POST", MISSING_RUN + "/actions/apply", {}, None, 404),
    "apply-run 409": ("writer", "POST", RUN + "/actions/apply", {}, None, 409),
    "apply-run 422": ("writer", "POST", "/runs/{planned}/actions/apply", {"comment": 1}, None, 422),
    "discard-run ok": ("writer", "POST", "/runs/{planned}/actions/discard", {}, None, 202),
    "discard-run 401": ("nobody", "POST", "/runs/{planned}/actions/discard", {}, None, 401),
    "discard-run 403": ("reader", "POST", "/runs/{planned}/actions/discard", {}, None, 403),
    "discard-run 404": ("writer", "POST", MISSING_RUN + "/actions/discard", {}, None, 404),
    "discard-run 409": ("writer", "POST", RUN + "/actions/discard", {}, None, 409),
    "discard-run 422": ("writer", "POST", "/runs/{planned}/actions/discard", {"x": 1}, None, 422),
    # POST /runs/{run}/actions/cancel and force-cancel
    "cancel-run ok": ("writer", "POST", "/runs/{running}/actions/cancel", {}, None, 202),
    "cancel-run 401": ("nobody", "POST", "/runs/{running}/actions/cancel", {}, None, 401),
    "cancel-run 403": ("reader", "POST", "/runs/{running}/actions/cancel", {}, None, 403),
    "cancel-run 404": ("writer", "POST", MISSING_RUN + "/actions/cancel", {}, None, 404),
    "cancel-run 409": ("writer", "POST", RUN + "/actions/cancel", {}, None, 409),
    "cancel-run 422": ("writer", "POST", "/runs/{running}/actions/cancel", {"x": 1}, None, 422),
    "force-cancel ok": (
        "writer",
        "POST",
        "/runs/{running}/actions/force-cancel",
        {},
        ("POST", "/runs/{running}/actions/cancel"),
        202,
    ),
    "force-cancel 401": ("nobody", "POST", "/runs/{running}/actions/force-cancel", {}, None, 401),
    "force-cancel 403": ("reader", "POST", "/runs/{running}/actions/force-cancel", {}, None, 403),
    "force-cancel 404": ("writer", "POST", MISSING_RUN + "/actions/force-cancel", {}, None, 404),
    "force-cancel 409": ("writer", "POST", "/runs/{running}/actions/force-cancel", {}, None, 409),
    "force-cancel 422": (
        "writer",
        "POST",
        "/runs/{running}/actions/force-cancel",
        {"x": 1},
        None,
        422,
    ),
    # GET /runs/{run}/logs and plan-json
    "logs ok": ("reader", "GET", RUN + "/logs", None, None, 200),
    "logs 401": ("nobody", "GET", RUN + "/logs", None, None, 401),
    "logs 403": ("limited", "GET", RUN + "/logs", None, None, 403),
    "logs 404": ("reader", "GET", MISSING_RUN + "/logs", None, None, 404),
    "logs 422": ("reader", "GET", RUN + "/logs?phase=destroy", None, None, 422),
    "plan-json ok": ("reader", "GET", RUN + "/plan-json", None, None, 200),
    "plan-json 401": ("nobody", "GET", RUN + "/plan-json", None, None, 401),
    "plan-json 403": ("limited", "GET", RUN + "/plan-json", None, None, 403),
    "plan-json 404": ("reader", "GET", MISSING_RUN + "/plan-json", None, None, 404),
    # GET .../current-state-version
    "state ok": ("reader", "GET", "/workspaces/{ws}/current-state-version", None, None, 200),
    "state 401": ("nobody", "GET", "/workspaces/{ws}/current-state-version", None, None, 401),
    "state 403": ("limited", "GET", "/workspaces/{ws}/current-state-version", None, None, 403),
    "state 404": (
        "reader",
        "GET",
        "/workspaces/{missing_ws}/current-state-version",
        None,
        None,
        404,
    ),
    # GET and POST (a rollback) .../state-versions; GET /state-versions/{sv} and its outputs
    "list-sv ok": ("reader", "GET", SVS, None, None, 200),
    "list-sv 401": ("nobody", "GET", SVS, None, None, 401),
    "list-sv 403": ("limited", "GET", SVS, None, None, 403),
    "list-sv 404": ("reader", "GET", "/workspaces/{missing_ws}/state-versions", None, None, 404),
    "list-sv 422": ("reader", "GET", SVS + "?limit=0", None, None, 422),
    "rollback ok": ("writer", "POST", SVS, ROLLBACK, None, 201),
    "rollback 401": ("nobody", "POST", SVS, ROLLBACK, None, 401),
    "rollback 403": ("reader", "POST", SVS, ROLLBACK, None, 403),
    "rollback 404": ("writer", "POST", SVS, {"rollback_to": "{missing_sv}"}, None, 404),
    "rollback 409": ("writer", "POST", SVS, ROLLBACK, ("POST", LOCK), 409),
    "rollback 422": ("writer", "POST", SVS, {"rollback_to": "{run}"}, None, 422),
    "show-sv ok": ("reader", "GET", SV, None, None, 200),
    "show-sv 401": ("nobody", "GET", SV, None, None, 401),
    "show-sv 404": ("reader", "GET", "/state-versions/{missing_sv}", None, None, 404),
    "show-sv 404 not its workspace": ("limited", "GET", SV, None, None, 404),
    "sv-outputs ok": ("reader", "GET", SV + "/outputs", None, None, 200),
    "sv-outputs 401": ("nobody", "GET", SV + "/outputs", None, None, 401),
    "sv-outputs 404": ("reader", "GET", "/state-versions/{missing_sv}/outputs", None, None, 404),
    "sv-outputs 404 not its workspace": ("limited", "GET", SV + "/outputs", None, None, 404),
    # POST /run-tasks: verified by the reference service first
    "create-task ok": ("admin", "POST", "/run-tasks", NEW_TASK, None, 201),
    "create-task 401": ("nobody", "POST", "/run-tasks", NEW_TASK, None, 401),
    "create-task 403": ("writer", "POST", "/run-tasks", NEW_TASK, None, 403),
    "create-task 409": (
        "admin",
        "POST",
        "/run-tasks",
        {"name": "CHECKS", "url": "{service}"},
        None,
        409,
    ),
    "create-task 422": (
        "admin",
        "POST",
        "/run-tasks",
        NEW_TASK | {"timeout_seconds": 601},
        None,
        422,
    ),
    "create-task 422 unverified": (
        "admin",
        "POST",
        "/run-tasks",
        {"name": "fresh", "url": "{dead_url}"},
        None,
        422,
    ),
    # GET /run-tasks
    "list-tasks ok": ("reader", "GET", "/run-tasks", None, None, 200),
    "list-tasks 401": ("nobody", "GET", "/run-tasks", None, None, 401),
    "list-tasks 422": ("reader", "GET", "/run-tasks?limit=0", None, None, 422),
    # GET /run-tasks/{task}
    "show-task ok": ("reader", "GET", TASK, None, None, 200),
    "show-task 401": ("nobody", "GET", TASK, None, None, 401),
    "show-task 404": ("reader", "GET", MISSING_TASK, None, None, 404),
    # PATCH /run-tasks/{task}
    "update-task ok": ("admin", "PATCH", TASK, {"description": "d"}, None, 200),
    "update-task ok new url": ("admin", "PATCH", TASK, {"url": "{service}new"}, None, 200),
    "update-task 401": ("nobody", "PATCH", TASK, {"description": "d"}, None, 401),
    "update-task 403": ("writer", "PATCH", TASK, {"description": "d"}, None, 403),
    "update-task 404": ("admin", "PATCH", MISSING_TASK, {"description": "d"}, None, 404),
    "update-task 409": ("admin", "PATCH", TASK, {"name": "Gate"}, None, 409),
    "update-task 422": ("admin", "PATCH", TASK, {"enabled": None}, None, 422),
    "update-task 422 unverified": ("admin", "PATCH", TASK, {"url": "{dead_url}"}, None, 422),
    # DELETE /run-tasks/{task}
    "delete-task ok": ("admin", "DELETE", TASK, None, None, 204),
    "delete-task 401": ("nobody", "DELETE", TASK, None, None, 401),
    "delete-task 403": ("writer", "DELETE", TASK, None, None, 403),
    "delete-task 404": ("admin", "DELETE", MISSING_TASK, None, None, 404),
    # POST /workspaces/{ws}/run-tasks
    "attach-task ok": ("admin", "POST", WS_TASKS, ATTACH_GATE, None, 201),
    "attach-task 401": ("nobody", "POST", WS_TASKS, ATTACH_GATE, None, 401),
    "attach-task 403": ("writer", "POST", WS_TASKS, ATTACH_GATE, None, 403),
    "attach-task 404": (
        "admin",
        "POST",
        "/workspaces/{missing_ws}/run-tasks",
        ATTACH_GATE,
        None,
        404,
    ),
    "attach-task 409": (
        "admin",
        "POST",
        WS_TASKS,
        ATTACH_GATE | {"run_task_id": "{task}"},
        None,
        409,
    ),
    "attach-task 422": (
        "admin",
        "POST",
        WS_TASKS,
        ATTACH_GATE | {"run_task_id": "{missing_task}"},
        None,
        422,
    ),
    # GET /workspaces/{ws}/run-tasks
    "list-ws-tasks ok": ("reader", "GET", WS_TASKS, None, None, 200),
    "list-ws-tasks 401": ("nobody", "GET", WS_TASKS, None, None, 401),
    "list-ws-tasks 403": ("limited", "GET", WS_TASKS, None, None, 403),
    "list-ws-tasks 404": ("reader", "GET", "/workspaces/{missing_ws}/run-tasks", None, None, 404),
    # PATCH and DELETE /workspaces/{ws}/run-tasks/{wstask}
    "update-ws-task ok": ("admin", "PATCH", WS_TASK, {"stages": ["pre_plan"]}, None, 200),
    "update-ws-task 401": ("nobody", "PATCH", WS_TASK, {"stages": ["pre_plan"]}, None, 401),
    "update-ws-task 403": ("writer", "PATCH", WS_TASK, {"stages": ["pre_plan"]}, None, 403),
    "update-ws-task 404": (
        "admin",
        "PATCH",
        WS_TASKS + "/{missing_wstask}",
        {"stages": ["pre_plan"]},
        None,
        404,
    ),
    "update-ws-task 422": ("admin", "PATCH", WS_TASK, {"stages": []}, None, 422),
    "detach-task ok": ("admin", "DELETE", WS_TASK, None, None, 204),
    "detach-task 401": ("nobody", "DELETE", WS_TASK, None, None, 401),
    "detach-task 403": ("writer", "DELETE", WS_TASK, None, None, 403),
    "detach-task 404": ("admin", "DELETE", WS_TASKS + "/{missing_wstask}", None, None, 404),
    # POST /runs/{run}/actions/override-tasks: only a run stopped at a task stage; a failed
    # mandatory task needs an admin
    "override ok": ("admin", "POST", OVERRIDE, {"comment": "known issue"}, None, 202),
    "override 401": ("nobody", "POST", OVERRIDE, {}, None, 401),
    "override 403": ("writer", "POST", OVERRIDE, {}, None, 403),
    "override 403 reader": ("reader", "POST", OVERRIDE, {}, None, 403),
    "override 404": ("admin", "POST", MISSING_RUN + "/actions/override-tasks", {}, None, 404),
    "override 409": ("admin", "POST", RUN + "/actions/override-tasks", {}, None, 409),
    "override 409 twice": ("admin", "POST", OVERRIDE, {}, ("POST", OVERRIDE), 409),
    "override 422": ("admin", "POST", OVERRIDE, {"comment": 1}, None, 422),
    # GET /runs/{run}/task-results
    "task-results ok": ("reader", "GET", "/runs/{gated}/task-results", None, None, 200),
    "task-results 401": ("nobody", "GET", "/runs/{gated}/task-results", None, None, 401),
    "task-results 403": ("limited", "GET", "/runs/{gated}/task-results", None, None, 403),
    "task-results 404": ("reader", "GET", MISSING_RUN + "/task-results", None, None, 404),
    # The run-task services' routes: public, or the result's access token, never an API
    # token. The successes with a live token are in test_run_task_callbacks.py.
    "public-result ok": ("nobody", "GET", RESULT, None, None, 200),
    "public-result 404": ("nobody", "GET", "/run-task-results/{missing_result}", None, None, 404),
    "callback 401": ("nobody", "PATCH", RESULT + "/callback", PASSED, None, 401),
    "callback 401 api token": ("admin", "PATCH", RESULT + "/callback", PASSED, None, 401),
    "callback 410": ("result_token", "PATCH", RESULT + "/callback", PASSED, None, 410),
    "callback-post 401": ("nobody", "POST", RESULT + "/callback", PASSED, None, 401),
    "callback-post 410": ("result_token", "POST", RESULT + "/callback", PASSED, None, 410),
    "result-plan-json 401": ("nobody", "GET", RESULT + "/plan-json", None, None, 401),
    "result-plan-json 401 api token": ("admin", "GET", RESULT + "/plan-json", None, None, 401),
    "result-plan-json 410": ("result_token", "GET", RESULT + "/plan-json", None, None, 410),
    "result-changes 401": ("nobody", "GET", RESULT + "/resource-changes", None, None, 401),
    "result-changes 410": ("result_token", "GET", RESULT + "/resource-changes", None, None, 410),
    "result-config 401": ("nobody", "GET", RESULT + "/configuration-version", None, None, 401),
    "result-config 410": (
        "result_token",
        "GET",
        RESULT + "/configuration-version",
        None,
        None,
        410,
    ),
}


CASES |= {
    # VCS connections: admins manage them, any role reads them
    "create-vcs ok": ("admin", "POST", "/vcs-connections", NEW_VCS, None, 201),
    "create-vcs 401": ("nobody", "POST", "/vcs-connections", NEW_VCS, None, 401),
    "create-vcs 403": ("writer", "POST", "/vcs-connections", NEW_VCS, None, 403),
    "create-vcs 422": ("admin", "POST", "/vcs-connections", {"provider": "svn"}, None, 422),
    "list-vcs ok": ("reader", "GET", "/vcs-connections", None, None, 200),
    "list-vcs 401": ("nobody", "GET", "/vcs-connections", None, None, 401),
    "list-vcs 422": ("reader", "GET", "/vcs-connections?limit=0", None, None, 422),
    "get-vcs ok": ("reader", "GET", VCS, None, None, 200),
    "get-vcs 401": ("nobody", "GET", VCS, None, None, 401),
    "get-vcs 404": ("reader", "GET", MISSING_VCS, None, None, 404),
    "delete-vcs ok": ("admin", "DELETE", VCS, None, None, 204),
    "delete-vcs 401": ("nobody", "DELETE", VCS, None, None, 401),
    "delete-vcs 403": ("writer", "DELETE", VCS, None, None, 403),
    "delete-vcs 404": ("admin", "DELETE", MISSING_VCS, None, None, 404),
    "delete-vcs 409": ("admin", "DELETE", "/vcs-connections/{used_vcs}", None, None, 409),
    # The resource inventory: read access; a limited token sees only its workspaces
    "list-resources ok": ("reader", "GET", WS + "/resources", None, None, 200),
    "list-resources 401": ("nobody", "GET", WS + "/resources", None, None, 401),
    "list-resources 403": ("limited", "GET", WS + "/resources", None, None, 403),
    "list-resources 404": ("reader", "GET", "/workspaces/{missing_ws}/resources", None, None, 404),
    "list-resources 422": ("reader", "GET", WS + "/resources?limit=0", None, None, 422),
    # POST /workspaces/{ws}/actions/sync-resources
    "sync-resources ok": ("writer", "POST", WS + "/actions/sync-resources", None, None, 202),
    "sync-resources 401": ("nobody", "POST", WS + "/actions/sync-resources", None, None, 401),
    "sync-resources 403 role": ("reader", "POST", WS + "/actions/sync-resources", None, None, 403),
    "sync-resources 403": ("limited", "POST", WS + "/actions/sync-resources", None, None, 403),
    "sync-resources 404": (
        "writer",
        "POST",
        "/workspaces/{missing_ws}/actions/sync-resources",
        None,
        None,
        404,
    ),
    "sync-resources 409 no state": (
        "writer",
        "POST",
        "/workspaces/{other}/actions/sync-resources",
        None,
        None,
        409,
    ),
    "search-resources ok": ("limited", "GET", "/resources?type=terraform_data", None, None, 200),
    "search-resources 401": ("nobody", "GET", "/resources?type=terraform_data", None, None, 401),
    "search-resources 422": ("reader", "GET", "/resources", None, None, 422),
    # The GitHub webhook: its signature only, never an API token. Its successes, signed as
    # GitHub signs, are in test_vcs.py.
    "github-webhook 401": ("nobody", "POST", WEBHOOK, {}, None, 401),
    "github-webhook 401 api token": ("admin", "POST", WEBHOOK, {}, None, 401),
    "github-webhook 404": ("nobody", "POST", "/webhooks/github/{missing_vcs}", {}, None, 404),
    # The GitLab webhook: its secret token only (X-Gitlab-Token). Its successes: test_vcs.py.
    "gitlab-webhook 401": ("nobody", "POST", GITLAB_WEBHOOK, {}, None, 401),
    "gitlab-webhook 401 api token": ("admin", "POST", GITLAB_WEBHOOK, {}, None, 401),
    "gitlab-webhook 404": ("nobody", "POST", "/webhooks/gitlab/{missing_vcs}", {}, None, 404),
    # A GitHub connection is not a GitLab one.
    "gitlab-webhook 404 github": ("nobody", "POST", "/webhooks/gitlab/{vcs}", {}, None, 404),
}

CASES |= {
    # Notification configurations: a workspace's admins manage them, its readers read them
    "create-nc ok": ("admin", "POST", NCS, NEW_NC, None, 201),
    "create-nc 401": ("nobody", "POST", NCS, NEW_NC, None, 401),
    "create-nc 403": ("writer", "POST", NCS, NEW_NC, None, 403),
    "create-nc 404": (
        "admin",
        "POST",
        "/workspaces/{missing_ws}/notification-configurations",
        NEW_NC,
        None,
        404,
    ),
    "create-nc 422": ("admin", "POST", NCS, {"name": "n", "destination_type": "sns"}, None, 422),
    "list-nc ok": ("reader", "GET", NCS, None, None, 200),
    "list-nc 401": ("nobody", "GET", NCS, None, None, 401),
    "list-nc 403": ("limited", "GET", NCS, None, None, 403),
    "list-nc 404": (
        "reader",
        "GET",
        "/workspaces/{missing_ws}/notification-configurations",
        None,
        None,
        404,
    ),
    "list-nc 422": ("reader", "GET", NCS + "?limit=0", None, None, 422),
    "get-nc ok": ("reader", "GET", NC, None, None, 200),
    "get-nc 401": ("nobody", "GET", NC, None, None, 401),
    "get-nc 403": ("limited", "GET", NC, None, None, 403),
    "get-nc 404": ("reader", "GET", MISSING_NC, None, None, 404),
    "update-nc ok": ("admin", "PATCH", NC, {"enabled": False}, None, 200),
    "update-nc 401": ("nobody", "PATCH", NC, {"enabled": False}, None, 401),
    "update-nc 403": ("writer", "PATCH", NC, {"enabled": False}, None, 403),
    "update-nc 404": ("admin", "PATCH", MISSING_NC, {"enabled": False}, None, 404),
    "update-nc 422": ("admin", "PATCH", NC, {"enabled": None}, None, 422),
    "delete-nc ok": ("admin", "DELETE", NC, None, None, 204),
    "delete-nc 401": ("nobody", "DELETE", NC, None, None, 401),
    "delete-nc 403": ("writer", "DELETE", NC, None, None, 403),
    "delete-nc 404": ("admin", "DELETE", MISSING_NC, None, None, 404),
    # The receiver's answer is in the reply, not the status: verifying worked.
    "verify-nc ok": ("admin", "POST", NC + "/actions/verify", None, None, 200),
    "verify-nc 401": ("nobody", "POST", NC + "/actions/verify", None, None, 401),
    "verify-nc 403": ("writer", "POST", NC + "/actions/verify", None, None, 403),
    "verify-nc 404": ("admin", "POST", MISSING_NC + "/actions/verify", None, None, 404),
    "deliveries-nc ok": ("reader", "GET", NC + "/deliveries", None, None, 200),
    "deliveries-nc 401": ("nobody", "GET", NC + "/deliveries", None, None, 401),
    "deliveries-nc 404": ("reader", "GET", MISSING_NC + "/deliveries", None, None, 404),
    "deliveries-nc 422": ("reader", "GET", NC + "/deliveries?limit=0", None, None, 422),
}


def filled(body: Any, ids: dict[str, str]) -> Any:
    """The body with the world's ids in place of its ``{placeholders}``."""
    if isinstance(body, dict):
        return {key: filled(value, ids) for key, value in body.items()}
    if isinstance(body, list):
        return [filled(value, ids) for value in body]
    if isinstance(body, str) and "{" in body:
        return body.format(**ids)
    return body


@pytest.mark.parametrize("case", sorted(CASES))
def test_route(world: World, case: str) -> None:
    who, method, path, body, setup, expected = CASES[case]
    body = filled(body, world.ids)
    path, _, query_string = path.format(**world.ids).partition("?")
    query = dict(pair.split("=", 1) for pair in query_string.split("&")) if query_string else None
    if setup is not None:
        setup_method, setup_path = setup
        setup_reply = world.clients["admin"].call(setup_method, setup_path.format(**world.ids))
        assert setup_reply.status < 300, setup_reply.body

    reply = world.clients[who].call(method, path, body, query=query)

    if expected >= 400:
        assert_error(reply, expected)
    else:
        assert reply.status == expected, reply.body


def test_the_matrix_covers_every_route_of_the_openapi_document(world: World) -> None:
    document = world.clients["nobody"].get("/openapi.json").json()
    documented = {
        (method.upper(), path.removeprefix("/api/v1"))
        for path, methods in document["paths"].items()
        for method in methods
    }
    placeholders = {
        "{workspace_id}": "{ws}",
        "{variable_id}": "{var}",
        "{token_id}": "{at}",
        "{version_id}": "{cv}",
        "{run_id}": "{run}",
        "{run_task_id}": "{task}",
        "{attachment_id}": "{wstask}",
        "{result_id}": "{result}",
        "{connection_id}": "{vcs}",
        "{configuration_id}": "{nc}",
        "{state_version_id}": "{sv}",
    }
    same_route = {
        "{planned}": "{run}",
        "{running}": "{run}",
        "{gated}": "{run}",
        "{used_vcs}": "{vcs}",
        "{gitlab_vcs}": "{vcs}",
        "{other}": "{ws}",
    }
    missing = ("ws", "var", "at", "cv", "run", "task", "wstask", "result", "vcs", "nc", "sv")
    covered = set()
    for _, method, path, _, _, _ in CASES.values():
        path = path.partition("?")[0]
        for name in (f"missing_{what}" for what in missing):
            path = path.replace("{" + name + "}", "{" + name.removeprefix("missing_") + "}")
        for alias, name in same_route.items():
            path = path.replace(alias, name)
        covered.add((method, path))
    normalised = set()
    for method, path in documented:
        for documented_name, ours in placeholders.items():
            path = path.replace(documented_name, ours)
        normalised.add((method, path))
    assert normalised == covered
