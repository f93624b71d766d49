"""Conditional writes and transactions: every state change in the platform goes through
a condition, so a duplicate or late request changes nothing."""

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError

from iacp.aws import dynamodb_client

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

_serializer = TypeSerializer()
_TYPED_PARTS = ("Item", "Key", "ExpressionAttributeValues")


class TransactionCanceled(Exception):
    """A transaction was refused; ``failed[i]`` is True where action ``i``'s condition failed."""

    def __init__(self, failed: list[bool]):
        super().__init__(f"transaction canceled: {failed}")
        self.failed = failed


def is_condition_failure(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "ConditionalCheckFailedException"


def transact_write(actions: Sequence[Mapping[str, Mapping[str, Any]]]) -> None:
    """Run ``TransactWriteItems`` with plain Python values, as the Table resource takes them.

    Each action is ``{"Put" | "Update" | "Delete" | "ConditionCheck": {...}}``.
    """
    typed = [{kind: _typed(request) for kind, request in action.items()} for action in actions]
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


def _typed(request: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(request)
    for part in _TYPED_PARTS:
        if part in out:
            out[part] = {k: _serializer.serialize(v) for k, v in out[part].items()}
    return out


def query_all(table: "Table", **request: Any) -> Iterator[dict[str, Any]]:
    """Every item a query finds, page after page."""
    while True:
        reply = table.query(**request)
        yield from reply["Items"]
        if "LastEvaluatedKey" not in reply:
            return
        request["ExclusiveStartKey"] = reply["LastEvaluatedKey"]
