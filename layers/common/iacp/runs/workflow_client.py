"""Starting, stopping and resuming run workflow executions."""

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from iacp.aws import stepfunctions_client

# Answers to send_task_success that mean the wait is already over (resumed, timed out, or
# the execution stopped): nothing left to resume.
_GONE = {"TaskDoesNotExist", "TaskTimedOut", "InvalidToken", "ExecutionDoesNotExist"}

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
        TIMED_OUT at ``since`` or later. Step Functions lists by start time, and a run may
        wait a week for confirmation before it stops, so every page of each status is read
        (these are the failures, a small share of all executions) and filtered by stop
        time."""
        paginator = stepfunctions_client().get_paginator("list_executions")
        for status in ("ABORTED", "FAILED", "TIMED_OUT"):
            pages = paginator.paginate(stateMachineArn=self._state_machine_arn, statusFilter=status)
            for page in pages:
                for execution in page["executions"]:
                    stopped = execution.get("stopDate")
                    if stopped is not None and stopped >= since:
                        yield execution["executionArn"], status


def resume(task_token: str, output: dict[str, Any]) -> bool:
    """Resume a waiting step; ``False`` if the wait had already ended."""
    try:
        stepfunctions_client().send_task_success(taskToken=task_token, output=json.dumps(output))
    except ClientError as error:
        if error.response["Error"]["Code"] in _GONE:
            return False
        raise
    return True
