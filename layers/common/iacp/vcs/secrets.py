"""A VCS connection's secrets (webhook secret, clone token) in Secrets Manager, one secret
per connection named ``<prefix>/<connection id>``, as JSON. Read through Powertools'
parameters cache; never logged, never returned by the API."""

import json
from typing import Any

from iacp.aws import secretsmanager_client
from iacp.secrets import CACHE_SECONDS, secrets

# Deleting a connection schedules its secret's deletion; it can be restored meanwhile.
RECOVERY_DAYS = 7


class ConnectionSecrets:
    def __init__(self, prefix: str):
        self._prefix = prefix

    def create(self, connection_id: str, values: dict[str, str]) -> str:
        """Store the connection's secrets; their ARN."""
        reply = secretsmanager_client().create_secret(
            Name=f"{self._prefix}/{connection_id}",
            Description=f"iacp VCS connection {connection_id}: webhook secret and clone token",
            SecretString=json.dumps(values),
        )
        return reply["ARN"]

    def read(self, secret_arn: str) -> dict[str, str]:
        value: Any = secrets().get(secret_arn, transform="json", max_age=CACHE_SECONDS)
        if not isinstance(value, dict):
            raise RuntimeError("a VCS connection's secret is not a JSON object")
        return {str(k): str(v) for k, v in value.items()}

    def delete(self, secret_arn: str) -> None:
        secretsmanager_client().delete_secret(
            SecretId=secret_arn, RecoveryWindowInDays=RECOVERY_DAYS
        )
