"""One phase of a run, in the runner's clean restart (``runner.main``): fetch, plan or apply
as the handed-over environment describes it, with ``result.json`` saying how it ended.

Exit code 0 when the phase succeeded, 130 when it was canceled, 1 otherwise; ``result.json``
says why. Cancel is SIGTERM (what ECS sends when the task is stopped; SIGINT too, for a
terminal): the running Terraform (or, fetching, git) gets one SIGINT and is waited for, no
further step starts, and an apply's state is uploaded whatever happened.
"""

import dataclasses
import os
import shutil
import signal
import tempfile
import threading
import time
import traceback
from pathlib import Path
from types import FrameType

from pydantic import ValidationError

from iacp.observability import logger
from iacp.runs.phase import Phase, PhaseResult, PhaseStatus, RunError, log_prefix, result_key
from runner import steps, vcs
from runner.artifacts import Artifacts
from runner.aws import PlatformClients
from runner.logstream import LogStreamer, Masker
from runner.result import EXIT_CODES, Canceled, Stage, StepFailed
from runner.settings import RunnerSettings
from runner.steps import RunContext, Step
from runner.terraform import Terraform, find_terraform

# Said to the user in the log; Terraform's own failures are in the log already.
_STAGES_TO_LOG = frozenset({Stage.CONFIGURATION, Stage.STATE, Stage.RUNNER})
_MAX_MESSAGE = 2000
# Of the runner's own (clean) environment, what Terraform gets besides the TF_* settings.
_TERRAFORM_KEPT = ("PATH", "LANG", "LC_ALL")


def run(environment: dict[str, str], canceled_before: threading.Event | None = None) -> int:
    """Run the phase the runner's handed-over ``environment`` describes; its exit code.
    ``canceled_before``: set if a cancel (SIGTERM) came before the phase began."""
    try:
        settings = RunnerSettings.from_env(environment)
    except ValidationError as error:
        logger.error(
            "the runner's environment is incomplete",
            extra={"errors": error.errors(include_input=False, include_url=False)},
        )
        return EXIT_CODES[PhaseStatus.FAILED]
    started = time.monotonic()
    aws = PlatformClients(settings)
    artifacts = Artifacts(aws.s3, settings.bucket)
    log = LogStreamer(artifacts.put, log_prefix(settings.run_id, settings.phase), Masker())
    binary = find_terraform(settings.terraform_binary)
    terraform = Terraform(binary, log)
    git = Terraform(vcs.GIT_COMMAND, log, vcs.git_chdir)  # run and interrupted as Terraform is
    canceled = canceled_before if canceled_before is not None else threading.Event()
    interruptible = [terraform, git]  # and an apply's Terraform, in a plan's task that applies

    def on_cancel(signum: int, frame: FrameType | None) -> None:
        canceled.set()
        for command in list(interruptible):
            command.interrupt()

    signal.signal(signal.SIGTERM, on_cancel)
    signal.signal(signal.SIGINT, on_cancel)

    root = Path(tempfile.mkdtemp(prefix="iacp-run-"))
    ctx = RunContext(
        settings=settings,
        artifacts=artifacts,
        log=log,
        terraform=terraform,
        canceled=canceled,
        root=root,
        env=terraform_environment(root),
        result=PhaseResult(phase=settings.phase),
        aws=aws,
        git=git,
    )
    contexts = [ctx]
    artifacts.prefetch(steps.objects_read(settings))
    try:
        run_phase(ctx, phase_steps(settings))
        applies = applies_here(ctx, time.monotonic() - started)
        exit_code = finish(ctx)
        if not applies:
            return exit_code
        apply = apply_context(ctx, binary)
        contexts.append(apply)
        interruptible.append(apply.terraform)
        run_phase(apply, steps.apply_in_plan_task_steps())
        return finish(apply)
    finally:
        artifacts.close()
        if not any(c.keep_root for c in contexts):
            shutil.rmtree(root, ignore_errors=True)


def applies_here(ctx: RunContext, elapsed_seconds: float) -> bool:
    """Whether a plan goes on to apply in this task (the workflow asked it to, for a run that
    needs no confirmation and whose workspace it locked first): only a plan that succeeded
    with changes, was not canceled, and left the apply at least half the phase's time limit.
    Otherwise the plan's log says why not, and the workflow applies in a task of its own."""
    settings, result = ctx.settings, ctx.result
    if settings.phase is not Phase.PLAN:
        return False
    if result.status is not PhaseStatus.SUCCEEDED or not result.has_changes:
        return False
    if settings.apply_elsewhere:
        ctx.log.write(f"iacp: the apply runs in a task of its own: {settings.apply_elsewhere}.")
    if not settings.apply_within_seconds:
        return False
    if ctx.canceled.is_set():
        return False
    if elapsed_seconds > settings.apply_within_seconds:
        ctx.log.write(
            f"iacp: the plan took {elapsed_seconds:.0f} s, more than half the phase's time "
            "limit: the apply runs in a task of its own."
        )
        return False
    return True


def apply_context(plan: RunContext, terraform_binary: tuple[str, ...]) -> RunContext:
    """The apply phase in the plan's task: the plan's working directory (configuration,
    variables, state, ``.terraform`` and ``tfplan`` in place), its own log and result."""
    run_id = plan.settings.run_id
    log = LogStreamer(plan.artifacts.put, log_prefix(run_id, Phase.APPLY), plan.log.masker)
    apply = dataclasses.replace(
        plan,
        settings=plan.settings.model_copy(update={"phase": Phase.APPLY}),
        log=log,
        terraform=Terraform(terraform_binary, log),
        result=PhaseResult(phase=Phase.APPLY, has_changes=plan.result.has_changes),
        planned=plan.result,
    )
    apply.workdir = plan.workdir
    log.write("iacp: applying the saved plan in the task that made it.")
    return apply


def phase_steps(settings: RunnerSettings) -> list[Step]:
    """The phase's steps. A plan handed a commit fetches it first, as the fetch phase does
    (clone, archive, upload), and then plans what it fetched: one task instead of two."""
    if settings.phase is Phase.FETCH:
        return vcs.fetch_steps()
    if settings.phase is Phase.APPLY:
        return steps.apply_steps()
    return [*(vcs.fetch_steps() if settings.fetches_commit else []), *steps.plan_steps()]


def terraform_environment(root: Path) -> dict[str, str]:
    """Terraform's environment before the workspace's variables (and role) are added: PATH,
    the locale and the ``TF_*`` settings of the runner's clean environment, HOME in the run's
    own directory, no prompts, no calls home, and an empty CLI configuration (silences the
    missing ~/.terraformrc warning). Nothing else of the runner's: no AWS_* at all."""
    home = root / "home"
    home.mkdir()
    cli_config = root / "terraformrc"
    cli_config.touch()
    env = {k: v for k, v in os.environ.items() if k in _TERRAFORM_KEPT or k.startswith("TF_")}
    env.update(HOME=str(home), TF_IN_AUTOMATION="1", TF_INPUT="0", CHECKPOINT_DISABLE="1")
    if not Path(env.get("TF_CLI_CONFIG_FILE", "")).is_file():  # one that exists is kept
        env["TF_CLI_CONFIG_FILE"] = str(cli_config)
    return env


def run_phase(ctx: RunContext, phase_steps: list[Step]) -> None:
    try:
        for step in phase_steps:
            if ctx.canceled.is_set():
                raise Canceled
            logger.info("step", extra={"run_id": ctx.settings.run_id, "step": step.__name__})
            step(ctx)
    except Exception as error:
        _record(ctx, error)
    finally:
        if ctx.settings.phase is Phase.APPLY:
            try:
                steps.upload_state(ctx)  # the partial state of a failed or canceled apply
            except Exception as error:
                _record(ctx, error)


def finish(ctx: RunContext) -> int:
    """Write result.json and complete the log, side by side (the workflow reads neither
    before the phase has ended); the exit code for the phase's outcome."""
    result = ctx.result
    completing = threading.Thread(target=_complete_log, args=(ctx.log,), name="log-complete")
    completing.start()
    try:
        ctx.artifacts.put(
            result_key(ctx.settings.run_id, ctx.settings.phase),
            result.model_dump_json().encode(),
        )
    except Exception as error:
        logger.error("result.json could not be written", extra={"error": type(error).__name__})
        return EXIT_CODES[PhaseStatus.FAILED]
    finally:
        completing.join()
    return EXIT_CODES[result.status]


def _complete_log(log: LogStreamer) -> None:
    try:
        log.complete()
    except Exception as error:
        logger.error("the log could not be completed", extra={"error": type(error).__name__})


def _record(ctx: RunContext, error: Exception) -> None:
    if isinstance(error, Canceled):
        if ctx.result.status is PhaseStatus.SUCCEEDED:
            ctx.result.status = PhaseStatus.CANCELED
            ctx.log.write("iacp: the run was canceled.")
        return
    if isinstance(error, StepFailed):
        failure = error
    else:
        # The traceback goes to the runner's own log, masked; the user gets its last line.
        logger.error(
            "unexpected error", extra={"traceback": ctx.log.masker.mask(traceback.format_exc())}
        )
        failure = StepFailed(
            Stage.RUNNER,
            f"The runner failed unexpectedly: {type(error).__name__}: "
            f"{ctx.log.masker.mask(str(error))}",
        )
    ctx.result.status = PhaseStatus.FAILED
    ctx.result.error = RunError(stage=failure.stage, message=failure.message[:_MAX_MESSAGE])
    if failure.stage in _STAGES_TO_LOG:
        ctx.log.write(f"Error: {failure.message}")
