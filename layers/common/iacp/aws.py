"""boto3 handles, created once per process and reused across invocations."""

import os
import re
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
import botocore.session
from botocore.exceptions import ClientError, DataNotFoundError
from botocore.loaders import Loader, instance_cache
from pydantic import BaseModel

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_ecs.client import ECSClient
    from mypy_boto3_events.client import EventBridgeClient
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_secretsmanager.client import SecretsManagerClient
    from mypy_boto3_sqs.client import SQSClient
    from mypy_boto3_stepfunctions.client import SFNClient


# What a service's name looks like: anything else is left to botocore's own checks.
_SERVICE_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")


class ServiceLoader(Loader):
    """botocore's loader of service models, less one step of a process's first clients.

    Before botocore loads a service's model it lists every service it has, some 440
    directories each listed in turn, once per kind of model (a client loads two): ~17 ms of
    CPU that every cold start paid, only so that an unknown name's error could list the known
    ones. This loader finds the one service it is asked for and lists them all only when that
    service is missing, so the error is botocore's own. botocore's pull request 3687 (open)
    proposes the same change."""

    @instance_cache
    def load_service_model(
        self, service_name: str, type_name: str, api_version: str | None = None
    ) -> Any:
        if not _SERVICE_NAME.fullmatch(service_name):  # not a name to look up as a path
            return super().load_service_model(service_name, type_name, api_version)
        try:
            versions = self.list_api_versions(service_name, type_name)
        except DataNotFoundError:  # no such service: botocore's error, naming the known ones
            return super().load_service_model(service_name, type_name, api_version)
        version = api_version or versions[-1]  # botocore's choice: the latest
        model = self.load_data(f"{service_name}/{version}/{type_name}")
        # The rest of botocore's own load_service_model, by its own (unstubbed) parts.
        extras = self._find_extras(service_name, type_name, version)  # type: ignore[attr-defined]
        self._extras_processor.process(model, extras)  # type: ignore[attr-defined]
        return model


def new_session() -> boto3.Session:
    """A boto3 session whose clients load their models through :class:`ServiceLoader`."""
    core = botocore.session.get_session()
    core.register_component("data_loader", ServiceLoader())
    return boto3.Session(botocore_session=core)


def default_session() -> boto3.Session:
    """boto3's default session, which ``boto3.client`` uses: made by :func:`new_session`
    unless something in the process made it before."""
    if boto3.DEFAULT_SESSION is None:
        boto3.DEFAULT_SESSION = new_session()
    return boto3.DEFAULT_SESSION


@cache
def dynamodb_client() -> "DynamoDBClient":
    """The one DynamoDB client: every table (iacp.tables) and transaction uses it (the first
    client of a process costs ~50 ms of its cold start, each further one ~6 ms)."""
    return default_session().client("dynamodb")


@cache
def s3_client() -> "S3Client":
    return default_session().client("s3")


@cache
def presigning_s3_client() -> "S3Client":
    """The client that signs the S3 URLs handed to clients (uploads, downloads). In AWS it
    is the S3 client. Local mode sets ``IACP_PRESIGN_ENDPOINT_URL`` to its one public server,
    which passes S3 requests on, so a client needs no second address."""
    endpoint = os.environ.get("IACP_PRESIGN_ENDPOINT_URL")
    return default_session().client("s3", endpoint_url=endpoint) if endpoint else s3_client()


@cache
def ecs_client() -> "ECSClient":
    return default_session().client("ecs")


@cache
def stepfunctions_client() -> "SFNClient":
    return default_session().client("stepfunctions")


@cache
def sts_client() -> Any:  # no type stubs for STS in the environment
    return default_session().client("sts")


@cache
def events_client() -> "EventBridgeClient":
    return default_session().client("events")


@cache
def secretsmanager_client() -> "SecretsManagerClient":
    return default_session().client("secretsmanager")


@cache
def codecommit_client() -> Any:  # no type stubs for CodeCommit in the environment
    return default_session().client("codecommit")


@cache
def sns_client() -> Any:  # no type stubs for SNS in the environment
    return default_session().client("sns")


@cache
def sqs_client() -> "SQSClient":
    return default_session().client("sqs")


def send_message(queue_url: str, message: BaseModel) -> None:
    """One message to an SQS queue, as JSON."""
    sqs_client().send_message(QueueUrl=queue_url, MessageBody=message.model_dump_json())


# What S3 answers for an object that is not there: GetObject says NoSuchKey, HeadObject (which
# has no body) a bare 404, and some clients report NotFound.
_MISSING_OBJECT = frozenset({"NoSuchKey", "404", "NotFound"})


def is_missing_object(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in _MISSING_OBJECT
