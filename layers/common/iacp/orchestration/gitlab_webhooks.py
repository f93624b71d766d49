"""GitLab webhook deliveries: authenticated by their secret token alone (``X-Gitlab-Token``,
compared in constant time), then turned into runs by ``VcsTriggers``.

Nothing is read or written before the token matches (besides the connection, to know its
secret). A delivery is identified by GitLab's ``Idempotency-Key``, which every retry of it
repeats, manual ones too; older GitLab versions send none, and then ``X-Gitlab-Event-UUID``,
else the body's digest, stands in. The ids a delivery derives come from that, so a retry
starts nothing new. Unlike GitHub's, the body is not signed, so a replay cannot be told
by its content from a new event that happens to look the same (a branch moved back to a
commit): the key is what GitLab says is the same delivery.
"""

import hashlib
from http import HTTPStatus

from iacp.errors import Unauthorized, capped
from iacp.observability import logger
from iacp.orchestration.vcs_triggers import TriggerReport
from iacp.orchestration.webhook_deliveries import WebhookDeliveries
from iacp.vcs import gitlab
from iacp.vcs.models import VcsProvider


def delivery_of(headers: dict[str, str], body: bytes) -> str:
    """What identifies the delivery across GitLab's retries (see the module's docstring)."""
    for header in (gitlab.IDEMPOTENCY_HEADER, gitlab.EVENT_UUID_HEADER):
        value = headers.get(header.lower(), "").strip()
        if value:
            return f"gitlab:{header.lower()}:{value}"
    return "gitlab:sha256:" + hashlib.sha256(body).hexdigest()


class GitLabWebhooks(WebhookDeliveries):
    provider = VcsProvider.GITLAB
    host = "GitLab"
    handled = gitlab.HANDLED_EVENTS

    def receive(
        self, connection_id: str, headers: dict[str, str], body: bytes
    ) -> tuple[HTTPStatus, TriggerReport]:
        """``headers`` with lower-case names. The status and the reply GitLab shows in the
        webhook's "Recent events"."""
        secret = self._webhook_secret(connection_id, body)
        if not gitlab.token_matches(secret, headers.get(gitlab.TOKEN_HEADER.lower())):
            raise Unauthorized(
                f"{gitlab.TOKEN_HEADER} is missing or is not the connection's webhook secret "
                "(the webhook's Secret token)."
            )
        event = headers.get(gitlab.EVENT_HEADER.lower(), "")
        delivery = delivery_of(headers, body)
        logger.info(
            "GitLab delivery",
            extra={"gitlab_delivery": capped(delivery), "gitlab_event": capped(event)},
        )
        payload = self._payload(headers, body, gitlab.EVENT_HEADER)
        return self._trigger(event, connection_id, delivery, payload)
