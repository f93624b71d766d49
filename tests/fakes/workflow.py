"""Doubles for the run workflow's edges that are not stores: Step Functions (start, stop,
resume) and STS (the runner's credentials). Each records what it was asked."""

from typing import Any

from iacp.isolation.credentials import RunnerCredentialIssuer, RunnerCredentials
from iacp.isolation.scope import RunScope
from iacp.orchestration.workflow_client import WorkflowClient

STATE_MACHINE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:run"


class RecordingWorkflowClient(WorkflowClient):
    def __init__(self, confirmation_timeout_seconds: int = 3600):
        super().__init__(STATE_MACHINE_ARN, confirmation_timeout_seconds)
        self.started: list[str] = []
        self.stopped: list[tuple[str, str]] = []
        self.resumed: list[tuple[str, dict[str, Any]]] = []

    def start(self, run_id: str) -> str:
        if run_id not in self.started:  # named after the run: a repeat starts nothing
            self.started.append(run_id)
        return self.execution_arn(run_id)

    def stop(self, execution_arn: str, cause: str) -> None:
        self.stopped.append((execution_arn, cause))

    def resume(self, task_token: str, output: dict[str, Any]) -> bool:
        self.resumed.append((task_token, output))
        return True


class StaticCredentials(RunnerCredentialIssuer):
    def __init__(self) -> None:
        super().__init__("arn:aws:iam::123456789012:role/runner", "artifacts")
        self.scopes: list[RunScope] = []

    def issue(self, scope: RunScope) -> RunnerCredentials:
        self.scopes.append(scope)
        return RunnerCredentials(
            access_key_id="AKIAFAKE", secret_access_key="secret", session_token="session"
        )
