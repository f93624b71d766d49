"""Notification configurations as users manage them: a workspace's admins create, change,
verify and delete them; anyone who may read the workspace reads them and their delivery log.
The URL and the token are write-only. A destination must be one this stack sends to: an
``https://`` URL (unless it allows plain HTTP), or one of the topics its functions may
publish to."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from iacp.crypto import Sealer
from iacp.errors import Conflict, InvalidInput, NotFound, capped
from iacp.ids import new_id
from iacp.notifications.destinations import Context, send
from iacp.notifications.models import (
    VERIFICATION,
    DeliveryStatus,
    DestinationType,
    NotificationConfiguration,
    NotificationConfigurationCreate,
    NotificationConfigurationUpdate,
    NotificationDelivery,
    VerificationResult,
)
from iacp.notifications.store import (
    ConfigurationRecord,
    DeliveryLog,
    NotificationStore,
    seal,
)
from iacp.observability import logger
from iacp.outbound import Outbound, require_https
from iacp.pagination import Page
from iacp.principal import Principal, Role
from iacp.timestamps import utcnow
from iacp.workspaces.service import existing_workspace
from iacp.workspaces.store import WorkspaceStore

SEALING_PURPOSE = "notification-secrets"


class NotificationService:
    def __init__(
        self,
        store: NotificationStore,
        deliveries: DeliveryLog,
        workspaces: WorkspaceStore,
        sealer: Callable[[], Sealer],
        organization_name: str,
        outbound: Outbound,
        plain_http_allowed: bool,
        topic_arn_prefix: str,
        clock: Callable[[], datetime] = utcnow,
    ):
        self._store = store
        self._deliveries = deliveries
        self._workspaces = workspaces
        self._sealer = sealer
        self._organization_name = organization_name
        self._outbound = outbound
        self._plain_http_allowed = plain_http_allowed
        self._topic_arn_prefix = topic_arn_prefix  # what the functions' sns:Publish allows
        self._clock = clock

    def create(
        self, principal: Principal, workspace_id: str, request: NotificationConfigurationCreate
    ) -> NotificationConfiguration:
        principal.require_workspace(workspace_id, Role.ADMIN)
        existing_workspace(self._workspaces, workspace_id)
        url = None if request.url is None else str(request.url)
        check_destination(request.destination_type, url, request.topic_arn, request.token)
        self._check_sendable(url, request.topic_arn)
        now = self._clock()
        configuration_id = new_id("nc")
        record = ConfigurationRecord(
            configuration=NotificationConfiguration(
                id=configuration_id,
                created_at=now,
                updated_at=now,
                workspace_id=workspace_id,
                name=request.name,
                destination_type=request.destination_type,
                enabled=request.enabled,
                triggers=request.triggers,
                url_set=url is not None,
                url_origin=_origin(url),
                token_set=request.token is not None,
                topic_arn=request.topic_arn,
            ),
            sealed_url=seal(self._sealer(), configuration_id, "url", url),
            sealed_token=seal(self._sealer(), configuration_id, "token", request.token),
        )
        self._store.add(record)
        logger.info("notification configuration created", extra={"nc_id": configuration_id})
        return record.configuration

    def page(
        self, principal: Principal, workspace_id: str, limit: int, cursor: str | None
    ) -> Page[NotificationConfiguration]:
        principal.require_workspace(workspace_id, Role.READ)
        existing_workspace(self._workspaces, workspace_id)
        items, next_cursor = self._store.page(workspace_id, limit, cursor)
        return Page[NotificationConfiguration](items=items, next_cursor=next_cursor)

    def get(self, principal: Principal, configuration_id: str) -> NotificationConfiguration:
        return self._existing(principal, configuration_id, Role.READ).configuration

    def update(
        self,
        principal: Principal,
        configuration_id: str,
        request: NotificationConfigurationUpdate,
    ) -> NotificationConfiguration:
        current = self._existing(principal, configuration_id, Role.ADMIN)
        old = current.configuration
        sealer = self._sealer()
        fields = request.model_fields_set
        url = str(request.url) if "url" in fields else current.url(sealer)
        token = request.token if "token" in fields else current.token(sealer)
        topic_arn = request.topic_arn if "topic_arn" in fields else old.topic_arn
        check_destination(old.destination_type, url, topic_arn, token)
        # What this request sets; what it keeps was checked when it was set.
        self._check_sendable(None if request.url is None else url, request.topic_arn)
        changes: dict[str, Any] = request.model_dump(
            include=fields - {"url", "token"}, exclude_unset=True
        )
        new = ConfigurationRecord(
            configuration=old.model_copy(
                update=changes
                | {
                    "updated_at": self._clock(),
                    "url_set": url is not None,
                    "url_origin": _origin(url),
                    "token_set": token is not None,
                }
            ),
            sealed_url=seal(sealer, configuration_id, "url", url),
            sealed_token=seal(sealer, configuration_id, "token", token),
        )
        if not self._store.replace(current, new):
            raise Conflict(f"{configuration_id} changed while it was being updated; retry.")
        logger.info("notification configuration updated", extra={"nc_id": configuration_id})
        return new.configuration

    def delete(self, principal: Principal, configuration_id: str) -> None:
        self._existing(principal, configuration_id, Role.ADMIN)
        if not self._store.delete(configuration_id):
            raise NotFound(f"No notification configuration {configuration_id}.")
        logger.info("notification configuration deleted", extra={"nc_id": configuration_id})

    def verify(self, principal: Principal, configuration_id: str) -> VerificationResult:
        """Send the test message now (enabled or not) and log it as a delivery."""
        record = self._existing(principal, configuration_id, Role.ADMIN)
        configuration = record.configuration
        workspace = existing_workspace(self._workspaces, configuration.workspace_id)
        context = Context(self._organization_name, workspace.name)
        outcome = send(record.destination(self._sealer()), None, context, self._outbound)
        now = self._clock()
        delivery = NotificationDelivery(
            id=new_id("ntfdlv"),
            created_at=now,
            updated_at=now,
            notification_configuration_id=configuration_id,
            event_id=new_id("verify"),
            trigger=VERIFICATION,
            run_id=None,
            status=DeliveryStatus.DELIVERED if outcome.accepted else DeliveryStatus.FAILED,
            attempts=1,
            last_status_code=outcome.status_code,
            last_error=outcome.problem or None,
        )
        self._deliveries.add(delivery)
        return VerificationResult(
            delivered=outcome.accepted,
            status_code=outcome.status_code,
            error=outcome.problem or None,
            delivery=delivery,
        )

    def deliveries(
        self, principal: Principal, configuration_id: str, limit: int, cursor: str | None
    ) -> Page[NotificationDelivery]:
        self._existing(principal, configuration_id, Role.READ)
        items, next_cursor = self._deliveries.page(configuration_id, limit, cursor)
        return Page[NotificationDelivery](items=items, next_cursor=next_cursor)

    def _check_sendable(self, url: str | None, topic_arn: str | None) -> None:
        if url is not None:
            require_https(url, plain_http_allowed=self._plain_http_allowed)
        if topic_arn is not None and not topic_arn.startswith(self._topic_arn_prefix):
            raise InvalidInput(
                "topic_arn: this stack publishes only to its own topics, whose ARN begins "
                f"with {self._topic_arn_prefix} (docs/notifications.md).",
                pointer="/topic_arn",
            )

    def _existing(
        self, principal: Principal, configuration_id: str, role: Role
    ) -> ConfigurationRecord:
        record = self._store.get(configuration_id)
        if record is None:
            raise NotFound(f"No notification configuration {capped(configuration_id)}.")
        principal.require_workspace(record.configuration.workspace_id, role)
        return record


def check_destination(
    destination_type: DestinationType,
    url: str | None,
    topic_arn: str | None,
    token: str | None,
) -> None:
    """What each destination needs: a URL (generic, slack) or a topic (sns); only generic
    webhooks are signed, so only they take a token."""
    if destination_type is DestinationType.SNS:
        if topic_arn is None:
            raise InvalidInput("An sns destination needs a topic_arn.", pointer="/topic_arn")
        if url is not None:
            raise InvalidInput("An sns destination takes a topic_arn, not a url.", pointer="/url")
    else:
        if url is None:
            raise InvalidInput(f"A {destination_type} destination needs a url.", pointer="/url")
        if topic_arn is not None:
            raise InvalidInput(
                f"Only sns destinations take a topic_arn, not {destination_type}.",
                pointer="/topic_arn",
            )
    if token is not None and destination_type is not DestinationType.GENERIC:
        raise InvalidInput(
            f"Only generic webhooks are signed; a {destination_type} destination takes no token.",
            pointer="/token",
        )


def _origin(url: str | None) -> str | None:
    if url is None:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
