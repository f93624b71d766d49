"""Starting, stopping and resuming run workflow executions."""

import json
from collections.abc import Callable
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


def resume(task_token: str, output: dict[str, Any]) -> bool:
    """Resume a waiting step; ``False`` if the wait had already ended."""
    try:
        stepfunctions_client().send_task_success(taskToken=task_token, output=json.dumps(output))
    except ClientError as error:
        if error.response["Error"]["Code"] in _GONE:
            return False
        raise
    return True
