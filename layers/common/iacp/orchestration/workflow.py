"""The steps of the run workflow (statemachine/run.asl.json) that need the platform's data.

The state machine sequences; these steps decide and record. Each takes a small input model and
returns a small output model; a step that cannot do its part raises a ``StepFailed`` subclass
whose name the workflow's Catch passes to ``handle_failure``, which turns it into the run's
error (stage and message).

Every step may run twice: the workflow retries a step whose Lambda invocation failed for a
reason outside the run (``StepInterrupted``, a Lambda timeout), and the first attempt may have
done its writes before it failed. So a step that finds its own work done carries on from there
(the run already in the status it moves to, the lock already its own, the state version
already recorded) instead of failing the run.
"""

from collections.abc import Callable
from datetime import datetime
from functools import cache, partial
from typing import Any, Literal

from pydantic import BaseModel, Field

from iacp.configurations.models import CommitSource, ConfigurationStatus, archive_key
from iacp.configurations.store import ConfigurationStore
from iacp.errors import Conflict
from iacp.isolation.credentials import RunnerCredentialIssuer, RunnerCredentials
from iacp.isolation.scope import RunScope
from iacp.observability import logger
from iacp.orchestration.failure_reasons import LAMBDA_EXECUTOR, explain_failure, went_on_to_apply
from iacp.orchestration.finish import RunFinisher
from iacp.orchestration.steps import (
    LockFailed,
    ResultMissing,
    RunNotRunnable,
    StateNotSaved,
    StepInterrupted,
    advance,
)
from iacp.orchestration.workflow_client import DECISIONS, resume
from iacp.runs.artifacts import RunArtifacts
from iacp.runs.models import Run
from iacp.runs.phase import Phase, PhaseResult, PhaseStatus, RunError, run_state_key
from iacp.runs.status import InvalidTransition, RunStatus
from iacp.runs.store import FETCH_IN_PLAN, SEALED_VARIABLES, RunStore
from iacp.runtasks.models import Stage
from iacp.states.service import StateService
from iacp.states.store import StateRefused
from iacp.timestamps import utcnow
from iacp.variables.handoff import seal_variables, variables_key
from iacp.variables.models import RunVariable
from iacp.vcs.models import codecommit_repository_of
from iacp.workspaces.models import LAMBDA_MAX_PHASE_SECONDS, Execution, RunnerSize, Workspace
from iacp.workspaces.service import WorkspaceService
from iacp.workspaces.store import WorkspaceStore

# The error of a step that ran past its TimeoutSeconds (a runner phase past its limit).
PHASE_TIMED_OUT = "States.Timeout"


class RunRef(BaseModel):
    run_id: str


class StartInput(RunRef):
    execution_arn: str


class _RunnerPhase(BaseModel):
    """What every runner phase is handed: how long it may run (the step's
    ``TimeoutSecondsPath``), and the runner's own credentials for the phase, its session
    role narrowed to this run (iacp.isolation), which the runner never hands to Terraform."""

    timeout_seconds: int
    aws_access_key_id: str
    aws_secret_access_key: str = Field(repr=False)
    aws_session_token: str = Field(repr=False)

    @staticmethod
    def of(credentials: RunnerCredentials) -> dict[str, str]:
        """The credentials' fields."""
        return {
            "aws_access_key_id": credentials.access_key_id,
            "aws_secret_access_key": credentials.secret_access_key,
            "aws_session_token": credentials.session_token,
        }


class RunnerInput(_RunnerPhase):
    """The runner's environment for one phase (docs/run-pipeline.md)."""

    run_id: str
    workspace_id: str
    phase: Phase
    configuration_key: str
    state_key: str
    working_directory: str
    terraform_version: str = Field(description="The workspace's, or '' for the runner's own")
    variables_key: str = Field(repr=False, description="Opens the phase's sealed variables")
    workspace_role_arn: str = Field(description="The role Terraform runs as, or '' for none")
    workspace_role_external_id: str
    workspace_role_session_seconds: str  # a container's environment holds only strings
    plan_options: str = Field(description="The run's PlanOptions as JSON (the apply ignores them)")
    execution: Execution = Field(
        Execution.FARGATE, description="Where the phase runs (the workflow's choice)"
    )
    # RunTask's task-level overrides (strings, as ECS takes them): the workspace's
    # runner_size, or the platform's.
    cpu: str = Field(description="The task's CPU units")
    memory: str = Field(description="The task's memory in MiB")


class PlanInput(RunnerInput):
    """The plan phase's environment: a plan may fetch its commit first (docs/run-pipeline.md,
    "The fetch inside the plan"), with FetchInput's settings, each '' for a configuration
    already in place."""

    vcs_clone_url: str = ""
    vcs_commit: str = ""
    vcs_ref: str = ""
    vcs_credentials_secret: str = Field("", description="The connection's secret, or ''")
    # Seconds (as a string): the plan's task applies too if the plan ended within them of the
    # runner's start ("0": it never does; docs/run-pipeline.md, "The apply in the plan task").
    apply_within_seconds: str = "0"
    # Why an auto-apply run's apply has a task of its own, for the plan's log ('': it has not).
    apply_elsewhere: str = ""


class FetchInput(_RunnerPhase):
    """The runner's environment for fetching a VCS commit into the configuration archive."""

    run_id: str
    workspace_id: str
    phase: Literal[Phase.FETCH] = Phase.FETCH
    configuration_key: str
    clone_url: str
    commit_sha: str
    ref: str
    credentials_secret: str = Field(description="The connection's secret, or '' for none")


class StartOutput(BaseModel):
    """Whether the run's configuration must be fetched first (from VCS), and how."""

    needs_fetch: bool
    fetch: FetchInput | None


class PlanDecision(BaseModel):
    # "applied": the plan task applied too; the apply is only to be recorded.
    next: Literal["finish", "apply", "confirm", "applied"]


class ConfirmationInput(RunRef):
    task_token: str


class FailureInput(RunRef):
    error: dict[str, Any]  # the Catch's {"Error", "Cause"}


class RunWorkflow:
    def __init__(
        self,
        runs: RunStore,
        workspaces: WorkspaceStore,
        states: StateService,
        artifacts: RunArtifacts,
        finisher: RunFinisher,
        configurations: ConfigurationStore,
        vcs_credentials: Callable[[str], str],
        runner_credentials: RunnerCredentialIssuer,
        variables_for: Callable[[Run, str | None], list[RunVariable]],
        stages_with_tasks: Callable[[Run, list[Stage]], list[Stage]],
        runner_size: RunnerSize,
        phase_timeout_seconds: int = 3600,
        lambda_phase_timeout_seconds: int = LAMBDA_MAX_PHASE_SECONDS,
        clock: Callable[[], datetime] = utcnow,
    ):
        """``vcs_credentials``: the secret holding a VCS connection's clone token, or '';
        ``variables_for``: a run's variables, unsealed: its workspace's, and its own (given
        sealed, as the run keeps them) overriding them;
        ``stages_with_tasks``: of the stages given, those with run tasks now
        (``TaskStages.stages_with_tasks``);
        ``runner_size``: the runner's task size for a workspace that names none;
        ``phase_timeout_seconds``: how long a runner phase may run before it is stopped;
        ``lambda_phase_timeout_seconds``: the same in the runner's Lambda function."""
        self._phase_timeout_seconds = phase_timeout_seconds
        self._lambda_phase_timeout_seconds = lambda_phase_timeout_seconds
        self._runs = runs
        self._configurations = configurations
        self._vcs_credentials = vcs_credentials
        self._runner_credentials = runner_credentials
        self._variables_for = variables_for
        self._stages_with_tasks = stages_with_tasks
        self._runner_size = runner_size
        self._workspaces = workspaces
        self._locks = WorkspaceService(workspaces, clock)
        self._states = states
        self._artifacts = artifacts
        self._finisher = finisher
        self._clock = clock

    def start(self, step: StartInput) -> StartOutput:
        """The run takes its workspace's queue (unless plan-only or a saved plan):
        ``fetching``. A VCS-driven run with pre_plan tasks fetches its commit next, in a task
        of its own: the tasks' services read the configuration. Without any, its plan task
        fetches the commit (one task start fewer); then the pre_plan run tasks."""
        run = self._run(step.run_id)
        if run.queues and not self._workspaces.claim_queue(run.workspace_id, run.id):
            raise RunNotRunnable(f"Workspace {run.workspace_id} is busy with another run.")
        try:
            started = self._advance(
                run.id, RunStatus.FETCHING, {"execution_arn": step.execution_arn}
            )
        except RunNotRunnable:
            self._release_if_ended(run.id)  # canceled before its claim: give the claim back
            raise
        if started.execution_arn != step.execution_arn:
            raise RunNotRunnable(f"Run {run.id} was started by another execution.")
        source = self._commit_to_fetch(started)
        if source is None:
            return StartOutput(needs_fetch=False, fetch=None)
        # Written each time (a retry decides again): the run's pre_plan tasks are those
        # attached now (TaskStages.prepare keeps to this for a run that fetches in its plan).
        in_plan = not self._stages_with_tasks(started, [Stage.PRE_PLAN])
        self._runs.update(run.id, {FETCH_IN_PLAN: in_plan})
        if in_plan:
            return StartOutput(needs_fetch=False, fetch=None)
        return StartOutput(needs_fetch=True, fetch=self._fetch_input(started, source))

    def _commit_to_fetch(self, run: Run) -> CommitSource | None:
        """The commit to fetch, if the run's configuration version is a VCS one not fetched
        yet (a run started by hand may reuse a fetched one)."""
        version = self._configurations.get(run.workspace_id, run.configuration_version_id)
        if version is None or version.vcs is None:
            return None
        if version.status is not ConfigurationStatus.PENDING:
            return None
        return version.vcs

    def _fetch_scope(
        self, run: Run, phase: Phase, source: CommitSource, **scope: str | bool
    ) -> RunScope:
        return RunScope(
            run_id=run.id,
            workspace_id=run.workspace_id,
            phase=phase,
            configuration_key=archive_key(run.workspace_id, run.configuration_version_id),
            fetches_commit=True,
            vcs_connection_id=source.connection_id,
            vcs_secret_arn=self._vcs_credentials(source.connection_id),
            codecommit_repository=codecommit_repository_of(source.clone_url),
            **scope,
        )

    def _fetch_input(self, run: Run, source: CommitSource) -> FetchInput:
        """What the runner needs to fetch the run's commit in a task of its own."""
        scope = self._fetch_scope(run, Phase.FETCH, source)
        return FetchInput(
            run_id=run.id,
            workspace_id=run.workspace_id,
            configuration_key=scope.configuration_key,
            clone_url=source.clone_url,
            commit_sha=source.commit_sha,
            ref=source.ref or "",
            credentials_secret=scope.vcs_secret_arn,
            timeout_seconds=self._phase_timeout_seconds,
            **FetchInput.of(self._runner_credentials.issue(scope)),
        )

    def start_plan(self, step: RunRef) -> PlanInput:
        planning = self._advance(step.run_id, RunStatus.PLANNING)
        elsewhere = self._why_apply_elsewhere(planning)
        applies = elsewhere == ""
        if applies != planning.applies_in_plan_task:
            planning = self._runs.update(planning.id, {"applies_in_plan_task": applies}) or planning
        # The plan's log says why an apply that needs no person still takes a second task.
        said = elsewhere if run_applies(planning) else ""
        runner = self._runner_input(planning, Phase.PLAN, apply_elsewhere=said)
        assert isinstance(runner, PlanInput)
        return runner

    def _why_apply_elsewhere(self, run: Run) -> str:
        """Why the run's plan task does not apply too, or '' when it does (one task start,
        not two): a run that needs no confirmation (auto-apply, queued, not a saved plan, not
        an empty apply), with no post_plan or pre_apply tasks now (the run keeps to that:
        TaskStages.prepare), and its workspace locked now, before anything can be applied
        (design §4). Otherwise the two-task path, as before (a lock that cannot be taken
        errors the run after its plan, in record_plan)."""
        if not run_applies(run):
            return "it waits for confirmation"
        if run.allow_empty_apply:
            return "it applies even an empty plan (allow_empty_apply)"
        if self._stages_with_tasks(run, [Stage.POST_PLAN, Stage.PRE_APPLY]):
            return "its post_plan or pre_apply run tasks must see the plan, or pass, first"
        if self._lock_for(run):
            return "its workspace could not be locked before the plan"
        return ""

    def record_plan(self, step: RunRef) -> PlanDecision:
        run = self._run(step.run_id)
        result = self._succeeded(run, Phase.PLAN)
        counts = {
            "has_changes": result.has_changes,
            "resource_additions": result.resource_additions,
            "resource_changes": result.resource_changes,
            "resource_destructions": result.resource_destructions,
        }
        if run.is_speculative or not (result.has_changes or run.allow_empty_apply):
            self._advance(run.id, RunStatus.PLANNED_AND_FINISHED, counts)
            return PlanDecision(next="finish")
        self._runs.update(run.id, counts)
        if run.save_plan:
            # It waits without the workspace: a confirmed apply takes it (RunService).
            return PlanDecision(next="confirm")
        refused = self._lock_for(run)
        if refused:  # design §4: a run never waits for confirmation or applies unlocked
            raise LockFailed(f"The workspace could not be locked: {refused}")
        if run.applies_in_plan_task and self._artifacts.result(run.id, Phase.APPLY) is not None:
            return PlanDecision(next="applied")  # record_apply reads how it went
        return PlanDecision(next="apply" if run.auto_apply else "confirm")

    def await_confirmation(self, step: ConfirmationInput) -> None:
        """Become ``planned`` and keep the token a confirm or discard resumes, in one write:
        the API can act on a planned run only once the workflow can hear it."""
        token = {"confirmation_token": step.task_token}
        try:
            self._runs.transition(step.run_id, RunStatus.PLANNED, self._clock(), fields=token)
            return
        except InvalidTransition:
            pass
        # A retry: the first attempt made the run planned. It waits on this attempt's token
        # now, or, if someone answered meanwhile, this attempt hears the answer too.
        if self._runs.update_in_status(step.run_id, RunStatus.PLANNED, token) is not None:
            return
        run = self._run(step.run_id)
        decision = DECISIONS.get(run.status)
        if decision is None:
            raise RunNotRunnable(f"Run {step.run_id} cannot wait for confirmation now.")
        if self._runs.private(run.id).get("confirmation_token") != step.task_token:
            resume(step.task_token, {"decision": decision})

    def start_apply(self, step: RunRef) -> RunnerInput:
        # Confirmed, or auto-apply straight from the plan; either after pre_apply tasks.
        applying = self._advance(step.run_id, RunStatus.APPLYING, remove=("confirmation_token",))
        return self._runner_input(applying, Phase.APPLY)

    def record_apply(self, step: RunRef) -> None:
        run = self._run(step.run_id)
        if run.applies_in_plan_task and run.status is not RunStatus.APPLYING:
            # Its plan task applied: the run shows applying now, as the task has ended.
            run = self._advance(run.id, RunStatus.APPLYING)
        result = self._succeeded(run, Phase.APPLY)
        if run.apply_recorded:
            return  # a retry: the state version is recorded and the run knows it
        if run.allow_empty_apply and not result.state_uploaded:
            # An empty apply changed nothing, so its runner uploaded no state (runner/steps.py,
            # upload_state): the workspace's current state is the one it leaves.
            unchanged = self._states.current_version(run.workspace_id)
            if unchanged is not None:
                self._runs.update(run.id, {"state_version_id": unchanged.id})
                return
        try:
            version = self._states.recorded_by(run.workspace_id, run.id) or (
                self._states.record_run_state(run.workspace_id, run.id)
            )
        except StateRefused as refused:
            raise StateNotSaved(self._state_not_saved(run, str(refused))) from None
        except Exception as error:
            # Outside the run (S3 or DynamoDB failing): the workflow tries the step again.
            logger.exception("state version not recorded", extra={"run_id": run.id})
            why = f"recording it failed: {type(error).__name__}"
            raise StepInterrupted(self._state_not_saved(run, why)) from None
        # Still applying: the post_apply run tasks come next, and finish makes it applied.
        self._runs.update(run.id, {"state_version_id": version.id})

    def finish(self, step: RunRef) -> None:
        """The run reached its ending (applied, planned_and_finished, discarded): release."""
        run = self._run(step.run_id)
        if run.apply_recorded:
            try:
                run = self._runs.transition(run.id, RunStatus.APPLIED, self._clock())
            except InvalidTransition as refused:
                # Ended meanwhile (force-canceled after its state was saved): it keeps that
                # ending, and what it holds is given back all the same.
                logger.warning("run not made applied", extra={"why": refused.detail})
        self._finisher.release(run)

    def handle_failure(self, step: FailureInput) -> None:
        run = self._run(step.run_id)
        if run.apply_recorded:
            # The new state is saved: nothing after it (post_apply) can undo the apply.
            self._finisher.end(run, RunStatus.APPLIED, None, reason="failure after the apply")
            return
        if run.status is RunStatus.FETCHING or (
            run.status is RunStatus.PLANNING and self._fetches_in_plan(run)
        ):
            # Its commit never arrived: the version will not become usable by waiting.
            self._settle_unfetched(run)
        phase = run.runner_phase
        # The runner's reports, each read from S3 once however many of the steps below ask.
        result_of = cache(partial(self._artifacts.result, run.id))
        in_lambda = step.error.get("executor") == LAMBDA_EXECUTOR
        if phase is not None and step.error.get("Error") == PHASE_TIMED_OUT and not in_lambda:
            # Its task is being stopped, and the runner may still be saving what Terraform
            # wrote: the run ends now, but keeps its workspace until the reconcile of this
            # execution has seen the runner end and recorded its state (as a force-cancel).
            # (A Lambda phase's step outlasts its function, whose runner has ended by then.
            # A plan task that applies too is awaited as an apply; it was still planning if
            # its plan has no result yet.)
            limit, named = self._phase_limit_named(self._workspaces.get(run.workspace_id))
            stopped = phase
            if run.status is RunStatus.PLANNING and not went_on_to_apply(
                run, result_of(Phase.PLAN)
            ):
                stopped = Phase.PLAN
            error = RunError(
                stage=stopped.value,
                message=(
                    f"The {stopped} phase ran longer than its limit of {limit} s ({named}) and "
                    "was stopped."
                ),
            )
            self._finisher.end_before_runner(run, RunStatus.ERRORED, phase, "timed out", error)
            return
        # A run stopped at a task stage already says why (the mandatory task that failed).
        error = run.error or explain_failure(
            run,
            step.error,
            result_of=result_of,
            phase_limit=lambda: self._phase_limit_named(self._workspaces.get(run.workspace_id)),
        )
        run = self._applying_if_it_applied(run, result_of(Phase.PLAN))
        if run.status is RunStatus.APPLYING and step.error.get("Error") != StateNotSaved.__name__:
            # A failed apply, or a runner that died in it, may have changed real resources:
            # keep what Terraform recorded (the runner's upload, or its last checkpoint), and
            # only then give the workspace back.
            self._states.record_if_written(run.workspace_id, run.id)
        self._finisher.end(run, RunStatus.ERRORED, error, reason="workflow step failed")

    def _applying_if_it_applied(self, run: Run, planned: PhaseResult | None) -> Run:
        """A plan task that had gone on to apply failed (or died): the run passes through
        ``applying``, with its plan's counts, as a two-task run would have, and what the
        apply wrote is kept as a partial state below."""
        if not went_on_to_apply(run, planned):
            return run
        assert planned is not None
        counts = {
            "has_changes": planned.has_changes,
            "resource_additions": planned.resource_additions,
            "resource_changes": planned.resource_changes,
            "resource_destructions": planned.resource_destructions,
        }
        try:
            return self._runs.transition(run.id, RunStatus.APPLYING, self._clock(), counts)
        except InvalidTransition:
            return self._run(run.id)

    def _settle_unfetched(self, run: Run) -> None:
        version = self._configurations.get(run.workspace_id, run.configuration_version_id)
        if version is None or version.status is not ConfigurationStatus.PENDING:
            return
        if version.vcs is not None and self._artifacts.objects.exists(
            archive_key(run.workspace_id, version.id)
        ):
            return  # fetched, and the run failed later (a plan that fetched, then failed)
        self._configurations.mark(version, ConfigurationStatus.ERRORED)

    def _fetches_in_plan(self, run: Run) -> bool:
        return bool(self._runs.private(run.id).get(FETCH_IN_PLAN))

    def _phase_limit(self, workspace: Workspace | None) -> int:
        return self._phase_limit_named(workspace)[0]

    def _phase_limit_named(self, workspace: Workspace | None) -> tuple[int, str]:
        """How long a phase of the workspace may run, and the setting that says so: its own
        limit, if it has one, within its executor's."""
        if workspace is not None and workspace.execution is Execution.LAMBDA:
            limit, named = self._lambda_phase_timeout_seconds, "LambdaRunnerTimeoutSeconds"
        else:
            limit, named = self._phase_timeout_seconds, "RunnerPhaseTimeoutSeconds"
        own = workspace.phase_timeout_seconds if workspace is not None else None
        if own is not None and own < limit:
            return own, "the workspace's phase_timeout_seconds"
        return limit, named

    def _succeeded(self, run: Run, phase: Phase) -> PhaseResult:
        result = self._artifacts.result(run.id, phase)
        if result is None:
            raise ResultMissing(f"The runner left no result for the {phase} phase.")
        if result.status is not PhaseStatus.SUCCEEDED:
            raise ResultMissing(f"The {phase} phase ended {result.status}.")
        return result

    def _state_not_saved(self, run: Run, why: str) -> str:
        return (
            f"The state was not saved as a state version ({why}). The state file is kept at "
            f"s3://{self._artifacts.bucket}/{run_state_key(run.id)}."
        )

    def _runner_input(self, run: Run, phase: Phase, apply_elsewhere: str = "") -> RunnerInput:
        """The phase's settings, its variables sealed among the run's artifacts, and
        credentials that reach only what the phase needs (iacp.isolation)."""
        workspace = self._workspaces.get(run.workspace_id)
        if workspace is None:
            raise RunNotRunnable(f"Workspace {run.workspace_id} no longer exists.")
        current = self._states.current_key(run.workspace_id)
        state_key = current[0] if current else ""
        role = workspace.aws_role_arn or ""
        source = None
        if phase is Phase.PLAN and self._fetches_in_plan(run):
            source = self._commit_to_fetch(run)
        applies = phase is Phase.PLAN and run.applies_in_plan_task
        if source is not None:
            scope = self._fetch_scope(
                run, phase, source, state_key=state_key, workspace_role_arn=role, applies=applies
            )
        else:
            scope = RunScope(
                run_id=run.id,
                workspace_id=run.workspace_id,
                phase=phase,
                configuration_key=archive_key(run.workspace_id, run.configuration_version_id),
                state_key=state_key,
                workspace_role_arn=role,
                applies=applies,
            )
        sealed_at = variables_key(run.id, phase)
        run_scoped = self._runs.private(run.id).get(SEALED_VARIABLES) if run.variable_keys else None
        variables = self._variables_for(run, run_scoped)
        key, sealed = seal_variables(variables, bound_to=sealed_at)
        self._artifacts.put(sealed_at, sealed)
        size = workspace.runner_size or self._runner_size
        fields = {"cpu": str(size.cpu), "memory": str(size.memory)}
        if phase is Phase.PLAN:
            # Half the limit: a plan that took longer leaves the apply a task of its own.
            within = self._phase_limit(workspace) // 2 if run.applies_in_plan_task else 0
            fields |= {
                "apply_within_seconds": str(within),
                "apply_elsewhere": apply_elsewhere,
                "vcs_clone_url": source.clone_url if source else "",
                "vcs_commit": source.commit_sha if source else "",
                "vcs_ref": (source.ref or "") if source else "",
                "vcs_credentials_secret": scope.vcs_secret_arn,
            }
        return (PlanInput if phase is Phase.PLAN else RunnerInput)(
            run_id=run.id,
            workspace_id=run.workspace_id,
            phase=phase,
            configuration_key=scope.configuration_key,
            state_key=scope.state_key,
            working_directory=workspace.working_directory,
            terraform_version=workspace.terraform_version or "",
            variables_key=key,
            workspace_role_arn=scope.workspace_role_arn,
            workspace_role_external_id=workspace.aws_external_id or "",
            workspace_role_session_seconds=str(workspace.aws_session_duration),
            plan_options=run.plan_options().model_dump_json(),
            timeout_seconds=self._phase_limit(workspace),
            execution=workspace.execution,
            **fields,
            **RunnerInput.of(self._runner_credentials.issue(scope)),
        )

    def _advance(
        self,
        run_id: str,
        to: RunStatus,
        fields: dict[str, Any] | None = None,
        remove: tuple[str, ...] = (),
    ) -> Run:
        return advance(self._runs, run_id, to, self._clock(), fields, remove)

    def _lock_for(self, run: Run) -> str:
        """Lock the run's workspace (design §4): '' once the run holds the lock (a retry of
        the step finds it its own), else why it could not. A run that ended since the step
        read it has the lock it was just given taken back (``_release_if_ended``)."""
        try:
            self._locks.lock_workspace(run.workspace_id, holder=run.id, reason=f"run {run.id}")
        except Conflict as conflict:
            if not self._holds_lock(run):
                return conflict.detail
        else:
            if self._release_if_ended(run.id):
                raise RunNotRunnable(f"Run {run.id} ended while its workspace was being locked.")
        self._runs.update(run.id, {"lock_held": True})
        return ""

    def _release_if_ended(self, run_id: str) -> bool:
        """After a step gave the run its workspace's queue or lock: if the run has ended
        meanwhile, give them back, and say so. A cancel stops the run's execution, but not a
        step already running (AWS lets a Lambda invocation run on): the run's end released
        what it held before this step took it, and nothing after the end would release it."""
        run = self._runs.get(run_id)
        if run is None or not run.status.terminal:
            return False
        self._finisher.release(run)
        return True

    def _holds_lock(self, run: Run) -> bool:
        workspace = self._workspaces.get(run.workspace_id)
        lock = workspace.lock if workspace is not None else None
        return lock is not None and lock.holder == run.id

    def _run(self, run_id: str) -> Run:
        run = self._runs.get(run_id)
        if run is None:
            raise RunNotRunnable(f"No run {run_id}.")
        return run


def run_applies(run: Run) -> bool:
    """Whether the run applies without a person's confirmation: auto-apply and queued (not
    plan-only, not a saved plan)."""
    return run.auto_apply and run.queues
