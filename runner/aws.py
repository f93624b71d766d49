"""The runner's AWS clients, on the credentials of its settings alone.

The runner's process environment holds no AWS settings (runner.process), and nothing else is
looked at: no shared config or credentials file, no metadata endpoint.
"""

from functools import cached_property
from typing import TYPE_CHECKING, Any

import boto3

from runner.settings import RunnerSettings

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_secretsmanager.client import SecretsManagerClient


class PlatformClients:
    def __init__(self, settings: RunnerSettings):
        self._session = boto3.Session(
            aws_access_key_id=settings.aws_access_key_id,
            aws_secret_access_key=settings.aws_secret_access_key,
            aws_session_token=settings.aws_session_token or None,
            region_name=settings.aws_region,
        )
        self._endpoint_url = settings.aws_endpoint_url or None

    @cached_property
    def s3(self) -> "S3Client":
        return self._session.client("s3", endpoint_url=self._endpoint_url)

    @cached_property
    def secretsmanager(self) -> "SecretsManagerClient":
        return self._session.client("secretsmanager", endpoint_url=self._endpoint_url)

    @cached_property
    def sts(self) -> Any:  # no type stubs for STS in the environment
        return self._session.client("sts", endpoint_url=self._endpoint_url)
