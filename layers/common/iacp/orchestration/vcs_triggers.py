"""What a repository event starts: for every workspace that tracks the repository and whose
branch pattern matches the branch (and, for a push, whose trigger directories it touched),
or, for a tag, whose tags pattern matches the tag, a configuration version from the commit
and a run: ``plan_and_apply`` for a push or a tag, a speculative ``plan_only`` for a pull
request.

Ids are derived from the event and the workspace, and every write is conditional, so a
repeated delivery, or a retry after a partial failure, finds what the first made and starts
nothing twice.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Literal

from iacp.configurations.models import CommitSource, ConfigurationStatus, ConfigurationVersion
from iacp.configurations.store import ConfigurationStore
from iacp.ids import derived_id
from iacp.model import Model
from iacp.observability import logger
from iacp.orchestration.queue import RunQueue
from iacp.runs.models import Operation, Run
from iacp.runs.status import RunStatus
from iacp.runs.store import RunStore
from iacp.timestamps import utcnow
from iacp.vcs.events import EventKind, RepositoryEvent
from iacp.vcs.models import ref_matches, repository_key, touches
from iacp.workspaces.models import Workspace
from iacp.workspaces.store import WorkspaceStore


class TriggeredRun(Model):
    workspace_id: str
    run_id: str
    status: Literal["started", "already_started"]


class SkippedWorkspace(Model):
    workspace_id: str
    reason: str


class TriggerReport(Model):
    message: str
    runs: list[TriggeredRun] = []  # noqa: RUF012 -- a model: pydantic copies defaults
    skipped: list[SkippedWorkspace] = []  # noqa: RUF012 -- as above


class VcsTriggers:
    def __init__(
        self,
        workspaces: WorkspaceStore,
        configurations: ConfigurationStore,
        runs: RunStore,
        queue: RunQueue,
        clock: Callable[[], datetime] = utcnow,
    ):
        self._workspaces = workspaces
        self._configurations = configurations
        self._runs = runs
        self._queue = queue
        self._clock = clock

    def handle(self, event: RepositoryEvent) -> TriggerReport:
        runs: list[TriggeredRun] = []
        skipped: list[SkippedWorkspace] = []
        for workspace in self._tracking(event):
            reason = _why_not(workspace, event)
            if reason:
                skipped.append(SkippedWorkspace(workspace_id=workspace.id, reason=reason))
            else:
                runs.append(self._start(workspace, event))
        what = _WHAT[event.kind]
        started = sum(r.status == "started" for r in runs)
        if not runs and not skipped:
            message = "No workspace tracks this repository."
        elif runs and not started:
            message = f"This {what} was handled before: nothing new started."
        else:
            message = f"The {what} of {event.commit_sha[:12]} started {started} run(s)."
        logger.info(
            "repository event handled",
            extra={"connection_id": event.connection_id, "kind": event.kind, "started": started},
        )
        return TriggerReport(message=message, runs=runs, skipped=skipped)

    def _tracking(self, event: RepositoryEvent) -> list[Workspace]:
        found: dict[str, Workspace] = {}
        # One query per distinct key: a github.com repository's name and URLs are one key.
        keys = dict.fromkeys(repository_key(name) for name in event.repository_names)
        for key in keys:
            for workspace in self._workspaces.tracking(event.connection_id, key):
                found.setdefault(workspace.id, workspace)
        return sorted(found.values(), key=lambda w: w.name)

    def _start(self, workspace: Workspace, event: RepositoryEvent) -> TriggeredRun:
        assert workspace.vcs is not None, "found through its VCS settings"
        speculative = event.kind is EventKind.PULL_REQUEST
        repository = workspace.vcs.repository
        source = CommitSource(
            provider=event.provider,
            connection_id=event.connection_id,
            repository=repository,
            repository_path=event.repository_path,
            # A URL the workspace names wins (a mirror, a file:// repository); otherwise the
            # host's own clone URL for owner/name.
            clone_url=repository if "://" in repository else event.clone_url,
            repository_url=event.repository_url,
            branch=event.head_branch,
            ref=event.ref,
            commit_sha=event.commit_sha,
            commit_url=event.commit_url,
            pull_request_number=event.pull_request_number,
            pull_request_url=event.pull_request_url,
            sender=event.sender,
        )
        now = self._clock()
        version = ConfigurationVersion(
            id=derived_id("cv", event.delivery, workspace.id),
            created_at=now,
            workspace_id=workspace.id,
            status=ConfigurationStatus.PENDING,
            vcs=source,
        )
        self._configurations.add(version, latest=not speculative)
        run = Run.pending(
            run_id=derived_id("run", event.delivery, workspace.id),
            workspace_id=workspace.id,
            configuration_version_id=version.id,
            operation=Operation.PLAN_ONLY if speculative else Operation.PLAN_AND_APPLY,
            auto_apply=workspace.auto_apply,
            message=event.message,
            created_by=event.connection_id,
            at=now,
            vcs=source,
        )
        if not self._runs.add(run):
            existing = self._runs.get(run.id)
            if existing is not None and existing.status is RunStatus.PENDING:
                self._queue.submit(existing)  # the first delivery may have stopped short of it
            return TriggeredRun(workspace_id=workspace.id, run_id=run.id, status="already_started")
        logger.info("run created", extra={"run_id": run.id, "workspace_id": workspace.id})
        self._queue.submit(run)
        return TriggeredRun(workspace_id=workspace.id, run_id=run.id, status="started")


_WHAT = {
    EventKind.PUSH: "push",
    EventKind.PULL_REQUEST: "pull request",
    EventKind.TAG: "tag push",
}


def _why_not(workspace: Workspace, event: RepositoryEvent) -> str | None:
    vcs = workspace.vcs
    assert vcs is not None, "found through its VCS settings"
    if event.kind is EventKind.TAG:
        if vcs.tags is None:
            return "it runs on no tags (vcs.tags is null)"
        if not ref_matches(event.branch, vcs.tags):
            return f"its tags pattern {vcs.tags} does not match tag {event.branch}"
        return None  # trigger prefixes are for branches' pushes
    if not ref_matches(event.branch, vcs.branch):
        return f"it tracks branch {vcs.branch}, not {event.branch}"
    if event.kind is EventKind.PUSH and vcs.trigger_prefixes and event.changed_files is not None:
        directories = [*vcs.trigger_prefixes, workspace.working_directory]
        if not touches(event.changed_files, [d for d in directories if d]):
            return "the push changed no file under its trigger prefixes or working directory"
    return None
