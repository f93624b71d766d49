"""``iacp.tables.Table`` against DynamoDB (moto): it takes and gives what boto3's Table
resource does, so each test reads or writes the same item through the resource too."""

from decimal import Decimal
from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Attr, Key
from boto3.dynamodb.types import Binary
from boto3.exceptions import DynamoDBNeedsKeyConditionError
from botocore.exceptions import ClientError

from iacp import tables
from iacp.aws import dynamodb_client
from iacp.dynamo import is_condition_failure
from iacp.tables import Table, dynamodb_table

EVERY_TYPE: dict[str, Any] = {
    "pk": "ws-types",
    "sk": "item",
    "string": "text",
    "empty_string": "",
    "integer": 7,
    "decimal": Decimal("1.25"),
    "big": Decimal("12345678901234567890.5"),
    "true": True,
    "false": False,
    "null": None,
    "bytes": b"\x00\xff",
    "binary": Binary(b"\x01"),
    "strings": {"a", "b"},
    "numbers": {1, Decimal("2.5")},
    "binaries": {Binary(b"x"), Binary(b"y")},
    "list": ["a", 1, None, [True], {"nested": {"deep": b"z"}}],
    "map": {"empty": {}, "list": [], "number": 3},
}


@pytest.fixture
def table(aws) -> Table:
    return dynamodb_table(aws.refs["WorkspacesTable"])


@pytest.fixture
def resource(aws) -> Any:
    return boto3.resource("dynamodb").Table(aws.refs["WorkspacesTable"])


def test_every_value_type_comes_back_as_the_resource_gives_it(table, resource):
    table.put_item(Item=EVERY_TYPE)

    ours = table.get_item(Key={"pk": "ws-types", "sk": "item"}, ConsistentRead=True)["Item"]
    theirs = resource.get_item(Key={"pk": "ws-types", "sk": "item"}, ConsistentRead=True)["Item"]

    assert ours == theirs
    assert ours["integer"] == Decimal(7)
    assert isinstance(ours["integer"], Decimal)
    assert ours["bytes"] == Binary(b"\x00\xff")
    assert isinstance(ours["bytes"], Binary)
    assert ours["numbers"] == {Decimal(1), Decimal("2.5")}
    assert ours["list"][4] == {"nested": {"deep": Binary(b"z")}}


def test_an_item_the_resource_wrote_reads_the_same(table, resource):
    resource.put_item(Item=EVERY_TYPE)

    assert (
        table.get_item(Key={"pk": "ws-types", "sk": "item"})["Item"]
        == resource.get_item(Key={"pk": "ws-types", "sk": "item"})["Item"]
    )


def test_a_float_or_a_missing_item_is_what_it_is_with_the_resource(table, resource):
    with pytest.raises(TypeError, match="Float types are not supported"):
        table.put_item(Item={"pk": "ws-float", "sk": "item", "x": 1.5})
    with pytest.raises(TypeError, match="Float types are not supported"):
        resource.put_item(Item={"pk": "ws-float", "sk": "item", "x": 1.5})

    reply = table.get_item(Key={"pk": "ws-missing", "sk": "item"})

    assert "Item" not in reply
    assert reply["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_a_write_whose_condition_fails_is_refused_and_changes_nothing(table):
    table.put_item(Item={"pk": "ws-cond", "sk": "item", "version": 1})

    with pytest.raises(ClientError) as as_string:
        table.put_item(
            Item={"pk": "ws-cond", "sk": "item", "version": 9},
            ConditionExpression="attribute_not_exists(pk)",
        )
    with pytest.raises(ClientError) as as_object:
        table.update_item(
            Key={"pk": "ws-cond", "sk": "item"},
            UpdateExpression="SET version = :new",
            ConditionExpression=Attr("version").eq(2),
            ExpressionAttributeValues={":new": 9},
        )
    with pytest.raises(ClientError) as deleted:
        table.delete_item(
            Key={"pk": "ws-cond", "sk": "item"}, ConditionExpression=Attr("pk").not_exists()
        )

    assert all(is_condition_failure(e.value) for e in (as_string, as_object, deleted))
    assert table.get_item(Key={"pk": "ws-cond", "sk": "item"})["Item"]["version"] == 1


def test_a_condition_object_and_the_callers_own_placeholders_go_together(table):
    table.put_item(Item={"pk": "ws-cond", "sk": "item", "version": 1, "status": "old"})
    request = {
        "Key": {"pk": "ws-cond", "sk": "item"},
        "UpdateExpression": "SET #s = :new",
        "ConditionExpression": Attr("version").eq(1) & Attr("status").is_in(["old", "older"]),
        "ExpressionAttributeNames": {"#s": "status"},
        "ExpressionAttributeValues": {":new": "new"},
        "ReturnValues": "ALL_NEW",
    }

    reply = table.update_item(**request)

    assert reply["Attributes"] == {"pk": "ws-cond", "sk": "item", "version": 1, "status": "new"}
    # the caller's request is as it gave it (a retry may send it again)
    assert request["ExpressionAttributeNames"] == {"#s": "status"}
    assert request["ExpressionAttributeValues"] == {":new": "new"}


def test_a_query_reads_page_after_page_from_where_the_last_stopped(table):
    for n in range(7):
        table.put_item(Item={"pk": "ws-pages", "sk": f"v#{n}", "n": n})
    table.put_item(Item={"pk": "ws-other", "sk": "v#0", "n": 0})
    request: dict[str, Any] = {
        "KeyConditionExpression": Key("pk").eq("ws-pages") & Key("sk").begins_with("v#"),
        "FilterExpression": Attr("n").ne(3),
        "Limit": 3,
    }
    found: list[Decimal] = []
    cursors: list[dict[str, Any]] = []
    while True:
        reply = table.query(**request)
        found.extend(item["n"] for item in reply["Items"])
        if "LastEvaluatedKey" not in reply:
            break
        cursors.append(reply["LastEvaluatedKey"])
        request["ExclusiveStartKey"] = reply["LastEvaluatedKey"]

    assert found == [0, 1, 2, 4, 5, 6]
    assert cursors == [{"pk": "ws-pages", "sk": "v#2"}, {"pk": "ws-pages", "sk": "v#5"}]


def test_a_scan_filters_with_a_condition_object(table):
    for n in range(4):
        table.put_item(Item={"pk": f"ws-scan-{n}", "sk": "item", "n": n})

    reply = table.scan(FilterExpression=Attr("n").gte(2), ConsistentRead=True)

    assert sorted(item["n"] for item in reply["Items"]) == [2, 3]
    assert reply["ScannedCount"] == 4


def test_a_condition_that_is_not_on_keys_is_no_key_condition(table):
    with pytest.raises(DynamoDBNeedsKeyConditionError):
        table.query(KeyConditionExpression=Attr("pk").eq("ws-pages"))


def test_the_batch_writer_writes_and_deletes_past_a_batch(table, resource):
    resource.put_item(Item={"pk": "ws-batch", "sk": "gone"})
    with table.batch_writer() as batch:
        for n in range(60):
            batch.put_item(Item={"pk": "ws-batch", "sk": f"i#{n:02}", "n": n, "b": b"x"})
        batch.delete_item(Key={"pk": "ws-batch", "sk": "gone"})

    items = resource.query(KeyConditionExpression=Key("pk").eq("ws-batch"))["Items"]

    assert [item["n"] for item in items] == list(range(60))
    assert items[0]["b"] == Binary(b"x")


def test_the_batch_writer_sends_again_what_dynamodb_left_unprocessed(table, monkeypatch):
    client = dynamodb_client()
    calls: list[int] = []

    class LeavesTheLastUnprocessed:
        """The first BatchWriteItem writes all but its last request and answers that one
        unprocessed, as DynamoDB does when throttled."""

        def batch_write_item(self, RequestItems):
            requests = RequestItems[table.name]
            calls.append(len(requests))
            if len(calls) > 1:
                return client.batch_write_item(RequestItems=RequestItems)
            client.batch_write_item(RequestItems={table.name: requests[:-1]})
            return {"UnprocessedItems": {table.name: requests[-1:]}}

    monkeypatch.setattr(tables, "dynamodb_client", LeavesTheLastUnprocessed)
    with table.batch_writer() as batch:
        for n in range(30):
            batch.put_item(Item={"pk": "ws-retry", "sk": f"i#{n:02}", "n": n})
    monkeypatch.undo()

    items = table.query(KeyConditionExpression=Key("pk").eq("ws-retry"))["Items"]

    assert calls == [25, 6]  # the unprocessed one went with the last five
    assert [item["n"] for item in items] == list(range(30))
