"""The steps of a run phase (docs/run-pipeline.md), each a small function over the run's
context. ``runner.phase`` runs them in order and checks for cancellation between them."""

import io
import json
import os
import shutil
import stat
import tarfile
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from botocore.exceptions import ClientError
from cryptography.exceptions import InvalidTag

from iacp.runs.phase import (
    PLAN_FILE,
    PLAN_JSON,
    RESOURCE_CHANGES,
    Phase,
    PhaseResult,
    lock_file_key,
    plan_file_key,
    plan_json_key,
    resource_changes_key,
    result_key,
    run_state_key,
    terraform_dir_key,
)
from iacp.variables.handoff import open_variables, variables_key
from runner.artifacts import Artifacts
from runner.aws import PlatformClients
from runner.backend import remove_backend_blocks
from runner.changes import ChangeCounts, applied_changes, planned_changes
from runner.checkpoint import StateCheckpoints
from runner.logstream import LogStreamer
from runner.redaction import mask_strings, redact_plan
from runner.result import Canceled, Stage, StepFailed
from runner.settings import RunnerSettings
from runner.statefile import NO_STATE, STATE_FILE, StateVersion, read_state_version
from runner.terraform import Outcome, Terraform
from runner.variables import environment_of, write_terraform_variables

LOCK_FILE = ".terraform.lock.hcl"  # Terraform's name; stored as the contract's LOCK_FILE
TERRAFORM_DIR = ".terraform"  # what terraform init installs, carried to the apply if it can be
# A carried .terraform is small: module sources and their manifest, never provider packages.
CARRIED_TERRAFORM_DIR_MAX_BYTES = 1 << 20
# Below the run's root: the configuration archive, downloaded, or built by this phase's fetch.
ARCHIVE = "configuration.tar.gz"


@dataclass
class RunContext:
    settings: RunnerSettings
    artifacts: Artifacts
    log: LogStreamer
    terraform: Terraform
    canceled: threading.Event
    root: Path  # the run's private directory; the configuration is unpacked below it
    env: dict[str, str]  # of the Terraform processes
    result: PhaseResult
    aws: PlatformClients  # the runner's own clients, on its per-run credentials
    workdir: Path = field(init=False)  # where Terraform runs: set by fetch_configuration
    current_state: StateVersion = NO_STATE  # the workspace's state before this phase
    planned: PhaseResult | None = None  # apply: the plan phase's result
    apply_started: bool = False
    keep_root: bool = False  # a state that could not be uploaded is left here
    git: Terraform | None = None  # the fetch's git (runner.vcs), run as Terraform is
    # git's environment (runner.vcs.prepare_git): never Terraform's, which must not get the
    # clone token or, for CodeCommit, the runner's own credentials.
    git_env: dict[str, str] = field(default_factory=dict)
    fetched: bool = False  # this phase built the archive itself (a plan that fetched)
    terraform_dir_carried: bool = False  # apply: the plan's .terraform is in place, no init

    def run_terraform(
        self, stage: Stage, *args: str, success: tuple[int, ...] = (0,), capture: bool = False
    ) -> Outcome:
        outcome = self.terraform.run(args, self.workdir, self.env, capture_stdout=capture)
        if self.canceled.is_set():  # Terraform was interrupted: its exit code says nothing more
            raise Canceled
        if outcome.exit_code not in success:
            lines = "\n".join(outcome.tail).strip("\n")
            raise StepFailed(
                stage, f"terraform {args[0]} failed (exit code {outcome.exit_code}):\n{lines}"
            )
        return outcome


Step = Callable[[RunContext], None]


def _prepare_steps() -> list[Step]:
    """What a plan and an apply both do first: the configuration, the Terraform, the
    variables, the workspace's credentials and the current state in place."""
    return [
        fetch_configuration,
        check_terraform_version,
        write_variables,
        assume_workspace_role,
        remove_backend,
        download_state,
    ]


def plan_steps() -> list[Step]:
    return [
        *_prepare_steps(),
        terraform_init,
        terraform_plan,
        summarize_plan,
        upload_plan,
    ]


def apply_steps() -> list[Step]:
    return [
        *_prepare_steps(),
        download_plan,
        check_state_unchanged,
        terraform_init,
        terraform_apply,
        upload_state,
    ]


def apply_in_plan_task_steps() -> list[Step]:
    """The apply, in the task that planned (``runner.phase.apply_context``): everything but
    Terraform's credentials and the apply itself is in place already."""
    return [check_state_unchanged, assume_workspace_role, terraform_apply, upload_state]


def objects_read(settings: RunnerSettings) -> list[str]:
    """The objects a plan's or an apply's steps read that exist before the phase starts (all
    but a configuration the plan fetches itself): ``runner.phase`` reads them side by side
    at once, and each step takes its own when it comes to it."""
    run_id, phase = settings.run_id, settings.phase
    if phase is Phase.FETCH:
        return []
    keys = [] if settings.fetches_commit else [settings.configuration_key]
    keys.append(variables_key(run_id, phase))
    if settings.state_key:
        keys.append(settings.state_key)
    if phase is Phase.APPLY:  # download_plan's
        keys += [
            result_key(run_id, Phase.PLAN),
            plan_file_key(run_id),
            lock_file_key(run_id),
            terraform_dir_key(run_id),
        ]
    return keys


def fetch_configuration(ctx: RunContext) -> None:
    key = ctx.settings.configuration_key
    archive = ctx.root / ARCHIVE
    # A plan that fetched its commit unpacks the archive it has just uploaded.
    if not ctx.fetched and not ctx.artifacts.download(key, archive):
        raise StepFailed(Stage.CONFIGURATION, f"The configuration version {key} does not exist.")
    tree = ctx.root / "configuration"
    try:
        with tarfile.open(archive, "r:gz") as tar:
            # The "data" filter refuses absolute paths, "..", links leading out and devices.
            tar.extractall(tree, filter="data")
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise StepFailed(
            Stage.CONFIGURATION, f"The configuration archive cannot be unpacked: {error}"
        ) from error
    relative = ctx.settings.working_directory
    workdir = (tree / relative).resolve()
    if not workdir.is_relative_to(tree.resolve()) or not workdir.is_dir():
        raise StepFailed(
            Stage.CONFIGURATION, f"The working directory '{relative}' is not in the configuration."
        )
    ctx.workdir = workdir


def check_terraform_version(ctx: RunContext) -> None:
    """A workspace that asks for a Terraform release gets that one or none: another release
    could plan differently, or upgrade the state's format past what the workspace's own
    Terraform can read."""
    wanted = ctx.settings.terraform_version
    if not wanted:
        return
    outcome = ctx.run_terraform(Stage.INIT, "version", "-json", capture=True)
    try:
        have = str(json.loads(outcome.stdout)["terraform_version"])
    except (ValueError, KeyError) as error:
        raise StepFailed(Stage.INIT, "terraform version -json printed no version.") from error
    if have != wanted:
        raise StepFailed(
            Stage.INIT,
            f"The workspace asks for Terraform {wanted}, and this runner has Terraform {have}. "
            f"Set the workspace's terraform_version to {have} (or null for the runner's own), "
            f"or give the runner Terraform {wanted} (docs/run-pipeline.md).",
        )
    ctx.log.write(f"iacp: Terraform {have}, as the workspace asks.")


def write_variables(ctx: RunContext) -> None:
    """The workspace's variables, as the workflow sealed them for this phase."""
    key = variables_key(ctx.settings.run_id, ctx.settings.phase)
    sealed = ctx.artifacts.get(key)
    if sealed is None:
        raise StepFailed(Stage.RUNNER, f"The run's variables for this phase ({key}) are missing.")
    try:
        variables = open_variables(sealed, ctx.settings.variables_key, bound_to=key)
    except (InvalidTag, ValueError) as error:
        raise StepFailed(
            Stage.RUNNER, "The run's variables cannot be opened with this phase's key."
        ) from error
    ctx.log.masker.add(v.value for v in variables if v.sensitive)
    write_terraform_variables(ctx.workdir, variables)
    ctx.env.update(environment_of(variables))


def assume_workspace_role(ctx: RunContext) -> None:
    """Terraform's AWS credentials: a session of the workspace's own role, named and tagged
    after the run, or none at all (docs/security.md, "Workspace cloud credentials")."""
    settings = ctx.settings
    role = settings.workspace_role_arn
    if not role:
        return
    session = f"iacp-{settings.run_id}-{settings.phase}"[:64]
    options = {"ExternalId": settings.workspace_role_external_id}
    try:
        reply = ctx.aws.sts.assume_role(
            RoleArn=role,
            RoleSessionName=session,
            DurationSeconds=settings.workspace_role_session_seconds,
            Tags=[
                {"Key": "iacp-run", "Value": settings.run_id},
                {"Key": "iacp-workspace", "Value": settings.workspace_id},
            ],
            **(options if settings.workspace_role_external_id else {}),
        )
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "error")
        raise StepFailed(
            Stage.INIT,
            f"The workspace's role {role} cannot be assumed ({code}): its trust policy must "
            f"let the platform's runner sessions of this workspace assume and tag it "
            f"(docs/security.md).",
        ) from error
    credentials = reply["Credentials"]
    ctx.log.masker.add([credentials["SecretAccessKey"], credentials["SessionToken"]])
    ctx.env.update(
        AWS_ACCESS_KEY_ID=credentials["AccessKeyId"],
        AWS_SECRET_ACCESS_KEY=credentials["SecretAccessKey"],
        AWS_SESSION_TOKEN=credentials["SessionToken"],
        AWS_REGION=settings.aws_region,
    )
    ctx.log.write(f"iacp: Terraform runs as {role} (session {session}).")


def remove_backend(ctx: RunContext) -> None:
    for name in remove_backend_blocks(ctx.workdir):
        ctx.log.write(f"iacp: removed the backend block of {name}; the platform keeps the state.")
    # Left by a local `terraform init` against the removed backend; init would want to migrate.
    (ctx.workdir / ".terraform" / STATE_FILE).unlink(missing_ok=True)


def download_state(ctx: RunContext) -> None:
    path = ctx.workdir / STATE_FILE
    path.unlink(missing_ok=True)  # one shipped in the configuration is not the workspace's
    key = ctx.settings.state_key
    if not key:
        return
    if not ctx.artifacts.download(key, path):
        raise StepFailed(Stage.STATE, f"The workspace's current state {key} does not exist.")
    try:
        ctx.current_state = read_state_version(path)
    except ValueError as error:
        raise StepFailed(Stage.STATE, f"The workspace's current state {key}: {error}.") from error
    ctx.result.state_serial = ctx.current_state.serial
    ctx.result.state_lineage = ctx.current_state.lineage


def terraform_init(ctx: RunContext) -> None:
    if ctx.terraform_dir_carried:
        ctx.log.write("iacp: the plan's .terraform is carried over; no second terraform init.")
        return
    ctx.run_terraform(Stage.INIT, "init", "-input=false", "-no-color")


def carriable_terraform_dir(workdir: Path) -> bool:
    """Whether the plan's ``.terraform`` can stand in for the apply's ``terraform init``: none
    at all (init installed nothing: built-in providers only), or one of directories and
    regular files only, no symlink, at most CARRIED_TERRAFORM_DIR_MAX_BYTES in all, and no
    provider packages (``providers/``: tens of MB, which init installs and checks against the
    lock file's hashes)."""
    root = workdir / TERRAFORM_DIR
    if not os.path.lexists(root):
        return True
    if not root.is_dir() or root.is_symlink() or os.path.lexists(root / "providers"):
        return False
    total = 0
    for directory, subdirectories, files in os.walk(root):  # symlinks are not followed
        for name in subdirectories:
            if not stat.S_ISDIR(os.lstat(Path(directory, name)).st_mode):
                return False
        for name in files:
            status = os.lstat(Path(directory, name))
            if not stat.S_ISREG(status.st_mode):
                return False
            total += status.st_size
            if total > CARRIED_TERRAFORM_DIR_MAX_BYTES:
                return False
    return True


def _terraform_dir_archive(workdir: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        if (workdir / TERRAFORM_DIR).is_dir():
            tar.add(workdir / TERRAFORM_DIR, arcname=TERRAFORM_DIR)
    return buffer.getvalue()


def _only_terraform_dir(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo | None:
    """The "data" filter, and nothing outside ``.terraform``: the archive replaces no
    configuration file."""
    name = member.name.removeprefix("./")
    if name != TERRAFORM_DIR and not name.startswith(f"{TERRAFORM_DIR}/"):
        return None
    return tarfile.data_filter(member, path)


def _unpack_terraform_dir(ctx: RunContext, archive: bytes) -> None:
    target = ctx.workdir / TERRAFORM_DIR
    if target.is_dir() and not target.is_symlink():  # one shipped in the configuration
        shutil.rmtree(target)
    else:
        target.unlink(missing_ok=True)
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            tar.extractall(ctx.workdir, filter=_only_terraform_dir)  # noqa: S202 -- "data"+
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        shutil.rmtree(target, ignore_errors=True)
        ctx.log.write(f"iacp: the plan's .terraform cannot be unpacked ({error}); running init.")
        return
    ctx.terraform_dir_carried = True


def terraform_plan(ctx: RunContext) -> None:
    outcome = ctx.run_terraform(
        Stage.PLAN,
        *("plan", "-input=false", "-no-color", f"-out={PLAN_FILE}", "-detailed-exitcode"),
        *ctx.settings.plan_options.terraform_arguments(),  # -destroy, -target=..., ...
        success=(0, 2),  # 2: the plan has changes
    )
    ctx.result.has_changes = outcome.exit_code == 2


def summarize_plan(ctx: RunContext) -> None:
    outcome = ctx.run_terraform(Stage.PLAN, "show", "-json", PLAN_FILE, capture=True)
    try:
        plan = json.loads(outcome.stdout)
    except ValueError as error:
        raise StepFailed(Stage.PLAN, "terraform show -json printed no JSON plan.") from error
    # Only the redacted plan is written (runner/redaction.py): whoever reads the run, run tasks
    # included, never gets a sensitive value from it. The binary plan keeps them, for the apply.
    redacted = mask_strings(redact_plan(plan), ctx.log.masker.mask)
    (ctx.root / PLAN_JSON).write_text(json.dumps(redacted, separators=(",", ":")))
    changes = {"resource_changes": redacted.get("resource_changes", [])}
    (ctx.root / RESOURCE_CHANGES).write_text(json.dumps(changes))
    _record_counts(ctx.result, planned_changes(plan))


def upload_plan(ctx: RunContext) -> None:
    """The plan, its JSON, its resource changes, the lock file and ``.terraform``, side by
    side: the plan succeeded only if all of them were written."""
    run_id = ctx.settings.run_id
    objects: dict[str, Path | bytes] = {
        plan_file_key(run_id): ctx.workdir / PLAN_FILE,
        plan_json_key(run_id): ctx.root / PLAN_JSON,
        resource_changes_key(run_id): ctx.root / RESOURCE_CHANGES,
    }
    lock_file = ctx.workdir / LOCK_FILE
    if lock_file.exists():  # none when the configuration uses only built-in providers
        objects[lock_file_key(run_id)] = lock_file
    if carriable_terraform_dir(ctx.workdir):
        objects[terraform_dir_key(run_id)] = _terraform_dir_archive(ctx.workdir)
    ctx.artifacts.put_all(objects)


def download_plan(ctx: RunContext) -> None:
    run_id = ctx.settings.run_id
    planned = ctx.artifacts.get_json(result_key(run_id, Phase.PLAN))
    saved = ctx.artifacts.download(plan_file_key(run_id), ctx.workdir / PLAN_FILE)
    if planned is None or not saved:
        raise StepFailed(Stage.RUNNER, "This run has no saved plan to apply.")
    ctx.planned = PhaseResult.model_validate(planned)
    ctx.artifacts.download(lock_file_key(run_id), ctx.workdir / LOCK_FILE)
    carried = ctx.artifacts.get(terraform_dir_key(run_id))
    if carried is not None:  # else init as the plan did
        _unpack_terraform_dir(ctx, carried)
    ctx.result.has_changes = ctx.planned.has_changes


def check_state_unchanged(ctx: RunContext) -> None:
    assert ctx.planned is not None, "download_plan runs first"
    current, planned = ctx.current_state.serial, ctx.planned.state_serial
    if current != planned:
        raise StepFailed(
            Stage.STATE,
            f"the workspace's state changed since this plan was made "
            f"(serial {current}, plan made against {planned})",
        )


def terraform_apply(ctx: RunContext) -> None:
    """The saved plan, applied; what Terraform saves of it meanwhile is checkpointed to the
    apply's state key (runner.checkpoint), for a runner that dies before it reports."""
    ctx.apply_started = True
    key = run_state_key(ctx.settings.run_id)
    with StateCheckpoints(ctx.workdir / STATE_FILE, lambda body: ctx.artifacts.put(key, body)):
        outcome = ctx.run_terraform(Stage.APPLY, "apply", "-input=false", "-no-color", PLAN_FILE)
    _record_counts(ctx.result, applied_changes(outcome.tail))


def upload_state(ctx: RunContext) -> None:
    """Upload the state Terraform wrote, if it wrote one, over the last checkpoint. Also run
    after a failed or canceled apply: resources created before the stop must not be
    forgotten."""
    path = ctx.workdir / STATE_FILE
    if not ctx.apply_started or ctx.result.state_uploaded or not path.exists():
        return
    try:
        written = read_state_version(path)
    except ValueError:
        written = None  # still uploaded: a damaged state is better kept than lost
    if written == ctx.current_state:
        return  # Terraform changed nothing
    try:
        ctx.artifacts.upload(path, run_state_key(ctx.settings.run_id))
    except Exception as error:
        ctx.keep_root = True
        raise StepFailed(
            Stage.STATE,
            f"The state this apply wrote could not be uploaded ({type(error).__name__}); "
            f"it is kept at {path}.",
        ) from error
    ctx.result.state_uploaded = True
    if written is not None:
        ctx.result.state_serial, ctx.result.state_lineage = written.serial, written.lineage


def _record_counts(result: PhaseResult, counts: ChangeCounts) -> None:
    result.resource_additions = counts.additions
    result.resource_changes = counts.changes
    result.resource_destructions = counts.destructions
