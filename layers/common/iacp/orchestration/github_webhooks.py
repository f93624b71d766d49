"""GitHub webhook deliveries: authenticated by their signature alone, then turned into
runs by ``VcsTriggers``.

Nothing is read or written before the signature matches (besides the connection, to know
its secret). Replays are recognised by content: the ids a delivery derives come from the
body's digest, so GitHub's redelivery (same ``X-GitHub-Delivery``, same body) and a
captured body replayed under another delivery id both start nothing new.
"""

import hashlib
from http import HTTPStatus

from iacp.errors import Unauthorized, capped
from iacp.observability import logger
from iacp.orchestration.vcs_triggers import TriggerReport
from iacp.orchestration.webhook_deliveries import WebhookDeliveries
from iacp.vcs import github
from iacp.vcs.events import Parser
from iacp.vcs.models import VcsProvider

EVENT_HEADER = "X-GitHub-Event"
HANDLED_EVENTS: dict[str, Parser] = {
    "push": github.push_event,
    "pull_request": github.pull_request_event,
}


class GitHubWebhooks(WebhookDeliveries):
    provider = VcsProvider.GITHUB
    host = "GitHub"
    handled = HANDLED_EVENTS

    def receive(
        self, connection_id: str, headers: dict[str, str], body: bytes
    ) -> tuple[HTTPStatus, TriggerReport]:
        """``headers`` with lower-case names. The status and the reply GitHub shows in the
        webhook's delivery log."""
        secret = self._webhook_secret(connection_id, body)
        signature = headers.get(github.SIGNATURE_HEADER.lower())
        if not secret or not github.signature_matches(secret, body, signature):
            raise Unauthorized(
                f"{github.SIGNATURE_HEADER} is missing or does not match the body "
                "(HMAC-SHA256 with the connection's webhook secret)."
            )
        delivery = headers.get("x-github-delivery", "")
        event = headers.get(EVENT_HEADER.lower(), "")
        logger.info(
            "GitHub delivery",
            extra={"github_delivery": capped(delivery), "github_event": capped(event)},
        )
        payload = self._payload(headers, body, EVENT_HEADER)
        if event == "ping":
            return HTTPStatus.OK, TriggerReport(message="pong: the webhook reaches the platform.")
        return self._trigger(event, connection_id, hashlib.sha256(body).hexdigest(), payload)
