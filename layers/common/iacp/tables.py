"""DynamoDB tables with plain Python values, as boto3's Table resource takes and gives them
(numbers as ``Decimal``, sets as sets, binary as ``Binary``), over the one DynamoDB client.

Not the resource itself: its model, and the classes it builds from it, cost about 35 ms of
every cold start, for what four small pieces of boto3 do here: ``TypeSerializer`` and
``TypeDeserializer`` (the values), ``ConditionExpressionBuilder`` (``Key(...)`` and
``Attr(...)`` conditions) and ``BatchWriter`` (batches). Not boto3's ``TransformationInjector``
registered on the client either: the client is shared, and the injector would change what it
takes and answers for every user of it."""

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from boto3.dynamodb.conditions import ConditionBase, ConditionExpressionBuilder
from boto3.dynamodb.table import BatchWriter
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from iacp.aws import dynamodb_client

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
# The parts of a request that hold attribute values, and of a reply (the stores ask for no
# item collection metrics, the one other place a reply has them).
_REQUEST_VALUES = ("Item", "Key", "ExpressionAttributeValues", "ExclusiveStartKey")
_REPLY_VALUES = ("Item", "Attributes", "LastEvaluatedKey")
# Where a condition object may stand, a key condition last, as the resource builds them (one
# numbering of placeholders for the request).
_CONDITIONS = (
    ("ConditionExpression", False),
    ("FilterExpression", False),
    ("KeyConditionExpression", True),
)


def serialized(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in values.items()}


def deserialized(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in values.items()}


def typed_request(request: Mapping[str, Any]) -> dict[str, Any]:
    """``request`` as the client takes it: conditions as expressions, values typed. The
    caller's own dictionaries are left as they were."""
    out = dict(request)
    builder = ConditionExpressionBuilder()
    for part, is_key_condition in _CONDITIONS:
        condition = out.get(part)
        if isinstance(condition, ConditionBase):
            built = builder.build_expression(condition, is_key_condition=is_key_condition)
            out[part] = built.condition_expression
            if built.attribute_name_placeholders:
                out["ExpressionAttributeNames"] = {
                    **out.get("ExpressionAttributeNames", {}),
                    **built.attribute_name_placeholders,
                }
            if built.attribute_value_placeholders:
                out["ExpressionAttributeValues"] = {
                    **out.get("ExpressionAttributeValues", {}),
                    **built.attribute_value_placeholders,
                }
    for part in _REQUEST_VALUES:
        if part in out:
            out[part] = serialized(out[part])
    return out


def plain_reply(reply: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(reply)
    for part in _REPLY_VALUES:
        if part in out:
            out[part] = deserialized(out[part])
    if "Items" in out:
        out["Items"] = [deserialized(item) for item in out["Items"]]
    return out


class Table:
    """One table, with the resource's methods that the stores use; each takes the resource's
    arguments and answers the client's whole reply, values plain."""

    def __init__(self, name: str):
        self.name = name
        # The client is made with the first table, at the cold start, as the resource made
        # its own: made at the first request instead, it would cost the caller the same.
        dynamodb_client()

    def get_item(self, **request: Any) -> dict[str, Any]:
        return plain_reply(dynamodb_client().get_item(**self._typed(request)))

    def put_item(self, **request: Any) -> dict[str, Any]:
        return plain_reply(dynamodb_client().put_item(**self._typed(request)))

    def update_item(self, **request: Any) -> dict[str, Any]:
        return plain_reply(dynamodb_client().update_item(**self._typed(request)))

    def delete_item(self, **request: Any) -> dict[str, Any]:
        return plain_reply(dynamodb_client().delete_item(**self._typed(request)))

    def query(self, **request: Any) -> dict[str, Any]:
        return plain_reply(dynamodb_client().query(**self._typed(request)))

    def scan(self, **request: Any) -> dict[str, Any]:
        return plain_reply(dynamodb_client().scan(**self._typed(request)))

    def batch_writer(self) -> BatchWriter:
        """boto3's own batch writer (25 requests a call, what DynamoDB left unprocessed sent
        again with the next), fed plain values."""
        # (typed as taking a client; it calls only ``batch_write_item``)
        return BatchWriter(self.name, _PlainBatches())  # type: ignore[arg-type]

    def _typed(self, request: Mapping[str, Any]) -> dict[str, Any]:
        return typed_request({"TableName": self.name, **request})


class _PlainBatches:
    """What ``BatchWriter`` takes for a client: ``BatchWriteItem`` with plain values, in the
    requests and in the unprocessed ones it answers."""

    def batch_write_item(self, RequestItems: Mapping[str, list[Any]]) -> dict[str, Any]:
        reply = dynamodb_client().batch_write_item(
            RequestItems=_each_write(RequestItems, serialized)
        )
        return {"UnprocessedItems": _each_write(reply.get("UnprocessedItems") or {}, deserialized)}


def _each_write(
    writes: Mapping[str, Any], convert: Callable[[Mapping[str, Any]], dict[str, Any]]
) -> dict[str, Any]:
    """``{table: [{"PutRequest": {"Item": ...}} | {"DeleteRequest": {"Key": ...}}]}`` with each
    item or key converted."""
    return {
        table: [
            {kind: {part: convert(values) for part, values in body.items()}}
            for write in requests
            for kind, body in write.items()
        ]
        for table, requests in writes.items()
    }


@cache
def dynamodb_table(name: str) -> Table:
    return Table(name)
