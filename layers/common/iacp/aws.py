"""boto3 handles, created once per process and reused across invocations."""

from functools import cache
from typing import TYPE_CHECKING

import boto3

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.service_resource import Table


@cache
def dynamodb_table(name: str) -> "Table":
    return boto3.resource("dynamodb").Table(name)


@cache
def dynamodb_client() -> "DynamoDBClient":
    return boto3.client("dynamodb")
