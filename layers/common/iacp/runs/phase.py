"""What a runner phase and the platform agree on (docs/run-pipeline.md, "Storage layout"):
the phases, where a phase leaves its files in the artifacts bucket, and its ``result.json``.
The runner (``runner/``) and the workflow both import this module, so neither keeps a copy."""

from enum import StrEnum

from pydantic import BaseModel, Field


class Phase(StrEnum):
    FETCH = "fetch"  # VCS-driven runs: the runner clones the commit into the configuration
    PLAN = "plan"
    APPLY = "apply"


class PhaseStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


class RunError(BaseModel):
    stage: str = Field(description="Where the run failed: configuration, init, plan, apply, ...")
    message: str


class PhaseResult(BaseModel):
    """``result.json``: what the runner reports about one phase, its last word."""

    phase: Phase
    status: PhaseStatus = PhaseStatus.SUCCEEDED
    error: RunError | None = None
    has_changes: bool = False
    resource_additions: int = 0
    resource_changes: int = 0
    resource_destructions: int = 0
    state_serial: int = 0
    state_lineage: str | None = None
    state_uploaded: bool = False


# The files a phase leaves under runs/{run}/.
PLAN_FILE = "tfplan"
PLAN_JSON = "plan.json"
RESOURCE_CHANGES = "resource-changes.json"  # served to run tasks apart from the plan
LOCK_FILE = "terraform.lock.hcl"
STATE_FILE = "terraform.tfstate"
RESULT_FILE = "result.json"


def run_key(run_id: str, *parts: str) -> str:
    """``runs/{run}/...``: e.g. ``run_key(run, "plan", PLAN_FILE)``."""
    return "/".join((f"runs/{run_id}", *parts))


def log_prefix(run_id: str, phase: Phase) -> str:
    return run_key(run_id, "logs", phase) + "/"


def result_key(run_id: str, phase: Phase) -> str:
    return run_key(run_id, phase, RESULT_FILE)


def plan_file_key(run_id: str) -> str:
    """The saved plan (``terraform plan -out``), applied as it is."""
    return run_key(run_id, Phase.PLAN, PLAN_FILE)


def lock_file_key(run_id: str) -> str:
    """The plan's provider lock file: the apply uses the providers the plan used."""
    return run_key(run_id, Phase.PLAN, LOCK_FILE)


def plan_json_key(run_id: str) -> str:
    """Terraform's JSON plan (``terraform show -json``), redacted, as the runner wrote it."""
    return run_key(run_id, Phase.PLAN, PLAN_JSON)


def resource_changes_key(run_id: str) -> str:
    """``{"resource_changes": [...]}``, the plan's, written by the runner beside the plan so
    that it is served like the plan instead of being cut out of it per request."""
    return run_key(run_id, Phase.PLAN, RESOURCE_CHANGES)


def run_state_key(run_id: str) -> str:
    """Where a run's apply leaves the state it wrote (its checkpoints, then its last upload;
    kept even if recording it fails)."""
    return run_key(run_id, Phase.APPLY, STATE_FILE)
