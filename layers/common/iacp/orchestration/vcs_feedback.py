"""Reporting VCS-driven runs back to their repository host (docs/vcs.md, "Reporting back"),
from the VcsFeedbackQueue (a rule on the run events bus).

- **State, not events.** A message says only which run changed. The run is read now and its
  current state reported, so messages that arrive late, out of order or twice post the
  same thing again instead of an old state. After posting, the run is read once more: if it
  moved meanwhile (another message may have posted its newer state before this one's older
  one landed), its state is posted again, so the last post is always of the latest state.
- **Idempotent.** A commit status is per context (one per workspace): posting again replaces
  what the host shows. The pull request's comment is found by its marker and edited.
- **Never blocks a run.** What happened is written on the run (``vcs_feedback``: posted,
  failed with the attempt, or skipped with the reason), an attribute the run events ignore.
  A failure raises ``FeedbackFailed``, so SQS retries it and, after the last attempt,
  dead-letters it; the run still says ``failed``.
"""

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from iacp.artifacts import ArtifactStore, ObjectTooLarge
from iacp.configurations.models import CommitSource
from iacp.observability import logger
from iacp.orchestration.vcs_reports import (
    ResourceChange,
    comment_body,
    commit_status,
    marker_of,
    run_page,
    wants_comment,
)
from iacp.outbound import Outbound
from iacp.runs.artifacts import RunArtifacts
from iacp.runs.models import Run
from iacp.runs.phase import resource_changes_key
from iacp.runs.store import RunStore
from iacp.runtasks.results import TaskResultStore
from iacp.timestamps import utcnow
from iacp.vcs.hosts import HostRefused, RepositoryHost, repository_host
from iacp.vcs.models import DEFAULT_API_URLS, FeedbackStatus, VcsFeedback
from iacp.vcs.secrets import ConnectionSecrets
from iacp.vcs.store import VcsConnectionStore
from iacp.workspaces.store import WorkspaceStore

MAX_CHANGES_BYTES = 20 * 1024 * 1024  # a larger plan's comment gives its counts alone
ROUNDS = 3  # posts of one message, should the run keep moving while it is reported


class FeedbackFailed(Exception):
    """The host did not take the report; SQS brings the message back."""


class Skipped(Exception):
    """Nothing can be reported for this run (no token, no API): said on the run, not retried."""


class VcsFeedbackReporter:
    def __init__(
        self,
        runs: RunStore,
        workspaces: WorkspaceStore,
        connections: VcsConnectionStore,
        secrets: ConnectionSecrets,
        artifacts: ArtifactStore,
        task_results: TaskResultStore,
        outbound: Outbound,
        public_base_url: str,
        *,
        plain_http_allowed: bool,
        clock: Callable[[], datetime] = utcnow,
    ):
        self._runs = runs
        self._workspaces = workspaces
        self._connections = connections
        self._secrets = secrets
        self._artifacts = artifacts
        self._run_artifacts = RunArtifacts(artifacts)
        self._task_results = task_results
        self._outbound = outbound
        self._public_base_url = public_base_url
        self._plain_http_allowed = plain_http_allowed
        self._clock = clock

    def report(self, run_id: str, attempt: int, last_attempt: bool = False) -> VcsFeedback | None:
        """Report the run's current state; None when it is not a VCS-driven run (or gone)."""
        feedback: VcsFeedback | None = None
        seen = ""
        for _ in range(ROUNDS):
            run = self._runs.get(run_id)
            if run is None or run.vcs is None:
                return feedback
            if feedback is not None and _state(run) == seen:
                return feedback
            seen = _state(run)
            feedback = self._report(
                self._run_artifacts.with_plan_counts(run), run.vcs, attempt, last_attempt
            )
        return feedback

    def _report(self, run: Run, vcs: CommitSource, attempt: int, last_attempt: bool) -> VcsFeedback:
        facts = {"run_id": run.id, "workspace_id": run.workspace_id, "attempt": attempt}
        try:
            host, repository, workspace_name = self._target(run, vcs)
        except Skipped as skipped:
            feedback = VcsFeedback(
                status=FeedbackStatus.SKIPPED, reason=str(skipped), at=self._clock()
            )
            previous = run.vcs_feedback
            if previous is None or (previous.status, previous.reason) != (
                feedback.status,
                feedback.reason,
            ):
                self._record(run.id, feedback)
                logger.info("vcs feedback skipped", extra=facts | {"reason": str(skipped)})
            return feedback
        page = run_page(self._public_base_url, run.id)
        try:
            posted = self._post(run, vcs, host, repository, workspace_name, page)
        except HostRefused as refused:
            feedback = VcsFeedback(
                status=FeedbackStatus.FAILED,
                reason=str(refused),
                at=self._clock(),
                attempts=attempt,
            )
            self._record(run.id, feedback)
            if last_attempt:
                logger.error("vcs feedback failed for good", extra=facts | {"error": str(refused)})
            else:
                logger.warning(
                    "vcs feedback failed; retrying", extra=facts | {"error": str(refused)}
                )
            raise FeedbackFailed(str(refused)) from None
        feedback = VcsFeedback(
            status=FeedbackStatus.POSTED, reason=posted, at=self._clock(), attempts=attempt
        )
        self._record(run.id, feedback)
        logger.info("vcs feedback posted", extra=facts | {"posted": posted})
        return feedback

    def _target(self, run: Run, vcs: CommitSource) -> tuple[RepositoryHost, str, str]:
        """The host to report to, the repository as its API names it, the workspace's name."""
        workspace = self._workspaces.get(run.workspace_id)
        if workspace is None:
            raise Skipped("the workspace was deleted")
        record = self._connections.get(vcs.connection_id)
        if record is None:
            raise Skipped(f"the VCS connection {vcs.connection_id} was deleted")
        connection = record.connection
        api_url = connection.api_url or DEFAULT_API_URLS.get(connection.provider)
        if api_url is None:
            raise Skipped(f"{connection.provider.value} has no API the platform reports to")
        if not vcs.repository_path:
            raise Skipped("the run's commit does not say the repository's path on the host")
        if not connection.token_set:
            raise Skipped("the VCS connection has no token: give it one to report back")
        if api_url.startswith("http://") and not self._plain_http_allowed:
            raise Skipped(
                "the connection's api_url is plain http://, which this stack does not send "
                "to (AllowPlainHttpUrls)"
            )
        token = self._secrets.read(record.secret_arn).get("token", "")
        if not token:
            raise Skipped("the VCS connection has no token: give it one to report back")
        host = repository_host(connection.provider, api_url, token, self._outbound)
        if host is None:
            raise Skipped(f"{connection.provider.value} has no API the platform reports to")
        return host, vcs.repository_path, workspace.name

    def _post(
        self,
        run: Run,
        vcs: CommitSource,
        host: RepositoryHost,
        repository: str,
        workspace_name: str,
        page: str,
    ) -> str:
        """Post the status (and the comment); what was posted, in words."""
        status = commit_status(run, workspace_name, page)
        state = host.set_status(repository, vcs.commit_sha, status)
        said = f'commit status {state} "{status.description}" ({status.context})'
        if wants_comment(run) and vcs.pull_request_number is not None:
            outcomes = {
                record.result.id: record.result.outcomes
                for record in self._task_results.for_run(run.id)
                if record.result.outcomes
            }
            body = comment_body(run, workspace_name, page, self._changes(run), outcomes)
            comment = host.upsert_comment(
                repository, vcs.pull_request_number, marker_of(run.workspace_id), body
            )
            said += f"; comment {comment.comment_id} {comment.action}"
        return said

    def _changes(self, run: Run) -> list[ResourceChange]:
        """The plan's resource changes (address and action), from the runner's redacted
        ``resource-changes.json``; none when the run has no plan, or it cannot be read."""
        if run.has_changes is None:
            return []
        try:
            body = self._artifacts.get(resource_changes_key(run.id), max_bytes=MAX_CHANGES_BYTES)
            document: Any = json.loads(body) if body else {}
        except (ClientError, ObjectTooLarge, ValueError) as error:
            logger.warning(
                "resource changes unreadable for the comment",
                extra={"run_id": run.id, "error": type(error).__name__},
            )
            return []
        entries = document.get("resource_changes") if isinstance(document, dict) else None
        return [
            change
            for entry in entries or []
            if isinstance(entry, dict) and (change := ResourceChange.of(entry))
        ]

    def _record(self, run_id: str, feedback: VcsFeedback) -> None:
        # Not a status change: the run events stream ignores it (iacp.runs.events).
        self._runs.update(run_id, {"vcs_feedback": feedback.model_dump(mode="json")})


def _state(run: Run) -> str:
    """What a report is made of: when it differs, the report does."""
    return json.dumps(
        run.model_dump(
            mode="json",
            include={
                "status",
                "has_changes",
                "resource_additions",
                "resource_changes",
                "resource_destructions",
                "error",
                "task_stages",
            },
        ),
        sort_keys=True,
    )


def run_id_of(message: dict[str, Any]) -> str:
    """The run an event on the run events bus is about (a status change or a stage)."""
    detail = message.get("detail")
    if not isinstance(detail, dict) or not isinstance(detail.get("run_id"), str):
        raise ValueError("the message is not a run event: no detail.run_id")
    return str(detail["run_id"])
