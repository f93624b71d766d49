"""The tokens table: one item per token, keyed by its id. Only the SHA-256 of the token is
stored; ``expires_at_epoch`` lets DynamoDB's TTL remove expired tokens eventually (the
authorizer checks expiry itself, since TTL deletion can lag by days)."""

from typing import Any, Protocol

from pydantic import Field

from iacp.dynamo import delete_existing, read_page
from iacp.pagination import decode_cursor
from iacp.tables import dynamodb_table
from iacp.timestamps import from_iso, to_iso
from iacp.tokens.models import ApiToken

_KEY = frozenset({"id"})


class TokenRecord(ApiToken):
    token_hash: str = Field(repr=False)


class TokenStore(Protocol):
    def add(self, record: TokenRecord) -> None: ...
    def get(self, token_id: str) -> TokenRecord | None: ...
    def page(self, limit: int, cursor: str | None) -> tuple[list[TokenRecord], str | None]: ...
    def delete(self, token_id: str) -> bool: ...


class DynamoTokenStore:
    def __init__(self, table_name: str):
        self._table = dynamodb_table(table_name)

    def add(self, record: TokenRecord) -> None:
        item: dict[str, Any] = {
            "id": record.id,
            "token_hash": record.token_hash,
            "role": record.role.value,
            "description": record.description,
            "created_at": to_iso(record.created_at),
            "created_by": record.created_by,
        }
        if record.workspaces is not None:
            item["workspaces"] = record.workspaces
        if record.expires_at is not None:
            item["expires_at"] = to_iso(record.expires_at)
            item["expires_at_epoch"] = int(record.expires_at.timestamp())
        self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(id)")

    def get(self, token_id: str) -> TokenRecord | None:
        item = self._table.get_item(Key={"id": token_id}, ConsistentRead=True).get("Item")
        return None if item is None else _record(item)

    def page(self, limit: int, cursor: str | None) -> tuple[list[TokenRecord], str | None]:
        # The tokens table holds nothing but tokens and stays small: a paginated scan is the
        # natural way to list it.
        request: dict[str, Any] = {"Limit": limit}
        start = decode_cursor(cursor, _KEY)
        items, next_cursor = read_page(self._table.scan, request, start)
        return [_record(i) for i in items], next_cursor

    def delete(self, token_id: str) -> bool:
        return delete_existing(self._table, {"id": token_id})


def _record(item: dict[str, Any]) -> TokenRecord:
    expires_at = item.get("expires_at")
    return TokenRecord(
        id=str(item["id"]),
        token_hash=str(item["token_hash"]),
        role=item["role"],
        description=str(item.get("description", "")),
        created_at=from_iso(str(item["created_at"])),
        created_by=str(item["created_by"]),
        workspaces=[str(w) for w in item["workspaces"]] if "workspaces" in item else None,
        expires_at=from_iso(str(expires_at)) if expires_at else None,
    )
