"""Starting, stopping and resuming run workflow executions."""

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from iacp.aws import stepfunctions_client
from iacp.runs.status import RunStatus

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions.literals import ExecutionStatusType
    from mypy_boto3_stepfunctions.type_defs import ExecutionListItemTypeDef

# Answers to send_task_success that mean the wait is already over (resumed, timed out, or
# the execution stopped): nothing left to resume.
_GONE = {"TaskDoesNotExist", "TaskTimedOut", "InvalidToken", "ExecutionDoesNotExist"}

# The state machine's TimeoutSeconds (statemachine/run.asl.json): no execution lasts longer.
LONGEST_EXECUTION = timedelta(days=14)

# A planned run's answer, as a confirmation's task token carries it to the workflow (whose
# Confirmed? state reads it): by the status the answer moved the run to.
DECISIONS = {RunStatus.CONFIRMED: "apply", RunStatus.DISCARDED: "discard"}

Resume = Callable[[str, dict[str, Any]], bool]
"""Resumes the workflow step waiting on a task token with an output (``resume`` below)."""


class WorkflowClient:
    def __init__(self, state_machine_arn: str, confirmation_timeout_seconds: int):
        self._state_machine_arn = state_machine_arn
        self._confirmation_timeout_seconds = confirmation_timeout_seconds

    def start(self, run_id: str) -> str:
        """Start the run's execution, named after the run so that a repeat starts nothing."""
        try:
            reply = stepfunctions_client().start_execution(
                stateMachineArn=self._state_machine_arn,
                name=run_id,
                input=json.dumps(
                    {
                        "run_id": run_id,
                        # AwaitConfirmation's TimeoutSecondsPath: how long a plan may wait.
                        "confirmation_timeout_seconds": self._confirmation_timeout_seconds,
                    }
                ),
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ExecutionAlreadyExists":
                raise
            return self.execution_arn(run_id)
        return reply["executionArn"]

    def execution_arn(self, run_id: str) -> str:
        prefix, _, name = self._state_machine_arn.partition(":stateMachine:")
        return f"{prefix}:execution:{name}:{run_id}"

    def stop(self, execution_arn: str, cause: str) -> None:
        try:
            stepfunctions_client().stop_execution(
                executionArn=execution_arn, error="iacp.Canceled", cause=cause
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ExecutionDoesNotExist":
                raise

    def resume(self, task_token: str, output: dict[str, Any]) -> bool:
        return resume(task_token, output)

    def ended_without_success(self, since: datetime) -> Iterator[tuple[str, str]]:
        """``(execution ARN, status)`` of every execution that ended ABORTED, FAILED or
        TIMED_OUT at ``since`` or later.

        Step Functions lists by start time, newest first, and a run may wait days for its
        confirmation; but no execution outlives the state machine's timeout, so the listing
        stops at the first one that started before ``since`` less that timeout."""
        oldest_start = since - LONGEST_EXECUTION
        unsuccessful: tuple[ExecutionStatusType, ...] = ("ABORTED", "FAILED", "TIMED_OUT")
        for status in unsuccessful:
            for execution in self._newest_first(status):
                if execution["startDate"] < oldest_start:
                    break  # this one and every later one stopped before ``since``
                stopped = execution.get("stopDate")
                if stopped is not None and stopped >= since:
                    yield execution["executionArn"], status

    def _newest_first(self, status: "ExecutionStatusType") -> Iterator["ExecutionListItemTypeDef"]:
        """The executions with ``status``, a page at a time, as the caller reads them."""
        paginator = stepfunctions_client().get_paginator("list_executions")
        for page in paginator.paginate(
            stateMachineArn=self._state_machine_arn, statusFilter=status
        ):
            yield from page["executions"]


def resume(task_token: str, output: dict[str, Any]) -> bool:
    """Resume a waiting step; ``False`` if the wait had already ended."""
    try:
        stepfunctions_client().send_task_success(taskToken=task_token, output=json.dumps(output))
    except ClientError as error:
        if error.response["Error"]["Code"] in _GONE:
            return False
        raise
    return True
