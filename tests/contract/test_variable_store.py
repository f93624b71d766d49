"""VariableStore: the same cases against the in-memory fake and DynamoVariableStore."""

import pytest

from iacp.errors import Conflict, NotFound
from iacp.variables.store import KeyTaken, VariableRecord
from tests.contract.conftest import NOW, Stores, every_page, workspace


def variable(variable_id: str, key: str = "region", **fields: object) -> VariableRecord:
    return VariableRecord.model_validate(
        {
            "id": variable_id,
            "workspace_id": "ws-1",
            "created_at": NOW,
            "updated_at": NOW,
            "key": key,
            "category": "terraform",
            "hcl": False,
            "sensitive": False,
            "description": "",
            "value": "eu-west-1",
        }
        | fields
    )


@pytest.fixture
def ws(stores: Stores) -> Stores:
    stores.workspaces.create(workspace())
    return stores


def test_a_key_is_unique_within_its_category(ws: Stores):
    ws.variables.create(variable("var-1"))

    with pytest.raises(KeyTaken):
        ws.variables.create(variable("var-2"))
    ws.variables.create(variable("var-3", category="env"))
    assert ws.variables.get("ws-1", "var-1") == variable("var-1")
    assert ws.variables.get("ws-1", "var-2") is None


def test_a_variable_needs_its_workspace(stores: Stores):
    with pytest.raises(NotFound):
        stores.variables.create(variable("var-1"))


def test_variables_are_listed_a_page_at_a_time(ws: Stores):
    for n in range(5):
        ws.variables.create(variable(f"var-{n}", key=f"k{n}"))

    listed = every_page(lambda limit, cursor: ws.variables.page("ws-1", limit, cursor), 2)

    assert sorted(v.id for v in listed) == [f"var-{n}" for n in range(5)]


def test_a_replace_needs_the_version_read_and_moves_the_key(ws: Stores):
    current = variable("var-1")
    ws.variables.create(current)
    ws.variables.create(variable("var-2", key="taken"))
    new = current.model_copy(update={"key": "zone", "version": 2})

    with pytest.raises(KeyTaken):
        ws.variables.replace(current, new.model_copy(update={"key": "taken"}))
    ws.variables.replace(current, new)
    with pytest.raises(Conflict):  # it changed since ``current`` was read
        ws.variables.replace(current, new.model_copy(update={"version": 3}))

    assert ws.variables.get("ws-1", "var-1") == new
    ws.variables.create(variable("var-3", key="region"))  # the old key is free again


def test_a_variable_is_deleted_once(ws: Stores):
    record = variable("var-1")
    ws.variables.create(record)

    assert ws.variables.delete(record) is True
    assert ws.variables.delete(record) is False
    assert ws.variables.get("ws-1", "var-1") is None
    ws.variables.create(variable("var-2"))
