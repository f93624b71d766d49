"""Run events (design §7; docs/run-events.md): every status change of a run, read from the
runs table's stream and published to the stack's EventBridge bus, where users add their own
rules and the platform's follow-up work (notifications, the next run, the resource
inventory) subscribes.

The stream is the durable path: a change is in it once its write succeeded, and the stream's
event-source mapping retries a failed publish (then hands the record to a dead-letter queue)
instead of losing it. ``event_id`` is the same for every delivery of one change, so a
subscriber that sees it twice can tell.
"""

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field

from iacp.aws import events_client
from iacp.ids import derived_id
from iacp.runs.models import RunError

SOURCE = "iacp"
DETAIL_TYPE = "Run Status Changed"


class RunLinks(BaseModel):
    run: str = Field(description="The run in the API")
    workspace: str = Field(description="Its workspace in the API")


class RunEvent(BaseModel):
    """The ``detail`` of a "Run Status Changed" event."""

    event_id: str = Field(description="The same on every delivery of this change")
    run_id: str
    workspace_id: str
    status: str
    previous_status: str | None = Field(description="None when the run was just created")
    timestamp: str = Field(description="When the run reached the status (ISO 8601 UTC)")
    operation: str
    is_speculative: bool
    message: str
    created_by: str
    error: RunError | None = None
    links: RunLinks


def status_change(
    new: Mapping[str, Any], old: Mapping[str, Any] | None, base_url: str
) -> RunEvent | None:
    """The event for a change of a run item (its new and old image), or None when its status
    did not change (a run's other attributes are written often)."""
    status = str(new["status"])
    previous = None if old is None else str(old["status"])
    if status == previous:
        return None
    run_id, workspace_id = str(new["id"]), str(new["workspace_id"])
    api = f"{base_url}/api/v1"
    error = new.get("error")
    return RunEvent(
        event_id=derived_id("runevt", run_id, status),
        run_id=run_id,
        workspace_id=workspace_id,
        status=status,
        previous_status=previous,
        timestamp=str((new.get("status_timestamps") or {}).get(status, new["created_at"])),
        operation=str(new["operation"]),
        is_speculative=bool(new.get("is_speculative")),
        message=str(new.get("message", "")),
        created_by=str(new.get("created_by", "")),
        error=None if error is None else RunError.model_validate(error),
        links=RunLinks(run=f"{api}/runs/{run_id}", workspace=f"{api}/workspaces/{workspace_id}"),
    )


class EventPublishFailed(Exception):
    """EventBridge refused the entry; the stream redelivers the record."""


def publish(bus_name: str, event: RunEvent) -> None:
    reply = events_client().put_events(
        Entries=[
            {
                "EventBusName": bus_name,
                "Source": SOURCE,
                "DetailType": DETAIL_TYPE,
                "Resources": [],
                "Detail": event.model_dump_json(),
            }
        ]
    )
    if reply.get("FailedEntryCount"):
        entry = reply["Entries"][0]
        raise EventPublishFailed(f"{entry.get('ErrorCode')}: {entry.get('ErrorMessage')}")
