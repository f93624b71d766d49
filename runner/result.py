"""How a phase fails (the stages its errors name) and stops early; its outcome is the
platform's ``PhaseResult`` (iacp.runs.phase), written as ``result.json``."""

from enum import StrEnum

from iacp.runs.phase import PhaseStatus


class Stage(StrEnum):
    CONFIGURATION = "configuration"
    INIT = "init"
    PLAN = "plan"
    APPLY = "apply"
    STATE = "state"
    RUNNER = "runner"


EXIT_CODES = {PhaseStatus.SUCCEEDED: 0, PhaseStatus.FAILED: 1, PhaseStatus.CANCELED: 130}


class StepFailed(Exception):
    """A step could not do its work; ``message`` is shown to the user and must hold no secret."""

    def __init__(self, stage: Stage, message: str):
        super().__init__(message)
        self.stage = stage
        self.message = message


class Canceled(Exception):
    """The run was canceled (SIGTERM) before or while a step ran."""
