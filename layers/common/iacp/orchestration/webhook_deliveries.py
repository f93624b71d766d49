"""What GitHub's and GitLab's webhook deliveries have in common: the connection they name,
the body's size, its content type and JSON, and turning the host's event into runs through
``VcsTriggers``. How a delivery is authenticated, and what identifies it, is each host's."""

import json
from http import HTTPStatus
from typing import Any

from pydantic import ValidationError

from iacp.errors import (
    BadRequest,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    capped,
    pointer_of,
)
from iacp.orchestration.vcs_triggers import TriggerReport, VcsTriggers
from iacp.vcs.events import Ignored, Parser
from iacp.vcs.models import VcsProvider
from iacp.vcs.secrets import ConnectionSecrets
from iacp.vcs.store import VcsConnectionStore

# GitHub caps payloads at 25 MB, but a Lambda request is at most 6 MB; pushes that large
# are pushes of thousands of commits.
MAX_BODY_BYTES = 5 * 1024 * 1024


class WebhookDeliveries:
    """A host's webhook endpoint; subclasses say which host, and authenticate."""

    provider: VcsProvider
    host: str
    handled: dict[str, Parser]  # the events that start runs, by the host's name for them

    def __init__(
        self, connections: VcsConnectionStore, secrets: ConnectionSecrets, triggers: VcsTriggers
    ):
        self._connections = connections
        self._secrets = secrets
        self._triggers = triggers

    def _webhook_secret(self, connection_id: str, body: bytes) -> str:
        """The connection's webhook secret ('' if it has none): 404 for a connection that is
        not this host's, 413 for a body over the limit. Nothing else is read."""
        record = self._connections.get(connection_id)
        if record is None or record.connection.provider is not self.provider:
            raise NotFound(f"No {self.host} VCS connection {capped(connection_id)}.")
        if len(body) > MAX_BODY_BYTES:
            raise PayloadTooLarge(
                f"The delivery is {len(body)} bytes; at most {MAX_BODY_BYTES} are accepted."
            )
        return self._secrets.read(record.secret_arn).get("webhook_secret", "")

    def _payload(self, headers: dict[str, str], body: bytes, event_header: str) -> dict[str, Any]:
        """The body as a JSON object, once the delivery is authenticated: 415 for another
        content type, 400 without the event header or for a body that is not a JSON object."""
        media_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != "application/json":
            raise UnsupportedMediaType(
                f"Content-Type is '{capped(media_type)}': set the webhook's content type to "
                "application/json."
            )
        if not headers.get(event_header.lower()):
            raise BadRequest(f"{event_header} is missing.")
        try:
            payload = json.loads(body)
        except ValueError:
            raise BadRequest("The body is not valid JSON.") from None
        if not isinstance(payload, dict):
            raise BadRequest("The body is not a JSON object.")
        return payload

    def _trigger(
        self, event: str, connection_id: str, delivery: str, payload: dict[str, Any]
    ) -> tuple[HTTPStatus, TriggerReport]:
        """The host's event as a ``RepositoryEvent``, handed to the triggers: 202 for an event
        not in ``handled``, 200 with why nothing started for one that starts nothing, 422
        naming the first field the platform needs and the payload lacks."""
        parse = self.handled.get(event)
        if parse is None:
            return HTTPStatus.ACCEPTED, TriggerReport(
                message=f"Event '{capped(event)}' is not one that starts runs "
                f"({', '.join(self.handled)})."
            )
        try:
            repository_event = parse(connection_id, delivery, payload)
        except Ignored as ignored:
            return HTTPStatus.OK, TriggerReport(message=str(ignored))
        except ValidationError as error:
            first = error.errors(include_input=False)[0]
            pointer = pointer_of(first["loc"])
            raise InvalidInput(
                f"The {capped(event)} payload is not as {self.host} sends it: "
                f"{pointer.lstrip('/')}: {first['msg']}",
                pointer=pointer,
            ) from None
        return HTTPStatus.OK, self._triggers.handle(repository_event)
