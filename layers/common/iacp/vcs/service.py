"""VCS connections as admins manage them: create (the secrets go to Secrets Manager, the
reply says where to point the webhook), list, show and delete (refused while a workspace
uses the connection). Any role may read them: they hold no secret."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from iacp.errors import Conflict, InvalidInput, NotFound, capped
from iacp.ids import new_id
from iacp.observability import logger
from iacp.outbound import require_https
from iacp.pagination import Page
from iacp.principal import Principal, Role
from iacp.timestamps import utcnow
from iacp.vcs.models import DEFAULT_API_URLS, VcsConnection, VcsConnectionCreate, VcsProvider
from iacp.vcs.secrets import ConnectionSecrets
from iacp.vcs.store import ConnectionRecord, VcsConnectionStore


def webhook_path(provider: VcsProvider, connection_id: str) -> str:
    """Where a GitHub or GitLab connection's webhook delivers."""
    return f"/api/v1/webhooks/{provider.value}/{connection_id}"


class VcsConnectionService:
    def __init__(
        self,
        store: VcsConnectionStore,
        secrets: ConnectionSecrets,
        in_use: Callable[[str], bool],
        plain_http_allowed: bool = False,
        clock: Callable[[], datetime] = utcnow,
    ):
        self._store = store
        self._secrets = secrets
        self._in_use = in_use  # whether a workspace uses a connection: the workspaces answer
        self._plain_http_allowed = plain_http_allowed
        self._clock = clock

    def create(
        self, principal: Principal, request: VcsConnectionCreate, base_url: str
    ) -> VcsConnection:
        principal.require(Role.ADMIN)
        principal.require_unlimited("manage VCS connections")
        _check_fits_provider(request)
        api_url = request.api_url or DEFAULT_API_URLS.get(request.provider)
        if api_url:
            try:
                require_https(api_url, plain_http_allowed=self._plain_http_allowed)
            except InvalidInput as refused:
                raise InvalidInput(
                    str(refused).replace("url:", "api_url:", 1), pointer="/api_url"
                ) from None
        connection = VcsConnection(
            id=new_id("vcs"),
            created_at=self._clock(),
            provider=request.provider,
            description=request.description,
            webhook_secret_set=request.webhook_secret is not None,
            token_set=request.token is not None,
            api_url=api_url,
        )
        values = {
            name: secret.get_secret_value()
            for name, secret in (
                ("webhook_secret", request.webhook_secret),
                ("token", request.token),
            )
            if secret is not None
        }
        # CodeCommit has no secret: the runner clones with its IAM role.
        secret_arn = self._secrets.create(connection.id, values) if values else ""
        try:
            self._store.add(ConnectionRecord(connection=connection, secret_arn=secret_arn))
        except Exception:
            if secret_arn:
                self._secrets.delete(secret_arn)
            raise
        logger.info("VCS connection created", extra={"connection_id": connection.id})
        return _with_webhook_url(connection, base_url)

    def page(
        self, principal: Principal, limit: int, cursor: str | None, base_url: str
    ) -> Page[VcsConnection]:
        principal.require(Role.READ)
        connections, next_cursor = self._store.page(limit, cursor)
        return Page[VcsConnection](
            items=[_with_webhook_url(c, base_url) for c in connections], next_cursor=next_cursor
        )

    def get(self, principal: Principal, connection_id: str, base_url: str) -> VcsConnection:
        principal.require(Role.READ)
        return _with_webhook_url(self._existing(connection_id).connection, base_url)

    def provider(self, connection_id: str) -> VcsProvider | None:
        record = self._store.get(connection_id)
        return None if record is None else record.connection.provider

    def delete(self, principal: Principal, connection_id: str) -> None:
        principal.require(Role.ADMIN)
        principal.require_unlimited("manage VCS connections")
        record = self._existing(connection_id)
        if self._in_use(connection_id):
            raise Conflict(
                f"Workspaces still use VCS connection {connection_id}: disconnect them first "
                '(PATCH the workspace with "vcs": null).'
            )
        if not self._store.delete(connection_id):
            raise NotFound(f"No VCS connection {capped(connection_id)}.")
        if record.secret_arn:
            self._secrets.delete(record.secret_arn)
        logger.info("VCS connection deleted", extra={"connection_id": connection_id})

    def _existing(self, connection_id: str) -> ConnectionRecord:
        record = self._store.get(connection_id)
        if record is None:
            raise NotFound(f"No VCS connection {capped(connection_id)}.")
        return record


def _check_fits_provider(request: VcsConnectionCreate) -> None:
    if request.provider is not VcsProvider.CODECOMMIT and request.webhook_secret is None:
        host = "GitHub" if request.provider is VcsProvider.GITHUB else "GitLab"
        raise InvalidInput(
            f"webhook_secret is required for {host}: it is how webhooks are authenticated.",
            pointer="/webhook_secret",
        )
    if request.provider is VcsProvider.CODECOMMIT:
        for name in ("webhook_secret", "token", "api_url"):
            if getattr(request, name) is not None:
                raise InvalidInput(
                    f"A CodeCommit connection takes no {name}: pushes arrive through "
                    "EventBridge and the runner clones with its IAM role.",
                    pointer=f"/{name}",
                )


def _with_webhook_url(connection: VcsConnection, base_url: str) -> VcsConnection:
    if connection.provider is VcsProvider.CODECOMMIT:
        return connection
    path = webhook_path(connection.provider, connection.id)
    return connection.model_copy(update={"webhook_url": base_url + path})
