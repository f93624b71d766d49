"""Run events (design §7; docs/run-events.md): every status change of a run, and every
run-task stage it completes, read from the runs table's stream and published to the stack's
EventBridge bus, where users add their own rules and the platform's follow-up work
(notifications, the next run, the resource inventory) subscribes.

The stream is the durable path: a change is in it once its write succeeded, and the stream's
event-source mapping retries a failed publish (then hands the record to a dead-letter queue)
instead of losing it. ``event_id`` is the same for every delivery of one change, so a
subscriber that sees it twice can tell.
"""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import Field

from iacp.aws import events_client
from iacp.configurations.models import CommitSource
from iacp.ids import derived_id
from iacp.model import Model
from iacp.runs.phase import PlanOptions, RunError
from iacp.runtasks.models import StageStatus, TaskResultSummary, TaskStage
from iacp.timestamps import to_iso

SOURCE = "iacp"
DETAIL_TYPE = "Run Status Changed"
STAGE_DETAIL_TYPE = "Run Task Stage Completed"
# A stage's summary is first written ``running``; these are how it completes.
_COMPLETED = frozenset({StageStatus.PASSED, StageStatus.AWAITING_OVERRIDE})


class RunLinks(Model):
    run: str = Field(description="The run in the API")
    workspace: str = Field(description="Its workspace in the API")


class RunEvent(PlanOptions):
    """The ``detail`` of a "Run Status Changed" event; the run's plan options among its
    fields, as in the run."""

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
    created_at: str = Field(description="When the run was created (ISO 8601 UTC)")
    error: RunError | None = None
    save_plan: bool = Field(False, description="A saved plan, as in the run")
    allow_empty_apply: bool = Field(False, description="As in the run")
    variable_keys: list[str] = Field(
        default_factory=list, description="The keys of the run's variables, never their values"
    )
    links: RunLinks
    vcs: CommitSource | None = Field(None, description="A VCS-driven run's commit")

    def described(self) -> str:
        """The run's options and its variables' keys in words ('' for a plain run)."""
        words = ["saved plan" if self.save_plan else "", super().described()]
        if self.allow_empty_apply:
            words.append("applies even without changes")
        if self.variable_keys:
            words.append("run variables: " + ", ".join(self.variable_keys))
        return "; ".join(word for word in words if word)


class TaskStageEvent(Model):
    """The ``detail`` of a "Run Task Stage Completed" event: every result of the stage is
    final; ``awaiting_override`` means a mandatory one did not pass and the run waits."""

    event_id: str = Field(description="The same on every delivery of this completion")
    run_id: str
    workspace_id: str
    run_status: str
    stage: str
    stage_status: StageStatus
    results: list[TaskResultSummary]
    timestamp: str = Field(description="When the completion was published (ISO 8601 UTC)")
    message: str
    created_by: str
    created_at: str
    links: RunLinks
    vcs: CommitSource | None = Field(None, description="A VCS-driven run's commit")

    @property
    def failed(self) -> list[TaskResultSummary]:
        return [r for r in self.results if r.status.unsuccessful]


def run_events(
    new: Mapping[str, Any], old: Mapping[str, Any] | None, base_url: str, now: datetime
) -> list[RunEvent | TaskStageEvent]:
    """What one change of a run item says: its status change, and the run-task stages it
    completed (a run's other attributes are written often and say nothing)."""
    change = status_change(new, old, base_url)
    return ([change] if change else []) + stage_completions(new, old, base_url, now)


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
        created_at=str(new["created_at"]),
        error=None if error is None else RunError.model_validate(error),
        save_plan=bool(new.get("save_plan")),
        allow_empty_apply=bool(new.get("allow_empty_apply")),
        variable_keys=[str(key) for key in new.get("variable_keys", [])],
        links=_links(base_url, run_id, workspace_id),
        vcs=new.get("vcs"),
        # A run item written before runs had options has none: the defaults.
        **{name: new[name] for name in PlanOptions.model_fields if name in new},
    )


def stage_completions(
    new: Mapping[str, Any], old: Mapping[str, Any] | None, base_url: str, now: datetime
) -> list[TaskStageEvent]:
    before = {s.stage: s.status for s in _stages(old)}
    run_id, workspace_id = str(new["id"]), str(new["workspace_id"])
    return [
        TaskStageEvent(
            event_id=derived_id("stageevt", run_id, stage.stage.value),
            run_id=run_id,
            workspace_id=workspace_id,
            run_status=str(new["status"]),
            stage=stage.stage.value,
            stage_status=stage.status,
            results=stage.results,
            timestamp=to_iso(now),
            message=str(new.get("message", "")),
            created_by=str(new.get("created_by", "")),
            created_at=str(new["created_at"]),
            links=_links(base_url, run_id, workspace_id),
            vcs=new.get("vcs"),
        )
        for stage in _stages(new)
        if stage.status in _COMPLETED and before.get(stage.stage) not in _COMPLETED
    ]


def _stages(item: Mapping[str, Any] | None) -> list[TaskStage]:
    return [TaskStage.model_validate(s) for s in (item or {}).get("task_stages") or []]


def _links(base_url: str, run_id: str, workspace_id: str) -> RunLinks:
    api = f"{base_url}/api/v1"
    return RunLinks(run=f"{api}/runs/{run_id}", workspace=f"{api}/workspaces/{workspace_id}")


class EventPublishFailed(Exception):
    """EventBridge refused the entry; the stream redelivers the record."""


def publish(bus_name: str, events: Sequence[RunEvent | TaskStageEvent]) -> None:
    """One PutEvents (a run item changes at most a status and a stage at once)."""
    reply = events_client().put_events(
        Entries=[
            {
                "EventBusName": bus_name,
                "Source": SOURCE,
                "DetailType": DETAIL_TYPE if isinstance(event, RunEvent) else STAGE_DETAIL_TYPE,
                "Resources": [],
                "Detail": event.model_dump_json(),
            }
            for event in events
        ]
    )
    if reply.get("FailedEntryCount"):
        # All of them again: a subscriber deduplicates on ``event_id``.
        entry = next(e for e in reply["Entries"] if e.get("ErrorCode"))
        raise EventPublishFailed(f"{entry.get('ErrorCode')}: {entry.get('ErrorMessage')}")
