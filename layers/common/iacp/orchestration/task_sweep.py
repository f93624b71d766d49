"""The run-task timeout sweep (design §6), every minute: results that made no progress for
their timeout, or ran past their max run time, become ``timeout``; their token dies with
them and their waiting workflow step is resumed.

It reads only what is due: the ``due`` index holds open results alone, keyed by deadline.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from iacp.observability import logger
from iacp.orchestration.workflow_client import Resume
from iacp.runtasks.models import ResultStatus
from iacp.runtasks.results import ResultRecord, TaskResultStore, outcome
from iacp.timestamps import utcnow


@dataclass(frozen=True)
class SweepReport:
    read: int  # items the due query read
    timed_out: int


def sweep_timed_out_results(
    results: TaskResultStore,
    resume: Resume,
    clock: Callable[[], datetime] = utcnow,
) -> SweepReport:
    now = clock()
    epoch = int(now.timestamp())
    due, read = results.due(epoch)
    timed_out = 0
    for result_id in due:
        record = results.get(result_id)
        if record is None or record.due_at is None:
            continue
        ended = results.change(
            result_id,
            ResultStatus.TIMEOUT,
            now,
            {"message": _which_deadline(record, epoch)},
            due_by=epoch,  # a heartbeat that arrived meanwhile moved the deadline: not due
        )
        if ended is None:
            continue
        timed_out += 1
        logger.info("task result timed out", extra={"result_id": result_id})
        if record.task_token:
            resume(record.task_token, outcome(ended.result))
    return SweepReport(read=read, timed_out=timed_out)


def _which_deadline(record: ResultRecord, now: int) -> str:
    if now >= record.run_deadline:
        return (
            f"Timed out: the task ran past its max run time of {record.max_run_seconds} s "
            "without a final answer."
        )
    if record.result.status is ResultStatus.PENDING:
        return f"Timed out: the service sent no callback within {record.timeout_seconds} s."
    return (
        f"Timed out: no progress (callback or heartbeat) for {record.timeout_seconds} s, the "
        "task's timeout."
    )
