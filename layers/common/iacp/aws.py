"""boto3 handles, created once per process and reused across invocations."""

import os
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError
from pydantic import BaseModel

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_ecs.client import ECSClient
    from mypy_boto3_events.client import EventBridgeClient
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_secretsmanager.client import SecretsManagerClient
    from mypy_boto3_sqs.client import SQSClient
    from mypy_boto3_stepfunctions.client import SFNClient


@cache
def dynamodb_client() -> "DynamoDBClient":
    """The one DynamoDB client: every table (iacp.tables) and transaction uses it (the first
    client of a process costs ~50 ms of its cold start, each further one ~6 ms)."""
    return boto3.client("dynamodb")


@cache
def s3_client() -> "S3Client":
    return boto3.client("s3")


@cache
def presigning_s3_client() -> "S3Client":
    """The client that signs the S3 URLs handed to clients (uploads, downloads). In AWS it
    is the S3 client. Local mode sets ``IACP_PRESIGN_ENDPOINT_URL`` to its one public server,
    which passes S3 requests on, so a client needs no second address."""
    endpoint = os.environ.get("IACP_PRESIGN_ENDPOINT_URL")
    return boto3.client("s3", endpoint_url=endpoint) if endpoint else s3_client()


@cache
def ecs_client() -> "ECSClient":
    return boto3.client("ecs")


@cache
def stepfunctions_client() -> "SFNClient":
    return boto3.client("stepfunctions")


@cache
def sts_client() -> Any:  # no type stubs for STS in the environment
    return boto3.client("sts")


@cache
def events_client() -> "EventBridgeClient":
    return boto3.client("events")


@cache
def secretsmanager_client() -> "SecretsManagerClient":
    return boto3.client("secretsmanager")


@cache
def codecommit_client() -> Any:  # no type stubs for CodeCommit in the environment
    return boto3.client("codecommit")


@cache
def sns_client() -> Any:  # no type stubs for SNS in the environment
    return boto3.client("sns")


@cache
def sqs_client() -> "SQSClient":
    return boto3.client("sqs")


def send_message(queue_url: str, message: BaseModel) -> None:
    """One message to an SQS queue, as JSON."""
    sqs_client().send_message(QueueUrl=queue_url, MessageBody=message.model_dump_json())


# What S3 answers for an object that is not there: GetObject says NoSuchKey, HeadObject (which
# has no body) a bare 404, and some clients report NotFound.
_MISSING_OBJECT = frozenset({"NoSuchKey", "404", "NotFound"})


def is_missing_object(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in _MISSING_OBJECT
