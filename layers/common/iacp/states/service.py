"""Recording the state a run wrote, showing a workspace's current state and its history, and
rolling a workspace back to an earlier state."""

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from iacp.artifacts import ArtifactStore, ObjectMissing
from iacp.errors import Conflict, InvalidInput, NotFound, capped
from iacp.ids import new_id
from iacp.observability import logger
from iacp.pagination import Page
from iacp.principal import Principal, Role
from iacp.runs.phase import run_state_key
from iacp.states.models import (
    NamedStateOutput,
    StateOutput,
    StateVersion,
    StateVersionCreate,
    StateVersionSummary,
    state_facts,
    state_key,
)
from iacp.states.store import StaleState, StateRefused, StateStore, WorkspaceBusy
from iacp.timestamps import utcnow
from iacp.workspaces.models import Workspace
from iacp.workspaces.service import existing_workspace
from iacp.workspaces.store import WorkspaceStore

AfterRollback = Callable[[Principal, StateVersion], object]
"""What follows a rollback's new current state (the API: a sync of the inventory)."""


def _nothing(principal: Principal, version: StateVersion) -> None:
    return None


class StateService:
    def __init__(
        self,
        store: StateStore,
        artifacts: ArtifactStore,
        clock: Callable[[], datetime] = utcnow,
        *,
        workspaces: WorkspaceStore,
        after_rollback: AfterRollback = _nothing,
    ):
        self._store = store
        self._artifacts = artifacts
        self._clock = clock
        self._workspaces = workspaces
        self._after_rollback = after_rollback

    def record_run_state(
        self, workspace_id: str, run_id: str, *, partial: bool = False
    ) -> StateVersion:
        """Make the state a run's apply left in S3 the workspace's current state version.
        Raises ``StaleState`` if the workspace already has a newer one, ``WorkspaceMovedOn``
        if the run no longer holds the workspace; the run's copy stays where it is."""
        state = self._read(run_state_key(run_id))
        resource_count, output_names = state_facts(state)
        version = StateVersion(
            id=new_id("sv"),
            created_at=self._clock(),
            workspace_id=workspace_id,
            run_id=run_id,
            serial=int(state["serial"]),
            lineage=str(state["lineage"]),
            partial=partial,
            resource_count=resource_count,
            output_names=output_names,
        )
        self._artifacts.copy(run_state_key(run_id), state_key(workspace_id, version.id))
        self._store.add_current(version)
        return version

    def recorded_by(self, workspace_id: str, run_id: str) -> StateVersion | None:
        """The workspace's current state version if ``run_id``'s apply recorded it: a step
        that recorded it and failed before it could say so finds it here when retried."""
        current = self._store.current(workspace_id)
        return current if current is not None and current.run_id == run_id else None

    def current_version(self, workspace_id: str) -> StateVersion | None:
        """The workspace's current state version, without its outputs; None without state."""
        return self._store.current(workspace_id)

    def record_if_written(self, workspace_id: str, run_id: str) -> StateVersion | None:
        """After an apply that did not finish (failed, canceled, or its runner killed): what
        Terraform recorded of the real resources it touched (the runner's last upload or
        checkpoint) becomes the current state, marked partial, so the next plan knows them.
        Nothing if the apply wrote no state, an older one, or the run has let the workspace
        go (the caller records before it releases)."""
        if not self._artifacts.exists(run_state_key(run_id)):
            return None
        try:
            return self.record_run_state(workspace_id, run_id, partial=True)
        except StateRefused as refused:
            logger.warning(
                "partial state not recorded", extra={"run_id": run_id, "why": str(refused)}
            )
            return None

    def current_key(self, workspace_id: str) -> tuple[str, int] | None:
        """Where the runner finds the workspace's current state, and its serial."""
        current = self._store.current(workspace_id)
        return None if current is None else (state_key(workspace_id, current.id), current.serial)

    # --- the user API ------------------------------------------------------------------------

    def current(self, principal: Principal, workspace_id: str) -> StateVersion:
        principal.require_workspace(workspace_id, Role.READ)
        version = self._store.current(workspace_id)
        if version is None:
            raise NotFound(f"Workspace {workspace_id} has no state yet.")
        return self._shown(principal, version)

    def page(
        self, principal: Principal, workspace_id: str, limit: int, cursor: str | None
    ) -> Page[StateVersionSummary]:
        """The workspace's state versions, newest first."""
        principal.require_workspace(workspace_id, Role.READ)
        existing_workspace(self._workspaces, workspace_id)
        versions, next_cursor = self._store.page(workspace_id, limit, cursor)
        return Page[StateVersionSummary](
            items=[version.summary() for version in versions], next_cursor=next_cursor
        )

    def get(self, principal: Principal, state_version_id: str) -> StateVersion:
        return self._shown(principal, self._visible(principal, state_version_id))

    def outputs(self, principal: Principal, state_version_id: str) -> Page[NamedStateOutput]:
        """The version's outputs by name; sensitive values only for the admin role."""
        version = self._visible(principal, state_version_id)
        state = self._read(state_key(version.workspace_id, version.id))
        revealed = principal.role.rank >= Role.ADMIN.rank
        outputs = state.get("outputs") or {}
        return Page[NamedStateOutput](
            items=[
                NamedStateOutput(name=name, **_output(outputs[name], revealed).model_dump())
                for name in sorted(outputs)
            ]
        )

    def rollback(
        self, principal: Principal, workspace_id: str, request: StateVersionCreate
    ) -> StateVersion:
        """A new current state version with an earlier version's content, the next serial and
        the same lineage. The workspace must be free of runs and either unlocked or locked
        by the caller: the write is conditional on exactly that, so an unlocked workspace is
        in effect locked for the instant of the write and free again after it."""
        principal.require_workspace(workspace_id, Role.WRITE)
        workspace = existing_workspace(self._workspaces, workspace_id)
        target = self._store.get(request.rollback_to)
        if target is None or not principal.can_see(target.workspace_id):
            raise NotFound(f"No state version {capped(request.rollback_to)}.", pointer=_TARGET)
        if target.workspace_id != workspace_id:
            raise InvalidInput(
                f"State version {target.id} belongs to another workspace.", pointer=_TARGET
            )
        _require_free(workspace, principal.token_id)
        current = self._store.current(workspace_id)
        if current is None:  # the target is this workspace's, so it has a state
            raise Conflict(f"Workspace {workspace_id} has no state yet.")
        if target.lineage != current.lineage:
            raise InvalidInput(
                f"State version {target.id} has lineage {target.lineage}; the workspace's "
                f"current state has {current.lineage}.",
                pointer=_TARGET,
            )
        state = self._read(state_key(workspace_id, target.id))
        state["serial"] = current.serial + 1
        resource_count, output_names = state_facts(state)
        version = StateVersion(
            id=new_id("sv"),
            created_at=self._clock(),
            workspace_id=workspace_id,
            run_id=None,
            rolled_back_from=target.id,
            serial=current.serial + 1,
            lineage=current.lineage,
            partial=target.partial,
            resource_count=resource_count,
            output_names=output_names,
        )
        # A new key: no state file is ever overwritten. If the write below is refused (a run
        # or a lock came meanwhile), the file stays unreferenced and is never read.
        body = json.dumps(state, indent=2) + "\n"
        self._artifacts.put(state_key(workspace_id, version.id), body.encode())
        try:
            self._store.add_rollback(version, replaces=current.id, holder=principal.token_id)
        except WorkspaceBusy as busy:
            raise Conflict(f"Cannot roll back: {busy}; try again once it is free.") from None
        except StaleState:
            raise Conflict(
                f"The current state of workspace {workspace_id} changed while rolling back; "
                "nothing was written. Try again."
            ) from None
        logger.info(
            "state rolled back",
            extra={
                "workspace_id": workspace_id,
                "state_version_id": version.id,
                "rolled_back_from": target.id,
                "serial": version.serial,
                "by": principal.token_id,
            },
        )
        try:
            self._after_rollback(principal, version)
        except Exception:  # the rollback stands; POST .../actions/sync-resources asks again
            logger.exception("inventory sync not requested", extra={"workspace_id": workspace_id})
        return self._shown(principal, version, state)

    def _visible(self, principal: Principal, state_version_id: str) -> StateVersion:
        """The version, or a 404 when it is unknown or in a workspace the token cannot use
        (the same answer: a token learns nothing of other workspaces)."""
        principal.require(Role.READ)
        version = self._store.get(state_version_id)
        if version is None or not principal.can_see(version.workspace_id):
            raise NotFound(f"No state version {capped(state_version_id)}.")
        return version

    def _shown(
        self, principal: Principal, version: StateVersion, state: dict[str, Any] | None = None
    ) -> StateVersion:
        """The version with its outputs (sensitive values null) and, for tokens with write
        access, its download URL."""
        key = state_key(version.workspace_id, version.id)
        outputs = (self._read(key) if state is None else state).get("outputs") or {}
        shown = version.model_copy(
            update={"outputs": {name: _output(o, False) for name, o in outputs.items()}}
        )
        if principal.role.rank >= Role.WRITE.rank:
            # The file holds every value, sensitive ones included: not for read-only tokens.
            shown.download_url = self._artifacts.download_url(key)
        return shown

    def _read(self, key: str) -> dict[str, Any]:
        return read_state_file(self._artifacts, key)


_TARGET = "/rollback_to"


def _output(output: dict[str, Any], revealed: bool) -> StateOutput:
    sensitive = bool(output.get("sensitive", False))
    return StateOutput(
        value=output.get("value") if revealed or not sensitive else None,
        sensitive=sensitive,
        type=output.get("type"),
    )


def _require_free(workspace: Workspace, caller: str) -> None:
    """A 409 unless the workspace is free of runs and unlocked or locked by ``caller``."""
    if workspace.current_run_id is not None:
        raise Conflict(
            f"Run {workspace.current_run_id} holds workspace {workspace.id}; roll back once "
            "it has finished."
        )
    if workspace.lock is not None and workspace.lock.holder != caller:
        raise Conflict(
            f"Workspace {workspace.id} is locked by {workspace.lock.holder}; only its holder "
            "can roll it back."
        )


def read_state_file(artifacts: ArtifactStore, key: str) -> dict[str, Any]:
    """The state file at ``key`` in the artifacts bucket, parsed."""
    body = artifacts.get(key)
    if body is None:
        raise ObjectMissing(f"No state file at {key}.")
    state: dict[str, Any] = json.loads(body)
    return state
