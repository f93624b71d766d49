"""The platform secret, read only here, cached across invocations and never logged."""

from functools import cache

from aws_lambda_powertools.utilities.parameters import SecretsProvider

from iacp.aws import secretsmanager_client
from iacp.crypto import Sealer, derive_key

CACHE_SECONDS = 300


@cache
def secrets() -> SecretsProvider:
    """Powertools' Secrets Manager reader and its cache, on the process's one client.
    ``parameters.get_secret`` would make its own provider with a new boto3 session, which
    loads the endpoints and service models again: a tenth of a second per cold start."""
    return SecretsProvider(boto3_client=secretsmanager_client())


def platform_secret(secret_arn: str) -> str:
    value = secrets().get(secret_arn, max_age=CACHE_SECONDS)
    if not isinstance(value, str) or not value:
        raise RuntimeError("the platform secret is empty or not a string")
    return value


def sealer_for(secret_arn: str, purpose: str) -> Sealer:
    return Sealer(derive_key(platform_secret(secret_arn), purpose))
