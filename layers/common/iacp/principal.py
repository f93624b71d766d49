"""Who is calling, and what the caller may do: the principal an API token authenticates as,
which the authorizer hands to the API function and every service checks."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import ConfigDict

from iacp.errors import Forbidden, capped
from iacp.model import Model
from iacp.timestamps import UtcDatetime, to_iso


class Role(StrEnum):
    """Roles are ordered: each includes the rights of the ones before it."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)


class Principal(Model):
    """Who is calling: the token's id, its role, if limited its workspaces, and when the
    token expires (None: never)."""

    model_config = ConfigDict(frozen=True)

    token_id: str
    role: Role
    workspaces: frozenset[str] | None = None
    expires_at: UtcDatetime | None = None

    def to_authorizer_context(self) -> dict[str, str]:
        """API Gateway passes only flat string values from the authorizer to the function."""
        workspaces = "" if self.workspaces is None else ",".join(sorted(self.workspaces))
        limited = "true" if self.workspaces is not None else "false"
        return {
            "token_id": self.token_id,
            "role": self.role.value,
            "limited": limited,
            "workspaces": workspaces,
            "expires_at": "" if self.expires_at is None else to_iso(self.expires_at),
        }

    @classmethod
    def from_authorizer_context(cls, context: dict[str, Any]) -> "Principal":
        limited = context.get("limited") == "true"
        workspaces = str(context.get("workspaces") or "")
        return cls(
            token_id=context.get("token_id"),
            role=context.get("role"),
            workspaces=frozenset(filter(None, workspaces.split(","))) if limited else None,
            expires_at=context.get("expires_at") or None,
        )

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def require(self, role: Role) -> None:
        if self.role.rank < role.rank:
            raise Forbidden(f"This needs the '{role}' role; the token has '{self.role}'.")

    def require_unlimited(self, action: str) -> None:
        if self.workspaces is not None:
            raise Forbidden(f"A token limited to named workspaces cannot {action}.")

    def can_see(self, workspace_id: str) -> bool:
        return self.workspaces is None or workspace_id in self.workspaces

    def require_workspace(self, workspace_id: str, role: Role) -> None:
        self.require(role)
        if not self.can_see(workspace_id):
            raise Forbidden(f"This token is not allowed to use workspace {capped(workspace_id)}.")
