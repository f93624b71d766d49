"""Where moto differs from AWS in ways the platform depends on, made to behave like AWS.

DynamoDB applies each request atomically: of concurrent conditional writes to one item,
exactly one succeeds. moto evaluates a condition and then writes, unguarded, so two threads can
both pass the check. Serialising moto's DynamoDB requests restores DynamoDB's guarantee; it
does not make the platform's own code any safer than it is (an unconditional write still
overwrites), so tests that race writes keep their meaning.
"""

import threading
from typing import Any

from moto.dynamodb.responses import DynamoHandler

_dynamodb_request = threading.RLock()
_original_call_action = DynamoHandler.call_action


def _atomic_call_action(self: DynamoHandler) -> Any:
    with _dynamodb_request:
        return _original_call_action(self)


def apply() -> None:
    """Idempotent: safe to call from every test session and every local server start."""
    DynamoHandler.call_action = _atomic_call_action  # type: ignore[method-assign]
