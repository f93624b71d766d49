"""The run-task protocol's wire format: the request's signature and the result document.

The platform speaks HCP Terraform's run-task protocol, so this module fits both.
"""

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Any, Literal

SIGNATURE_HEADER = "X-TFC-Task-Signature"
RESULT_MEDIA_TYPE = "application/vnd.api+json"

# Stages at which a run task can run. Every stage but pre_plan has a plan to read.
STAGES = ("pre_plan", "post_plan", "pre_apply", "post_apply")

# What the platform accepts in a task result.
MAX_MESSAGE = 1000
MAX_URL = 500
MAX_OUTCOMES = 10
MAX_DESCRIPTION = 1000
MAX_BODY = 10_000

Status = Literal["running", "passed", "failed"]
Level = Literal["none", "info", "warning", "error"]


def sign(key: bytes, body: bytes) -> str:
    """The request's signature: hex HMAC-SHA512 of the exact body bytes."""
    return hmac.new(key, body, hashlib.sha512).hexdigest()


def signature_matches(key: bytes, body: bytes, signature: str) -> bool:
    """Whether ``signature`` (the header's value) signs ``body`` with ``key``.

    ``compare_digest`` takes as long whatever the first wrong character, so an attacker
    cannot find a valid signature one character at a time.
    """
    # Header values arrive as Latin-1 text; as bytes, any value compares (str would
    # have to be ASCII).
    return hmac.compare_digest(sign(key, body).encode(), signature.encode("latin-1"))


def is_verification_request(request: Mapping[str, Any]) -> bool:
    """The request the platform sends when a run task is created or its URL or key change.

    It only checks that the service answers (and signs correctly): reply 200, do nothing.
    """
    return (
        request.get("stage") == "test"
        and request.get("access_token") == "test-token"
        and request.get("task_result_enforcement_level") == "test"
    )


def result_document(
    status: Status,
    message: str,
    outcomes: Sequence[Mapping[str, Any]] = (),
    url: str | None = None,
) -> dict[str, Any]:
    """The body of the result callback (``PATCH task_result_callback_url``).

    ``outcomes`` are ``task-result-outcomes`` resources (see ``policy.Outcome.resource``).
    """
    attributes: dict[str, Any] = {"status": status, "message": message}
    if url is not None:
        attributes["url"] = url
    data: dict[str, Any] = {"type": "task-results", "attributes": attributes}
    if outcomes:
        data["relationships"] = {"outcomes": {"data": list(outcomes)}}
    return {"data": data}
