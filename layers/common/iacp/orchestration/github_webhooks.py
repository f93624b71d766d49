"""GitHub webhook deliveries: authenticated by their signature alone, then turned into
runs by ``VcsTriggers``.

Nothing is read or written before the signature matches (besides the connection, to know
its secret). Replays are recognised by content: the ids a delivery derives come from the
body's digest, so GitHub's redelivery (same ``X-GitHub-Delivery``, same body) and a
captured body replayed under another delivery id both start nothing new.
"""

import hashlib
import json
from http import HTTPStatus
from typing import Any

from pydantic import ValidationError

from iacp.errors import (
    BadRequest,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
    capped,
    pointer_of,
)
from iacp.observability import logger
from iacp.orchestration.vcs_triggers import TriggerReport, VcsTriggers
from iacp.vcs import github
from iacp.vcs.events import Ignored
from iacp.vcs.models import VcsProvider
from iacp.vcs.secrets import ConnectionSecrets
from iacp.vcs.store import VcsConnectionStore

# GitHub caps payloads at 25 MB, but a Lambda request is at most 6 MB; pushes that large
# are pushes of thousands of commits.
MAX_BODY_BYTES = 5 * 1024 * 1024
HANDLED_EVENTS = {"push": github.push_event, "pull_request": github.pull_request_event}


class GitHubWebhooks:
    def __init__(
        self, connections: VcsConnectionStore, secrets: ConnectionSecrets, triggers: VcsTriggers
    ):
        self._connections = connections
        self._secrets = secrets
        self._triggers = triggers

    def receive(
        self, connection_id: str, headers: dict[str, str], body: bytes
    ) -> tuple[HTTPStatus, TriggerReport]:
        """``headers`` with lower-case names. The status and the reply GitHub shows in the
        webhook's delivery log."""
        record = self._connections.get(connection_id)
        if record is None or record.connection.provider is not VcsProvider.GITHUB:
            raise NotFound(f"No GitHub VCS connection {capped(connection_id)}.")
        if len(body) > MAX_BODY_BYTES:
            raise PayloadTooLarge(
                f"The delivery is {len(body)} bytes; at most {MAX_BODY_BYTES} are accepted."
            )
        secret = self._secrets.read(record.secret_arn).get("webhook_secret", "")
        signature = headers.get(github.SIGNATURE_HEADER.lower())
        if not secret or not github.signature_matches(secret, body, signature):
            raise Unauthorized(
                f"{github.SIGNATURE_HEADER} is missing or does not match the body "
                "(HMAC-SHA256 with the connection's webhook secret)."
            )
        delivery = headers.get("x-github-delivery", "")
        event = headers.get("x-github-event", "")
        logger.info("GitHub delivery", extra={"github_delivery": delivery, "github_event": event})
        media_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != "application/json":
            raise UnsupportedMediaType(
                f"Content-Type is '{capped(media_type)}': set the webhook's content type to "
                "application/json."
            )
        if not event:
            raise BadRequest("X-GitHub-Event is missing.")
        payload = _json_object(body)
        if event == "ping":
            return HTTPStatus.OK, TriggerReport(message="pong: the webhook reaches the platform.")
        parse = HANDLED_EVENTS.get(event)
        if parse is None:
            return HTTPStatus.ACCEPTED, TriggerReport(
                message=f"Event '{capped(event)}' is not one that starts runs (push, pull_request)."
            )
        try:
            repository_event = parse(connection_id, hashlib.sha256(body).hexdigest(), payload)
        except Ignored as ignored:
            return HTTPStatus.OK, TriggerReport(message=str(ignored))
        except ValidationError as error:
            first = error.errors(include_input=False)[0]
            pointer = pointer_of(first["loc"])
            raise InvalidInput(
                f"The {event} payload is not as GitHub sends it: {pointer.lstrip('/')}: "
                f"{first['msg']}",
                pointer=pointer,
            ) from None
        return HTTPStatus.OK, self._triggers.handle(repository_event)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except ValueError:
        raise BadRequest("The body is not valid JSON.") from None
    if not isinstance(payload, dict):
        raise BadRequest("The body is not a JSON object.")
    return payload
