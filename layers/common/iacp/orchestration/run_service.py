"""What users do with runs: start them, watch them, confirm, discard and cancel them.

Every action is a conditional status change first and a side effect second (resume or stop
the workflow), so two people pressing "apply" at once apply once, and an action on a run that
has moved on is a 409 that changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from iacp.configurations.service import ConfigurationService
from iacp.crypto import Sealer
from iacp.documents import StoredDocument
from iacp.errors import Conflict, InvalidInput, NotFound, capped
from iacp.ids import new_id
from iacp.observability import logger
from iacp.orchestration.finish import RunFinisher
from iacp.orchestration.queue import RunQueue
from iacp.orchestration.task_stages import TaskStages, override_role, stopped_stage
from iacp.orchestration.workflow_client import DECISIONS, WorkflowClient
from iacp.pagination import Page
from iacp.principal import Principal, Role
from iacp.runs.artifacts import RunArtifacts
from iacp.runs.models import LogPage, Operation, Run, RunAction, RunActions, RunCreate, RunView
from iacp.runs.phase import Phase, RunError, plan_json_key
from iacp.runs.status import InvalidTransition, RunStatus
from iacp.runs.store import SEALED_VARIABLES, RunStore
from iacp.runtasks.models import Stage, StageStatus, TaskResult, TaskResultSummary
from iacp.runtasks.results import TaskResultStore
from iacp.timestamps import to_iso, utcnow
from iacp.variables.run_scoped import seal_run_variables
from iacp.workspaces.service import WorkspaceService, existing_workspace
from iacp.workspaces.store import WorkspaceStore


class RunService:
    def __init__(
        self,
        runs: RunStore,
        workspaces: WorkspaceStore,
        configurations: ConfigurationService,
        queue: RunQueue,
        workflow: WorkflowClient,
        artifacts: RunArtifacts,
        finisher: RunFinisher,
        task_stages: TaskStages,
        task_results: TaskResultStore,
        variable_sealer: Callable[[], Sealer],
        clock: Callable[[], datetime] = utcnow,
    ):
        self._runs = runs
        self._workspaces = workspaces
        self._configurations = configurations
        self._queue = queue
        self._workflow = workflow
        self._artifacts = artifacts
        self._finisher = finisher
        self._task_stages = task_stages
        self._task_results = task_results
        self._variable_sealer = variable_sealer  # called only for a run with variables
        self._locks = WorkspaceService(workspaces, clock)
        self._clock = clock

    def create(self, principal: Principal, workspace_id: str, request: RunCreate) -> Run:
        principal.require_workspace(workspace_id, Role.WRITE)
        workspace = existing_workspace(self._workspaces, workspace_id)
        version = self._configurations.uploaded(workspace_id, request.configuration_version_id)
        operation = request.operation
        if version.speculative:  # its runs only plan (TFE's speculative versions)
            if request.save_plan or request.allow_empty_apply:
                raise InvalidInput(
                    f"Configuration version {version.id} is speculative: its runs only plan, "
                    "so they cannot save a plan or apply.",
                    pointer="/configuration_version_id",
                )
            operation = Operation.PLAN_ONLY
        run_id = new_id("run")
        sealed: dict[str, str] = {}
        if request.variables:
            sealer = self._variable_sealer()
            sealed[SEALED_VARIABLES] = seal_run_variables(request.variables, sealer, run_id)
        # Stamped just before it is written: the queue runs a workspace's runs oldest first
        # by this time, and a run becomes visible to the queue only once written.
        run = Run.pending(
            run_id=run_id,
            workspace_id=workspace_id,
            configuration_version_id=version.id,
            operation=operation,
            auto_apply=workspace.auto_apply if request.auto_apply is None else request.auto_apply,
            message=request.message,
            created_by=principal.token_id,
            at=self._clock(),
            options=request.plan_options(),
            allow_empty_apply=request.allow_empty_apply,
            variable_keys=[v.key for v in request.variables],
            save_plan=request.save_plan,
        )
        self._runs.add(run, sealed)
        logger.info("run created", extra={"run_id": run.id, "workspace_id": workspace_id})
        try:
            self._queue.submit(run)
        except Exception:  # whatever failed (Step Functions, DynamoDB), the run exists
            return self._not_started(run)
        return self._existing(run.id)

    def _not_started(self, run: Run) -> Run:
        """The run's workflow could not be started now (throttled, unavailable). A run that
        queues waits on: the queue's periodic check starts it (design §7). One that does not
        queue would wait for nothing: it errors, saying so, and may be sent again."""
        logger.exception("the run's workflow could not be started", extra={"run_id": run.id})
        if run.queues:
            return self._existing(run.id)
        error = RunError(
            stage="workflow",
            message="The run's workflow could not be started (see the platform's logs); "
            "start the run again.",
        )
        return self._finisher.end(run, RunStatus.ERRORED, error, reason="workflow not started")

    def page(
        self, principal: Principal, workspace_id: str, limit: int, cursor: str | None
    ) -> Page[Run]:
        principal.require_workspace(workspace_id, Role.READ)
        existing_workspace(self._workspaces, workspace_id)
        runs, next_cursor = self._runs.page(workspace_id, limit, cursor)
        return Page[Run](items=runs, next_cursor=next_cursor)

    def get(self, principal: Principal, run_id: str) -> Run:
        run = self._existing(run_id)
        principal.require_workspace(run.workspace_id, Role.READ)
        return self._artifacts.with_plan_counts(self._with_live_results(run))

    def _with_live_results(self, run: Run) -> Run:
        """A stage under way lists its results as they are now; the run item's summary is
        written only when the stage begins and when it concludes."""
        if not any(s.status is StageStatus.RUNNING for s in run.task_stages):
            return run
        results = [record.result for record in self._task_results.for_run(run.id)]
        stages = [
            stage.model_copy(
                update={
                    "results": [TaskResultSummary.of(r) for r in results if r.stage is stage.stage]
                }
            )
            if stage.status is StageStatus.RUNNING
            else stage
            for stage in run.task_stages
        ]
        return run.model_copy(update={"task_stages": stages})

    def apply(self, principal: Principal, run_id: str, action: RunAction) -> Run:
        return self._confirm(principal, run_id, action, RunStatus.CONFIRMED)

    def discard(self, principal: Principal, run_id: str, action: RunAction) -> Run:
        return self._confirm(principal, run_id, action, RunStatus.DISCARDED)

    def cancel(self, principal: Principal, run_id: str, action: RunAction) -> Run:
        """Graceful: a waiting run just ends; a running one has its workflow stopped, which
        sends Terraform an interrupt and lets the runner save what it wrote (design §7)."""
        run = self._existing(run_id)
        principal.require_workspace(run.workspace_id, Role.WRITE)
        if run.status.terminal:
            raise Conflict(f"Run {run_id} has already ended ({run.status}).")
        now = self._clock()
        if run.status is RunStatus.PENDING and run.execution_arn is None:
            try:  # only while it waits: a run that started is canceled through its workflow
                canceled = self._runs.transition(
                    run_id, RunStatus.CANCELED, now, only_from={RunStatus.PENDING}
                )
                # The queue may have claimed the workspace for it already, and its execution
                # not be recorded: not started yet (its first step then gives the workspace
                # back too), or never, if StartExecution failed. Nothing else would release.
                self._finisher.release(canceled)
                return canceled
            except InvalidTransition:
                run = self._existing(run_id)  # it started meanwhile: stop its workflow instead
        self._runs.update(
            run_id, {"cancel_requested_at": to_iso(now), "canceled_by": principal.token_id}
        )
        self._workflow.stop(
            run.execution_arn or self._workflow.execution_arn(run_id),
            cause=f"canceled by {principal.token_id}: {action.comment}".strip(": "),
        )
        logger.info("run cancel requested", extra={"run_id": run_id, "by": principal.token_id})
        return self._existing(run_id)

    def force_cancel(self, principal: Principal, run_id: str, action: RunAction) -> Run:
        """Forceful: the run ends at once, whatever its workflow is doing. Only after a
        graceful cancel was asked for, as in HCP Terraform. A run whose runner may still be
        running keeps its workspace until the runner has ended and the state it left is
        recorded (the reconcile of its execution then releases it): the next run must plan
        against that state."""
        run = self._existing(run_id)
        principal.require_workspace(run.workspace_id, Role.WRITE)
        if run.status.terminal:
            raise Conflict(f"Run {run_id} has already ended ({run.status}).")
        if "cancel_requested_at" not in self._runs.private(run_id):
            raise Conflict(f"Cancel run {run_id} first; force-cancel is for a cancel that hangs.")
        reason = f"force-canceled by {principal.token_id}"
        phase = run.runner_phase if run.execution_arn else None  # its reconcile releases it
        if phase is None:
            ended = self._finisher.end(run, RunStatus.FORCE_CANCELED, error=None, reason=reason)
        else:
            ended = self._finisher.end_before_runner(run, RunStatus.FORCE_CANCELED, phase, reason)
        if run.execution_arn:
            self._workflow.stop(run.execution_arn, cause="force-canceled")
        return ended

    def logs(self, principal: Principal, run_id: str, phase: Phase, offset: int) -> LogPage:
        run = self.get(principal, run_id)
        return self._artifacts.logs(run.id, phase, offset)

    def log_size(self, principal: Principal, run_id: str, phase: Phase) -> int:
        """How many bytes of the phase's log are written so far."""
        run = self.get(principal, run_id)
        return self._artifacts.log_size(run.id, phase)

    def force_cancelable(self, run: Run) -> bool:
        """Whether a force-cancel would be taken now: a cancel was asked for first."""
        return not run.status.terminal and "cancel_requested_at" in self._runs.private(run.id)

    def actions(self, principal: Principal, run: Run) -> RunActions:
        """What ``principal`` may do with ``run`` now: each action's own checks, asked
        without acting, so that a client offers only what would be accepted."""
        writes = principal.role.rank >= Role.WRITE.rank and principal.can_see(run.workspace_id)
        planned = run.status is RunStatus.PLANNED
        stopped = stopped_stage(run)
        return RunActions(
            is_confirmable=writes and planned,
            is_discardable=writes and planned,
            is_cancelable=writes and not run.status.terminal and not planned,
            is_force_cancelable=writes and self.force_cancelable(run),
            is_overridable=writes
            and stopped is not None
            and principal.role.rank >= override_role(stopped).rank,
        )

    def view(self, principal: Principal, run: Run) -> RunView:
        """``run`` as the API shows it to ``principal``."""
        return RunView(**dict(run), actions=self.actions(principal, run))

    def views(self, principal: Principal, runs: Page[Run]) -> Page[RunView]:
        items = [self.view(principal, run) for run in runs.items]
        return Page[RunView](items=items, next_cursor=runs.next_cursor)

    def stages_ahead(self, run: Run) -> list[Stage]:
        """The run-task stages the run has not begun yet that have tasks now (a stage's
        tasks are chosen when it begins: these may still change)."""
        if run.status.terminal:
            return []
        begun = {summary.stage for summary in run.task_stages}
        if run.applies_in_plan_task:  # fixed when its plan began: none (TaskStages.prepare)
            begun |= {Stage.POST_PLAN, Stage.PRE_APPLY}
        return self._task_stages.stages_with_tasks(run, [s for s in Stage if s not in begun])

    def plan_json(self, principal: Principal, run_id: str) -> StoredDocument:
        run = self.get(principal, run_id)
        plan = self._artifacts.document(plan_json_key(run.id))
        if plan is None:
            raise NotFound(f"Run {run_id} has no plan yet.")
        return plan

    def override_tasks(self, principal: Principal, run_id: str, action: RunAction) -> Run:
        """Resume a run stopped at a run-task stage (``TaskStages.override``)."""
        return self._task_stages.override(principal, self._existing(run_id), action.comment)

    def task_results(self, principal: Principal, run_id: str) -> Page[TaskResult]:
        run = self.get(principal, run_id)
        results = [record.result for record in self._task_results.for_run(run.id)]
        return Page[TaskResult](items=results)

    def _confirm(
        self,
        principal: Principal,
        run_id: str,
        action: RunAction,
        to: RunStatus,
    ) -> Run:
        decision = DECISIONS[to]
        run = self._existing(run_id)
        principal.require_workspace(run.workspace_id, Role.WRITE)
        taking = run.save_plan and to is RunStatus.CONFIRMED and run.status is RunStatus.PLANNED
        if taking:
            self._take_workspace(run)
        try:
            changed = self._runs.transition(
                run_id,
                to,
                self._clock(),
                fields={
                    f"{decision}_by": principal.token_id,
                    f"{decision}_comment": action.comment,
                },
            )
        except InvalidTransition as refused:
            if taking and (refused.current is None or refused.current.terminal):
                self._finisher.release(run)  # it ended meanwhile: give the workspace back
            raise Conflict(
                f"Run {run_id} is {refused.current}; only a planned run can be confirmed or "
                "discarded."
            ) from None
        token = self._runs.private(run_id).get("confirmation_token")
        if token:
            self._workflow.resume(str(token), {"decision": decision})
        logger.info(f"run {decision}", extra={"run_id": run_id, "by": principal.token_id})
        return changed

    def _take_workspace(self, run: Run) -> None:
        """A saved plan takes its workspace only when its apply is confirmed: the queue, then
        the lock, as a run takes them before it waits for confirmation (design §4). A
        workspace busy with another run, or locked, is a 409 and the plan keeps waiting."""
        if not self._workspaces.claim_queue(run.workspace_id, run.id):
            busy = existing_workspace(self._workspaces, run.workspace_id).current_run_id
            raise Conflict(
                f"Workspace {run.workspace_id} is busy with run {busy}: apply the saved plan "
                "once that run has ended."
            )
        try:
            self._locks.lock_workspace(run.workspace_id, holder=run.id, reason=f"run {run.id}")
        except Conflict as locked:
            lock = existing_workspace(self._workspaces, run.workspace_id).lock
            if lock is None or lock.holder != run.id:  # else: a confirm at the same time
                self._queue.release(run.workspace_id, run.id)
                detail = f"{locked.detail} The saved plan can be applied once it is unlocked."
                raise Conflict(detail) from None
        self._runs.update(run.id, {"lock_held": True})

    def _existing(self, run_id: str) -> Run:
        run = self._runs.get(run_id)
        if run is None:
            raise NotFound(f"No run {capped(run_id)}.")
        return run
