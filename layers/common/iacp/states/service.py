"""Recording the state a run wrote, showing a workspace's current state and its history,
rolling a workspace back to an earlier state, and recording the state a client wrote
(``terraform state push``, a local-execution apply): inline, or announced first and uploaded to
a presigned URL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from iacp.artifacts import ArtifactStore
from iacp.errors import Conflict, InvalidInput, NotFound, capped
from iacp.ids import new_id
from iacp.observability import logger
from iacp.pagination import Page
from iacp.principal import Principal, Role
from iacp.runs.phase import run_state_key
from iacp.states.files import checked_file, renumbered, state_file
from iacp.states.models import (
    NamedStateOutput,
    PendingState,
    StateFile,
    StateOutput,
    StatePush,
    StateUpload,
    StateVersion,
    StateVersionCreate,
    StateVersionStatus,
    StateVersionSummary,
    json_upload_key,
    state_key,
    upload_key,
)
from iacp.states.store import StaleState, StateRefused, StateStore, WorkspaceBusy
from iacp.timestamps import utcnow
from iacp.workspaces.models import Workspace
from iacp.workspaces.service import existing_workspace
from iacp.workspaces.store import WorkspaceStore

AfterNewState = Callable[[Principal, StateVersion], object]
"""What follows a new current state that no run wrote, a rollback's or a client's (the API: a
sync of the inventory)."""


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
        after_new_state: AfterNewState = _nothing,
    ):
        self._store = store
        self._artifacts = artifacts
        self._clock = clock
        self._workspaces = workspaces
        self._after_new_state = after_new_state

    def record_run_state(
        self, workspace_id: str, run_id: str, *, partial: bool = False
    ) -> StateVersion:
        """Make the state a run's apply left in S3 the workspace's current state version.
        Raises ``StaleState`` if the workspace already has a newer one, ``WorkspaceMovedOn``
        if the run no longer holds the workspace; the run's copy stays where it is."""
        file = self._file(run_state_key(run_id))
        version = StateVersion(
            id=new_id("sv"),
            created_at=self._clock(),
            workspace_id=workspace_id,
            run_id=run_id,
            serial=int(file.state["serial"]),
            lineage=str(file.state["lineage"]),
            partial=partial,
            **file.facts(),
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
        """The version; a pending one whose file has come is recorded first (``settle``)."""
        version = self.settle(principal, self._visible(principal, state_version_id))
        return self._shown(principal, version)

    def outputs(self, principal: Principal, state_version_id: str) -> Page[NamedStateOutput]:
        """The version's outputs by name; sensitive values only for the admin role."""
        version = self._visible(principal, state_version_id)
        if version.status is not StateVersionStatus.FINALIZED:
            return Page[NamedStateOutput](items=[])
        state = self._file(state_key(version.workspace_id, version.id)).state
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
        file = renumbered(self._file(state_key(workspace_id, target.id)), current.serial + 1)
        version = StateVersion(
            id=new_id("sv"),
            created_at=self._clock(),
            workspace_id=workspace_id,
            run_id=None,
            rolled_back_from=target.id,
            serial=current.serial + 1,
            lineage=current.lineage,
            partial=target.partial,
            **file.facts(),
        )
        # A new key: no state file is ever overwritten. If the write below is refused (a run
        # or a lock came meanwhile), the file stays unreferenced and is never read.
        self._artifacts.put(state_key(workspace_id, version.id), file.body)
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
        self._followed(principal, version)
        return self._shown(principal, version, file.state)

    def _followed(self, principal: Principal, version: StateVersion) -> None:
        try:
            self._after_new_state(principal, version)
        except Exception:  # the state stands; POST .../actions/sync-resources asks again
            logger.exception(
                "inventory sync not requested", extra={"workspace_id": version.workspace_id}
            )

    # --- a client's state (terraform state push, local-execution applies) ----------------------

    def push(
        self, principal: Principal, workspace_id: str, request: StatePush
    ) -> StateVersion | StateUpload:
        """A state version a client wrote, with no run. The workspace must be locked by the
        caller's token and free of runs; the serial must be greater than the current one's and
        the lineage the same, unless ``force``d (a forced older serial becomes the next one, as
        a rollback's does). With the file inline, it is checked (its md5, serial and lineage as
        declared) and becomes the current state at once; without it, the version is pending
        until the file is uploaded to the URL returned (``settle``)."""
        principal.require_workspace(workspace_id, Role.WRITE)
        workspace = existing_workspace(self._workspaces, workspace_id)
        _require_locked_by(workspace, principal.token_id)
        current = self._store.current(workspace_id)
        _check_declared(request, current)
        if request.state is None:
            return self._announce(principal, workspace_id, request, current)
        received = checked_file(request.state, request.md5, request.serial, request.lineage)
        version, file = self._client_version(workspace_id, received, current)
        # A new key, as for a rollback: a refused write leaves a file nothing refers to.
        self._artifacts.put(state_key(workspace_id, version.id), file.body)
        try:
            self._store.add_pushed(
                version, replaces=None if current is None else current.id, holder=principal.token_id
            )
        except StateRefused as refused:
            raise Conflict(f"Cannot record the state: {refused}; nothing was written.") from None
        self._recorded(principal, version)
        return self._shown(principal, version, file.state)

    def _announce(
        self,
        principal: Principal,
        workspace_id: str,
        request: StatePush,
        current: StateVersion | None,
    ) -> StateUpload:
        version = StateVersion(
            id=new_id("sv"),
            created_at=self._clock(),
            workspace_id=workspace_id,
            run_id=None,
            serial=request.serial,
            lineage=request.lineage or "",
            status=StateVersionStatus.PENDING,
            md5=request.md5.lower(),
        )
        pending = PendingState(
            version=version,
            holder=principal.token_id,
            replaces=None if current is None else current.id,
            force=request.force,
        )
        try:
            self._store.add_pending(pending)
        except StateRefused:
            raise NotFound(f"No workspace {workspace_id}.") from None
        return StateUpload(
            version=version,
            upload_url=self._artifacts.upload_url(upload_key(workspace_id, version.id)),
            json_upload_url=self._artifacts.upload_url(json_upload_key(workspace_id, version.id)),
        )

    def settle(self, principal: Principal, version: StateVersion) -> StateVersion:
        """A pending version whose file has been uploaded, recorded: the current state if the
        file checks out and the workspace is still as it was (locked by the version's creator,
        free of runs, the same current state), else discarded and the reason raised. A pending
        version whose file has not come yet stays pending, and so does any for a read-only
        token: recording is a write (its creator reads it back, as Terraform does)."""
        if (
            version.status is not StateVersionStatus.PENDING
            or principal.role.rank < Role.WRITE.rank
        ):
            return version
        pending = self._store.pending(version.id)
        if pending is None:  # settled meanwhile
            return self._store.get(version.id) or version
        ws = version.workspace_id
        body = self._artifacts.get(upload_key(ws, version.id))
        if body is None:
            return version
        current = self._store.current(ws)
        try:
            declared = version.lineage or None
            received = checked_file(body, version.md5 or "", version.serial, declared)
            if (None if current is None else current.id) != pending.replaces:
                raise Conflict(
                    f"The current state of workspace {ws} changed since state version "
                    f"{version.id} was created."
                )
            recorded, file = self._client_version(ws, received, current, version)
            self._artifacts.put(state_key(ws, version.id), file.body)
            self._store.finalize(recorded, replaces=pending.replaces, holder=pending.holder)
        except (InvalidInput, Conflict, StateRefused) as refused:
            settled = self._store.get(version.id)
            if settled is not None and settled.status is StateVersionStatus.FINALIZED:
                return settled  # another request recorded it first
            self._store.discard(ws, version.id)
            logger.warning(
                "uploaded state discarded",
                extra={"workspace_id": ws, "state_version_id": version.id, "why": str(refused)},
            )
            if isinstance(refused, StateRefused):
                raise Conflict(
                    f"State version {version.id} cannot be recorded: {refused}."
                ) from None
            raise
        self._recorded(principal, recorded)
        return recorded

    def download_url(self, principal: Principal, state_version_id: str) -> str:
        """A short-lived presigned GET of a recorded version's state file, for tokens with
        write access (the file holds every value, sensitive ones included)."""
        version = self._visible(principal, state_version_id)
        principal.require_workspace(version.workspace_id, Role.WRITE)
        if version.status is not StateVersionStatus.FINALIZED:
            raise NotFound(f"State version {version.id} has no state file yet.")
        return self._artifacts.download_url(state_key(version.workspace_id, version.id))

    def _client_version(
        self,
        workspace_id: str,
        received: StateFile,
        current: StateVersion | None,
        announced: StateVersion | None = None,
    ) -> tuple[StateVersion, StateFile]:
        """The version a client's file is recorded as, and the file as it is kept: with its
        own serial, unless that is not above the current one's (only when forced, else it was
        refused), when it gets the next one, as a rollback's does."""
        serial = int(received.state["serial"])
        file = received
        if current is not None and serial <= current.serial:
            serial = current.serial + 1
            file = renumbered(received, serial)
        version = StateVersion(
            id=new_id("sv") if announced is None else announced.id,
            created_at=self._clock() if announced is None else announced.created_at,
            workspace_id=workspace_id,
            run_id=None,
            serial=serial,
            lineage=str(file.state["lineage"]),
            **file.facts(),
        )
        return version, file

    def _recorded(self, principal: Principal, version: StateVersion) -> None:
        logger.info(
            "client state recorded",
            extra={
                "workspace_id": version.workspace_id,
                "state_version_id": version.id,
                "serial": version.serial,
                "by": principal.token_id,
            },
        )
        self._followed(principal, version)

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
        access, its download URL. A version not recorded has neither."""
        if version.status is not StateVersionStatus.FINALIZED:
            return version
        key = state_key(version.workspace_id, version.id)
        outputs = (self._file(key).state if state is None else state).get("outputs") or {}
        shown = version.model_copy(
            update={"outputs": {name: _output(o, False) for name, o in outputs.items()}}
        )
        if principal.role.rank >= Role.WRITE.rank:
            # The file holds every value, sensitive ones included: not for read-only tokens.
            shown.download_url = self._artifacts.download_url(key)
        return shown

    def _file(self, key: str) -> StateFile:
        return state_file(self._artifacts, key)


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


def _require_locked_by(workspace: Workspace, caller: str) -> None:
    """A 409 unless ``caller`` holds the workspace's lock and no run holds the workspace."""
    if workspace.current_run_id is not None:
        raise Conflict(
            f"Run {workspace.current_run_id} holds workspace {workspace.id}; write its state "
            "once it has finished."
        )
    if workspace.lock is None:
        raise Conflict(f"Workspace {workspace.id} is not locked; lock it before writing its state.")
    if workspace.lock.holder != caller:
        raise Conflict(
            f"Workspace {workspace.id} is locked by {workspace.lock.holder}; only the holder of "
            "its lock can write its state."
        )


def _check_declared(request: StatePush, current: StateVersion | None) -> None:
    """What the client declares against the current state: a newer serial and the same
    lineage, unless forced (409 otherwise, as Terraform Enterprise answers)."""
    if current is None or request.force:
        return
    if request.serial <= current.serial:
        raise Conflict(
            f"Serial {request.serial} is not greater than the current state's, "
            f"{current.serial}: the state has moved on; pull it again (or force the push).",
            pointer="/serial",
        )
    if request.lineage is not None and request.lineage != current.lineage:
        raise Conflict(
            f"Lineage {capped(request.lineage)} is not the current state's, "
            f"{current.lineage}: this is another state (force the push to replace it).",
            pointer="/lineage",
        )
