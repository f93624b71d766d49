"""What must happen after a run ends (design §7), on the durable path: the run events bus →
FollowUpQueue (SQS: retries, a dead-letter queue) → FollowUpFunction.

Starting the workspace's next run also happens inline when the run ends (``RunFinisher``);
this is the second path, for when that start failed (a throttled StartExecution, a step that
died). Both are idempotent: the queue's claim is a conditional write and an execution is
named after its run, so the next run starts once.
"""

from typing import Any

from iacp.observability import logger
from iacp.orchestration.queue import RunQueue
from iacp.runs.events import RunEvent
from iacp.runs.status import TERMINAL, RunStatus


class FollowUps:
    def __init__(self, queue: RunQueue):
        self._queue = queue

    def run_ended(self, event: dict[str, Any]) -> None:
        """``event``: a "Run Status Changed" event as EventBridge delivers it."""
        change = RunEvent.model_validate(event["detail"])
        if RunStatus(change.status) not in TERMINAL:
            return  # the rule sends only endings; anything else is not ours
        logger.info(
            "run ended: starting the workspace's next run",
            extra={"run_id": change.run_id, "workspace_id": change.workspace_id},
        )
        self._queue.start_next(change.workspace_id)
