"""API tokens (the principal a token authenticates as is ``iacp.principal``)."""

import re
from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from iacp.model import Model
from iacp.principal import Principal, Role
from iacp.timestamps import UtcDatetime

TOKEN_ID_PATTERN = re.compile(r"^at-[A-Za-z0-9]{16}$")
WorkspaceId = Annotated[str, StringConstraints(pattern=r"^ws-[A-Za-z0-9]{16}$")]


class TokenCreate(Model):
    model_config = ConfigDict(extra="forbid")

    role: Role
    description: str = Field("", max_length=200)
    workspaces: list[WorkspaceId] | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="Limit the token to these workspaces; omit for all workspaces.",
    )
    expires_at: UtcDatetime | None = Field(None, description="When the token stops working.")


class ApiToken(Model):
    """A token as listed: everything but the secret, which only its holder has."""

    id: str
    created_at: UtcDatetime
    created_by: str
    description: str
    role: Role
    workspaces: list[str] | None
    expires_at: UtcDatetime | None

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def principal(self) -> Principal:
        workspaces = None if self.workspaces is None else frozenset(self.workspaces)
        return Principal(
            token_id=self.id, role=self.role, workspaces=workspaces, expires_at=self.expires_at
        )


class CreatedToken(ApiToken):
    """Returned once, when the token is made: ``token`` is never shown again."""

    token: str = Field(repr=False)
