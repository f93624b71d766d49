"""Workspace rules: who may do what, and the lock rules of design §4.

A lock records who holds it and why. Only its holder unlocks; force-unlock needs admin.
The store's conditional writes make concurrent lock attempts safe: exactly one wins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from iacp.errors import Conflict, InvalidInput, NotFound, capped
from iacp.ids import new_id
from iacp.observability import logger
from iacp.pagination import Page
from iacp.principal import Principal, Role
from iacp.timestamps import utcnow
from iacp.vcs.models import VcsProvider, WorkspaceVcs
from iacp.workspaces.models import (
    LAMBDA_MAX_PHASE_SECONDS,
    Execution,
    LockRequest,
    Workspace,
    WorkspaceCreate,
    WorkspaceLock,
    WorkspaceUpdate,
)
from iacp.workspaces.store import WorkspaceStore

ConnectionProvider = Callable[[str], VcsProvider | None]
"""The provider of a VCS connection, or None when there is no such connection."""

WorkspaceDeleted = Callable[[str], None]
"""What else goes with a deleted workspace (its resource inventory, in another table)."""


def existing_workspace(store: WorkspaceStore, workspace_id: str) -> Workspace:
    """The workspace, or a 404 naming it."""
    workspace = store.get(workspace_id)
    if workspace is None:
        raise NotFound(f"No workspace {capped(workspace_id)}.")
    return workspace


class WorkspaceService:
    def __init__(
        self,
        store: WorkspaceStore,
        clock: Callable[[], datetime] = utcnow,
        connection_provider: ConnectionProvider = lambda connection_id: None,
        on_deleted: WorkspaceDeleted = lambda workspace_id: None,
        lambda_phase_limit_seconds: int = LAMBDA_MAX_PHASE_SECONDS,
    ):
        """``lambda_phase_limit_seconds``: the longest phase the Lambda executor runs (the
        platform's LambdaRunnerTimeoutSeconds)."""
        self._store = store
        self._lambda_phase_limit = lambda_phase_limit_seconds
        self._clock = clock
        self._connection_provider = connection_provider
        self._on_deleted = on_deleted

    def create(self, principal: Principal, request: WorkspaceCreate) -> Workspace:
        principal.require(Role.WRITE)
        principal.require_unlimited("create workspaces")
        self._check_vcs(request.vcs)
        _check_external_id(request.aws_role_arn, request.aws_external_id)
        self._check_phase_limit(
            request.execution, request.phase_timeout_seconds, "phase_timeout_seconds"
        )
        now = self._clock()
        workspace = Workspace(
            id=new_id("ws"), created_at=now, updated_at=now, **request.model_dump()
        )
        self._store.create(workspace)
        logger.info("workspace created", extra={"workspace_id": workspace.id})
        return workspace

    def page(
        self, principal: Principal, limit: int, cursor: str | None, name_prefix: str = ""
    ) -> Page[Workspace]:
        principal.require(Role.READ)
        if principal.workspaces is not None:
            # A limited token sees only its own few workspaces: one page holds them all.
            own = self._store.get_many(sorted(principal.workspaces))
            return Page[Workspace](items=[w for w in own if w.name.startswith(name_prefix)])
        items, next_cursor = self._store.page(limit, cursor, name_prefix)
        return Page[Workspace](items=items, next_cursor=next_cursor)

    def get(self, principal: Principal, workspace_id: str) -> Workspace:
        principal.require_workspace(workspace_id, Role.READ)
        return self._existing(workspace_id)

    def get_by_name(self, principal: Principal, name: str) -> Workspace:
        """The workspace named ``name`` (ignoring case). A token limited to other workspaces
        is told there is none, as for an unknown name: a name is not a secret, but whether
        a workspace exists is not the token's to know."""
        principal.require(Role.READ)
        workspace = self._store.get_by_name(name)
        if workspace is None or not principal.can_see(workspace.id):
            raise NotFound(f"No workspace named {capped(name)}.")
        return workspace

    def existing(self, workspace_ids: Iterable[str]) -> set[str]:
        """Of ``workspace_ids``, those with a workspace."""
        return {w.id for w in self._store.get_many(sorted(set(workspace_ids)))}

    def missing(self, workspace_ids: Iterable[str]) -> list[str]:
        """Of ``workspace_ids``, those with no workspace."""
        wanted = sorted(set(workspace_ids))
        found = self.existing(wanted)
        return [w for w in wanted if w not in found]

    def update(
        self, principal: Principal, workspace_id: str, request: WorkspaceUpdate
    ) -> Workspace:
        principal.require_workspace(workspace_id, Role.WRITE)
        current = self._existing(workspace_id)
        self._check_vcs(request.vcs)
        changes = _with_role_rules(current, request.model_dump(include=request.model_fields_set))
        self._check_phase_limit(
            changes.get("execution", current.execution),
            changes.get("phase_timeout_seconds", current.phase_timeout_seconds),
            # The field the request changed is the one refused.
            "phase_timeout_seconds" if "phase_timeout_seconds" in changes else "execution",
        )
        updated = self._store.update(current, changes, self._clock())
        if updated is None:
            self._existing(workspace_id)
            raise Conflict(f"Workspace {workspace_id} changed while it was being updated; retry.")
        return updated

    def delete(self, principal: Principal, workspace_id: str) -> None:
        principal.require_workspace(workspace_id, Role.WRITE)
        workspace = self._existing(workspace_id)
        if not self._store.delete(workspace):
            current = self._existing(workspace_id)
            if current.current_run_id is not None:
                raise Conflict(
                    f"Workspace {workspace_id} has an active run ({current.current_run_id})."
                )
            if current.lock is not None:
                raise Conflict(f"Workspace {workspace_id} is locked; unlock it before deleting it.")
            raise Conflict(f"Workspace {workspace_id} changed while it was being deleted; retry.")
        logger.info("workspace deleted", extra={"workspace_id": workspace_id})
        self._on_deleted(workspace_id)

    def lock(self, principal: Principal, workspace_id: str, request: LockRequest) -> Workspace:
        principal.require_workspace(workspace_id, Role.WRITE)
        return self.lock_workspace(workspace_id, holder=principal.token_id, reason=request.reason)

    def lock_workspace(self, workspace_id: str, *, holder: str, reason: str) -> Workspace:
        """Take the lock for ``holder`` (an API token or a run), or raise ``Conflict``."""
        lock = WorkspaceLock(holder=holder, reason=reason, locked_at=self._clock())
        locked = self._store.lock(workspace_id, lock)
        if locked is None:
            current = self._existing(workspace_id)
            raise Conflict(f"Workspace {workspace_id} is already locked by {_holder(current)}.")
        logger.info("workspace locked", extra={"workspace_id": workspace_id, "holder": holder})
        return locked

    def unlock(self, principal: Principal, workspace_id: str) -> Workspace:
        principal.require_workspace(workspace_id, Role.WRITE)
        return self.unlock_workspace(workspace_id, holder=principal.token_id)

    def unlock_workspace(self, workspace_id: str, *, holder: str) -> Workspace:
        unlocked = self._store.unlock(workspace_id, holder)
        if unlocked is None:
            current = self._existing(workspace_id)
            if current.lock is None:
                raise Conflict(f"Workspace {workspace_id} is not locked.")
            raise Conflict(
                f"Workspace {workspace_id} is locked by {_holder(current)}; only the holder can "
                "unlock it, or an admin with force-unlock."
            )
        logger.info("workspace unlocked", extra={"workspace_id": workspace_id, "holder": holder})
        return unlocked

    def force_unlock(self, principal: Principal, workspace_id: str) -> Workspace:
        principal.require_workspace(workspace_id, Role.ADMIN)
        current = self._existing(workspace_id)
        unlocked = self._store.unlock(workspace_id, holder=None)
        if unlocked is None:
            raise Conflict(f"Workspace {workspace_id} is not locked.")
        logger.warning(
            "workspace force-unlocked",
            extra={
                "workspace_id": workspace_id,
                "by": principal.token_id,
                "previous_holder": current.lock.holder if current.lock else None,
            },
        )
        return unlocked

    def _check_vcs(self, vcs: WorkspaceVcs | None) -> None:
        """The connection exists, and the repository is named the way its provider names
        repositories."""
        if vcs is None:
            return
        provider = self._connection_provider(vcs.connection_id)
        if provider is None:
            raise InvalidInput(
                f"No VCS connection {capped(vcs.connection_id)}.", pointer="/vcs/connection_id"
            )
        url = "://" in vcs.repository
        segments = 0 if url else vcs.repository.count("/") + 1
        if provider is VcsProvider.GITHUB and not url and segments != 2:
            raise InvalidInput(
                "A GitHub repository is owner/name or a clone URL.", pointer="/vcs/repository"
            )
        if provider is VcsProvider.GITLAB and not url and segments < 2:
            raise InvalidInput(
                "A GitLab repository is its path with its namespace (group/project, "
                "group/subgroup/project) or a clone URL.",
                pointer="/vcs/repository",
            )
        if provider is VcsProvider.CODECOMMIT and segments != 1:
            raise InvalidInput(
                "A CodeCommit repository is given by its name, e.g. infrastructure.",
                pointer="/vcs/repository",
            )
        if provider is VcsProvider.CODECOMMIT and vcs.tags is not None:
            # The EventBridge rule sends branches' changes only.
            raise InvalidInput(
                "CodeCommit workspaces run on no tags: tag pushes do not reach the platform.",
                pointer="/vcs/tags",
            )

    def _check_phase_limit(
        self, execution: Execution, phase_timeout_seconds: int | None, field: str
    ) -> None:
        """A workspace whose phases may run longer than Lambda allows cannot run them in
        Lambda: refused when it is set, not when a phase runs out (docs/run-pipeline.md)."""
        if execution is not Execution.LAMBDA or phase_timeout_seconds is None:
            return
        if phase_timeout_seconds > self._lambda_phase_limit:
            raise InvalidInput(
                f"{field}: the workspace's phases may run {phase_timeout_seconds} s "
                "(phase_timeout_seconds), longer than execution lambda allows "
                f"({self._lambda_phase_limit} s, the platform's LambdaRunnerTimeoutSeconds); "
                "lower phase_timeout_seconds or keep execution fargate.",
                pointer=f"/{field}",
            )

    def _existing(self, workspace_id: str) -> Workspace:
        return existing_workspace(self._store, workspace_id)


def _check_external_id(role_arn: str | None, external_id: str | None) -> None:
    if external_id is not None and role_arn is None:
        raise InvalidInput(
            "aws_external_id: is only for assuming a role; set aws_role_arn too.",
            pointer="/aws_external_id",
        )


def _with_role_rules(current: Workspace, changes: dict[str, Any]) -> dict[str, Any]:
    """An external id goes with a role: refused without one, removed with it."""
    role_arn = changes.get("aws_role_arn", current.aws_role_arn)
    _check_external_id(role_arn, changes.get("aws_external_id"))
    if role_arn is None and "aws_role_arn" in changes:
        return {**changes, "aws_external_id": None}
    return changes


def _holder(workspace: Workspace) -> str:
    if workspace.lock is None:
        return "nobody (it was just released)"
    reason = f" ({workspace.lock.reason})" if workspace.lock.reason else ""
    return f"{workspace.lock.holder}{reason}"
