"""TFE's workspace variables (``vars``) through the gateway (/api/v2), over the same
variables as /api/v1: sensitive values stay write-only, bad bodies are 422s in TFE's
envelope, and a token's role and workspace limits hold."""

from typing import Any

import pytest

from iacp.principal import Role
from tests.conftest import ApiClient, mint


def new_workspace(client: ApiClient, name: str = "vars") -> str:
    reply = client.post("/workspaces", {"name": name})
    assert reply.status == 201, reply.body
    return str(reply.json()["id"])


def var(**attributes: Any) -> dict[str, Any]:
    return {"data": {"type": "vars", "attributes": attributes}}


def tfe_error(reply: Any, status: int, pointer: str | None = None) -> dict[str, Any]:
    assert reply.status == status, reply.body
    assert reply.headers.get("TFP-API-Version") == "2.6"
    (error, *_) = reply.json()["errors"]
    assert error["status"] == str(status) and error["detail"]
    if pointer is not None:
        assert error["source"]["pointer"] == pointer, error
    return dict(error)


def test_create_list_read_update_delete(admin):
    ws = new_workspace(admin)
    tfe = admin.tfe()

    created = tfe.post(
        f"/workspaces/{ws}/vars",
        var(key="region", value="eu-west-1", category="terraform", description="where"),
    )
    variable = created.json()["data"]
    listed = tfe.get(f"/workspaces/{ws}/vars").json()["data"]
    patched = tfe.patch(
        f"/workspaces/{ws}/vars/{variable['id']}",
        {"data": {"type": "vars", "id": variable["id"], "attributes": {"value": "us-east-1"}}},
    )
    read = tfe.get(f"/workspaces/{ws}/vars/{variable['id']}").json()["data"]
    deleted = tfe.delete(f"/workspaces/{ws}/vars/{variable['id']}")

    assert created.status == 201, created.body
    assert variable["type"] == "vars" and variable["id"].startswith("var-")
    assert variable["attributes"] == {
        "key": "region",
        "value": "eu-west-1",
        "category": "terraform",
        "hcl": False,
        "sensitive": False,
        "description": "where",
        "created-at": variable["attributes"]["created-at"],
    }
    assert variable["relationships"]["configurable"]["data"] == {"id": ws, "type": "workspaces"}
    assert [v["id"] for v in listed] == [variable["id"]]
    assert patched.status == 200, patched.body
    assert read["attributes"]["value"] == "us-east-1"
    assert deleted.status == 204
    assert tfe.get(f"/workspaces/{ws}/vars").json()["data"] == []


def test_the_same_variables_as_api_v1(admin):
    ws = new_workspace(admin)
    admin.post(f"/workspaces/{ws}/vars", {"key": "TF_LOG", "value": "info", "category": "env"})

    admin.tfe().post(
        f"/workspaces/{ws}/vars", var(key="count", value="3", category="terraform", hcl=True)
    )

    v1 = {v["key"]: v for v in admin.list_all(f"/workspaces/{ws}/vars")}
    v2 = {
        v["attributes"]["key"]: v for v in admin.tfe().get(f"/workspaces/{ws}/vars").json()["data"]
    }
    assert set(v1) == set(v2) == {"TF_LOG", "count"}
    assert v1["count"]["hcl"] is True and v2["TF_LOG"]["attributes"]["category"] == "env"
    assert v1["count"]["id"] == v2["count"]["id"]


def test_a_sensitive_value_is_write_only(admin):
    ws = new_workspace(admin)

    created = admin.tfe().post(
        f"/workspaces/{ws}/vars",
        var(key="password", value="hunter2-secret", category="terraform", sensitive=True),
    )
    variable_id = created.json()["data"]["id"]
    listed = admin.tfe().get(f"/workspaces/{ws}/vars")
    read = admin.tfe().get(f"/workspaces/{ws}/vars/{variable_id}")
    made_plain = admin.tfe().patch(f"/workspaces/{ws}/vars/{variable_id}", var(sensitive=False))

    assert created.status == 201
    assert created.json()["data"]["attributes"]["value"] is None  # null, not left out
    assert created.json()["data"]["attributes"]["sensitive"] is True
    for reply in (created, listed, read, made_plain):
        assert "hunter2-secret" not in reply.body
    assert read.json()["data"]["attributes"]["value"] is None
    tfe_error(made_plain, 422, "/data/attributes/sensitive")


@pytest.mark.parametrize(
    ("attributes", "pointer"),
    [
        ({"key": "1bad", "value": "x", "category": "terraform"}, "/data/attributes/key"),
        ({"key": "ok", "value": "x", "category": "secret"}, "/data/attributes/category"),
        ({"key": "ok", "value": "x", "category": "env", "hcl": True}, "/data/attributes/hcl"),
        ({"key": "ok", "value": "x"}, "/data/attributes/category"),
        ({"key": "ok", "value": 5, "category": "env"}, "/data/attributes/value"),
        ({"key": "ok", "value": "x" * 65537, "category": "env"}, "/data/attributes/value"),
        ({"value": "x", "category": "env"}, "/data/attributes/key"),
    ],
)
def test_bad_variables_are_422s_and_write_nothing(admin, attributes, pointer):
    ws = new_workspace(admin)

    reply = admin.tfe().post(f"/workspaces/{ws}/vars", var(**attributes))

    tfe_error(reply, 422, pointer)
    assert admin.tfe().get(f"/workspaces/{ws}/vars").json()["data"] == []


def test_a_body_that_is_not_a_variable_is_a_422(admin):
    ws = new_workspace(admin)

    wrong_type = admin.tfe().post(
        f"/workspaces/{ws}/vars", {"data": {"type": "var", "attributes": {"key": "a"}}}
    )

    tfe_error(wrong_type, 422, "/data/type")


def test_a_taken_key_is_a_422_on_the_key(admin):
    ws = new_workspace(admin)
    admin.tfe().post(f"/workspaces/{ws}/vars", var(key="a", value="1", category="env"))

    again = admin.tfe().post(f"/workspaces/{ws}/vars", var(key="a", value="2", category="env"))
    other_category = admin.tfe().post(
        f"/workspaces/{ws}/vars", var(key="a", value="3", category="terraform")
    )

    tfe_error(again, 422, "/data/attributes/key")
    assert other_category.status == 201
    values = sorted(
        v["attributes"]["value"] for v in admin.tfe().get(f"/workspaces/{ws}/vars").json()["data"]
    )
    assert values == ["1", "3"]


def test_a_null_in_an_update_is_a_422_and_changes_nothing(admin):
    ws = new_workspace(admin)
    created = admin.tfe().post(f"/workspaces/{ws}/vars", var(key="a", value="1", category="env"))
    path = f"/workspaces/{ws}/vars/{created.json()['data']['id']}"

    tfe_error(admin.tfe().patch(path, var(value=None)), 422, "/data/attributes/value")
    assert admin.tfe().get(path).json()["data"]["attributes"]["value"] == "1"


def test_unknown_workspaces_and_variables_are_404s(admin):
    ws = new_workspace(admin)

    tfe_error(admin.tfe().get("/workspaces/ws-unknown/vars"), 404)
    tfe_error(
        admin.tfe().post("/workspaces/ws-unknown/vars", var(key="a", value="1", category="env")),
        404,
    )
    tfe_error(admin.tfe().get(f"/workspaces/{ws}/vars/var-unknown"), 404)
    tfe_error(admin.tfe().patch(f"/workspaces/{ws}/vars/var-unknown", var(value="2")), 404)
    tfe_error(admin.tfe().delete(f"/workspaces/{ws}/vars/var-unknown"), 404)


def test_a_read_token_reads_but_cannot_write(admin, reader):
    ws = new_workspace(admin)
    created = admin.tfe().post(f"/workspaces/{ws}/vars", var(key="a", value="1", category="env"))
    path = f"/workspaces/{ws}/vars/{created.json()['data']['id']}"

    assert reader.tfe().get(f"/workspaces/{ws}/vars").status == 200
    tfe_error(
        reader.tfe().post(f"/workspaces/{ws}/vars", var(key="b", value="2", category="env")), 403
    )
    tfe_error(reader.tfe().patch(path, var(value="9")), 403)
    tfe_error(reader.tfe().delete(path), 403)
    assert admin.tfe().get(path).json()["data"]["attributes"]["value"] == "1"


def test_a_limited_token_sees_nothing_of_other_workspaces(aws, gateway, admin):
    mine = new_workspace(admin, "mine")
    other = new_workspace(admin, "other")
    created = admin.tfe().post(f"/workspaces/{other}/vars", var(key="a", value="1", category="env"))
    path = f"/workspaces/{other}/vars/{created.json()['data']['id']}"
    token = ApiClient(gateway, mint(aws, Role.WRITE, [mine])).tfe()

    tfe_error(token.get(f"/workspaces/{other}/vars"), 404)
    tfe_error(token.get(path), 404)
    tfe_error(token.patch(path, var(value="9")), 404)
    tfe_error(token.delete(path), 404)
    tfe_error(token.post(f"/workspaces/{other}/vars", var(key="b", value="2", category="env")), 404)
    tfe_error(token.get("/vars", query={"filter[workspace][name]": "other"}), 404)
    assert token.get(f"/workspaces/{mine}/vars").status == 200
    assert admin.tfe().get(path).json()["data"]["attributes"]["value"] == "1"


def test_the_older_filter_form_lists_a_workspaces_variables(admin):
    ws = new_workspace(admin, "filtered")
    admin.tfe().post(f"/workspaces/{ws}/vars", var(key="a", value="1", category="env"))

    found = admin.tfe().get(
        "/vars",
        query={"filter[workspace][name]": "filtered", "filter[organization][name]": "default"},
    )
    other_org = admin.tfe().get(
        "/vars", query={"filter[workspace][name]": "filtered", "filter[organization][name]": "acme"}
    )
    no_filter = admin.tfe().get("/vars")

    assert [v["attributes"]["key"] for v in found.json()["data"]] == ["a"]
    assert other_org.json()["data"] == []
    tfe_error(no_filter, 422)
    tfe_error(admin.tfe().get("/vars", query={"filter[workspace][name]": "nope"}), 404)
