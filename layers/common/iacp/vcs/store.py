"""VCS connections live in the workspaces table (``pk = <connection id>``,
``sk = "vcs-connection"``), listed through the ``by-name`` index (``entity =
"vcs-connection"``). Their secrets are in Secrets Manager (``ConnectionSecrets``); the item
holds only the secret's ARN and whether each secret is set."""

from typing import Any, Protocol

from iacp.dynamo import LIST_INDEX, delete_existing, page_by_name, query_all
from iacp.model import Model
from iacp.tables import dynamodb_table
from iacp.timestamps import from_iso, to_iso
from iacp.vcs.models import VcsConnection, VcsProvider

CONNECTION_SK = "vcs-connection"
ENTITY = "vcs-connection"


class ConnectionRecord(Model):
    """A connection as stored: what the API shows, and where its secrets are."""

    connection: VcsConnection
    secret_arn: str


class VcsConnectionStore(Protocol):
    def add(self, record: ConnectionRecord) -> None: ...
    def get(self, connection_id: str) -> ConnectionRecord | None: ...
    def page(self, limit: int, cursor: str | None) -> tuple[list[VcsConnection], str | None]: ...
    def all(self, provider: VcsProvider) -> list[ConnectionRecord]: ...
    def delete(self, connection_id: str) -> bool: ...


class DynamoVcsConnectionStore:
    def __init__(self, table_name: str):
        self._table = dynamodb_table(table_name)

    def add(self, record: ConnectionRecord) -> None:
        self._table.put_item(Item=_item(record), ConditionExpression="attribute_not_exists(pk)")

    def get(self, connection_id: str) -> ConnectionRecord | None:
        item = self._table.get_item(
            Key={"pk": connection_id, "sk": CONNECTION_SK}, ConsistentRead=True
        ).get("Item")
        return None if item is None else _record(item)

    def page(self, limit: int, cursor: str | None) -> tuple[list[VcsConnection], str | None]:
        items, next_cursor = page_by_name(self._table, ENTITY, CONNECTION_SK, limit, cursor)
        return [_record(item).connection for item in items], next_cursor

    def all(self, provider: VcsProvider) -> list[ConnectionRecord]:
        """Every connection of a provider: an organisation has a handful."""
        items = query_all(
            self._table,
            IndexName=LIST_INDEX,
            KeyConditionExpression="entity = :entity",
            FilterExpression="provider = :provider",
            ExpressionAttributeValues={":entity": ENTITY, ":provider": provider.value},
        )
        return [_record(item) for item in items]

    def delete(self, connection_id: str) -> bool:
        return delete_existing(self._table, {"pk": connection_id, "sk": CONNECTION_SK})


def _item(record: ConnectionRecord) -> dict[str, Any]:
    connection = record.connection
    return {
        "pk": connection.id,
        "sk": CONNECTION_SK,
        "entity": ENTITY,
        "name": connection.id,
        "provider": connection.provider.value,
        "description": connection.description,
        "created_at": to_iso(connection.created_at),
        "webhook_secret_set": connection.webhook_secret_set,
        "token_set": connection.token_set,
        "secret_arn": record.secret_arn,
    } | ({"api_url": connection.api_url} if connection.api_url else {})


def _record(item: dict[str, Any]) -> ConnectionRecord:
    return ConnectionRecord(
        connection=VcsConnection(
            id=str(item["pk"]),
            created_at=from_iso(str(item["created_at"])),
            provider=VcsProvider(str(item["provider"])),
            description=str(item.get("description", "")),
            webhook_secret_set=bool(item.get("webhook_secret_set")),
            token_set=bool(item.get("token_set")),
            api_url=item.get("api_url"),
        ),
        secret_arn=str(item["secret_arn"]),
    )
