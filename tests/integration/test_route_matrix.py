"""Every route, its success and each error class that applies to it, in one table.

Each row runs against a fresh world: workspaces ``main`` (with variable ``v``) and ``other``
(named ``taken``), and admin, write, read and limited (to ``other``) tokens. Detailed
behaviour lives in the per-domain test files; this table proves the coverage.
"""

from dataclasses import dataclass
from typing import Any

import pytest

from iacp.tokens.models import Role
from tests.conftest import ApiClient, assert_error, mint
from tests.runs_support import (
    applied_run,
    machinery_for,
    planned_run,
    started,
    upload_configuration,
)


@dataclass
class World:
    clients: dict[str, ApiClient]
    ids: dict[str, str]


RUN_PATHS = ("{cv}", "{run}", "{planned}", "{running}", "/runs", "configuration-versions", "state")


@pytest.fixture
def world(aws, gateway, request: pytest.FixtureRequest) -> World:
    case = getattr(request.node, "callspec", None) and request.node.callspec.params["case"]
    needs_runs = case is None or any(part in CASES[case][2] for part in RUN_PATHS)
    admin = ApiClient(gateway, mint(aws, Role.ADMIN))
    main = admin.post("/workspaces", {"name": "main"}).json()["id"]
    other = admin.post("/workspaces", {"name": "taken"}).json()["id"]
    variable = admin.post(
        f"/workspaces/{main}/vars", {"key": "v", "value": "1", "category": "terraform"}
    ).json()["id"]
    admin.post(f"/workspaces/{main}/vars", {"key": "w", "value": "2", "category": "terraform"})
    spare_token = admin.post("/tokens", {"role": "read"}).json()["id"]
    runs = {}
    if needs_runs:  # runs in each state the run actions care about, each in its workspace
        runs["cv"] = upload_configuration(admin, aws, main)
        runs["run"] = applied_run(aws, admin, main)
        confirmable = admin.post("/workspaces", {"name": "confirmable"}).json()["id"]
        upload_configuration(admin, aws, confirmable)
        runs["planned"] = planned_run(aws, admin, confirmable)
        busy = admin.post("/workspaces", {"name": "busy"}).json()["id"]
        upload_configuration(admin, aws, busy)
        runs["running"] = admin.post(f"/workspaces/{busy}/runs", {}).json()["id"]
        started(machinery_for(aws), runs["running"])
    clients = {
        "admin": admin,
        "writer": ApiClient(gateway, mint(aws, Role.WRITE)),
        "reader": ApiClient(gateway, mint(aws, Role.READ)),
        "limited": ApiClient(gateway, mint(aws, Role.WRITE, workspaces=[other])),
        "nobody": ApiClient(gateway, None),
    }
    ids = {
        "ws": main,
        "var": variable,
        "at": spare_token,
        **runs,
        "missing_run": "run-AAAAAAAAAAAAAAAA",
        "missing_cv": "cv-AAAAAAAAAAAAAAAA",
        "missing_ws": "ws-AAAAAAAAAAAAAAAA",
        "missing_var": "var-AAAAAAAAAAAAAAAA",
        "missing_at": "at-AAAAAAAAAAAAAAAA",
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
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_route(world: World, case: str) -> None:
    who, method, path, body, setup, expected = CASES[case]
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
    }
    same_route = {"{planned}": "{run}", "{running}": "{run}"}
    covered = set()
    for _, method, path, _, _, _ in CASES.values():
        path = path.partition("?")[0]
        for name in ("missing_ws", "missing_var", "missing_at", "missing_cv", "missing_run"):
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
