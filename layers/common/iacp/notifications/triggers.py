"""Which notification trigger a run event is, and what its message says.

- ``run:created``: the run was just created (a status change from nothing).
- ``run:planning``, ``run:applying``: it started planning, applying.
- ``run:needs_attention``: ``planned`` (waiting for confirmation), or a run-task stage
  stopped it (``awaiting_override``).
- ``run:completed``: ``applied`` or ``planned_and_finished``.
- ``run:errored``: ``errored``.
- ``run:canceled``: ``canceled``, ``force_canceled`` or ``discarded``.
- ``task:failed``: a run-task stage completed with a result ``failed``, ``errored`` or
  ``timeout``.
"""

from dataclasses import dataclass
from typing import Any

from iacp.notifications.models import Trigger
from iacp.runs.events import DETAIL_TYPE, STAGE_DETAIL_TYPE, RunEvent, TaskStageEvent
from iacp.runs.status import RunStatus
from iacp.runtasks.models import StageStatus

_BY_STATUS = {
    RunStatus.PLANNING: Trigger.RUN_PLANNING,
    RunStatus.PLANNED: Trigger.RUN_NEEDS_ATTENTION,
    RunStatus.APPLYING: Trigger.RUN_APPLYING,
    RunStatus.APPLIED: Trigger.RUN_COMPLETED,
    RunStatus.PLANNED_AND_FINISHED: Trigger.RUN_COMPLETED,
    RunStatus.ERRORED: Trigger.RUN_ERRORED,
    RunStatus.CANCELED: Trigger.RUN_CANCELED,
    RunStatus.FORCE_CANCELED: Trigger.RUN_CANCELED,
    RunStatus.DISCARDED: Trigger.RUN_CANCELED,
}


@dataclass(frozen=True)
class Notification:
    """What happened to a run, in the terms of HCP Terraform's notification payload."""

    event_id: str
    trigger: Trigger
    message: str  # "Run Errored", "Run Needs Attention", ...
    detail: str  # one more line for people: the error, the failed tasks
    run_id: str
    run_url: str
    run_message: str
    run_created_at: str
    run_created_by: str
    run_status: str
    run_updated_at: str
    workspace_id: str
    run_options: str = ""  # the run's plan options in words ("destroy plan"), for people


def notifications_of(event: dict[str, Any]) -> list[Notification]:
    """The notifications an EventBridge event (as the rule delivers it) stands for."""
    if event.get("detail-type") == DETAIL_TYPE:
        return _of_status_change(RunEvent.model_validate(event["detail"]))
    if event.get("detail-type") == STAGE_DETAIL_TYPE:
        return _of_stage(TaskStageEvent.model_validate(event["detail"]))
    return []


def _of_status_change(event: RunEvent) -> list[Notification]:
    if event.previous_status is None:
        trigger, message = Trigger.RUN_CREATED, "Run Created"
    elif (found := _BY_STATUS.get(RunStatus(event.status))) is not None:
        trigger = found
        if found is Trigger.RUN_NEEDS_ATTENTION:
            message = "Run Needs Attention"
        else:
            message = "Run " + event.status.replace("_", " ").title()
    else:
        return []
    if event.error is not None:
        detail = f"{event.error.stage}: {event.error.message}"
    elif trigger is Trigger.RUN_NEEDS_ATTENTION:
        detail = "The plan has changes and waits for confirmation."
    else:
        detail = ""
    return [_notification(event, event.event_id, event.status, trigger, message, detail)]


def _of_stage(event: TaskStageEvent) -> list[Notification]:
    found: list[tuple[Trigger, str, str]] = []
    if event.failed:
        names = ", ".join(f"'{r.run_task_name}' ({r.status})" for r in event.failed)
        found.append((Trigger.TASK_FAILED, "Run Task Failed", f"{event.stage}: {names}"))
    if event.stage_status is StageStatus.AWAITING_OVERRIDE:
        detail = f"A mandatory run task stopped the run at {event.stage}; it waits for an override."
        found.append((Trigger.RUN_NEEDS_ATTENTION, "Run Needs Attention", detail))
    return [
        # One event, two triggers: each its own delivery.
        _notification(event, f"{event.event_id}/{trigger}", event.run_status, trigger, *text)
        for trigger, *text in found
    ]


def _notification(
    event: RunEvent | TaskStageEvent,
    event_id: str,
    run_status: str,
    trigger: Trigger,
    message: str,
    detail: str,
) -> Notification:
    return Notification(
        event_id=event_id,
        trigger=trigger,
        message=message,
        detail=detail,
        run_id=event.run_id,
        run_url=event.links.run,
        run_message=event.message,
        run_created_at=event.created_at,
        run_created_by=event.created_by,
        run_status=run_status,
        run_updated_at=event.timestamp,
        workspace_id=event.workspace_id,
        run_options=event.described() if isinstance(event, RunEvent) else "",
    )
