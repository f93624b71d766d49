"""The inventory sync (design §7): after an apply, the workspace's current state is indexed
into its inventory; an attempt that has not finished by its deadline is reset by the sweep
and tried again, up to a bound.

A sync is claimed with a conditional write before any entry is written, so of two deliveries
of one event one works and the other finds nothing to do; an older state never replaces a
newer inventory (the claim compares serials, and each entry is written only over an older
one). The attempt's deadline must be longer than the function's timeout: once it passes,
the worker that claimed it is gone, and a new attempt cannot race it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from iacp.inventory.models import InventorySync, SyncRequest, SyncStatus, SyncTarget
from iacp.inventory.state import resource_instances
from iacp.inventory.store import ResourceStore
from iacp.observability import logger
from iacp.runs.events import RunEvent
from iacp.runs.status import RunStatus
from iacp.states.models import StateVersion, state_key
from iacp.timestamps import utcnow


class CurrentStates(Protocol):
    """What the sync reads of the state store (``StateStore`` has it)."""

    def current(self, workspace_id: str) -> StateVersion | None: ...


StateReader = Callable[[str], dict[str, Any]]
"""The state file at an S3 key, parsed (``read_state_file`` with its bucket)."""


@dataclass(frozen=True)
class SweepReport:
    due: int  # attempts found past their deadline
    retried: int  # of those, reset and synced again


class InventorySyncer:
    def __init__(
        self,
        store: ResourceStore,
        states: CurrentStates,
        read_state: StateReader,
        *,
        deadline: timedelta,
        max_attempts: int,
        clock: Callable[[], datetime] = utcnow,
    ):
        self._store = store
        self._states = states
        self._read_state = read_state
        self._deadline = deadline
        self._max_attempts = max_attempts
        self._clock = clock

    def handle(self, message: dict[str, Any]) -> InventorySync | None:
        """A message of the InventoryQueue: an apply's run event (``RunAppliedRule``), or a
        sync someone asked for (``SyncRequest``, from the API)."""
        if "detail" in message:
            return self.run_applied(message)
        request = SyncRequest.model_validate(message)
        logger.info(
            "inventory sync requested",
            extra={"workspace_id": request.workspace_id, "requested_by": request.requested_by},
        )
        return self.sync(request.workspace_id, asked_at=request.requested_at)

    def run_applied(self, event: dict[str, Any]) -> InventorySync | None:
        """``event``: a "Run Status Changed" event as EventBridge delivers it."""
        change = RunEvent.model_validate(event["detail"])
        if change.status != RunStatus.APPLIED:
            return None  # the rule sends only applies; anything else is not ours
        return self.sync(change.workspace_id)

    def sync(self, workspace_id: str, *, asked_at: datetime | None = None) -> InventorySync | None:
        """Index the workspace's current state, unless that is done or under way, or given up
        on (unless before a request made ``asked_at``). Returns the sync record as this call
        left it (None: the workspace has no state).

        An attempt that raises is released as pending (or failed, after the last attempt)
        with its error, and the error is raised again so that the queue retries it."""
        current = self._states.current(workspace_id)
        if current is None:
            logger.info("no state to index", extra={"workspace_id": workspace_id})
            return None
        target = SyncTarget(
            state_version_id=current.id, serial=current.serial, run_id=current.run_id
        )
        claimed = self._claim(workspace_id, target, asked_at)
        if claimed is None:
            return self._store.get_sync(workspace_id)
        try:
            return self._index(claimed)
        except Exception as error:
            self._release(claimed, f"{type(error).__name__}: indexing failed")
            raise

    def sweep(self) -> SweepReport:
        """Reset the attempts past their deadline (their worker died or hung) and sync
        again; after ``max_attempts`` a sync is failed, its error visible."""
        due = self._store.due_syncs(self._clock())
        retried = 0
        for workspace_id in due:
            reset = self._reset_if_due(workspace_id)
            if reset is None or reset.status is not SyncStatus.PENDING:
                continue
            retried += 1
            try:
                self.sync(workspace_id)
            except Exception:  # released with its error; the next sweep or apply goes on
                logger.exception(
                    "inventory sync retry failed", extra={"workspace_id": workspace_id}
                )
        return SweepReport(due=len(due), retried=retried)

    def _reset_if_due(self, workspace_id: str) -> InventorySync | None:
        """The record, reset, if its attempt is still the one past its deadline (the index
        is eventually consistent, and the attempt may have finished meanwhile)."""
        sync = self._store.get_sync(workspace_id)
        now = self._clock()
        if sync is None or sync.status is not SyncStatus.SYNCING:
            return None
        if sync.deadline is None or sync.deadline > now:
            return None
        reset = self._store.save_sync(
            sync.interrupted("The sync did not finish by its deadline.", self._max_attempts, now)
        )
        if reset is not None:
            logger.warning(
                "inventory sync reset after its deadline",
                extra={"workspace_id": workspace_id, "status": reset.status},
            )
        return reset

    def _claim(
        self, workspace_id: str, target: SyncTarget, asked_at: datetime | None
    ) -> InventorySync | None:
        now = self._clock()
        record = self._store.get_sync(workspace_id)
        if record is None:
            claim: InventorySync | None = InventorySync.first(
                workspace_id, target, now, self._deadline
            )
        else:
            claim = record.claim(target, now, self._deadline, asked_at=asked_at)
        if claim is None:
            logger.info(
                "inventory up to date or being synced",
                extra={"workspace_id": workspace_id, "serial": target.serial},
            )
            return None
        return self._store.save_sync(claim)

    def _index(self, claimed: InventorySync) -> InventorySync:
        workspace_id = claimed.workspace_id
        target = SyncTarget(
            state_version_id=claimed.state_version_id,
            serial=claimed.serial,
            run_id=claimed.run_id,
        )
        state = self._read_state(state_key(workspace_id, target.state_version_id))
        found = resource_instances(state)
        self._store.put_resources(workspace_id, target, found, self._clock())
        removed = self._store.remove_older(workspace_id, target.serial)
        finished = self._store.save_sync(claimed.synced(len(found), self._clock()))
        logger.info(
            "inventory synced",
            extra={
                "workspace_id": workspace_id,
                "serial": target.serial,
                "resources": len(found),
                "removed": removed,
                "recorded": finished is not None,
            },
        )
        # None: the sweep reset this attempt meanwhile; the entries are right all the same.
        return finished or self._store.get_sync(workspace_id) or claimed

    def _release(self, claimed: InventorySync, error: str) -> None:
        released = claimed.interrupted(error, self._max_attempts, self._clock())
        if self._store.save_sync(released) is None:
            logger.warning(
                "inventory sync changed meanwhile", extra={"workspace_id": claimed.workspace_id}
            )
