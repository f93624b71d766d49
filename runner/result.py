"""A phase's outcome, ``runs/{run}/{phase}/result.json``, and the two ways a phase stops early."""

from enum import StrEnum

from pydantic import BaseModel

from runner.settings import Phase


class Stage(StrEnum):
    CONFIGURATION = "configuration"
    INIT = "init"
    PLAN = "plan"
    APPLY = "apply"
    STATE = "state"
    RUNNER = "runner"


class Status(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


EXIT_CODES = {Status.SUCCEEDED: 0, Status.FAILED: 1, Status.CANCELED: 130}


class RunError(BaseModel):
    stage: Stage
    message: str


class Result(BaseModel):
    phase: Phase
    status: Status = Status.SUCCEEDED
    error: RunError | None = None
    has_changes: bool = False
    resource_additions: int = 0
    resource_changes: int = 0
    resource_destructions: int = 0
    state_serial: int = 0
    state_lineage: str | None = None
    state_uploaded: bool = False


class StepFailed(Exception):
    """A step could not do its work; ``message`` is shown to the user and must hold no secret."""

    def __init__(self, stage: Stage, message: str):
        super().__init__(message)
        self.stage = stage
        self.message = message


class Canceled(Exception):
    """The run was canceled (SIGTERM) before or while a step ran."""
