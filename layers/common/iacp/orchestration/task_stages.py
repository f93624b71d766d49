"""A run's run-task stages, as the workflow drives them (design §4, §6).

Each stage is three workflow states: ``prepare`` lists the stage's tasks (the workspace's
attachments and the global tasks it does not attach itself) and shows ``<stage>_running``;
a Map ``dispatch``es each task and waits on its own task token until the service's callback,
the timeout sweep, or a failed delivery resumes it; ``conclude`` reads the results and passes
on, or, when a mandatory task did not pass at a stage that can stop the run, keeps the run
waiting for an override (the run's error names the task) until an admin overrides or someone
cancels.
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from iacp.configurations.models import CommitSource
from iacp.crypto import Sealer
from iacp.errors import Conflict, Forbidden
from iacp.model import Model
from iacp.observability import logger
from iacp.orchestration.steps import RunNotRunnable, advance
from iacp.orchestration.workflow_client import WorkflowClient
from iacp.outbound import Outbound
from iacp.principal import Principal, Role
from iacp.runs.models import Run
from iacp.runs.phase import RunError
from iacp.runs.status import RunStatus
from iacp.runs.store import FETCH_IN_PLAN, RunStore
from iacp.runtasks.access_tokens import AccessTokens
from iacp.runtasks.models import (
    Enforcement,
    Override,
    ResultStatus,
    Stage,
    StageStatus,
    TaskResult,
    TaskResultSummary,
    TaskStage,
)
from iacp.runtasks.protocol import Links, RunFacts, deliver, payload
from iacp.runtasks.results import ResultRecord, TaskResultStore, outcome, result_id_for
from iacp.runtasks.store import RunTaskRecord, RunTaskStore
from iacp.timestamps import to_iso, utcnow
from iacp.workspaces.store import WorkspaceStore

# How much longer than a task's max run time the workflow waits before giving up on it
# itself: the sweep (every minute) should always get there first.
BACKSTOP_MARGIN_SECONDS = 300

RUNNING_STATUS = {
    Stage.PRE_PLAN: RunStatus.PRE_PLAN_RUNNING,
    Stage.POST_PLAN: RunStatus.POST_PLAN_RUNNING,
    Stage.PRE_APPLY: RunStatus.PRE_APPLY_RUNNING,
    Stage.POST_APPLY: RunStatus.POST_APPLY_RUNNING,
}


def stopped_stage(run: Run) -> TaskStage | None:
    """The run-task stage the run is stopped at, waiting for an override, if any."""
    return next((s for s in run.task_stages if s.status is StageStatus.AWAITING_OVERRIDE), None)


def override_role(stage: TaskStage) -> Role:
    """The role that may override the stage's failures: write for advisory ones, admin once a
    mandatory task failed (design §6)."""
    failed = [r for r in stage.results if r.status.unsuccessful]
    mandatory = any(r.enforcement_level is Enforcement.MANDATORY for r in failed)
    return Role.ADMIN if mandatory else Role.WRITE


class StageRef(Model):
    run_id: str
    stage: Stage


class TaskItem(Model):
    """One iteration of a stage's Map: the task to call and the result it will produce."""

    run_id: str
    stage: Stage
    result_id: str
    run_task_id: str
    workspace_run_task_id: str | None
    enforcement_level: Enforcement
    backstop_seconds: int


class StagePlan(Model):
    tasks: list[TaskItem]


class DispatchInput(Model):
    task: TaskItem
    task_token: str


class ConcludeInput(StageRef):
    tasks: list[TaskItem]
    task_token: str


class TaskStages:
    def __init__(
        self,
        runs: RunStore,
        workspaces: WorkspaceStore,
        tasks: RunTaskStore,
        results: TaskResultStore,
        workflow: WorkflowClient,
        tokens: AccessTokens,
        hmac_sealer: Callable[[], Sealer],
        token_sealer: Callable[[], Sealer],
        links: Links,
        organization_name: str,
        outbound: Outbound,
        clock: Callable[[], datetime] = utcnow,
    ):
        self._runs = runs
        self._workspaces = workspaces
        self._tasks = tasks
        self._results = results
        self._workflow = workflow
        self._tokens = tokens
        self._hmac_sealer = hmac_sealer
        self._token_sealer = token_sealer
        self._links = links
        self._organization_name = organization_name
        self._outbound = outbound
        self._clock = clock

    # --- the workflow's steps --------------------------------------------------------------

    def prepare(self, step: StageRef) -> StagePlan:
        run = self._run(step.run_id)
        items = [
            TaskItem(
                run_id=run.id,
                stage=step.stage,
                result_id=result_id_for(run.id, step.stage, record.task.id),
                run_task_id=record.task.id,
                workspace_run_task_id=attachment_id,
                enforcement_level=enforcement,
                backstop_seconds=record.task.max_run_seconds + BACKSTOP_MARGIN_SECONDS,
            )
            for record, attachment_id, enforcement in self._stage_tasks(run, step.stage)
        ]
        if items and self._fixed_empty(run, step.stage):
            logger.info(
                "tasks attached after the run fixed its stage apply to later runs",
                extra={"run_id": run.id, "stage": step.stage},
            )
            items = []
        if items:
            advance(self._runs, run.id, RUNNING_STATUS[step.stage], self._clock())
            self._summarise(run.id, TaskStage(stage=step.stage, status=StageStatus.RUNNING))
        return StagePlan(tasks=items)

    def dispatch(self, step: DispatchInput) -> None:
        """Create the result, mint its token, send the webhook; the callback resumes the
        workflow. A failed delivery makes the result ``errored`` and resumes it at once."""
        item = step.task
        existing = self._results.get(item.result_id)
        if existing is not None and existing.result.status.final:
            self._resume(step.task_token, existing.result)  # a retried dispatch: already over
            return
        run = self._run(item.run_id)
        task = self._tasks.get(item.run_task_id)
        record, access_token = self._new_result(run, item, task, step.task_token)
        if not self._results.open(record):
            self._resume_with(step.task_token, item.result_id)
            return
        if task is None:
            self._end(record, ResultStatus.ERRORED, "The run task was deleted before it ran.")
            return
        if self._run(item.run_id).status.terminal:
            # A cancel stopped the execution, but not this step (AWS lets it run on), and the
            # run's end may have closed its results before this one was opened: the service
            # is not called for a run that has ended.
            self._end(record, ResultStatus.CANCELED, "The run ended before the task was called.")
            return
        body = payload(
            stage=item.stage,
            result_id=item.result_id,
            access_token=access_token,
            enforcement_level=item.enforcement_level,
            run=self._facts(run),
            organization_name=self._organization_name,
            links=self._links,
        )
        hmac_key = task.hmac_key(self._hmac_sealer())
        delivery = deliver(task.task.url, body, hmac_key, outbound=self._outbound)
        if not delivery.accepted:
            self._end(record, ResultStatus.ERRORED, f"Delivery failed: {delivery.problem}.")
            return
        logger.info("run task called", extra={"result_id": item.result_id})

    def conclude(self, step: ConcludeInput) -> None:
        """Pass on (resume at once), or keep the run waiting for an override."""
        if not step.tasks:
            # A stage without tasks leaves no trace in the run. The workflow no longer comes
            # here without tasks (its Any<Stage>Tasks? Choice skips the stage), but an
            # execution started on the definition before that, across a deployment, does.
            self._workflow.resume(step.task_token, {"decision": "continue"})
            return
        records = self._results.get_many([item.result_id for item in step.tasks])
        for record in records:
            if record.result.status.final:
                continue
            # The workflow's own backstop fired before the sweep: the task timed out.
            timed_out = self._results.change(
                record.result.id,
                ResultStatus.TIMEOUT,
                self._clock(),
                {"message": "Timed out: the workflow stopped waiting for the task."},
            )
            record.result = timed_out.result if timed_out else record.result
        results = [r.result for r in records]
        blocking = [r for r in results if r.blocks]
        summary = TaskStage(
            stage=step.stage,
            status=StageStatus.AWAITING_OVERRIDE if blocking else StageStatus.PASSED,
            warnings=[_warning(r) for r in results if r.status.unsuccessful and not r.blocks],
            results=[TaskResultSummary.of(r) for r in results],
        )
        if not blocking:
            self._summarise(step.run_id, summary)
            self._workflow.resume(step.task_token, {"decision": "continue"})
            return
        names = ", ".join(f"'{r.run_task_name}' ({r.status}: {r.message})" for r in blocking)
        error = RunError(
            stage=step.stage.value,
            message=(
                f"Mandatory run task {names} did not pass. The run waits: an admin may "
                "override (POST /runs/{id}/actions/override-tasks) or cancel it."
            ),
        )
        self._summarise(
            step.run_id,
            summary,
            {"error": error.model_dump(), "override_token": step.task_token},
        )
        logger.info("run stopped at a task stage", extra={"run_id": step.run_id})

    # --- what users do ---------------------------------------------------------------------

    def override(self, principal: Principal, run: Run, comment: str) -> Run:
        """Override the failed results of the stage the run is stopped at and resume it:
        write access for advisory results, admin for mandatory ones (design §6)."""
        principal.require_workspace(run.workspace_id, Role.WRITE)
        stopped = stopped_stage(run)
        if stopped is None:
            raise Conflict(f"Run {run.id} is not stopped at a run-task stage.")
        if override_role(stopped) is Role.ADMIN and principal.role is not Role.ADMIN:
            raise Forbidden("Overriding a mandatory run task needs the 'admin' role.")
        token = self._runs.take_private(run.id, "override_token")
        if token is None:
            raise Conflict(f"Run {run.id} is not waiting for an override (any more).")
        now = self._clock()
        record = Override(by=principal.token_id, comment=comment, at=now)
        overridden = []
        for result in stopped.results:
            changed = None
            if result.status.unsuccessful:
                changed = self._results.change(
                    result.id,
                    ResultStatus.OVERRIDDEN,
                    now,
                    {"override": record.model_dump(mode="json")},
                    allowed_from={result.status},
                )
            overridden.append(TaskResultSummary.of(changed.result) if changed else result)
        summary = stopped.model_copy(
            update={"status": StageStatus.OVERRIDDEN, "results": overridden}
        )
        updated = self._summarise(run.id, summary, remove=("error",))
        self._workflow.resume(token, {"decision": "override"})
        logger.info("run tasks overridden", extra={"run_id": run.id, "by": principal.token_id})
        return updated or run

    def close_open_results(self, run: Run) -> None:
        """The run ended (canceled, errored): its open results end ``canceled``, and with
        them their tokens; a late callback gets 410. A stage still under way is marked
        canceled in the run's summary."""
        now = self._clock()
        message = f"The run ended ({run.status}) before the task finished."
        results = []
        for record in self._results.for_run(run.id):
            result = record.result
            if not result.status.final:
                changed = self._results.change(
                    result.id, ResultStatus.CANCELED, now, {"message": message}
                )
                result = changed.result if changed else result
            results.append(result)
        for summary in run.task_stages:
            if summary.status in (StageStatus.RUNNING, StageStatus.AWAITING_OVERRIDE):
                in_stage = [TaskResultSummary.of(r) for r in results if r.stage is summary.stage]
                canceled = {"status": StageStatus.CANCELED, "results": in_stage}
                self._summarise(run.id, summary.model_copy(update=canceled))

    # --- helpers ---------------------------------------------------------------------------

    def _fixed_empty(self, run: Run, stage: Stage) -> bool:
        """Whether the run settled earlier that ``stage`` has no tasks: a VCS-driven run that
        found no pre_plan tasks when it started fetches its commit in its plan task, so a
        pre_plan task attached since (its service would read a configuration not fetched
        yet) applies to later runs; likewise post_plan and pre_apply tasks for a run whose
        plan task applies too (docs/run-tasks.md)."""
        if stage is Stage.PRE_PLAN:
            return bool(self._runs.private(run.id).get(FETCH_IN_PLAN))
        # A plan task that applies too started with none at these two stages: its apply
        # does not wait for tasks attached since (docs/run-tasks.md).
        return run.applies_in_plan_task and stage in (Stage.POST_PLAN, Stage.PRE_APPLY)

    def stages_with_tasks(self, run: Run, stages: list[Stage]) -> list[Stage]:
        """Of ``stages``, those that would have tasks if the run came to them now (TFE shows
        a run's task stages before they begin)."""
        return [stage for stage in stages if self._stage_tasks(run, stage)]

    def _stage_tasks(
        self, run: Run, stage: Stage
    ) -> list[tuple[RunTaskRecord, str | None, Enforcement]]:
        """The stage's enabled tasks: the workspace's attachments, then the global tasks the
        workspace does not attach itself."""
        chosen: list[tuple[RunTaskRecord, str | None, Enforcement]] = []
        attached = set()
        for attachment in self._tasks.attachments(run.workspace_id):
            attached.add(attachment.run_task_id)
            # A consistent read, not the list below: the name index may lag behind a task
            # created a moment ago, and an attached mandatory check must never be skipped.
            record = self._tasks.get(attachment.run_task_id)
            if record and record.task.enabled and stage in attachment.stages:
                chosen.append((record, attachment.id, attachment.enforcement_level))
        for record in self._tasks.all():
            settings = record.task.global_
            if (
                record.task.enabled
                and settings.enabled
                and stage in settings.stages
                and record.task.id not in attached
            ):
                chosen.append((record, None, settings.enforcement_level))
        return chosen

    def _new_result(
        self, run: Run, item: TaskItem, task: RunTaskRecord | None, task_token: str
    ) -> tuple[ResultRecord, str]:
        """The pending result, and its access token in clear (stored only sealed)."""
        now = self._clock()
        timeout = task.task.timeout_seconds if task else 60
        max_run = task.task.max_run_seconds if task else 60
        token, token_id = self._tokens.mint(
            result_id=item.result_id,
            run_id=run.id,
            workspace_id=run.workspace_id,
            stage=item.stage,
            lifetime=timedelta(seconds=max_run),
        )
        started = int(now.timestamp())
        record = ResultRecord(
            result=TaskResult(
                id=item.result_id,
                created_at=now,
                updated_at=now,
                run_id=run.id,
                workspace_id=run.workspace_id,
                run_task_id=item.run_task_id,
                run_task_name=task.task.name if task else "(deleted)",
                workspace_run_task_id=item.workspace_run_task_id,
                stage=item.stage,
                enforcement_level=item.enforcement_level,
                status=ResultStatus.PENDING,
            ),
            task_token=task_token,
            sealed_access_token=self._token_sealer().seal(token, bound_to=item.result_id),
            token_id=token_id,
            timeout_seconds=timeout,
            max_run_seconds=max_run,
            run_deadline=started + max_run,
            due_at=started + min(timeout, max_run),
        )
        return record, token

    def _end(self, record: ResultRecord, status: ResultStatus, message: str) -> None:
        ended = self._results.change(record.result.id, status, self._clock(), {"message": message})
        if ended is not None:
            self._resume(str(record.task_token), ended.result)
        else:  # the service answered first
            self._resume_with(str(record.task_token), record.result.id)

    def _resume_with(self, task_token: str, result_id: str) -> None:
        current = self._results.get(result_id)
        if current is not None and current.result.status.final:
            self._resume(task_token, current.result)

    def _resume(self, task_token: str, result: TaskResult) -> None:
        self._workflow.resume(task_token, outcome(result))

    def _summarise(
        self,
        run_id: str,
        summary: TaskStage,
        fields: dict[str, Any] | None = None,
        remove: tuple[str, ...] = (),
    ) -> Run | None:
        """Write the stage's summary into the run's ``task_stages`` (one entry per stage),
        conditionally: a summary of another stage written meanwhile is kept."""

        def with_summary(run: Run) -> list[dict[str, Any]]:
            stages = [s for s in run.task_stages if s.stage is not summary.stage] + [summary]
            stages.sort(key=lambda s: list(Stage).index(s.stage))
            return [s.model_dump(mode="json", exclude_none=True) for s in stages]

        return self._runs.rewrite_task_stages(run_id, with_summary, fields, remove)

    def _facts(self, run: Run) -> RunFacts:
        workspace = self._workspaces.get(run.workspace_id)
        return RunFacts(
            run_id=run.id,
            run_created_at=to_iso(run.created_at),
            run_created_by=run.created_by,
            run_message=run.message,
            is_speculative=run.is_speculative,
            is_destroy=run.is_destroy,
            configuration_version_id=run.configuration_version_id,
            workspace_id=run.workspace_id,
            workspace_name=workspace.name if workspace else "",
            workspace_working_directory=workspace.working_directory if workspace else "",
            **_vcs_facts(run.vcs),
        )

    def _run(self, run_id: str) -> Run:
        run = self._runs.get(run_id)
        if run is None:
            raise RunNotRunnable(f"No run {run_id}.")
        return run


def _vcs_facts(source: CommitSource | None) -> dict[str, str | None]:
    """Design §6's ``vcs_*`` fields: null for a run without VCS."""
    if source is None:
        return {}
    return {
        "vcs_branch": source.branch,
        "vcs_commit_url": source.commit_url,
        "vcs_commit_hash": source.commit_sha,
        "vcs_pull_request_url": source.pull_request_url,
        "vcs_repo_url": source.repository_url,
    }


def _warning(result: TaskResult) -> str:
    return (
        f"{result.enforcement_level.capitalize()} run task '{result.run_task_name}' "
        f"{result.status} at {result.stage}: {result.message or 'no message'}"
    )
