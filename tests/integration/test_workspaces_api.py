"""Workspaces: create, list, show, change, delete, through the gateway as a client sees it."""

import boto3
import pytest

from iacp.principal import Role
from iacp.workspaces.store import DynamoWorkspaceStore
from tests.conftest import ApiClient, assert_error, mint


def create(client: ApiClient, name: str, **fields: object) -> dict:
    reply = client.post("/workspaces", {"name": name, **fields})
    assert reply.status == 201, reply.body
    return reply.json()


def all_workspaces(client: ApiClient) -> list[dict]:
    return client.get("/workspaces", query={"limit": "100"}).json()["items"]


def test_create_returns_the_workspace_with_an_id_and_no_lock(writer):
    workspace = create(writer, "network-prod", description="VPCs", auto_apply=True)

    assert workspace["id"].startswith("ws-") and len(workspace["id"]) == 19
    assert workspace["name"] == "network-prod"
    assert workspace["description"] == "VPCs"
    assert workspace["auto_apply"] is True
    assert workspace["terraform_version"] is None
    assert workspace["locked"] is False and workspace["lock"] is None
    assert workspace["created_at"].endswith("Z")


def test_show_returns_what_was_created(reader, writer):
    workspace = create(writer, "dns", terraform_version="1.9.8", working_directory="envs/prod")

    reply = reader.get(f"/workspaces/{workspace['id']}")

    assert reply.status == 200
    assert reply.json() == workspace


def test_names_are_unique_ignoring_case(writer):
    create(writer, "Billing")

    reply = writer.post("/workspaces", {"name": "billing"})

    assert_error(reply, 409, pointer="/name")
    assert [w["name"] for w in all_workspaces(writer)] == ["Billing"]


def test_list_is_sorted_by_name_and_paginated(writer):
    for name in ("charlie", "alpha", "echo", "bravo", "delta"):
        create(writer, name)

    names, cursor, pages = [], None, 0
    while True:
        query = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = writer.get("/workspaces", query=query).json()
        names += [w["name"] for w in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert names == ["alpha", "bravo", "charlie", "delta", "echo"]
    assert pages >= 3


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "x"}, "limit"),
        ({"cursor": "bm90IGEgY3Vyc29y"}, "cursor"),
        ({"cursor": "%%%"}, "cursor"),
    ],
)
def test_bad_list_parameters_are_422_naming_the_parameter(reader, query, parameter):
    error = assert_error(reader.get("/workspaces", query=query), 422)

    assert error["source"] == {"parameter": parameter}


def test_update_changes_only_the_fields_sent(writer):
    workspace = create(writer, "app", description="old", terraform_version="1.9.8")

    reply = writer.patch(f"/workspaces/{workspace['id']}", {"description": "new"})

    assert reply.status == 200
    updated = reply.json()
    assert updated["description"] == "new"
    assert updated["terraform_version"] == "1.9.8"
    assert updated["name"] == "app"


def test_update_to_null_terraform_version_returns_to_the_default(writer):
    workspace = create(writer, "app", terraform_version="1.9.8")

    updated = writer.patch(f"/workspaces/{workspace['id']}", {"terraform_version": None}).json()

    assert updated["terraform_version"] is None


def test_rename_frees_the_old_name_and_claims_the_new(writer):
    first = create(writer, "old-name")
    create(writer, "taken")

    assert_error(writer.patch(f"/workspaces/{first['id']}", {"name": "TAKEN"}), 409, "/name")
    renamed = writer.patch(f"/workspaces/{first['id']}", {"name": "new-name"})
    assert renamed.status == 200
    again = create(writer, "old-name")

    assert again["id"] != first["id"]
    assert sorted(w["name"] for w in all_workspaces(writer)) == ["new-name", "old-name", "taken"]


def test_rename_changing_only_case_keeps_the_claim(writer):
    workspace = create(writer, "Case")

    reply = writer.patch(f"/workspaces/{workspace['id']}", {"name": "case"})

    assert reply.status == 200 and reply.json()["name"] == "case"
    assert_error(writer.post("/workspaces", {"name": "CASE"}), 409)


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"name": None}, "/name"),
        ({"auto_apply": None}, "/auto_apply"),
        ({"auto_apply": "yes"}, "/auto_apply"),
        ({"terraform_version": "latest"}, "/terraform_version"),
        ({"working_directory": "../etc"}, "/working_directory"),
        ({"colour": "blue"}, "/colour"),
        ({"runner_size": {"cpu": 1024, "memory": 1024}}, "/runner_size"),
        ({"runner_size": {"cpu": 1024}}, "/runner_size/memory"),
    ],
)
def test_bad_update_is_422_and_changes_nothing(writer, body, pointer):
    workspace = create(writer, "steady")

    assert_error(writer.patch(f"/workspaces/{workspace['id']}", body), 422, pointer)

    assert writer.get(f"/workspaces/{workspace['id']}").json() == workspace


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({}, "/name"),
        ({"name": ""}, "/name"),
        ({"name": "has space"}, "/name"),
        ({"name": "x" * 91}, "/name"),
        ({"name": "ok", "auto_apply": 1}, "/auto_apply"),
        ({"name": "ok", "terraform_version": "1.9"}, "/terraform_version"),
        ({"name": "ok", "working_directory": "/abs"}, "/working_directory"),
        ({"name": "ok", "working_directory": "a/../../b"}, "/working_directory"),
        ({"name": "ok", "description": "d" * 1001}, "/description"),
        ({"name": "ok", "vcs": {}}, "/vcs/connection_id"),
        ({"name": "ok", "unknown": 1}, "/unknown"),
        ({"name": "ok", "runner_size": {"cpu": 1000, "memory": 2048}}, "/runner_size"),
        ({"name": "ok", "runner_size": {"cpu": "1024", "memory": 2048}}, "/runner_size/cpu"),
        ({"name": "ok", "runner_size": {"cpu": 256, "memory": 1536}}, "/runner_size"),
        ({"name": "ok", "runner_size": {"cpu": 1024, "memory": 2048, "x": 1}}, "/runner_size/x"),
    ],
)
def test_bad_create_is_422_naming_the_field_and_writes_nothing(writer, body, pointer):
    assert_error(writer.post("/workspaces", body), 422, pointer)

    assert all_workspaces(writer) == []


def test_a_body_that_is_not_an_object_is_422(writer):
    assert_error(writer.post("/workspaces", ["name"]), 422)
    assert_error(writer.post("/workspaces", body="name=prod"), 422)
    assert all_workspaces(writer) == []


def test_delete_removes_the_workspace_its_name_and_its_variables(aws, writer):
    workspace = create(writer, "short-lived")
    writer.post(
        f"/workspaces/{workspace['id']}/vars", {"key": "a", "value": "1", "category": "env"}
    )

    reply = writer.delete(f"/workspaces/{workspace['id']}")

    assert reply.status == 204 and reply.body == ""
    assert_error(writer.get(f"/workspaces/{workspace['id']}"), 404)
    table = boto3.resource("dynamodb").Table(aws.refs["WorkspacesTable"])
    assert table.scan()["Items"] == []  # no workspace, name claim, variable or key claim left
    create(writer, "short-lived")  # the name is free again


def test_delete_is_refused_while_locked(writer):
    workspace = create(writer, "held")
    writer.post(f"/workspaces/{workspace['id']}/actions/lock", {"reason": "maintenance"})

    assert_error(writer.delete(f"/workspaces/{workspace['id']}"), 409)

    assert writer.get(f"/workspaces/{workspace['id']}").status == 200


def test_delete_is_refused_while_a_run_is_active(aws, writer):
    workspace = create(writer, "busy")
    # The run pipeline marks the workspace's active run; stand in for it at the table.
    table = boto3.resource("dynamodb").Table(aws.refs["WorkspacesTable"])
    table.update_item(
        Key={"pk": workspace["id"], "sk": "workspace"},
        UpdateExpression="SET current_run_id = :run",
        ExpressionAttributeValues={":run": "run-0000000000000000"},
    )

    error = assert_error(writer.delete(f"/workspaces/{workspace['id']}"), 409)

    assert "run-0000000000000000" in error["detail"]
    assert writer.get(f"/workspaces/{workspace['id']}").status == 200


def test_unknown_workspace_is_404_on_every_route(writer, admin):
    missing = "ws-AAAAAAAAAAAAAAAA"
    assert_error(writer.get(f"/workspaces/{missing}"), 404)
    assert_error(writer.patch(f"/workspaces/{missing}", {"description": "x"}), 404)
    assert_error(writer.delete(f"/workspaces/{missing}"), 404)
    assert_error(writer.post(f"/workspaces/{missing}/actions/lock", {}), 404)
    assert_error(writer.post(f"/workspaces/{missing}/actions/unlock"), 404)
    assert_error(admin.post(f"/workspaces/{missing}/actions/force-unlock"), 404)


def test_every_route_needs_a_token(anonymous, writer):
    workspace = create(writer, "guarded")
    ws = workspace["id"]
    for method, path in [
        ("GET", "/workspaces"),
        ("POST", "/workspaces"),
        ("GET", f"/workspaces/{ws}"),
        ("PATCH", f"/workspaces/{ws}"),
        ("DELETE", f"/workspaces/{ws}"),
        ("POST", f"/workspaces/{ws}/actions/lock"),
        ("POST", f"/workspaces/{ws}/actions/unlock"),
        ("POST", f"/workspaces/{ws}/actions/force-unlock"),
    ]:
        assert_error(anonymous.call(method, path, {}), 401)

    assert writer.get(f"/workspaces/{ws}").json() == workspace


def test_read_role_reads_but_does_not_write(reader, writer):
    workspace = create(writer, "audited")
    ws = workspace["id"]

    assert reader.get("/workspaces").status == 200
    assert reader.get(f"/workspaces/{ws}").status == 200
    assert_error(reader.post("/workspaces", {"name": "nope"}), 403)
    assert_error(reader.patch(f"/workspaces/{ws}", {"description": "x"}), 403)
    assert_error(reader.delete(f"/workspaces/{ws}"), 403)
    assert_error(reader.post(f"/workspaces/{ws}/actions/lock", {}), 403)

    assert writer.get(f"/workspaces/{ws}").json() == workspace


def test_limited_token_sees_and_changes_only_its_workspaces(aws, gateway, writer):
    mine = create(writer, "mine")
    theirs = create(writer, "theirs")
    limited = ApiClient(gateway, mint(aws, Role.WRITE, workspaces=[mine["id"]]))

    assert [w["name"] for w in all_workspaces(limited)] == ["mine"]
    assert limited.patch(f"/workspaces/{mine['id']}", {"description": "ok"}).status == 200
    assert_error(limited.get(f"/workspaces/{theirs['id']}"), 403)
    assert_error(limited.patch(f"/workspaces/{theirs['id']}", {"description": "x"}), 403)
    assert_error(limited.post("/workspaces", {"name": "another"}), 403)


def test_delete_of_a_workspace_renamed_meanwhile_changes_nothing(aws, writer):
    workspace = create(writer, "before")
    store = DynamoWorkspaceStore(aws.refs["WorkspacesTable"])
    stale = store.get(workspace["id"])
    assert stale is not None
    writer.patch(f"/workspaces/{workspace['id']}", {"name": "after"})

    assert store.delete(stale) is False

    assert writer.get(f"/workspaces/{workspace['id']}").json()["name"] == "after"
    assert_error(writer.post("/workspaces", {"name": "after"}), 409)  # its claim is intact


def test_a_workspace_sets_its_runner_size_and_returns_to_the_platforms(aws, writer):
    workspace = create(writer, "sized", runner_size={"cpu": 512, "memory": 1024})
    path = f"/workspaces/{workspace['id']}"
    assert workspace["runner_size"] == {"cpu": 512, "memory": 1024}
    assert writer.get(path).json() == workspace

    larger = writer.patch(path, {"runner_size": {"cpu": 4096, "memory": 30720}}).json()
    assert larger["runner_size"] == {"cpu": 4096, "memory": 30720}
    stored = DynamoWorkspaceStore(aws.refs["WorkspacesTable"]).get(workspace["id"])
    assert stored is not None and stored.runner_size is not None
    assert (stored.runner_size.cpu, stored.runner_size.memory) == (4096, 30720)

    reply = writer.patch(path, {"runner_size": {"cpu": 512, "memory": 8192}})
    assert_error(reply, 422, "/runner_size")
    assert "Fargate pairs cpu 512 with memory 1024 to 4096" in reply.json()["errors"][0]["detail"]
    assert writer.get(path).json()["runner_size"] == {"cpu": 4096, "memory": 30720}

    assert writer.patch(path, {"runner_size": None}).json()["runner_size"] is None
    assert create(writer, "unsized")["runner_size"] is None


ROLE = "arn:aws:iam::123456789012:role/terraform"


def test_a_workspace_without_a_role_has_none_and_the_default_session(writer):
    workspace = create(writer, "plain")

    assert workspace["aws_role_arn"] is None
    assert workspace["aws_external_id"] is None
    assert workspace["aws_session_duration"] == 3600


def test_create_with_a_role_reads_back_the_same(aws, reader, writer):
    workspace = create(
        writer,
        "assumed",
        aws_role_arn=ROLE,
        aws_external_id="tenant-42:prod",
        aws_session_duration=1800,
    )

    assert workspace["aws_role_arn"] == ROLE
    assert workspace["aws_external_id"] == "tenant-42:prod"
    assert workspace["aws_session_duration"] == 1800
    assert reader.get(f"/workspaces/{workspace['id']}").json() == workspace
    assert [w for w in all_workspaces(reader) if w["id"] == workspace["id"]] == [workspace]
    # What the run workflow reads.
    stored = DynamoWorkspaceStore(aws.refs["WorkspacesTable"]).get(workspace["id"])
    assert stored is not None
    assert (stored.aws_role_arn, stored.aws_external_id, stored.aws_session_duration) == (
        ROLE,
        "tenant-42:prod",
        1800,
    )


def test_a_role_alone_has_no_external_id_and_an_hour_long_session(writer):
    workspace = create(writer, "role-only", aws_role_arn=ROLE)

    assert workspace["aws_external_id"] is None
    assert workspace["aws_session_duration"] == 3600


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws-cn:iam::123456789012:role/terraform",
        "arn:aws-us-gov:iam::123456789012:role/terraform",
        "arn:aws:iam::123456789012:role/service-role/terraform",
        "arn:aws:iam::123456789012:role/a/b.c/d_e/Name+=,.@-_9",
        "arn:aws:iam::123456789012:role/" + "n" * 64,
    ],
)
def test_role_arns_of_every_partition_and_with_paths_are_accepted(writer, arn):
    assert create(writer, "ok", aws_role_arn=arn)["aws_role_arn"] == arn


def test_update_sets_and_changes_the_role_fields_one_at_a_time(writer):
    workspace = create(writer, "evolving", description="kept")
    path = f"/workspaces/{workspace['id']}"

    with_role = writer.patch(path, {"aws_role_arn": ROLE, "aws_external_id": "first-id"}).json()
    other_id = writer.patch(path, {"aws_external_id": "second-id"}).json()
    shorter = writer.patch(path, {"aws_session_duration": 900}).json()

    assert (with_role["aws_role_arn"], with_role["aws_external_id"]) == (ROLE, "first-id")
    assert (other_id["aws_role_arn"], other_id["aws_external_id"]) == (ROLE, "second-id")
    assert shorter["aws_session_duration"] == 900 and shorter["aws_external_id"] == "second-id"
    assert writer.get(path).json() == shorter
    assert shorter["description"] == "kept"


def test_null_role_removes_the_role_and_its_external_id(writer):
    workspace = create(writer, "unassume", aws_role_arn=ROLE, aws_external_id="the-id")
    path = f"/workspaces/{workspace['id']}"

    reply = writer.patch(path, {"aws_role_arn": None})

    assert reply.status == 200, reply.body
    cleared = reply.json()
    assert cleared["aws_role_arn"] is None and cleared["aws_external_id"] is None
    assert writer.get(path).json() == cleared
    # The role can come back without the old external id.
    again = writer.patch(path, {"aws_role_arn": ROLE}).json()
    assert again["aws_external_id"] is None


def test_null_external_id_and_null_duration_clear_only_themselves(writer):
    workspace = create(
        writer, "partial", aws_role_arn=ROLE, aws_external_id="the-id", aws_session_duration=1200
    )
    path = f"/workspaces/{workspace['id']}"

    no_id = writer.patch(path, {"aws_external_id": None}).json()
    default = writer.patch(path, {"aws_session_duration": None}).json()

    assert no_id["aws_role_arn"] == ROLE and no_id["aws_external_id"] is None
    assert no_id["aws_session_duration"] == 1200
    assert default["aws_session_duration"] == 3600 and default["aws_role_arn"] == ROLE


_BAD_ROLE_ARNS = [
    "not-an-arn",
    "arn:aws:s3:::b",
    "arn:aws:iam::12345678901:role/terraform",
    "arn:aws:iam::1234567890123:role/terraform",
    "arn:aws:iam::123456789012:user/terraform",
    "arn:aws-iso:iam::123456789012:role/terraform",
    "arn:aws:sts::123456789012:assumed-role/terraform/session",
    "arn:aws:iam:us-east-1:123456789012:role/terraform",
    "arn:aws:iam::123456789012:role/",
    "arn:aws:iam::123456789012:role/path/",
    "arn:aws:iam::123456789012:role/has space",
    "arn:aws:iam::123456789012:role/n\u00e9e",
    "arn:aws:iam::123456789012:role/" + "n" * 65,
    "arn:aws:iam::123456789012:role/" + "p/" * 256 + "name",
    "arn:aws:iam::123456789012:role/" + "n" * 2048,
    " arn:aws:iam::123456789012:role/terraform",
    "arn:aws:iam::123456789012:role/terraform\n",
]


@pytest.mark.parametrize("arn", _BAD_ROLE_ARNS)
def test_bad_role_arn_is_422_naming_the_field_without_the_value(writer, arn):
    error = assert_error(
        writer.post("/workspaces", {"name": "ok", "aws_role_arn": arn}), 422, "/aws_role_arn"
    )

    assert error["detail"].startswith("aws_role_arn: ")
    assert arn not in error["detail"]
    assert all_workspaces(writer) == []


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"aws_role_arn": 42}, "/aws_role_arn"),
        ({"aws_external_id": "the-id"}, "/aws_external_id"),
        ({"aws_role_arn": None, "aws_external_id": "the-id"}, "/aws_external_id"),
        ({"aws_role_arn": ROLE, "aws_external_id": "x"}, "/aws_external_id"),
        ({"aws_role_arn": ROLE, "aws_external_id": "has space"}, "/aws_external_id"),
        ({"aws_role_arn": ROLE, "aws_external_id": "semi;colon"}, "/aws_external_id"),
        ({"aws_role_arn": ROLE, "aws_external_id": "caf\u00e9"}, "/aws_external_id"),
        ({"aws_role_arn": ROLE, "aws_external_id": "the-id\n"}, "/aws_external_id"),
        ({"aws_role_arn": ROLE, "aws_external_id": "i" * 1225}, "/aws_external_id"),
        ({"aws_role_arn": ROLE, "aws_session_duration": 899}, "/aws_session_duration"),
        ({"aws_role_arn": ROLE, "aws_session_duration": 3601}, "/aws_session_duration"),
        ({"aws_role_arn": ROLE, "aws_session_duration": "3600"}, "/aws_session_duration"),
        ({"aws_role_arn": ROLE, "aws_session_duration": 1800.5}, "/aws_session_duration"),
        ({"aws_role_arn": ROLE, "aws_session_duration": True}, "/aws_session_duration"),
    ],
)
def test_bad_role_settings_on_create_are_422_and_write_nothing(writer, body, pointer):
    error = assert_error(writer.post("/workspaces", {"name": "ok", **body}), 422, pointer)

    assert pointer.lstrip("/") in error["detail"]
    assert all_workspaces(writer) == []


def test_the_longest_external_id_and_the_session_bounds_are_accepted(writer):
    longest = create(writer, "a", aws_role_arn=ROLE, aws_external_id="i" * 1224)
    shortest = create(writer, "b", aws_role_arn=ROLE, aws_external_id="ab")
    all_chars = create(writer, "c", aws_role_arn=ROLE, aws_external_id="aZ0_+=,.@:/-")

    assert len(longest["aws_external_id"]) == 1224
    assert shortest["aws_external_id"] == "ab" and all_chars["aws_external_id"] == "aZ0_+=,.@:/-"
    assert create(writer, "d", aws_role_arn=ROLE, aws_session_duration=900)
    assert create(writer, "e", aws_role_arn=ROLE, aws_session_duration=3600)


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        *(({"aws_role_arn": arn}, "/aws_role_arn") for arn in _BAD_ROLE_ARNS[:5]),
        ({"aws_role_arn": None, "aws_external_id": "new-id"}, "/aws_external_id"),
        ({"aws_external_id": "x"}, "/aws_external_id"),
        ({"aws_external_id": "no spaces"}, "/aws_external_id"),
        ({"aws_session_duration": 899}, "/aws_session_duration"),
        ({"aws_session_duration": 3601}, "/aws_session_duration"),
    ],
)
def test_bad_role_update_is_422_and_changes_nothing(writer, body, pointer):
    workspace = create(writer, "steady", aws_role_arn=ROLE, aws_external_id="the-id")

    error = assert_error(writer.patch(f"/workspaces/{workspace['id']}", body), 422, pointer)

    assert pointer.lstrip("/") in error["detail"]
    assert writer.get(f"/workspaces/{workspace['id']}").json() == workspace


def test_an_external_id_without_a_role_is_refused_on_update(writer):
    workspace = create(writer, "roleless")

    reply = writer.patch(f"/workspaces/{workspace['id']}", {"aws_external_id": "the-id"})

    assert_error(reply, 422, "/aws_external_id")
    assert writer.get(f"/workspaces/{workspace['id']}").json() == workspace


def test_an_external_id_is_not_written_onto_a_role_removed_meanwhile(aws, writer):
    workspace = create(writer, "racing", aws_role_arn=ROLE)
    store = DynamoWorkspaceStore(aws.refs["WorkspacesTable"])
    stale = store.get(workspace["id"])
    assert stale is not None
    writer.patch(f"/workspaces/{workspace['id']}", {"aws_role_arn": None})

    assert store.update(stale, {"aws_external_id": "late-id"}, stale.updated_at) is None

    current = writer.get(f"/workspaces/{workspace['id']}").json()
    assert current["aws_role_arn"] is None and current["aws_external_id"] is None


def test_execution_is_fargate_unless_lambda_is_chosen_and_reads_back(aws, writer):
    plain = create(writer, "on-fargate")
    quick = create(writer, "on-lambda", execution="lambda", phase_timeout_seconds=300)

    assert (plain["execution"], plain["phase_timeout_seconds"]) == ("fargate", None)
    assert (quick["execution"], quick["phase_timeout_seconds"]) == ("lambda", 300)
    store = DynamoWorkspaceStore(aws.refs["WorkspacesTable"])
    stored = store.get(quick["id"])
    assert stored is not None and stored.execution == "lambda"
    assert writer.get(f"/workspaces/{quick['id']}").json() == quick
    back = writer.patch(f"/workspaces/{quick['id']}", {"execution": "fargate"}).json()
    assert back["execution"] == "fargate" and back["phase_timeout_seconds"] == 300
    longer = writer.patch(f"/workspaces/{quick['id']}", {"phase_timeout_seconds": 3600}).json()
    assert longer["phase_timeout_seconds"] == 3600
    assert (
        writer.patch(f"/workspaces/{quick['id']}", {"phase_timeout_seconds": None}).json()[
            "phase_timeout_seconds"
        ]
        is None
    )


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"execution": "ecs"}, "/execution"),
        ({"execution": "Lambda"}, "/execution"),
        ({"execution": None}, "/execution"),
        ({"phase_timeout_seconds": 59}, "/phase_timeout_seconds"),
        ({"phase_timeout_seconds": 3601}, "/phase_timeout_seconds"),
        ({"phase_timeout_seconds": "600"}, "/phase_timeout_seconds"),
        # Phases longer than the Lambda executor allows (LambdaRunnerTimeoutSeconds, 600).
        ({"execution": "lambda", "phase_timeout_seconds": 601}, "/phase_timeout_seconds"),
    ],
)
def test_bad_execution_settings_are_422_naming_the_field(writer, body, pointer):
    assert_error(writer.post("/workspaces", {"name": "quick", **body}), 422, pointer)
    assert all_workspaces(writer) == []

    workspace = create(writer, "steady")
    assert_error(writer.patch(f"/workspaces/{workspace['id']}", body), 422, pointer)
    assert writer.get(f"/workspaces/{workspace['id']}").json() == workspace


def test_a_workspace_with_long_phases_cannot_move_to_lambda_until_they_fit(writer):
    workspace = create(writer, "long-applies", phase_timeout_seconds=1800)
    path = f"/workspaces/{workspace['id']}"

    error = assert_error(writer.patch(path, {"execution": "lambda"}), 422, "/execution")

    assert "1800 s" in error["detail"] and "600 s" in error["detail"]
    assert writer.get(path).json() == workspace
    fits = writer.patch(path, {"execution": "lambda", "phase_timeout_seconds": 600})
    assert fits.status == 200 and fits.json()["execution"] == "lambda"
    assert_error(writer.patch(path, {"phase_timeout_seconds": 900}), 422, "/phase_timeout_seconds")
