"""The runner's AWS clients, on the credentials of its settings alone.

The runner's process environment holds no AWS settings (runner.process), and nothing else is
looked at for credentials: no shared credentials file, no metadata endpoint; each client gets
the phase's credentials explicitly.

One boto3 session serves the whole process, and each client is made on first use: loading a
service's model is most of what a client costs (about 0.04 s each). Local mode's warm runner
(``local.warm_runner``) calls :func:`load_service_models` once before it forks, so every phase
starts with the models in memory.
"""

from functools import cached_property
from typing import TYPE_CHECKING, Any

import boto3

from iacp.aws import new_session
from runner.settings import RunnerSettings

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_secretsmanager.client import SecretsManagerClient

# The services the runner calls.
SERVICES = ("s3", "secretsmanager", "sts")
# A region for the clients made only to load the models: nothing is ever sent with them.
_LOADING_REGION = "us-east-1"
_session: boto3.Session | None = None


def session() -> boto3.Session:
    """The process's boto3 session: its botocore session caches the service models (and
    loads them as the functions' session does: iacp.aws.ServiceLoader)."""
    global _session  # one per process, made on first use
    if _session is None:
        _session = new_session()
    return _session


def load_service_models() -> None:
    """Load what making a client of each of :data:`SERVICES` loads (models, endpoint rules),
    with placeholder credentials and no request sent."""
    for service in SERVICES:
        session().client(
            service,  # type: ignore[call-overload]
            region_name=_LOADING_REGION,
            aws_access_key_id="loading",
            aws_secret_access_key="loading",  # noqa: S106 -- not a credential
        )


class PlatformClients:
    def __init__(self, settings: RunnerSettings):
        self._settings = settings

    @cached_property
    def s3(self) -> "S3Client":
        client: S3Client = self._client("s3")
        return client

    @cached_property
    def secretsmanager(self) -> "SecretsManagerClient":
        client: SecretsManagerClient = self._client("secretsmanager")
        return client

    @cached_property
    def sts(self) -> Any:  # no type stubs for STS in the environment
        return self._client("sts")

    def _client(self, service: str) -> Any:
        return session().client(
            service,  # type: ignore[call-overload]
            region_name=self._settings.aws_region,
            endpoint_url=self._settings.aws_endpoint_url or None,
            aws_access_key_id=self._settings.aws_access_key_id,
            aws_secret_access_key=self._settings.aws_secret_access_key,
            aws_session_token=self._settings.aws_session_token or None,
        )
