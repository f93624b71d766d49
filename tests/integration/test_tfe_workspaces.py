"""TFE's workspaces through the gateway (/api/v2): what ``terraform init`` asks (read by name,
create on a 404, set the Terraform version), listing with TFE's pages and tag searches, the
permissions a token's role gives, the lock actions on iacp's own lock, and the refusals:
unknown and hidden workspaces are 404s, bad bodies 422s in TFE's error envelope."""

from typing import Any

import pytest

from iacp.principal import Role
from iacp.workspaces.service import WorkspaceService
from iacp.workspaces.store import DynamoWorkspaceStore
from tests.conftest import TFE_MEDIA_TYPE, ApiClient, mint

ORG = "/organizations/default"


def body(attributes: dict[str, Any], **relationships: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"type": "workspaces", "attributes": attributes}
    if relationships:
        data["relationships"] = relationships
    return {"data": data}


def create(client: ApiClient, name: str, **attributes: Any) -> dict[str, Any]:
    reply = client.tfe().post(f"{ORG}/workspaces", body({"name": name, **attributes}))
    assert reply.status == 201, reply.body
    data: dict[str, Any] = reply.json()["data"]
    return data


def tfe_error(reply: Any, status: int, pointer: str | None = None) -> dict[str, Any]:
    """TFE's error envelope, with the version headers the CLI requires."""
    assert reply.status == status, reply.body
    assert reply.headers.get("TFP-API-Version") == "2.6"
    (error, *_) = reply.json()["errors"]
    assert error["status"] == str(status)
    assert error["detail"]
    if pointer is not None:
        assert error["source"]["pointer"] == pointer, error
    return dict(error)


def limited(aws: Any, gateway: Any, role: Role, workspaces: list[str]) -> ApiClient:
    return ApiClient(gateway, mint(aws, role, workspaces))


# --- terraform init --------------------------------------------------------------------------


def test_init_reads_by_name_creates_on_404_then_sets_the_version(admin):
    tfe = admin.tfe()

    missing = tfe.get(f"{ORG}/workspaces/networking")
    created = tfe.post(f"{ORG}/workspaces", body({"name": "networking"}))
    workspace = created.json()["data"]
    # The CLI sets its own release; iacp's runners have one (RunnerTerraformVersion, 1.9.8
    # here): another is refused, and the CLI only warns.
    other = tfe.patch(
        f"/workspaces/{workspace['id']}",
        {"data": {"type": "workspaces", "attributes": {"terraform-version": "1.15.5"}}},
    )
    patched = tfe.patch(
        f"/workspaces/{workspace['id']}",
        {"data": {"type": "workspaces", "attributes": {"terraform-version": "1.9.8"}}},
    )
    read = tfe.get(f"{ORG}/workspaces/networking")

    tfe_error(missing, 404)
    assert created.status == 201 and created.headers["Content-Type"] == TFE_MEDIA_TYPE
    assert workspace["type"] == "workspaces" and workspace["id"].startswith("ws-")
    attributes = workspace["attributes"]
    assert attributes["name"] == "networking"
    assert attributes["terraform-version"] == "latest"
    assert attributes["execution-mode"] == "remote" and attributes["operations"] is True
    assert attributes["auto-apply"] is False and attributes["locked"] is False
    assert attributes["vcs-repo"] is None  # null, not left out
    assert attributes["working-directory"] == ""
    assert attributes["resource-count"] == 0 and attributes["tag-names"] == []
    assert attributes["permissions"]["can-queue-run"] is True
    assert workspace["relationships"]["organization"]["data"] == {
        "id": "default",
        "type": "organizations",
    }
    assert "current-run" not in workspace["relationships"]
    error = tfe_error(other, 422, "/data/attributes/terraform-version")
    assert "iacp's runners have Terraform 1.9.8" in error["detail"]
    assert patched.status == 200, patched.body
    assert patched.json()["data"]["attributes"]["terraform-version"] == "1.9.8"
    assert read.json()["data"]["id"] == workspace["id"]
    assert read.json()["data"]["attributes"]["terraform-version"] == "1.9.8"
    # The same workspace as /api/v1 knows it.
    assert admin.get(f"/workspaces/{workspace['id']}").json()["terraform_version"] == "1.9.8"


def test_a_name_is_found_whatever_its_case(admin):
    workspace = create(admin, "Networking")

    reply = admin.tfe().get(f"{ORG}/workspaces/networking")

    assert reply.status == 200 and reply.json()["data"]["id"] == workspace["id"]


def test_terraform_version_latest_clears_it_and_a_bad_one_is_a_422(admin):
    workspace = create(admin, "versions", **{"terraform-version": "1.9.8"})
    path = f"/workspaces/{workspace['id']}"

    bad = admin.tfe().patch(
        path, {"data": {"type": "workspaces", "attributes": {"terraform-version": "~> 1.9"}}}
    )
    cleared = admin.tfe().patch(
        path, {"data": {"type": "workspaces", "attributes": {"terraform-version": "latest"}}}
    )

    assert workspace["attributes"]["terraform-version"] == "1.9.8"
    tfe_error(bad, 422, "/data/attributes/terraform-version")
    assert cleared.json()["data"]["attributes"]["terraform-version"] == "latest"
    assert admin.get(path).json()["terraform_version"] is None


def test_create_takes_tfe_attributes(admin):
    workspace = create(
        admin,
        "full",
        description="the network",
        **{
            "auto-apply": True,
            "execution-mode": "local",
            "working-directory": "envs/prod",
            "terraform-version": "1.9.8",
            "unknown-attribute": "ignored",
        },
    )

    attributes = workspace["attributes"]
    assert attributes["description"] == "the network"
    assert attributes["auto-apply"] is True
    assert attributes["execution-mode"] == "local" and attributes["operations"] is False
    assert attributes["working-directory"] == "envs/prod"
    v1 = admin.get(f"/workspaces/{workspace['id']}").json()
    assert v1["execution_mode"] == "local" and v1["working_directory"] == "envs/prod"


def test_operations_false_is_local_execution(admin):
    workspace = create(admin, "legacy-ops", operations=False)

    assert workspace["attributes"]["execution-mode"] == "local"


def test_execution_mode_can_be_changed_back_to_remote(admin):
    workspace = create(admin, "modes", **{"execution-mode": "local"})

    reply = admin.tfe().patch(
        f"{ORG}/workspaces/modes",
        {"data": {"type": "workspaces", "attributes": {"execution-mode": "remote"}}},
    )

    assert reply.status == 200, reply.body
    assert reply.json()["data"]["attributes"]["execution-mode"] == "remote"
    assert admin.get(f"/workspaces/{workspace['id']}").json()["execution_mode"] == "remote"


@pytest.mark.parametrize(
    ("attributes", "pointer"),
    [
        ({"name": "has space"}, "/data/attributes/name"),
        ({"name": "x" * 91}, "/data/attributes/name"),
        ({"name": "ok", "execution-mode": "agent"}, "/data/attributes/execution-mode"),
        ({"name": "ok", "auto-apply": "yes"}, "/data/attributes/auto-apply"),
        ({"name": "ok", "working-directory": "../up"}, "/data/attributes/working-directory"),
        ({"description": "no name"}, "/data/attributes/name"),
    ],
)
def test_bad_create_bodies_are_422s_and_create_nothing(admin, attributes, pointer):
    reply = admin.tfe().post(f"{ORG}/workspaces", body(attributes))

    tfe_error(reply, 422, pointer)
    assert admin.list_all("/workspaces") == []


def test_a_body_that_is_not_a_workspace_is_a_422(admin):
    wrong_type = admin.tfe().post(
        f"{ORG}/workspaces", {"data": {"type": "workspace", "attributes": {"name": "a"}}}
    )
    no_data = admin.tfe().post(f"{ORG}/workspaces", {"name": "a"})

    tfe_error(wrong_type, 422, "/data/type")
    tfe_error(no_data, 422, "/data")
    assert admin.list_all("/workspaces") == []


def test_a_taken_name_is_a_409(admin):
    create(admin, "taken")

    reply = admin.tfe().post(f"{ORG}/workspaces", body({"name": "TAKEN"}))

    tfe_error(reply, 409, "/data/attributes/name")


def test_another_organization_has_no_workspaces(admin):
    create(admin, "mine")

    tfe_error(admin.tfe().get("/organizations/acme/workspaces/mine"), 404)
    tfe_error(admin.tfe().get("/organizations/acme/workspaces"), 404)
    tfe_error(admin.tfe().post("/organizations/acme/workspaces", body({"name": "x"})), 404)


def test_an_unknown_workspace_id_is_a_404(admin):
    tfe_error(admin.tfe().get("/workspaces/ws-nosuchthing"), 404)
    tfe_error(
        admin.tfe().patch(
            "/workspaces/ws-nosuchthing",
            {"data": {"type": "workspaces", "attributes": {"auto-apply": True}}},
        ),
        404,
    )


# --- roles and limited tokens ----------------------------------------------------------------


def test_permissions_follow_the_tokens_role(admin, writer, reader):
    workspace = create(admin, "perms")
    path = f"/workspaces/{workspace['id']}"

    as_admin = admin.tfe().get(path).json()["data"]["attributes"]["permissions"]
    as_writer = writer.tfe().get(path).json()["data"]["attributes"]["permissions"]
    as_reader = reader.tfe().get(path).json()["data"]["attributes"]["permissions"]

    for permissions in (as_admin, as_writer, as_reader):
        assert permissions["can-read-state-versions"] is True
        assert permissions["can-read-variable"] is True
    for name in ("can-queue-run", "can-queue-apply", "can-update", "can-lock"):
        assert (as_admin[name], as_writer[name], as_reader[name]) == (True, True, False), name
    assert (as_admin["can-force-unlock"], as_writer["can-force-unlock"]) == (True, False)
    assert as_reader["can-create-state-versions"] is False
    assert as_reader["can-update-variable"] is False


def test_a_read_token_cannot_create_or_change_a_workspace(admin, reader):
    workspace = create(admin, "read-only")

    created = reader.tfe().post(f"{ORG}/workspaces", body({"name": "by-reader"}))
    changed = reader.tfe().patch(
        f"/workspaces/{workspace['id']}",
        {"data": {"type": "workspaces", "attributes": {"auto-apply": True}}},
    )

    tfe_error(created, 403)
    tfe_error(changed, 403)
    assert admin.get(f"/workspaces/{workspace['id']}").json()["auto_apply"] is False
    assert [w["name"] for w in admin.list_all("/workspaces")] == ["read-only"]


def test_a_limited_token_sees_only_its_workspaces(aws, gateway, admin):
    mine = create(admin, "mine")
    other = create(admin, "other")
    token = limited(aws, gateway, Role.WRITE, [mine["id"]]).tfe()

    listed = token.get(f"{ORG}/workspaces").json()
    by_name = token.get(f"{ORG}/workspaces/other")
    by_id = token.get(f"/workspaces/{other['id']}")
    patched = token.patch(
        f"/workspaces/{other['id']}",
        {"data": {"type": "workspaces", "attributes": {"auto-apply": True}}},
    )
    locked = token.post(f"/workspaces/{other['id']}/actions/lock", {"reason": "x"})
    created = token.post(f"{ORG}/workspaces", body({"name": "new"}))

    assert [w["id"] for w in listed["data"]] == [mine["id"]]
    assert listed["meta"]["pagination"]["total-count"] == 1
    # Hidden is the same 404 as unknown.
    assert tfe_error(by_name, 404)["detail"] == "No workspace named other."
    assert tfe_error(by_id, 404)["detail"] == f"No workspace {other['id']}."
    tfe_error(patched, 404)
    tfe_error(locked, 404)
    tfe_error(created, 403)
    assert token.get(f"{ORG}/workspaces/mine").status == 200
    assert admin.get(f"/workspaces/{other['id']}").json()["locked"] is False


# --- listing ---------------------------------------------------------------------------------


def test_list_pages_by_number(admin):
    for name in ("c", "a", "e", "b", "d"):
        create(admin, name)

    first = admin.tfe().get(f"{ORG}/workspaces", query={"page[size]": "2"}).json()
    last = (
        admin.tfe().get(f"{ORG}/workspaces", query={"page[size]": "2", "page[number]": "3"}).json()
    )

    assert [w["attributes"]["name"] for w in first["data"]] == ["a", "b"]
    assert first["meta"]["pagination"] == {
        "current-page": 1,
        "page-size": 2,
        "prev-page": None,
        "next-page": 2,
        "total-pages": 3,
        "total-count": 5,
    }
    assert [w["attributes"]["name"] for w in last["data"]] == ["e"]
    assert last["meta"]["pagination"]["prev-page"] == 2
    assert last["meta"]["pagination"]["next-page"] is None


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ({"page[size]": "0"}, "page[size]"),
        ({"page[size]": "101"}, "page[size]"),
        ({"page[number]": "first"}, "page[number]"),
        ({"filter[tagged][0][value]": "prod"}, "filter[tagged][0][key]"),
    ],
)
def test_bad_list_parameters_are_422s(admin, query, parameter):
    reply = admin.tfe().get(f"{ORG}/workspaces", query=query)

    error = tfe_error(reply, 422)
    assert error["source"]["parameter"] == parameter


def test_search_by_name(admin):
    for name in ("app-prod", "app-dev", "network"):
        create(admin, name)

    found = admin.tfe().get(f"{ORG}/workspaces", query={"search[name]": "APP"}).json()
    wildcard = (
        admin.tfe().get(f"{ORG}/workspaces", query={"search[wildcard-name]": "*-prod"}).json()
    )

    assert [w["attributes"]["name"] for w in found["data"]] == ["app-dev", "app-prod"]
    assert [w["attributes"]["name"] for w in wildcard["data"]] == ["app-prod"]


def tags(**bindings: str) -> dict[str, Any]:
    return {
        "data": [
            {"type": "tag-bindings", "attributes": {"key": k, "value": v}}
            for k, v in bindings.items()
        ]
    }


def test_tag_selected_workspaces_as_the_cli_creates_and_lists_them(admin):
    """``workspaces { tags = ["app"] }`` creates with legacy tags; ``tags = {env = "prod"}``
    (1.10+) with tag bindings, and lists with both ``search[tags]`` and ``filter[tagged]``."""
    legacy = body(
        {"name": "legacy"}, tags={"data": [{"type": "tags", "attributes": {"name": "app"}}]}
    )
    created_legacy = admin.tfe().post(f"{ORG}/workspaces", legacy)
    created_prod = admin.tfe().post(
        f"{ORG}/workspaces", body({"name": "prod"}, **{"tag-bindings": tags(env="prod", app="")})
    )
    create(admin, "dev")
    admin.tfe().patch(f"{ORG}/workspaces/dev", body({}, **{"tag-bindings": tags(env="dev")}))

    by_key = admin.tfe().get(f"{ORG}/workspaces", query={"search[tags]": "app"}).json()
    by_pair = (
        admin.tfe()
        .get(
            f"{ORG}/workspaces",
            query={
                "search[tags]": "env",
                "filter[tagged][0][key]": "env",
                "filter[tagged][0][value]": "prod",
            },
        )
        .json()
    )
    excluded = (
        admin.tfe()
        .get(f"{ORG}/workspaces", query={"search[tags]": "env", "search[exclude-tags]": "app"})
        .json()
    )

    assert created_legacy.status == 201, created_legacy.body
    assert created_legacy.json()["data"]["attributes"]["tag-names"] == ["app"]
    assert created_prod.json()["data"]["attributes"]["tag-names"] == ["app", "env"]
    assert [w["attributes"]["name"] for w in by_key["data"]] == ["legacy", "prod"]
    assert [w["attributes"]["name"] for w in by_pair["data"]] == ["prod"]
    assert [w["attributes"]["name"] for w in excluded["data"]] == ["dev"]
    prod_id = created_prod.json()["data"]["id"]
    assert admin.get(f"/workspaces/{prod_id}").json()["tags"] == {"app": "", "env": "prod"}


def test_tag_bindings_are_listed_added_and_changed(admin, reader):
    workspace = create(admin, "tagged")
    path = f"/workspaces/{workspace['id']}/tag-bindings"

    empty = admin.tfe().get(path).json()
    added = admin.tfe().patch(path, tags(env="prod", team="net"))
    changed = admin.tfe().patch(path, tags(env="dev"))
    by_reader = reader.tfe().patch(path, tags(env="hacked"))

    assert empty["data"] == []
    assert added.status == 200, added.body
    assert {(b["attributes"]["key"], b["attributes"]["value"]) for b in added.json()["data"]} == {
        ("env", "prod"),
        ("team", "net"),
    }
    assert all(b["type"] == "tag-bindings" and b["id"] for b in added.json()["data"])
    listed = {(b["attributes"]["key"], b["attributes"]["value"]) for b in changed.json()["data"]}
    assert listed == {("env", "dev"), ("team", "net")}
    tfe_error(by_reader, 403)
    assert reader.tfe().get(path).json()["data"] == changed.json()["data"]


def test_legacy_tags_are_added_listed_and_removed(admin):
    workspace = create(admin, "legacy-tags")
    path = f"/workspaces/{workspace['id']}/relationships/tags"
    admin.tfe().patch(f"/workspaces/{workspace['id']}/tag-bindings", tags(env="prod"))

    added = admin.tfe().post(
        path,
        {"data": [{"type": "tags", "attributes": {"name": n}} for n in ("app", "env")]},
    )
    listed = admin.tfe().get(path).json()["data"]
    app_id = next(t["id"] for t in listed if t["attributes"]["name"] == "app")
    removed = admin.tfe().call("DELETE", path, {"data": [{"type": "tags", "id": app_id}]})

    assert added.status == 204, added.body
    assert sorted(t["attributes"]["name"] for t in listed) == ["app", "env"]
    assert removed.status == 204, removed.body
    # A name the workspace had as a key keeps its value.
    assert admin.get(f"/workspaces/{workspace['id']}").json()["tags"] == {"env": "prod"}


@pytest.mark.parametrize(
    "bindings",
    [
        tags(**{"bad key!": "x"}),
        tags(env="x" * 257),
        {"data": [{"type": "tags", "attributes": {"key": "env"}}]},
        {"data": [{"type": "tag-bindings", "attributes": {"key": f"k{i}"}} for i in range(51)]},
    ],
)
def test_bad_tag_bindings_are_422s_and_change_nothing(admin, bindings):
    workspace = create(admin, "strict-tags")
    path = f"/workspaces/{workspace['id']}/tag-bindings"

    tfe_error(admin.tfe().patch(path, bindings), 422)
    assert admin.tfe().get(path).json()["data"] == []


def test_too_many_tags_in_all_is_a_422(admin):
    workspace = create(admin, "many-tags")
    path = f"/workspaces/{workspace['id']}/tag-bindings"
    first = admin.tfe().patch(path, tags(**{f"a{i}": "" for i in range(30)}))

    more = admin.tfe().patch(path, tags(**{f"b{i}": "" for i in range(30)}))

    assert first.status == 200
    tfe_error(more, 422, "/data/relationships/tag-bindings")
    assert len(admin.tfe().get(path).json()["data"]) == 30


# --- vcs-repo --------------------------------------------------------------------------------


def test_vcs_repo_shows_the_workspaces_repository(aws, admin):
    connection = admin.post(
        "/vcs-connections",
        {"provider": "github", "token": "ghp_x", "webhook_secret": "s" * 20},
    )
    assert connection.status == 201, connection.body
    connection_id = connection.json()["id"]
    workspace = create(
        admin,
        "from-git",
        **{
            "vcs-repo": {
                "identifier": "acme/infra",
                "oauth-token-id": connection_id,
                "branch": "main",
            }
        },
    )

    repo = workspace["attributes"]["vcs-repo"]
    assert repo["identifier"] == "acme/infra" and repo["branch"] == "main"
    assert repo["oauth-token-id"] == connection_id
    disconnected = admin.tfe().patch(
        f"/workspaces/{workspace['id']}",
        {"data": {"type": "workspaces", "attributes": {"vcs-repo": None}}},
    )
    assert disconnected.json()["data"]["attributes"]["vcs-repo"] is None


def test_a_vcs_repo_with_an_unknown_connection_is_a_422(admin):
    reply = admin.tfe().post(
        f"{ORG}/workspaces",
        body(
            {
                "name": "no-conn",
                "vcs-repo": {"identifier": "a/b", "oauth-token-id": "vcs-nope", "branch": "main"},
            }
        ),
    )

    tfe_error(reply, 422, "/data/attributes/vcs-repo")
    assert admin.list_all("/workspaces") == []


# --- the lock ------------------------------------------------------------------------------


def lock_path(workspace: dict[str, Any], action: str) -> str:
    return f"/workspaces/{workspace['id']}/actions/{action}"


def test_lock_and_unlock_return_the_workspace(writer):
    workspace = create(writer, "locking")

    locked = writer.tfe().post(lock_path(workspace, "lock"), {"reason": "Locked by Terraform"})
    read = writer.get(f"/workspaces/{workspace['id']}").json()
    unlocked = writer.tfe().post(lock_path(workspace, "unlock"))

    assert locked.status == 200, locked.body
    data = locked.json()["data"]
    assert data["attributes"]["locked"] is True
    assert data["relationships"]["locked-by"]["data"]["type"] == "users"
    assert read["lock"]["reason"] == "Locked by Terraform"
    assert unlocked.status == 200 and unlocked.json()["data"]["attributes"]["locked"] is False
    assert "locked-by" not in unlocked.json()["data"]["relationships"]


def test_lock_takes_a_jsonapi_body_or_none(writer):
    first = create(writer, "lock-a")
    second = create(writer, "lock-b")

    as_jsonapi = writer.tfe().post(
        lock_path(first, "lock"), {"data": {"attributes": {"reason": "maintenance"}}}
    )
    bare = writer.tfe().post(lock_path(second, "lock"))

    assert as_jsonapi.status == 200 and bare.status == 200
    assert writer.get(f"/workspaces/{first['id']}").json()["lock"]["reason"] == "maintenance"


def test_locking_a_locked_workspace_is_a_409(aws, gateway, writer):
    workspace = create(writer, "contended")
    other = ApiClient(gateway, mint(aws, Role.WRITE)).tfe()
    writer.tfe().post(lock_path(workspace, "lock"), {"reason": "mine"})

    tfe_error(other.post(lock_path(workspace, "lock"), {"reason": "theirs"}), 409)
    tfe_error(writer.tfe().post(lock_path(workspace, "lock")), 409)


def test_a_bad_lock_body_is_a_422_and_locks_nothing(writer):
    workspace = create(writer, "bad-lock")

    tfe_error(writer.tfe().post(lock_path(workspace, "lock"), {"reason": 5}), 422)
    tfe_error(writer.tfe().post(lock_path(workspace, "lock"), {"reason": "x" * 501}), 422)
    assert writer.get(f"/workspaces/{workspace['id']}").json()["locked"] is False


def test_unlock_refusals_speak_go_tfes_words(aws, gateway, writer):
    workspace = create(writer, "refusals")
    other = ApiClient(gateway, mint(aws, Role.WRITE)).tfe()

    not_locked = tfe_error(writer.tfe().post(lock_path(workspace, "unlock")), 409)
    writer.tfe().post(lock_path(workspace, "lock"))
    by_other = tfe_error(other.post(lock_path(workspace, "unlock")), 409)

    assert "not locked" in not_locked["detail"]
    assert "is locked by User" in by_other["detail"]
    assert "still pending" not in by_other["detail"]
    assert writer.get(f"/workspaces/{workspace['id']}").json()["locked"] is True


def test_a_runs_lock_is_the_same_lock(aws, admin, writer):
    """A run's lock (taken by the workflow) blocks a CLI lock, and the CLI's unlock says
    "is locked by Run"; force-unlock (admin) releases it."""
    workspace = create(admin, "run-locked")
    service = WorkspaceService(DynamoWorkspaceStore(aws.refs["WorkspacesTable"]))
    service.lock_workspace(workspace["id"], holder="run-abc123", reason="run")

    read = writer.tfe().get(f"/workspaces/{workspace['id']}").json()["data"]
    lock = writer.tfe().post(lock_path(workspace, "lock"))
    unlock = writer.tfe().post(lock_path(workspace, "unlock"))
    force_by_writer = writer.tfe().post(lock_path(workspace, "force-unlock"))
    forced = admin.tfe().post(lock_path(workspace, "force-unlock"))

    assert read["attributes"]["locked"] is True
    assert read["relationships"]["locked-by"]["data"] == {"id": "run-abc123", "type": "runs"}
    tfe_error(lock, 409)
    assert "is locked by Run" in tfe_error(unlock, 409)["detail"]
    tfe_error(force_by_writer, 403)
    assert forced.status == 200 and forced.json()["data"]["attributes"]["locked"] is False
    tfe_error(admin.tfe().post(lock_path(workspace, "force-unlock")), 409)


def test_a_read_token_cannot_lock(admin, reader):
    workspace = create(admin, "reader-lock")

    tfe_error(reader.tfe().post(lock_path(workspace, "lock")), 403)
    assert admin.get(f"/workspaces/{workspace['id']}").json()["locked"] is False


def test_lock_actions_on_an_unknown_workspace_are_404s(admin):
    for action in ("lock", "unlock", "force-unlock"):
        tfe_error(admin.tfe().post(f"/workspaces/ws-unknown/actions/{action}"), 404)
