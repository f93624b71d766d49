"""What a runner phase and the platform agree on (docs/run-pipeline.md, "Storage layout"):
the phases, where a phase leaves its files in the artifacts bucket, and its ``result.json``.
The runner (``runner/``) and the workflow both import this module, so neither keeps a copy."""

import re
from enum import StrEnum
from typing import Annotated, Self

from pydantic import AfterValidator, Field, StrictBool, model_validator

from iacp.model import Model


class Phase(StrEnum):
    FETCH = "fetch"  # VCS-driven runs: the runner clones the commit into the configuration
    PLAN = "plan"
    APPLY = "apply"


class PhaseStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


# Resource addresses as ``-target`` and ``-replace`` take them: a module path, each call
# with an optional instance key, then a resource (``-target`` also takes a data source or a
# whole module). A key is a number or a quoted string; no escapes, which Terraform allows but
# no one needs in a CLI option.
_NAME = r"[A-Za-z_][A-Za-z0-9_-]*"
_KEY = r'(\[(\d+|"[^"\\\x00-\x1f]*")\])?'
_MODULE = rf"module\.{_NAME}{_KEY}"
_MANAGED = rf"(?!(module|data)\.){_NAME}\.{_NAME}{_KEY}"
REPLACE_ADDRESS = re.compile(rf"({_MODULE}\.)*{_MANAGED}")
TARGET_ADDRESS = re.compile(rf"({_MODULE}\.)*((data\.)?{_MANAGED}|{_MODULE})")
MAX_ADDRESSES = 100


def _address(pattern: re.Pattern[str], what: str) -> AfterValidator:
    def check(address: str) -> str:
        if not pattern.fullmatch(address):
            raise ValueError(f"{address!r} is not {what}")
        return address

    return AfterValidator(check)


_Target = Annotated[
    str, Field(max_length=1000), _address(TARGET_ADDRESS, "a resource or module address")
]
_Replace = Annotated[
    str, Field(max_length=1000), _address(REPLACE_ADDRESS, "a managed resource address")
]


class PlanOptions(Model):
    """How a run plans: HCP Terraform's run options, given when the run is created, kept on
    the run and handed to its plan phase, whose runner turns them into ``terraform plan``
    options. The apply applies the saved plan, which carries its mode and targets."""

    is_destroy: StrictBool = Field(False, description="A destroy plan (-destroy)")
    refresh_only: StrictBool = Field(False, description="A refresh-only plan (-refresh-only)")
    refresh: StrictBool = Field(True, description="False: skip the refresh (-refresh=false)")
    target_addrs: list[_Target] = Field(
        default_factory=list,
        max_length=MAX_ADDRESSES,
        description="Resource or module addresses to plan for alone (-target)",
    )
    replace_addrs: list[_Replace] = Field(
        default_factory=list,
        max_length=MAX_ADDRESSES,
        description="Managed resource instances to replace (-replace)",
    )

    @model_validator(mode="after")
    def _one_mode(self) -> Self:
        # Terraform refuses these too, but only at plan time: here they are a 422.
        if self.is_destroy and self.refresh_only:
            raise ValueError("is_destroy and refresh_only cannot both be true")
        if self.refresh_only and not self.refresh:
            raise ValueError("refresh_only needs refresh: it cannot be false")
        if self.replace_addrs and (self.is_destroy or self.refresh_only):
            raise ValueError("replace_addrs cannot be given with is_destroy or refresh_only")
        return self

    def plan_options(self) -> "PlanOptions":
        """Just the options (of a run, or of a request to create one)."""
        return PlanOptions.model_validate(self.model_dump(include=set(PlanOptions.model_fields)))

    def described(self) -> str:
        """The options in words, for people ('' for a plain run)."""
        words = []
        if self.is_destroy:
            words.append("destroy plan")
        if self.refresh_only:
            words.append("refresh-only plan")
        if not self.refresh:
            words.append("no refresh")
        if self.target_addrs:
            words.append("targets: " + ", ".join(self.target_addrs))
        if self.replace_addrs:
            words.append("replacing: " + ", ".join(self.replace_addrs))
        return "; ".join(words)

    def terraform_arguments(self) -> list[str]:
        arguments = []
        if self.is_destroy:
            arguments.append("-destroy")
        if self.refresh_only:
            arguments.append("-refresh-only")
        if not self.refresh:
            arguments.append("-refresh=false")
        arguments += [f"-target={address}" for address in self.target_addrs]
        arguments += [f"-replace={address}" for address in self.replace_addrs]
        return arguments


class RunError(Model):
    stage: str = Field(description="Where the run failed: configuration, init, plan, apply, ...")
    message: str


class PhaseResult(Model):
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
TERRAFORM_DIR_ARCHIVE = "terraform-dir.tar.gz"
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


def terraform_dir_key(run_id: str) -> str:
    """The plan's ``.terraform`` directory as its ``terraform init`` left it (a tar.gz), when
    it can be carried over: the apply then runs no second init (runner.steps)."""
    return run_key(run_id, Phase.PLAN, TERRAFORM_DIR_ARCHIVE)


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
