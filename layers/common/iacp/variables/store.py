"""Variables live in the workspaces table, under their workspace (``pk = <workspace id>``):
the variable (``sk = "var#<id>"``) and a key claim (``sk = "varkey#<category>#<key>"``) that
keeps a key unique within its category, written in one transaction with the variable."""

from datetime import datetime
from typing import Any, Protocol

from pydantic import Field

from iacp.dynamo import TransactionCanceled, read_page, transact_write
from iacp.errors import Conflict, NotFound
from iacp.model import Model
from iacp.pagination import decode_cursor
from iacp.tables import dynamodb_table
from iacp.timestamps import from_iso, to_iso
from iacp.variables.models import VariableCategory
from iacp.workspaces.store import WORKSPACE_SK

_KEY = frozenset({"pk", "sk"})


class VariableRecord(Model):
    """A stored variable: exactly one of ``value`` and ``sealed_value`` is set."""

    id: str
    workspace_id: str
    created_at: datetime
    updated_at: datetime
    version: int = 1
    key: str
    category: VariableCategory
    hcl: bool
    sensitive: bool
    description: str
    value: str | None = Field(None, repr=False)
    sealed_value: str | None = Field(None, repr=False)


class KeyTaken(Conflict):
    def __init__(self, record: VariableRecord):
        super().__init__(
            f"The workspace already has a {record.category} variable '{record.key}'.",
            pointer="/key",
        )


class VariableStore(Protocol):
    def create(self, record: VariableRecord) -> None: ...
    def get(self, workspace_id: str, variable_id: str) -> VariableRecord | None: ...
    def page(
        self, workspace_id: str, limit: int, cursor: str | None
    ) -> tuple[list[VariableRecord], str | None]: ...
    def replace(self, current: VariableRecord, new: VariableRecord) -> None: ...
    def delete(self, record: VariableRecord) -> bool: ...


def _variable_key(workspace_id: str, variable_id: str) -> dict[str, str]:
    return {"pk": workspace_id, "sk": f"var#{variable_id}"}


def _claim_key(record: VariableRecord) -> dict[str, str]:
    return {"pk": record.workspace_id, "sk": f"varkey#{record.category}#{record.key}"}


class DynamoVariableStore:
    def __init__(self, table_name: str):
        self._table = dynamodb_table(table_name)

    def create(self, record: VariableRecord) -> None:
        try:
            transact_write(
                [
                    self._workspace_exists(record.workspace_id),
                    self._put_variable(record, "attribute_not_exists(pk)"),
                    self._put_claim(record),
                ]
            )
        except TransactionCanceled as canceled:
            if canceled.failed[0]:
                raise NotFound(f"No workspace {record.workspace_id}.") from canceled
            raise KeyTaken(record) from canceled

    def get(self, workspace_id: str, variable_id: str) -> VariableRecord | None:
        reply = self._table.get_item(
            Key=_variable_key(workspace_id, variable_id), ConsistentRead=True
        )
        item = reply.get("Item")
        return None if item is None else _record(item)

    def page(
        self, workspace_id: str, limit: int, cursor: str | None
    ) -> tuple[list[VariableRecord], str | None]:
        request: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": workspace_id, ":prefix": "var#"},
            "Limit": limit,
            "ConsistentRead": True,
        }
        start = decode_cursor(
            cursor,
            _KEY,
            within=lambda key: key["pk"] == workspace_id and key["sk"].startswith("var#"),
        )
        items, next_cursor = read_page(self._table.query, request, start)
        return [_record(i) for i in items], next_cursor

    def replace(self, current: VariableRecord, new: VariableRecord) -> None:
        """Write ``new`` over ``current``, moving the key claim when the key or category
        changes; the variable must still be the version that was read."""
        actions: list[dict[str, Any]] = [
            self._put_variable(
                new,
                "#version = :read_version",
                names={"#version": "version"},
                values={":read_version": current.version},
            )
        ]
        if _claim_key(current) != _claim_key(new):
            actions.append(self._delete_claim(current))
            actions.append(self._put_claim(new))
        try:
            transact_write(actions)
        except TransactionCanceled as canceled:
            moved_claim = len(actions) == 3
            if moved_claim and canceled.failed == [False, False, True]:
                raise KeyTaken(new) from canceled
            raise Conflict(
                f"Variable {current.id} changed or was deleted while this update was made."
            ) from canceled

    def delete(self, record: VariableRecord) -> bool:
        try:
            transact_write(
                [
                    {
                        "Delete": {
                            "TableName": self._table.name,
                            "Key": _variable_key(record.workspace_id, record.id),
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                    self._delete_claim(record),
                ]
            )
        except TransactionCanceled:
            return False
        return True

    def _workspace_exists(self, workspace_id: str) -> dict[str, Any]:
        return {
            "ConditionCheck": {
                "TableName": self._table.name,
                "Key": {"pk": workspace_id, "sk": WORKSPACE_SK},
                "ConditionExpression": "attribute_exists(pk)",
            }
        }

    def _put_variable(
        self,
        record: VariableRecord,
        condition: str,
        names: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        put: dict[str, Any] = {
            "TableName": self._table.name,
            "Item": _item(record),
            "ConditionExpression": condition,
        }
        if names:
            put["ExpressionAttributeNames"] = names
        if values:
            put["ExpressionAttributeValues"] = values
        return {"Put": put}

    def _delete_claim(self, record: VariableRecord) -> dict[str, Any]:
        return {
            "Delete": {
                "TableName": self._table.name,
                "Key": _claim_key(record),
                "ConditionExpression": "variable_id = :id",
                "ExpressionAttributeValues": {":id": record.id},
            }
        }

    def _put_claim(self, record: VariableRecord) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self._table.name,
                "Item": _claim_key(record) | {"variable_id": record.id},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }


def _item(record: VariableRecord) -> dict[str, Any]:
    item: dict[str, Any] = _variable_key(record.workspace_id, record.id) | {
        "id": record.id,
        "key": record.key,
        "category": record.category.value,
        "hcl": record.hcl,
        "sensitive": record.sensitive,
        "description": record.description,
        "created_at": to_iso(record.created_at),
        "updated_at": to_iso(record.updated_at),
        "version": record.version,
    }
    if record.sealed_value is not None:
        item["sealed_value"] = record.sealed_value
    else:
        item["value"] = record.value or ""
    return item


def _record(item: dict[str, Any]) -> VariableRecord:
    return VariableRecord(
        id=str(item["id"]),
        workspace_id=str(item["pk"]),
        key=str(item["key"]),
        category=item["category"],
        hcl=bool(item["hcl"]),
        sensitive=bool(item["sensitive"]),
        description=str(item.get("description", "")),
        created_at=from_iso(str(item["created_at"])),
        updated_at=from_iso(str(item["updated_at"])),
        version=int(item["version"]),
        value=item.get("value"),
        sealed_value=item.get("sealed_value"),
    )
