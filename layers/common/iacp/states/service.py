"""Recording the state a run wrote, and showing a workspace's current state."""

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from iacp.artifacts import ArtifactStore, ObjectMissing
from iacp.errors import NotFound
from iacp.ids import new_id
from iacp.observability import logger
from iacp.principal import Principal, Role
from iacp.runs.phase import run_state_key
from iacp.states.models import StateOutput, StateVersion, state_key
from iacp.states.store import StateRefused, StateStore
from iacp.timestamps import utcnow


class StateService:
    def __init__(
        self, store: StateStore, artifacts: ArtifactStore, clock: Callable[[], datetime] = utcnow
    ):
        self._store = store
        self._artifacts = artifacts
        self._clock = clock

    def record_run_state(
        self, workspace_id: str, run_id: str, *, partial: bool = False
    ) -> StateVersion:
        """Make the state a run's apply left in S3 the workspace's current state version.
        Raises ``StaleState`` if the workspace already has a newer one, ``WorkspaceMovedOn``
        if the run no longer holds the workspace; the run's copy stays where it is."""
        state = self._read(run_state_key(run_id))
        version = StateVersion(
            id=new_id("sv"),
            created_at=self._clock(),
            workspace_id=workspace_id,
            run_id=run_id,
            serial=int(state["serial"]),
            lineage=str(state["lineage"]),
            partial=partial,
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

    def current(self, principal: Principal, workspace_id: str) -> StateVersion:
        principal.require_workspace(workspace_id, Role.READ)
        version = self._store.current(workspace_id)
        if version is None:
            raise NotFound(f"Workspace {workspace_id} has no state yet.")
        key = state_key(workspace_id, version.id)
        outputs = self._read(key).get("outputs", {})
        version.outputs = {
            name: StateOutput(
                value=None if output.get("sensitive") else output.get("value"),
                sensitive=bool(output.get("sensitive", False)),
                type=output.get("type"),
            )
            for name, output in outputs.items()
        }
        if principal.role.rank >= Role.WRITE.rank:
            # The file holds every value, sensitive ones included: not for read-only tokens.
            version.download_url = self._artifacts.download_url(key)
        return version

    def _read(self, key: str) -> dict[str, Any]:
        return read_state_file(self._artifacts, key)


def read_state_file(artifacts: ArtifactStore, key: str) -> dict[str, Any]:
    """The state file at ``key`` in the artifacts bucket, parsed."""
    body = artifacts.get(key)
    if body is None:
        raise ObjectMissing(f"No state file at {key}.")
    state: dict[str, Any] = json.loads(body)
    return state
