"""DynamoDB Streams event sources in local mode: the template's ``Type: DynamoDB`` events as
a poller that reads each table's stream (moto's) and invokes the function with the batch, as
Lambda's event-source mapping does.

It honours what the template asks of the mapping: ``BatchSize``; a partial batch response
(``batchItemFailures``: the batch is retried from the first failed record); and
``MaximumRetryAttempts``, after which the failed records go to the ``OnFailure`` SQS
destination and the poller moves on. Bisecting a failed batch is not emulated (with partial
batch responses it changes nothing).
"""

import json
import logging
from dataclasses import dataclass, field
from typing import Any

import boto3

from local.functions import LambdaContext
from local.pollers import TABLE_WRITES, Poller
from local.template import Provisioned

logger = logging.getLogger(__name__)


@dataclass
class StreamSource:
    function_id: str
    table: str  # the table's name
    batch_size: int = 100
    maximum_retry_attempts: int = -1  # -1: until the record expires, as in AWS
    on_failure_queue: str | None = None  # the queue's name
    stream_arn: str | None = None  # looked up on the first poll
    iterators: dict[str, str] = field(default_factory=dict)  # shard id -> next iterator
    pending: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # retried records
    attempts: dict[str, int] = field(default_factory=dict)


def read_stream_sources(provisioned: Provisioned) -> list[StreamSource]:
    """Every ``Type: DynamoDB`` event of the template's functions, with its table named by
    ``!GetAtt <Table>.StreamArn``."""
    found = []
    functions = provisioned.template.resources("AWS::Serverless::Function")
    for function_id, function in functions.items():
        for event in function.get("Properties", {}).get("Events", {}).values():
            if event.get("Type") != "DynamoDB":
                continue
            props = event["Properties"]
            table_id, attribute = props["Stream"]["Fn::GetAtt"]
            if attribute != "StreamArn":
                raise ValueError(f"{function_id}: a stream is !GetAtt <Table>.StreamArn")
            destination = props.get("DestinationConfig", {}).get("OnFailure", {})
            queue = destination.get("Destination", {}).get("Fn::GetAtt", [None])[0]
            found.append(
                StreamSource(
                    function_id=function_id,
                    table=provisioned.refs[table_id],
                    batch_size=int(props.get("BatchSize", 100)),
                    maximum_retry_attempts=int(props.get("MaximumRetryAttempts", -1)),
                    on_failure_queue=provisioned.refs[queue] if queue else None,
                )
            )
    return found


class StreamPoller(Poller[StreamSource]):
    """Polls every source's stream each ``period`` seconds, from the stream's start."""

    name = "local-streams"
    arrivals = TABLE_WRITES

    def poll(self) -> int:
        """One round over every source and shard; how many records were handed over."""
        return sum(self._poll(source) for source in self.sources)

    def _streams(self) -> Any:
        """The streams client, made once, with the environment of the first poll."""
        if self._client is None:
            self._client = boto3.client("dynamodbstreams")
        return self._client

    def _poll(self, source: StreamSource) -> int:
        streams = self._streams()
        if source.stream_arn is None:
            table = boto3.client("dynamodb").describe_table(TableName=source.table)["Table"]
            source.stream_arn = str(table["LatestStreamArn"])
        arn = source.stream_arn
        handed = 0
        for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            shard_id = shard["ShardId"]
            records = source.pending.pop(shard_id, None)
            if records is None:
                iterator = (
                    source.iterators.get(shard_id)
                    or streams.get_shard_iterator(
                        StreamArn=arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                    )["ShardIterator"]
                )
                reply = streams.get_records(ShardIterator=iterator, Limit=source.batch_size)
                source.iterators[shard_id] = reply["NextShardIterator"]
                records = [record | {"eventSourceARN": arn} for record in reply["Records"]]
            if records:
                handed += len(records)
                self._deliver(source, shard_id, records)
        return handed

    def _deliver(self, source: StreamSource, shard_id: str, records: list[dict[str, Any]]) -> None:
        event = json.loads(json.dumps({"Records": records}, default=str))  # as if from JSON
        try:
            reply = self._handlers[source.function_id](event, LambdaContext(source.function_id))
            failures = [f["itemIdentifier"] for f in (reply or {}).get("batchItemFailures", [])]
        except Exception:
            logger.exception("%s failed on a stream batch", source.function_id)
            failures = [records[0]["dynamodb"]["SequenceNumber"]]
        if not failures:
            source.attempts.pop(shard_id, None)
            return
        sequence = [r["dynamodb"]["SequenceNumber"] for r in records]
        failed = records[sequence.index(failures[0]) :] if failures[0] in sequence else records
        attempts = source.attempts.get(shard_id, 0) + 1
        if 0 <= source.maximum_retry_attempts < attempts:
            source.attempts.pop(shard_id, None)
            self._give_up(source, failed)
            return
        source.attempts[shard_id] = attempts
        source.pending[shard_id] = failed  # the next round retries from the first failure

    def _give_up(self, source: StreamSource, records: list[dict[str, Any]]) -> None:
        logger.error("%s: %d stream records given up", source.function_id, len(records))
        if source.on_failure_queue is None:
            return
        sqs = boto3.client("sqs")
        url = sqs.get_queue_url(QueueName=source.on_failure_queue)["QueueUrl"]
        body = {
            "requestContext": {"condition": "RetryAttemptsExhausted"},
            "DDBStreamBatchInfo": {
                "shardId": "",
                "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
                "batchSize": len(records),
                "streamArn": records[0].get("eventSourceARN"),
            },
        }
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))
