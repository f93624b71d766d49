"""Workspace variables through the API Gateway emulator: the real authorizer, the real API
function and moto standing in for DynamoDB and Secrets Manager (design §8, §9).

Routes: ``GET|POST /workspaces/{ws}/vars`` and ``PATCH|DELETE /workspaces/{ws}/vars/{var}``.
"""

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from cryptography.exceptions import InvalidTag

from iacp.crypto import Sealer, derive_key
from iacp.pagination import encode_cursor
from iacp.principal import Role
from local.template import Provisioned
from tests.conftest import ApiClient, assert_error, mint

SECRET = "s3cr3t-hunter2-value"
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


# --- setup helpers -----------------------------------------------------------------------


def create_workspace(client: ApiClient, name: str = "prod") -> str:
    reply = client.post("/workspaces", {"name": name})
    assert reply.status == 201, reply.body
    workspace_id: str = reply.json()["id"]
    return workspace_id


def vars_path(workspace_id: str, variable_id: str | None = None) -> str:
    path = f"/workspaces/{workspace_id}/vars"
    return path if variable_id is None else f"{path}/{variable_id}"


def create_variable(client: ApiClient, workspace_id: str, **fields: Any) -> dict[str, Any]:
    body = {"key": "region", "value": "eu-west-1", "category": "terraform", **fields}
    reply = client.post(vars_path(workspace_id), body)
    assert reply.status == 201, reply.body
    variable: dict[str, Any] = reply.json()
    return variable


def list_all(client: ApiClient, workspace_id: str, limit: int = 100) -> list[dict[str, Any]]:
    return client.list_all(vars_path(workspace_id), limit)


def by_key(items: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(v["category"], v["key"]): v for v in items}


def raw_items(aws: Provisioned) -> list[dict[str, Any]]:
    """Every item of the workspaces table, as DynamoDB holds it."""
    table = boto3.resource("dynamodb").Table(aws.refs["WorkspacesTable"])
    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {}
    while True:
        reply = table.scan(**request)
        items.extend(reply["Items"])
        if "LastEvaluatedKey" not in reply:
            return sorted(items, key=lambda i: (str(i["pk"]), str(i["sk"])))
        request["ExclusiveStartKey"] = reply["LastEvaluatedKey"]


def raw_variable(aws: Provisioned, workspace_id: str, variable_id: str) -> dict[str, Any]:
    table = boto3.resource("dynamodb").Table(aws.refs["WorkspacesTable"])
    item = table.get_item(Key={"pk": workspace_id, "sk": f"var#{variable_id}"}).get("Item")
    assert item is not None, f"no stored item for {variable_id}"
    return dict(item)


def variables_sealer(aws: Provisioned) -> Sealer:
    """A Sealer with the key the platform derives for variables from its secret."""
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=aws.refs["PlatformSecret"])
    return Sealer(derive_key(secret["SecretString"], "variables"))


@contextmanager
def nothing_written(client: ApiClient, aws: Provisioned, workspace_id: str) -> Iterator[None]:
    """The block changes neither the variables the API lists nor any stored item."""
    listed, stored = list_all(client, workspace_id), raw_items(aws)
    yield
    assert list_all(client, workspace_id) == listed
    assert raw_items(aws) == stored


@pytest.fixture
def ws(admin: ApiClient) -> str:
    return create_workspace(admin)


# --- create ------------------------------------------------------------------------------


def test_create_terraform_variable_returns_every_field(admin, ws):
    # given a workspace
    # when a terraform variable is created
    reply = admin.post(
        vars_path(ws),
        {
            "key": "instance_type",
            "value": "t3.micro",
            "category": "terraform",
            "description": "EC2 size",
        },
    )

    # then it is returned in full, with the defaults filled in
    assert reply.status == 201, reply.body
    variable = reply.json()
    assert variable["id"].startswith("var-")
    assert ISO_UTC.match(variable["created_at"])
    assert ISO_UTC.match(variable["updated_at"])
    assert {k: v for k, v in variable.items() if k not in {"id", "created_at", "updated_at"}} == {
        "workspace_id": ws,
        "key": "instance_type",
        "value": "t3.micro",
        "category": "terraform",
        "hcl": False,
        "sensitive": False,
        "description": "EC2 size",
    }


def test_create_env_variable(admin, ws):
    reply = admin.post(vars_path(ws), {"key": "TF_LOG", "value": "DEBUG", "category": "env"})

    assert reply.status == 201, reply.body
    variable = reply.json()
    assert (variable["key"], variable["value"], variable["category"]) == ("TF_LOG", "DEBUG", "env")
    assert variable["hcl"] is False
    assert variable["sensitive"] is False


def test_create_hcl_terraform_variable(admin, ws):
    reply = admin.post(
        vars_path(ws),
        {"key": "tags", "value": '{ team = "platform" }', "category": "terraform", "hcl": True},
    )

    assert reply.status == 201, reply.body
    assert reply.json()["hcl"] is True
    assert reply.json()["value"] == '{ team = "platform" }'
    assert list_all(admin, ws)[0]["hcl"] is True


def test_duplicate_key_in_same_category_is_409_and_writes_nothing(admin, aws, ws):
    # given a terraform variable "region"
    create_variable(admin, ws, key="region")

    # when another terraform variable "region" is created
    with nothing_written(admin, aws, ws):
        reply = admin.post(
            vars_path(ws), {"key": "region", "value": "us-east-1", "category": "terraform"}
        )

    # then it is refused, naming the key
    assert_error(reply, 409, pointer="/key")


def test_same_key_in_the_other_category_is_allowed(admin, ws):
    create_variable(admin, ws, key="region", category="terraform")

    create_variable(admin, ws, key="region", category="env", value="us-east-1")

    assert set(by_key(list_all(admin, ws))) == {("terraform", "region"), ("env", "region")}


# --- list --------------------------------------------------------------------------------


def test_list_returns_items_and_next_cursor(admin, ws):
    # given two variables
    first = create_variable(admin, ws, key="a")
    second = create_variable(admin, ws, key="b", category="env")

    # when the list is read
    reply = admin.get(vars_path(ws))

    # then both are in one page, with no further page
    assert reply.status == 200, reply.body
    page = reply.json()
    assert set(page) == {"items", "next_cursor"}
    assert page["next_cursor"] is None
    assert sorted(page["items"], key=lambda v: v["key"]) == [first, second]


def test_list_of_a_new_workspace_is_empty(admin, ws):
    reply = admin.get(vars_path(ws))

    assert reply.status == 200, reply.body
    assert reply.json() == {"items": [], "next_cursor": None}


def test_list_pages_one_by_one_with_limit_1(admin, ws):
    # given three variables
    created = [create_variable(admin, ws, key=f"v{i}") for i in range(3)]

    # when the first page of one is read
    first = admin.get(vars_path(ws), query={"limit": "1"})

    # then it holds one variable and a cursor to the rest
    assert first.status == 200, first.body
    assert len(first.json()["items"]) == 1
    assert first.json()["next_cursor"]

    # and following the cursors yields every variable exactly once
    listed = list_all(admin, ws, limit=1)
    assert sorted(v["id"] for v in listed) == sorted(v["id"] for v in created)


def test_list_with_a_garbage_cursor_is_422_naming_the_cursor(admin, ws):
    create_variable(admin, ws)

    reply = admin.get(vars_path(ws), query={"cursor": "not-a-cursor"})

    error = assert_error(reply, 422)
    assert error["source"] == {"parameter": "cursor"}


@pytest.mark.parametrize("limit", ["0", "101", "ten"])
def test_list_with_an_invalid_limit_is_422_naming_the_limit(admin, ws, limit):
    reply = admin.get(vars_path(ws), query={"limit": limit})

    error = assert_error(reply, 422)
    assert error["source"] == {"parameter": "limit"}


@pytest.mark.parametrize("source", ["another-workspace", "outside-the-variables"])
def test_cursor_not_handed_out_by_this_list_is_422(admin, ws, source):
    # given two workspaces with two variables each
    staging = create_workspace(admin, "staging")
    for workspace_id in (ws, staging):
        create_variable(admin, workspace_id, key="a")
        create_variable(admin, workspace_id, key="b")

    # and a cursor of the right shape that this list did not hand out
    if source == "another-workspace":
        cursor = admin.get(vars_path(staging), query={"limit": "1"}).json()["next_cursor"]
        assert cursor
    else:
        cursor = encode_cursor({"pk": ws, "sk": "workspace"})

    # when it is used on the list of "prod"
    reply = admin.get(vars_path(ws), query={"cursor": cursor})

    # then it is refused as a bad cursor, not answered with a wrong page (or a 500 in AWS)
    error = assert_error(reply, 422)
    assert error["source"] == {"parameter": "cursor"}


# --- update ------------------------------------------------------------------------------


def test_update_changes_value_and_description(admin, ws):
    variable = create_variable(admin, ws, key="region", value="eu-west-1")

    reply = admin.patch(
        vars_path(ws, variable["id"]), {"value": "eu-central-1", "description": "primary"}
    )

    assert reply.status == 200, reply.body
    updated = reply.json()
    assert (updated["value"], updated["description"]) == ("eu-central-1", "primary")
    assert updated["key"] == "region"  # untouched fields stay
    assert list_all(admin, ws) == [updated]


def test_update_renames_the_key(admin, ws):
    variable = create_variable(admin, ws, key="region")

    reply = admin.patch(vars_path(ws, variable["id"]), {"key": "aws_region"})

    assert reply.status == 200, reply.body
    assert reply.json()["key"] == "aws_region"
    assert reply.json()["id"] == variable["id"]
    assert set(by_key(list_all(admin, ws))) == {("terraform", "aws_region")}


def test_renamed_away_key_can_be_used_again(admin, ws):
    # given "region" renamed to "aws_region"
    variable = create_variable(admin, ws, key="region")
    assert admin.patch(vars_path(ws, variable["id"]), {"key": "aws_region"}).status == 200

    # then "region" is free for a new variable
    create_variable(admin, ws, key="region")


def test_update_changes_the_category(admin, ws):
    variable = create_variable(admin, ws, key="AWS_REGION", category="terraform")

    reply = admin.patch(vars_path(ws, variable["id"]), {"category": "env"})

    assert reply.status == 200, reply.body
    assert reply.json()["category"] == "env"
    assert set(by_key(list_all(admin, ws))) == {("env", "AWS_REGION")}

    # and the key is free again in the category it left
    create_variable(admin, ws, key="AWS_REGION", category="terraform")


def test_rename_onto_an_existing_key_in_the_same_category_is_409_and_writes_nothing(admin, aws, ws):
    # given terraform variables "region" and "zone"
    create_variable(admin, ws, key="region")
    zone = create_variable(admin, ws, key="zone")

    # when "zone" is renamed to "region"
    with nothing_written(admin, aws, ws):
        reply = admin.patch(vars_path(ws, zone["id"]), {"key": "region"})

    # then it is refused, naming the key
    assert_error(reply, 409, pointer="/key")


def test_rename_onto_a_key_used_only_in_the_other_category_is_allowed(admin, ws):
    # given an env variable "region" and a terraform variable "zone"
    create_variable(admin, ws, key="region", category="env")
    zone = create_variable(admin, ws, key="zone", category="terraform")

    # when the terraform one is renamed to "region"
    reply = admin.patch(vars_path(ws, zone["id"]), {"key": "region"})

    # then both categories have a "region"
    assert reply.status == 200, reply.body
    assert set(by_key(list_all(admin, ws))) == {("env", "region"), ("terraform", "region")}


def test_category_change_onto_an_existing_key_is_409_and_writes_nothing(admin, aws, ws):
    create_variable(admin, ws, key="REGION", category="env")
    terraform = create_variable(admin, ws, key="REGION", category="terraform")

    with nothing_written(admin, aws, ws):
        reply = admin.patch(vars_path(ws, terraform["id"]), {"category": "env"})

    assert_error(reply, 409, pointer="/key")


# --- delete ------------------------------------------------------------------------------


def test_delete_removes_the_variable_and_then_it_is_404(admin, ws):
    # given a variable
    variable = create_variable(admin, ws, key="region")

    # when it is deleted
    reply = admin.delete(vars_path(ws, variable["id"]))

    # then the reply is empty, the list no longer has it, and it is gone for later calls
    assert reply.status == 204
    assert reply.body == ""
    assert list_all(admin, ws) == []
    assert_error(admin.patch(vars_path(ws, variable["id"]), {"value": "x"}), 404)
    assert_error(admin.delete(vars_path(ws, variable["id"])), 404)


def test_deleted_key_can_be_used_again(admin, ws):
    variable = create_variable(admin, ws, key="region")
    assert admin.delete(vars_path(ws, variable["id"])).status == 204

    create_variable(admin, ws, key="region")


# --- not found ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "", None),
        ("POST", "", {"key": "region", "value": "x", "category": "terraform"}),
        ("PATCH", "/var-AAAAAAAAAAAAAAAA", {"value": "x"}),
        ("DELETE", "/var-AAAAAAAAAAAAAAAA", None),
    ],
)
def test_unknown_workspace_is_404(admin, aws, method, suffix, body):
    reply = admin.call(method, f"/workspaces/ws-AAAAAAAAAAAAAAAA/vars{suffix}", body)

    assert_error(reply, 404)
    assert not [i for i in raw_items(aws) if str(i["pk"]) == "ws-AAAAAAAAAAAAAAAA"]


@pytest.mark.parametrize(("method", "body"), [("PATCH", {"value": "x"}), ("DELETE", None)])
def test_unknown_variable_is_404(admin, ws, method, body):
    create_variable(admin, ws)

    reply = admin.call(method, vars_path(ws, "var-AAAAAAAAAAAAAAAA"), body)

    assert_error(reply, 404)


@pytest.mark.parametrize(("method", "body"), [("PATCH", {"value": "x"}), ("DELETE", None)])
def test_variable_is_reachable_only_through_its_own_workspace(admin, ws, method, body):
    # given a variable of "prod" and another workspace "staging"
    variable = create_variable(admin, ws, key="region", value="eu-west-1")
    staging = create_workspace(admin, "staging")

    # when the variable is addressed under "staging"
    reply = admin.call(method, vars_path(staging, variable["id"]), body)

    # then it is not found there, and is unchanged under "prod"
    assert_error(reply, 404)
    assert list_all(admin, ws) == [variable]


# --- invalid input: 422, and nothing is written ------------------------------------------


def test_dash_in_key_is_valid_for_terraform_but_not_for_env(admin, aws, ws):
    with nothing_written(admin, aws, ws):
        env = admin.post(vars_path(ws), {"key": "my-var", "value": "x", "category": "env"})
    assert_error(env, 422, pointer="/key")

    terraform = admin.post(vars_path(ws), {"key": "my-var", "value": "x", "category": "terraform"})
    assert terraform.status == 201, terraform.body


@pytest.mark.parametrize("key", ["1st", "has space", "dollar$", "a" * 129, ""])
def test_invalid_key_is_422(admin, aws, ws, key):
    with nothing_written(admin, aws, ws):
        reply = admin.post(vars_path(ws), {"key": key, "value": "x", "category": "terraform"})

    assert_error(reply, 422, pointer="/key")


def test_hcl_env_variable_is_422(admin, aws, ws):
    with nothing_written(admin, aws, ws):
        reply = admin.post(
            vars_path(ws), {"key": "TF_LOG", "value": "x", "category": "env", "hcl": True}
        )

    assert_error(reply, 422, pointer="/hcl")


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"key": "region", "value": "x"}, "/category"),
        ({"key": "region", "value": "x", "category": "secret"}, "/category"),
        ({"value": "x", "category": "terraform"}, "/key"),
        ({"key": "region", "value": "x", "category": "terraform", "extra": 1}, "/extra"),
        (
            {"key": "region", "value": "x", "category": "terraform", "sensitive": "yes"},
            "/sensitive",
        ),
        ({"key": "region", "value": "x", "category": "terraform", "hcl": 1}, "/hcl"),
        ({"key": "region", "value": 42, "category": "terraform"}, "/value"),
        ({"key": "region", "value": "x" * 65537, "category": "terraform"}, "/value"),
    ],
    ids=[
        "missing-category",
        "unknown-category",
        "missing-key",
        "extra-field",
        "non-bool-sensitive",
        "non-bool-hcl",
        "non-string-value",
        "value-too-long",
    ],
)
def test_invalid_create_body_is_422_naming_the_field(admin, aws, ws, body, pointer):
    with nothing_written(admin, aws, ws):
        reply = admin.post(vars_path(ws), body)

    assert_error(reply, 422, pointer=pointer)


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_invalid_json_body_is_422(admin, aws, ws, method):
    variable = create_variable(admin, ws)
    path = vars_path(ws) if method == "POST" else vars_path(ws, variable["id"])

    with nothing_written(admin, aws, ws):
        reply = admin.call(method, path, body='{"key": "region", ')

    assert_error(reply, 422)


@pytest.mark.parametrize("field", ["key", "value", "category", "hcl", "sensitive", "description"])
def test_explicit_null_in_patch_is_422(admin, aws, ws, field):
    variable = create_variable(admin, ws)

    with nothing_written(admin, aws, ws):
        reply = admin.patch(vars_path(ws, variable["id"]), {field: None})

    assert_error(reply, 422, pointer=f"/{field}")


@pytest.mark.parametrize(
    ("variable_fields", "patch", "pointer"),
    [
        ({"key": "my-var", "category": "terraform"}, {"category": "env"}, "/key"),
        ({"key": "region", "category": "terraform"}, {"key": "bad-env", "category": "env"}, "/key"),
        ({"key": "region", "category": "env"}, {"hcl": True}, "/hcl"),
        ({"key": "region", "category": "terraform", "hcl": True}, {"category": "env"}, "/hcl"),
        ({"key": "region", "category": "terraform"}, {"extra": "x"}, "/extra"),
        ({"key": "region", "category": "terraform"}, {"sensitive": "yes"}, "/sensitive"),
    ],
    ids=[
        "category-change-makes-key-invalid",
        "invalid-env-key",
        "hcl-on-env",
        "hcl-variable-to-env",
        "extra-field",
        "non-bool-sensitive",
    ],
)
def test_invalid_patch_is_422_and_writes_nothing(admin, aws, ws, variable_fields, patch, pointer):
    variable = create_variable(admin, ws, **variable_fields)

    with nothing_written(admin, aws, ws):
        reply = admin.patch(vars_path(ws, variable["id"]), patch)

    assert_error(reply, 422, pointer=pointer)


# --- who may do what ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "", None),
        ("POST", "", {"key": "zone", "value": "x", "category": "terraform"}),
        ("PATCH", "/{var}", {"value": "x"}),
        ("DELETE", "/{var}", None),
    ],
)
def test_request_without_a_token_is_401(admin, anonymous, aws, ws, method, suffix, body):
    variable = create_variable(admin, ws)

    with nothing_written(admin, aws, ws):
        reply = anonymous.call(method, vars_path(ws) + suffix.format(var=variable["id"]), body)

    assert_error(reply, 401)


def test_reader_can_list_but_not_change_variables(admin, reader, aws, ws):
    # given a variable
    variable = create_variable(admin, ws)

    # a read token lists it
    listed = reader.get(vars_path(ws))
    assert listed.status == 200, listed.body
    assert listed.json()["items"] == [variable]

    # but cannot create, change or delete
    with nothing_written(admin, aws, ws):
        assert_error(
            reader.post(vars_path(ws), {"key": "zone", "value": "x", "category": "terraform"}),
            403,
        )
        assert_error(reader.patch(vars_path(ws, variable["id"]), {"value": "x"}), 403)
        assert_error(reader.delete(vars_path(ws, variable["id"])), 403)


def test_writer_can_create_change_and_delete_variables(admin, writer, ws):
    created = writer.post(vars_path(ws), {"key": "zone", "value": "a", "category": "terraform"})
    assert created.status == 201, created.body
    variable_id = created.json()["id"]

    assert writer.patch(vars_path(ws, variable_id), {"value": "b"}).status == 200
    assert writer.delete(vars_path(ws, variable_id)).status == 204
    assert list_all(admin, ws) == []


def test_token_limited_to_another_workspace_is_403(admin, gateway, aws, ws):
    # given a variable in "prod", and a write token limited to "staging"
    variable = create_variable(admin, ws)
    staging = create_workspace(admin, "staging")
    limited = ApiClient(gateway, mint(aws, Role.WRITE, workspaces=[staging]))

    # the token works on its own workspace
    assert limited.get(vars_path(staging)).status == 200

    # but not on "prod"
    with nothing_written(admin, aws, ws):
        assert_error(limited.get(vars_path(ws)), 403)
        assert_error(
            limited.post(vars_path(ws), {"key": "zone", "value": "x", "category": "terraform"}),
            403,
        )
        assert_error(limited.patch(vars_path(ws, variable["id"]), {"value": "x"}), 403)
        assert_error(limited.delete(vars_path(ws, variable["id"])), 403)


# --- sensitive values --------------------------------------------------------------------


def test_sensitive_value_is_never_returned(admin, ws):
    # given a sensitive variable
    created = admin.post(
        vars_path(ws),
        {"key": "db_password", "value": SECRET, "category": "terraform", "sensitive": True},
    )

    # the create reply hides the value
    assert created.status == 201, created.body
    assert created.json()["value"] is None
    assert created.json()["sensitive"] is True
    assert SECRET not in created.body

    # so does the list
    listed = admin.get(vars_path(ws))
    assert listed.status == 200
    [item] = listed.json()["items"]
    assert (item["value"], item["sensitive"]) == (None, True)
    assert SECRET not in listed.body

    # and so does a change, of the value or of anything else
    for patch in ({"description": "the database"}, {"value": SECRET + "-2"}):
        changed = admin.patch(vars_path(ws, created.json()["id"]), patch)
        assert changed.status == 200, changed.body
        assert (changed.json()["value"], changed.json()["sensitive"]) == (None, True)
        assert SECRET not in changed.body


def test_sensitive_value_is_sealed_at_rest_and_bound_to_its_variable(admin, aws, ws):
    # given a sensitive variable
    variable = create_variable(
        admin, ws, key="db_password", value=SECRET, category="terraform", sensitive=True
    )

    # then no stored item holds the plaintext
    for item in raw_items(aws):
        for name, value in item.items():
            assert SECRET not in str(value), f"{name} of {item['pk']}/{item['sk']} holds it"

    # the variable's item holds a sealed value and no plain one
    stored = raw_variable(aws, ws, variable["id"])
    assert "value" not in stored
    sealed = str(stored["sealed_value"])

    # which the platform's variables key opens, bound to this workspace and variable
    sealer = variables_sealer(aws)
    assert sealer.open(sealed, bound_to=f"{ws}/{variable['id']}") == SECRET

    # and which fails to open as another variable's value
    with pytest.raises(InvalidTag):
        sealer.open(sealed, bound_to=f"{ws}/var-AAAAAAAAAAAAAAAA")


def test_changed_sensitive_value_is_sealed_again(admin, aws, ws):
    variable = create_variable(admin, ws, key="db_password", value=SECRET, sensitive=True)

    reply = admin.patch(vars_path(ws, variable["id"]), {"value": "n3w-" + SECRET})

    assert reply.status == 200, reply.body
    stored = raw_variable(aws, ws, variable["id"])
    assert "value" not in stored
    assert SECRET not in str(stored)
    opened = variables_sealer(aws).open(
        str(stored["sealed_value"]), bound_to=f"{ws}/{variable['id']}"
    )
    assert opened == "n3w-" + SECRET


def test_sensitive_variable_cannot_be_made_non_sensitive(admin, aws, ws):
    # given a sensitive variable
    variable = create_variable(admin, ws, key="db_password", value=SECRET, sensitive=True)

    # when it is made non-sensitive, alone or with other changes
    with nothing_written(admin, aws, ws):
        alone = admin.patch(vars_path(ws, variable["id"]), {"sensitive": False})
        with_value = admin.patch(
            vars_path(ws, variable["id"]), {"sensitive": False, "value": "plain"}
        )

    # then it is refused, naming the field, and the value stays hidden
    assert_error(alone, 422, pointer="/sensitive")
    assert_error(with_value, 422, pointer="/sensitive")
    assert SECRET not in alone.body


def test_making_a_plain_variable_sensitive_seals_its_old_value(admin, aws, ws):
    # given a plain variable
    variable = create_variable(admin, ws, key="db_password", value=SECRET)
    assert raw_variable(aws, ws, variable["id"])["value"] == SECRET

    # when it is made sensitive
    reply = admin.patch(vars_path(ws, variable["id"]), {"sensitive": True})

    # then its value is hidden from now on
    assert reply.status == 200, reply.body
    assert (reply.json()["value"], reply.json()["sensitive"]) == (None, True)
    assert list_all(admin, ws)[0]["value"] is None

    # and stored sealed, with no plain copy left
    stored = raw_variable(aws, ws, variable["id"])
    assert "value" not in stored
    assert SECRET not in str(stored)
    opened = variables_sealer(aws).open(
        str(stored["sealed_value"]), bound_to=f"{ws}/{variable['id']}"
    )
    assert opened == SECRET


# --- sensitive values in logs ------------------------------------------------------------


def exercise_sensitive_variable(admin: ApiClient, workspace_id: str) -> list[str]:
    """Create, list, update and fail a request with the secret; returns the reply bodies."""
    created = admin.post(
        vars_path(workspace_id),
        {"key": "db_password", "value": SECRET, "category": "terraform", "sensitive": True},
    )
    assert created.status == 201, created.body
    listed = admin.get(vars_path(workspace_id))
    assert listed.status == 200, listed.body
    updated = admin.patch(vars_path(workspace_id, created.json()["id"]), {"value": SECRET + "!"})
    assert updated.status == 200, updated.body
    rejected_by_domain = admin.post(
        vars_path(workspace_id),
        {"key": "my-var", "value": SECRET, "category": "env", "sensitive": True},
    )
    assert_error(rejected_by_domain, 422, pointer="/key")
    rejected_by_schema = admin.post(
        vars_path(workspace_id),
        {"key": "other", "value": SECRET, "category": "terraform", "sensitive": True, "x": 1},
    )
    assert_error(rejected_by_schema, 422, pointer="/x")
    return [r.body for r in (created, listed, updated, rejected_by_domain, rejected_by_schema)]


def everything_logged(capsys, caplog) -> str:
    out = capsys.readouterr()
    records = [f"{r.name} {r.getMessage()} {vars(r)!r}" for r in caplog.records]
    return "\n".join([out.out, out.err, caplog.text, *records])


def test_sensitive_value_is_never_logged(admin, ws, app_logs, capsys, caplog):
    # given logging at the template's level (POWERTOOLS_LOG_LEVEL: INFO) for every logger
    caplog.set_level(logging.INFO)

    # when a sensitive variable is created, listed, changed and sent in rejected requests
    bodies = exercise_sensitive_variable(admin, ws)

    # then the value is in no reply and in no log line
    logged = everything_logged(capsys, caplog)
    assert '"message":"variable created"' in logged  # the capture does see the app's log
    assert '"message":"variable updated"' in logged
    assert SECRET not in logged
    assert not [b for b in bodies if SECRET in b]


def test_sensitive_value_is_never_logged_even_at_debug(admin, ws, app_logs, capsys, caplog):
    # given every logger, the platform's included, at DEBUG
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger=app_logs.name)

    # when a sensitive variable is created, listed, changed and sent in rejected requests
    exercise_sensitive_variable(admin, ws)

    # then the value is in no log line
    logged = everything_logged(capsys, caplog)
    assert '"message":"variable created"' in logged
    leaking = [r.name for r in caplog.records if SECRET in f"{r.getMessage()} {vars(r)!r}"]
    assert not leaking, f"loggers that wrote the sensitive value: {sorted(set(leaking))}"
    assert SECRET not in logged
