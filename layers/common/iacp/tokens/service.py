"""Minting, listing, revoking and checking API tokens.

A token is ``<id>.<secret>``: the id lets the authorizer read the one record it needs with a
strongly consistent read, so a revoked token fails at once, and only the SHA-256 of the whole
token is stored, compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable
from datetime import datetime

from iacp.errors import InvalidInput, NotFound, Unauthorized, capped
from iacp.ids import new_id
from iacp.pagination import Page
from iacp.principal import Principal, Role
from iacp.timestamps import utcnow
from iacp.tokens.models import (
    TOKEN_ID_PATTERN,
    ApiToken,
    CreatedToken,
    TokenCreate,
)
from iacp.tokens.store import TokenRecord, TokenStore

_SECRET_BYTES = 32

MissingWorkspaces = Callable[[Iterable[str]], list[str]]
"""Given workspace ids, returns those that do not exist."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenService:
    def __init__(
        self,
        store: TokenStore,
        missing_workspaces: MissingWorkspaces,
        clock: Callable[[], datetime] = utcnow,
    ):
        self._store = store
        self._missing_workspaces = missing_workspaces
        self._clock = clock

    def create(self, principal: Principal, request: TokenCreate) -> CreatedToken:
        principal.require(Role.ADMIN)
        if request.workspaces is not None:
            if request.role is Role.ADMIN:
                raise InvalidInput(
                    "An admin token cannot be limited to workspaces.", pointer="/workspaces"
                )
            missing = self._missing_workspaces(request.workspaces)
            if missing:
                raise InvalidInput(
                    f"No such workspace: {capped(', '.join(missing))}.", pointer="/workspaces"
                )
        if request.expires_at is not None and request.expires_at <= self._clock():
            raise InvalidInput("expires_at must be in the future.", pointer="/expires_at")
        return mint_token(
            self._store,
            role=request.role,
            description=request.description,
            created_by=principal.token_id,
            workspaces=sorted(set(request.workspaces)) if request.workspaces else None,
            expires_at=request.expires_at,
            now=self._clock(),
        )

    def page(self, principal: Principal, limit: int, cursor: str | None) -> Page[ApiToken]:
        principal.require(Role.ADMIN)
        records, next_cursor = self._store.page(limit, cursor)
        return Page[ApiToken](items=[_public(r) for r in records], next_cursor=next_cursor)

    def revoke(self, principal: Principal, token_id: str) -> None:
        principal.require(Role.ADMIN)
        if not self._store.delete(token_id):
            raise NotFound(f"No API token {capped(token_id)}.")


def mint_token(
    store: TokenStore,
    *,
    role: Role,
    description: str,
    created_by: str,
    workspaces: list[str] | None = None,
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> CreatedToken:
    """Make and store a token without asking who wants it: for ``create`` and bootstrap."""
    token_id = new_id("at")
    token = f"{token_id}.{secrets.token_urlsafe(_SECRET_BYTES)}"
    record = TokenRecord(
        id=token_id,
        token_hash=hash_token(token),
        created_at=now or utcnow(),
        created_by=created_by,
        description=description,
        role=role,
        workspaces=workspaces,
        expires_at=expires_at,
    )
    store.add(record)
    return CreatedToken(**record.model_dump(exclude={"token_hash"}), token=token)


def authenticate(store: TokenStore, token: str, now: datetime | None = None) -> Principal:
    """The principal for a presented token, or ``Unauthorized``; the error never says which
    check failed (unknown id, wrong secret, expired)."""
    token_id, _, _ = token.partition(".")
    record = store.get(token_id) if TOKEN_ID_PATTERN.match(token_id) else None
    if (
        record is None
        or not hmac.compare_digest(record.token_hash, hash_token(token))
        or record.expired(now or utcnow())
    ):
        raise Unauthorized("The API token is unknown, revoked or expired.")
    return record.principal()


def _public(record: TokenRecord) -> ApiToken:
    return ApiToken(**record.model_dump(exclude={"token_hash"}))
