"""SQS event sources in local mode: the template's ``Type: SQS`` events as a poller that
receives from each queue (moto's) and invokes the function with the batch, as Lambda's
event-source mapping does: messages the function reports as failed (a partial batch
response), or a whole batch whose invocation raised, are left in the queue. They come back
after the queue's visibility timeout, and moto moves them to the dead-letter queue after the
redrive policy's ``maxReceiveCount`` receives, as SQS does.

(moto's own mapping is served inside ``send_message``, synchronously and without retries:
local mode does not register it.)
"""

from dataclasses import dataclass
from typing import Any

import boto3

from local.functions import LambdaContext
from local.pollers import MESSAGES, Poller
from local.template import ACCOUNT, REGION, Provisioned


@dataclass
class QueueSource:
    function_id: str
    queue: str  # the queue's name
    batch_size: int = 10
    url: str | None = None  # looked up on the first poll


def read_queue_sources(provisioned: Provisioned) -> list[QueueSource]:
    """Every ``Type: SQS`` event of the template's functions (``Queue: !GetAtt <Q>.Arn``)."""
    found = []
    functions = provisioned.template.resources("AWS::Serverless::Function")
    for function_id, function in functions.items():
        for event in function.get("Properties", {}).get("Events", {}).values():
            if event.get("Type") != "SQS":
                continue
            props = event["Properties"]
            queue_id, attribute = props["Queue"]["Fn::GetAtt"]
            if attribute != "Arn":
                raise ValueError(f"{function_id}: a queue is !GetAtt <Queue>.Arn")
            found.append(
                QueueSource(
                    function_id=function_id,
                    queue=provisioned.refs[queue_id],
                    batch_size=min(int(props.get("BatchSize", 10)), 10),
                )
            )
    return found


class QueuePoller(Poller[QueueSource]):
    name = "local-queues"
    arrivals = MESSAGES

    def poll(self) -> int:
        return sum(self._poll(source) for source in self.sources)

    def _poll(self, source: QueueSource) -> int:
        if self._client is None:
            self._client = boto3.client("sqs")
        sqs = self._client
        if source.url is None:
            source.url = str(sqs.get_queue_url(QueueName=source.queue)["QueueUrl"])
        reply = sqs.receive_message(
            QueueUrl=source.url,
            MaxNumberOfMessages=source.batch_size,
            MessageSystemAttributeNames=["All"],
        )
        messages = reply.get("Messages", [])
        if not messages:
            return 0
        arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{source.queue}"
        event = {"Records": [_record(message, arn) for message in messages]}
        try:
            answer = self._handlers[source.function_id](event, LambdaContext(source.function_id))
            failed = {f["itemIdentifier"] for f in (answer or {}).get("batchItemFailures", [])}
        except Exception:
            failed = {message["MessageId"] for message in messages}
        for message in messages:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=source.url, ReceiptHandle=message["ReceiptHandle"])
        return len(messages)


def _record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """A message as Lambda hands it to a function."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {},
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }
