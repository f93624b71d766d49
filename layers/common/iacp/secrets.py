"""The platform secret, read only here, cached across invocations and never logged."""

from aws_lambda_powertools.utilities import parameters

from iacp.crypto import Sealer, derive_key

_CACHE_SECONDS = 300


def platform_secret(secret_arn: str) -> str:
    value = parameters.get_secret(secret_arn, max_age=_CACHE_SECONDS)
    if not isinstance(value, str) or not value:
        raise RuntimeError("the platform secret is empty or not a string")
    return value


def sealer_for(secret_arn: str, purpose: str) -> Sealer:
    return Sealer(derive_key(platform_secret(secret_arn), purpose))
