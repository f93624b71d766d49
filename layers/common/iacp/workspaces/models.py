"""Workspaces and their lock (design §4, §9)."""

import re
from enum import StrEnum
from typing import Annotated, Self

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    computed_field,
    model_validator,
)

from iacp.changes import not_nullable
from iacp.model import Model
from iacp.paths import RelativePath
from iacp.timestamps import UtcDatetime
from iacp.vcs.models import WorkspaceVcs

WorkspaceName = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,90}$"),
    Field(description="Letters, digits, '-' and '_'; unique, ignoring case."),
]
TerraformVersion = Annotated[
    str,
    StringConstraints(pattern=r"^\d+\.\d+\.\d+$"),
    Field(description="An exact Terraform release such as 1.9.8; null means the platform's."),
]


WorkingDirectory = RelativePath
Description = Annotated[str, Field(max_length=1000)]


class ExecutionMode(StrEnum):
    """Where Terraform runs for the workspace: ``remote``, on the platform (runs); ``local``,
    on the user's machine, the platform keeping only state and its lock (the Terraform CLI's
    ``cloud {}`` block then runs plan and apply locally)."""

    REMOTE = "remote"
    LOCAL = "local"


class Execution(StrEnum):
    """Where a remote workspace's plan and apply phases run (docs/run-pipeline.md,
    "Executors"): ``fargate``, an ECS Fargate task (the default, for phases of any length up
    to RunnerPhaseTimeoutSeconds); ``lambda``, the runner's container-image Lambda function,
    which starts faster but ends every phase at LambdaRunnerTimeoutSeconds."""

    FARGATE = "fargate"
    LAMBDA = "lambda"


EXECUTION_DESCRIPTION = (
    "Where plan and apply run: fargate (default; an ECS Fargate task) or lambda (the runner's "
    "Lambda function: faster to start, each phase limited to the platform's "
    "LambdaRunnerTimeoutSeconds, at most 840 s). Not the TFE API's execution-mode."
)
# Lambda ends an invocation at 900 s; the runner keeps 60 s of it to stop Terraform
# gracefully and upload what it wrote, so no phase in Lambda may be given more than 840 s.
LAMBDA_MAX_PHASE_SECONDS = 840
PHASE_TIMEOUT_DESCRIPTION = (
    "How long each of the workspace's plan and apply phases may run, in seconds (60-3600); "
    "null: as long as its executor allows (fargate: RunnerPhaseTimeoutSeconds; lambda: "
    "LambdaRunnerTimeoutSeconds). A phase past it is stopped gracefully (partial state kept). "
    "With execution lambda it must fit the Lambda limit, or the request is refused (422)."
)
PhaseTimeoutSeconds = Annotated[
    StrictInt, Field(ge=60, le=3600, description=PHASE_TIMEOUT_DESCRIPTION)
]

MAX_TAGS = 50
TagKey = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9:._-]{0,127}$"),
    Field(description="1-128 letters, digits and ':._-', beginning with a letter or digit"),
]
TagValue = Annotated[
    str,
    StringConstraints(pattern=r"^[^\x00-\x1f\x7f]{0,256}$"),
    Field(description="At most 256 characters; '' for a tag that is only a name"),
]
Tags = Annotated[
    dict[TagKey, TagValue],
    Field(
        max_length=MAX_TAGS,
        description=f"Key-value tags (at most {MAX_TAGS}); a tag that is only a name has the "
        "value ''. The Terraform CLI selects workspaces by them (workspaces { tags = ... }).",
    ),
]
EXECUTION_MODE_DESCRIPTION = (
    "remote: runs execute on the platform; local: Terraform runs on the user's machine and the "
    "workspace keeps only state and its lock."
)

# An IAM role ARN: the path (group 1) is "/" or "/.../" of printable ASCII, at most 512
# characters; the name 1-64 characters (IAM's CreateRole rules). Also the OpenAPI pattern,
# so no Python-only syntax.
_ROLE_ARN = re.compile(
    r"^arn:(?:aws|aws-cn|aws-us-gov):iam::[0-9]{12}:role"
    r"(/(?:[\x21-\x7e]+/)?)[A-Za-z0-9_+=,.@-]{1,64}$"
)
_ROLE_PATH_MAX = 512


def _role_arn(arn: str) -> str:
    """An IAM role's ARN; the message never repeats the value."""
    match = _ROLE_ARN.fullmatch(arn)
    if match is None:
        raise ValueError(
            "must be an IAM role's ARN, arn:<partition>:iam::<12-digit account>:role/<name> "
            "or ...:role/<path>/<name>: the partition aws, aws-cn or aws-us-gov, the name "
            "1-64 letters, digits or _+=,.@-"
        )
    if len(match[1]) > _ROLE_PATH_MAX:
        raise ValueError(f"the role's path must be at most {_ROLE_PATH_MAX} characters")
    return arn


ROLE_ARN_DESCRIPTION = (
    "The IAM role the workspace's Terraform runs as: "
    "arn:<aws|aws-cn|aws-us-gov>:iam::<account>:role/<path/name>. Null: no role."
)
EXTERNAL_ID_DESCRIPTION = (
    "The ExternalId to present when assuming aws_role_arn (2-1224 characters of letters, "
    "digits and _+=,.@:/-); only with a role. Not a secret: it is returned as set."
)
SESSION_DURATION_DESCRIPTION = (
    "Seconds a run's role session lasts, 900-3600 (default 3600). The runner already holds "
    "role-session credentials (its task role), so assuming aws_role_arn is STS role "
    "chaining, which AWS caps at one hour."
)
DEFAULT_SESSION_DURATION = 3600

AwsRoleArn = Annotated[
    str,
    StringConstraints(max_length=2048),
    AfterValidator(_role_arn),
    Field(description=ROLE_ARN_DESCRIPTION, json_schema_extra={"pattern": _ROLE_ARN.pattern}),
]
AwsExternalId = Annotated[
    str,
    StringConstraints(min_length=2, max_length=1224, pattern=r"^[A-Za-z0-9_+=,.@:/-]*$"),
    Field(description=EXTERNAL_ID_DESCRIPTION),
]
AwsSessionDuration = Annotated[
    StrictInt, Field(ge=900, le=3600, description=SESSION_DURATION_DESCRIPTION)
]


# Fargate's task sizes (AWS's "Task CPU and memory" table, Linux, x86_64 and ARM64 alike):
# each CPU (units, 1024 a vCPU) and the memories (MiB) it takes, as (first, last, step).
FARGATE_SIZES: dict[int, tuple[int, int, int]] = {
    256: (512, 2048, 512),  # but not 1536: below
    512: (1024, 4096, 1024),
    1024: (2048, 8192, 1024),
    2048: (4096, 16384, 1024),
    4096: (8192, 30720, 1024),
    8192: (16384, 61440, 4096),
    16384: (32768, 122880, 8192),
}
RUNNER_SIZE_DESCRIPTION = (
    "The runner's Fargate task size for this workspace's runs: cpu in CPU units (1024 = 1 "
    "vCPU) and memory in MiB, one of Fargate's combinations. Null: the platform's "
    "(RunnerCpu and RunnerMemory, 1024 and 2048 by default). With execution lambda it is "
    "kept for fargate and unused: the runner's function has one size for every workspace."
)


def fargate_memories(cpu: int) -> list[int]:
    """The memory sizes Fargate pairs with ``cpu`` (none for a CPU it does not offer)."""
    if cpu not in FARGATE_SIZES:
        return []
    first, last, step = FARGATE_SIZES[cpu]
    return [m for m in range(first, last + 1, step) if (cpu, m) != (256, 1536)]


class RunnerSize(Model):
    """A runner task's CPU and memory, as ECS RunTask's task-level overrides take them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cpu: StrictInt = Field(description="CPU units: 256, 512, 1024, 2048, 4096, 8192 or 16384")
    memory: StrictInt = Field(description="MiB, one of those Fargate pairs with cpu")

    @model_validator(mode="after")
    def _a_fargate_size(self) -> Self:
        if self.cpu not in FARGATE_SIZES:
            sizes = ", ".join(map(str, FARGATE_SIZES))
            raise ValueError(f"cpu must be one of Fargate's: {sizes} (CPU units, 1024 = 1 vCPU)")
        if self.memory not in fargate_memories(self.cpu):
            first, last, step = FARGATE_SIZES[self.cpu]
            which = (
                "512, 1024 or 2048" if self.cpu == 256 else f"{first} to {last} in steps of {step}"
            )
            raise ValueError(
                f"Fargate pairs cpu {self.cpu} with memory {which} (MiB), not {self.memory}"
            )
        return self


class WorkspaceLock(Model):
    holder: str = Field(description="The run (run-...) or API token (at-...) holding the lock.")
    reason: str
    locked_at: UtcDatetime


class Workspace(Model):
    id: str
    created_at: UtcDatetime
    updated_at: UtcDatetime
    name: str
    description: str
    terraform_version: str | None
    working_directory: str
    auto_apply: bool
    vcs: WorkspaceVcs | None = Field(None, description="Where pushes and pull requests come from")
    aws_role_arn: str | None = Field(None, description=ROLE_ARN_DESCRIPTION)
    aws_external_id: str | None = Field(None, description=EXTERNAL_ID_DESCRIPTION)
    aws_session_duration: int = Field(
        DEFAULT_SESSION_DURATION, description=SESSION_DURATION_DESCRIPTION
    )
    runner_size: RunnerSize | None = Field(None, description=RUNNER_SIZE_DESCRIPTION)
    lock: WorkspaceLock | None = None
    current_run_id: str | None = Field(
        None, description="The run that holds the workspace's queue."
    )
    execution_mode: ExecutionMode = Field(
        ExecutionMode.REMOTE, description=EXECUTION_MODE_DESCRIPTION
    )
    tags: dict[str, str] = Field(
        default_factory=dict, description="Key-value tags; a name-only tag has the value ''."
    )
    execution: Execution = Field(Execution.FARGATE, description=EXECUTION_DESCRIPTION)
    phase_timeout_seconds: int | None = Field(None, description=PHASE_TIMEOUT_DESCRIPTION)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def locked(self) -> bool:
        return self.lock is not None


class _Input(Model):
    model_config = ConfigDict(extra="forbid")


class WorkspaceCreate(_Input):
    name: WorkspaceName
    description: Description = ""
    terraform_version: TerraformVersion | None = None
    working_directory: WorkingDirectory = ""
    auto_apply: StrictBool = False
    vcs: WorkspaceVcs | None = None
    aws_role_arn: AwsRoleArn | None = None
    aws_external_id: AwsExternalId | None = None
    aws_session_duration: AwsSessionDuration = DEFAULT_SESSION_DURATION
    runner_size: RunnerSize | None = Field(None, description=RUNNER_SIZE_DESCRIPTION)
    execution_mode: ExecutionMode = Field(
        ExecutionMode.REMOTE, description=EXECUTION_MODE_DESCRIPTION
    )
    tags: Tags = {}  # noqa: RUF012 -- a model: pydantic copies defaults
    execution: Execution = Field(Execution.FARGATE, description=EXECUTION_DESCRIPTION)
    phase_timeout_seconds: PhaseTimeoutSeconds | None = None


class WorkspaceUpdate(_Input):
    """Only the fields present change; ``terraform_version: null`` returns to the default,
    ``vcs: null`` disconnects the repository, ``aws_role_arn: null`` removes the role and
    its external id, ``aws_session_duration: null`` returns to 3600, ``runner_size: null``
    to the platform's task size, ``phase_timeout_seconds: null`` to the executor's limit."""

    name: WorkspaceName | None = None
    description: Description | None = None
    terraform_version: TerraformVersion | None = None
    working_directory: WorkingDirectory | None = None
    auto_apply: StrictBool | None = None
    vcs: WorkspaceVcs | None = None
    aws_role_arn: AwsRoleArn | None = None
    aws_external_id: AwsExternalId | None = None
    aws_session_duration: AwsSessionDuration | None = None
    runner_size: RunnerSize | None = Field(
        None, description=RUNNER_SIZE_DESCRIPTION + " null returns to the platform's."
    )
    execution_mode: ExecutionMode | None = Field(None, description=EXECUTION_MODE_DESCRIPTION)
    tags: Tags | None = Field(None, description="Replaces every tag; {} removes them all.")
    execution: Execution | None = Field(None, description=EXECUTION_DESCRIPTION)
    phase_timeout_seconds: PhaseTimeoutSeconds | None = None

    _not_null = not_nullable(
        "name",
        "description",
        "working_directory",
        "auto_apply",
        "execution_mode",
        "tags",
        "execution",
    )


class LockRequest(_Input):
    reason: str = Field("", max_length=500)
