"""Inventory entries and the sync that writes them (design §7, issue 7 point 5).

A sync's status changes are methods on ``InventorySync``: each returns the next state or
refuses, and the store writes it on the condition that nobody changed the record since it was
read (``version``), so a duplicate event, a late worker or the sweep change nothing they
should not.
"""

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import ConfigDict, Field

from iacp.model import Model
from iacp.timestamps import UtcDatetime


class ResourceInstance(Model):
    """One managed resource instance, as the state file describes it."""

    address: str = Field(description='The full address: module.net.aws_subnet.private["a"]')
    module: str | None = Field(description="module.net (null in the root module)")
    type: str = Field(description="The resource type, e.g. aws_s3_bucket")
    name: str = Field(description="The resource's name in the configuration")
    index_key: int | str | None = Field(None, description="count index or for_each key")
    provider: str = Field(description="The provider's source, e.g. registry.terraform.io/...")
    cloud_id: str | None = Field(
        description="The instance's arn attribute when it has one, else its id"
    )
    tags: dict[str, str] = Field(
        default_factory=dict, description="tags_all (or tags) when a map; sensitive ones left out"
    )


class Resource(ResourceInstance):
    """An inventory entry: a resource instance of a workspace's current state."""

    id: str = Field(description="wsr-...: derived from the workspace and the address")
    created_at: UtcDatetime = Field(description="When the resource was first indexed")
    updated_at: UtcDatetime = Field(description="When it was last indexed")
    workspace_id: str
    state_version_id: str
    serial: int = Field(description="The serial of the state the entry was indexed from")
    run_id: str | None = Field(
        description="The run whose apply wrote that state (null: a rollback's state)"
    )


class SyncTarget(Model):
    """The state a sync indexes: the workspace's current state version."""

    model_config = ConfigDict(frozen=True)

    state_version_id: str
    serial: int
    run_id: str | None = Field(description="null: a rollback's state")


class SyncStatus(StrEnum):
    PENDING = "pending"  # waits for a retry (its last attempt failed or ran out of time)
    SYNCING = "syncing"
    SYNCED = "synced"
    FAILED = "failed"  # gave up after max attempts; the next apply, or a request, syncs again


class InventorySync(Model):
    """The sync of one workspace's inventory, as the API shows it."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    status: SyncStatus
    state_version_id: str = Field(description="The state version being (or last) indexed")
    serial: int
    run_id: str | None = Field(None, description="null: a rollback's state")
    attempts: int = Field(description="Attempts at this state version")
    deadline: UtcDatetime | None = Field(None, description="A syncing attempt is reset after this")
    started_at: UtcDatetime | None = None
    finished_at: UtcDatetime | None = None
    synced_serial: int | None = Field(None, description="Serial of the inventory listed now")
    resource_count: int | None = Field(None, description="Resources indexed by the last sync")
    error: str | None = None
    version: int = Field(0, exclude=True)  # the store's optimistic lock

    @classmethod
    def first(
        cls, workspace_id: str, target: "SyncTarget", now: datetime, deadline: timedelta
    ) -> "InventorySync":
        """The workspace's first sync, claimed."""
        return cls(
            workspace_id=workspace_id,
            status=SyncStatus.SYNCING,
            state_version_id=target.state_version_id,
            serial=target.serial,
            run_id=target.run_id,
            attempts=1,
            deadline=now + deadline,
            started_at=now,
        )

    def claim(
        self,
        target: "SyncTarget",
        now: datetime,
        deadline: timedelta,
        *,
        asked_at: datetime | None = None,
    ) -> "InventorySync | None":
        """A new attempt at indexing ``target``, or None when there is nothing to do: that
        state (or a newer one) is indexed already, an attempt is under way within its
        deadline, or the sync gave up on that very state. A sync someone asked for (at
        ``asked_at``) starts a state given up on before then again, with all its attempts;
        once the request's own attempts give up too, its redeliveries change nothing."""
        if self.synced_serial is not None and self.synced_serial >= target.serial:
            return None
        if self.status is SyncStatus.SYNCING and self.deadline and self.deadline > now:
            return None
        same_state = self.state_version_id == target.state_version_id
        gave_up = same_state and self.status is SyncStatus.FAILED
        if gave_up and not (asked_at and self.finished_at and self.finished_at <= asked_at):
            return None
        return self._next(
            status=SyncStatus.SYNCING,
            state_version_id=target.state_version_id,
            serial=target.serial,
            run_id=target.run_id,
            attempts=self.attempts + 1 if same_state and not gave_up else 1,
            deadline=now + deadline,
            started_at=now,
            finished_at=None,
            error=self.error if same_state else None,
        )

    def synced(self, resource_count: int, now: datetime) -> "InventorySync":
        return self._next(
            status=SyncStatus.SYNCED,
            deadline=None,
            finished_at=now,
            synced_serial=self.serial,
            resource_count=resource_count,
            error=None,
        )

    def interrupted(self, error: str, max_attempts: int, now: datetime) -> "InventorySync":
        """The attempt failed or outlived its deadline: pending for another attempt, or
        failed once ``max_attempts`` attempts have been made at this state."""
        status = SyncStatus.FAILED if self.attempts >= max_attempts else SyncStatus.PENDING
        if status is SyncStatus.FAILED:
            error = f"Gave up after {self.attempts} attempts. Last: {error}"
        return self._next(status=status, deadline=None, finished_at=now, error=error)

    def _next(self, **changes: Any) -> "InventorySync":
        return self.model_copy(update=changes)


class SyncRequest(Model):
    """A sync someone asked for (``POST /workspaces/{ws}/actions/sync-resources``), on the
    InventoryQueue beside the applies' events."""

    workspace_id: str
    requested_by: str = Field(description="The API token that asked")
    requested_at: UtcDatetime


class SyncRequested(Model):
    """The reply to a sync request: the state it will index, and the sync as it stood."""

    workspace_id: str
    state_version_id: str
    serial: int
    sync: InventorySync | None
