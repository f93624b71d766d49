"""Conditional writes and transactions: every state change in the platform goes through
a condition, so a duplicate or late request changes nothing. And the reads the stores share:
all pages of a query, one page of a list with its cursor, a batch of keys, a page of one kind
of item by name."""

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from iacp.aws import dynamodb_client
from iacp.pagination import decode_cursor, encode_cursor
from iacp.tables import Table, deserialized, serialized, typed_request

BATCH_GET_LIMIT = 100  # keys per BatchGetItem
Reply = TypeVar("Reply")
# The workspaces table's sparse index of the items with a kind (``entity``) and a name, which
# the workspaces, run tasks, VCS connections and notification configurations living there share.
LIST_INDEX = "by-name"
_LIST_KEY = frozenset({"pk", "sk", "entity", "name"})


class TransactionCanceled(Exception):
    """A transaction was refused; ``failed[i]`` is True where action ``i``'s condition failed."""

    def __init__(self, failed: list[bool]):
        super().__init__(f"transaction canceled: {failed}")
        self.failed = failed


def is_condition_failure(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "ConditionalCheckFailedException"


def conditionally(write: Callable[[], Reply]) -> Reply | None:
    """The reply of a conditional write, or None when its condition failed: a duplicate, a
    late request or a lost race changes nothing, and the caller decides what that means.
    Any other error is raised."""
    try:
        return write()
    except ClientError as error:
        if is_condition_failure(error):
            return None
        raise


def delete_existing(table: Table, key: Mapping[str, Any]) -> bool:
    """Delete the item at ``key``; False when there was none (so a repeated delete is told
    it found nothing, rather than succeeding twice)."""
    partition = next(iter(key))
    condition = f"attribute_exists({partition})"
    return (
        conditionally(lambda: table.delete_item(Key=dict(key), ConditionExpression=condition))
        is not None
    )


def transact_write(actions: Sequence[Mapping[str, Mapping[str, Any]]]) -> None:
    """Run ``TransactWriteItems`` with plain Python values, as a table (iacp.tables) takes them.

    Each action is ``{"Put" | "Update" | "Delete" | "ConditionCheck": {...}}``.
    """
    typed = [
        {kind: typed_request(request) for kind, request in action.items()} for action in actions
    ]
    try:
        dynamodb_client().transact_write_items(TransactItems=typed)  # type: ignore[arg-type]
    except ClientError as error:
        if error.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        reasons = error.response.get("CancellationReasons", [])
        failed = [reason.get("Code") == "ConditionalCheckFailed" for reason in reasons]
        if not any(failed):
            raise  # canceled for another reason (throttling, conflict): not the caller's fault
        raise TransactionCanceled(failed) from error


@dataclass
class Update:
    """An ``update_item`` request built a clause at a time; every attribute name and value
    goes through a placeholder, so any field name (``status``, ``name``) is safe."""

    sets: list[str] = field(default_factory=list)
    removes: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)

    def name(self, attribute: str) -> str:
        placeholder = f"#n{len(self.names)}"
        self.names[placeholder] = attribute
        return placeholder

    def value(self, value: Any) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = value
        return placeholder

    def set(self, attribute: str, value: Any) -> "Update":
        self.sets.append(f"{self.name(attribute)} = {self.value(value)}")
        return self

    def set_if_absent(self, attribute: str, value: Any) -> "Update":
        """``attribute = value`` unless the item has it already (e.g. ``created_at``)."""
        name = self.name(attribute)
        self.sets.append(f"{name} = if_not_exists({name}, {self.value(value)})")
        return self

    def set_in(self, attribute: str, key: str, value: Any) -> "Update":
        """``attribute[key] = value`` in a map attribute."""
        self.sets.append(f"{self.name(attribute)}.{self.name(key)} = {self.value(value)}")
        return self

    def set_all(self, fields: Mapping[str, Any]) -> "Update":
        for attribute, value in fields.items():
            self.set(attribute, value)
        return self

    def remove(self, attributes: Collection[str]) -> "Update":
        self.removes.extend(self.name(attribute) for attribute in attributes)
        return self

    def one_of(self, attribute: str, allowed: Collection[Any]) -> str:
        """A condition: ``attribute`` is one of ``allowed``."""
        placeholders = ", ".join(self.value(value) for value in allowed)
        return f"{self.name(attribute)} IN ({placeholders})"

    def request(self, condition: str) -> dict[str, Any]:
        """The arguments of ``Table.update_item`` (with the key and ReturnValues to add)."""
        clauses = []
        if self.sets:
            clauses.append("SET " + ", ".join(self.sets))
        if self.removes:
            clauses.append("REMOVE " + ", ".join(self.removes))
        request: dict[str, Any] = {
            "UpdateExpression": " ".join(clauses),
            "ConditionExpression": condition,
        }
        if self.names:
            request["ExpressionAttributeNames"] = self.names
        if self.values:
            request["ExpressionAttributeValues"] = self.values
        return request


def pages(read: Callable[..., Any], **request: Any) -> Iterator[Mapping[str, Any]]:
    """Every reply of a query or scan (``read`` is ``table.query`` or ``table.scan``), each
    starting where the one before stopped."""
    while True:
        reply = read(**request)
        yield reply
        if "LastEvaluatedKey" not in reply:
            return
        request["ExclusiveStartKey"] = reply["LastEvaluatedKey"]


def query_all(table: Table, **request: Any) -> Iterator[dict[str, Any]]:
    """Every item a query finds, page after page."""
    for reply in pages(table.query, **request):
        yield from reply["Items"]


def read_page(
    read: Callable[..., Any], request: dict[str, Any], start: Mapping[str, Any] | None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of a list: the items a query or scan (``read``) finds from ``start`` (a
    decoded cursor, or None for the first page) and the cursor of the next page (None after
    the last)."""
    if start:
        request["ExclusiveStartKey"] = start
    reply = read(**request)
    return reply["Items"], encode_cursor(reply.get("LastEvaluatedKey"))


def batch_get(table_name: str, keys: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The items at ``keys`` (strongly consistent; missing ones left out, in no order), by
    ``BatchGetItem`` a hundred keys at a time, asking again for what DynamoDB left
    unprocessed."""
    # DynamoDB refuses a batch that names a key twice.
    unique = list({tuple(sorted(key.items())): key for key in keys}.values())
    found: list[dict[str, Any]] = []
    for start in range(0, len(unique), BATCH_GET_LIMIT):
        typed = [serialized(key) for key in unique[start : start + BATCH_GET_LIMIT]]
        request: Any = {table_name: {"Keys": typed, "ConsistentRead": True}}
        while request:
            reply = dynamodb_client().batch_get_item(RequestItems=request)
            for item in reply["Responses"].get(table_name, []):
                found.append(deserialized(item))
            request = reply.get("UnprocessedKeys") or None
    return found


def page_by_name(
    table: Table, entity: str, sk: str, limit: int, cursor: str | None, name_prefix: str = ""
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the items of one kind (``entity``; workspaces, run tasks, VCS connections),
    in name order, through the sparse ``by-name`` index; only the names that begin with
    ``name_prefix`` when it is given (the index's sort key: whole pages, no filter)."""
    request: dict[str, Any] = {
        "IndexName": LIST_INDEX,
        "KeyConditionExpression": "entity = :entity",
        "ExpressionAttributeValues": {":entity": entity},
        "Limit": limit,
    }
    if name_prefix:
        request["KeyConditionExpression"] += " AND begins_with(#name, :prefix)"
        request["ExpressionAttributeNames"] = {"#name": "name"}
        request["ExpressionAttributeValues"][":prefix"] = name_prefix
    start = decode_cursor(
        cursor, _LIST_KEY, within=lambda key: key["entity"] == entity and key["sk"] == sk
    )
    return read_page(table.query, request, start)
