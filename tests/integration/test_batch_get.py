"""``iacp.dynamo.batch_get``: many items in few calls, whatever DynamoDB's batch limits."""

import boto3

from iacp.dynamo import batch_get


def test_batch_get_reads_past_a_hundred_keys_skipping_missing_and_repeated_ones(aws):
    table_name = aws.refs["TaskResultsTable"]
    table = boto3.resource("dynamodb").Table(table_name)
    with table.batch_writer() as batch:
        for n in range(150):
            batch.put_item(Item={"id": f"taskrs-{n:03}", "n": n})
    keys = [{"id": f"taskrs-{n:03}"} for n in range(150)]

    found = batch_get(table_name, [*keys, {"id": "taskrs-missing"}, keys[0]])

    assert sorted(item["n"] for item in found) == list(range(150))
