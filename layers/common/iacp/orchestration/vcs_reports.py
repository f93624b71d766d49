"""What a VCS-driven run says on its repository host (docs/vcs.md, "Reporting back"): its
commit status (a state and a one-line description) and, for a pull request, the comment.

Both are made from the run as it is now, so a report repeated, or sent late, says the same.
Nothing here shows a value from the plan: the counts, and the resource changes' addresses
and actions (from the redacted ``resource-changes.json``), never their ``before`` or
``after``.
"""

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from iacp.runs.models import Run
from iacp.runs.status import RunStatus
from iacp.runtasks.models import Enforcement, Outcome, StageStatus, TaskResultSummary
from iacp.vcs.hosts import MAX_COMMENT_CHARS, CommitState, CommitStatus, shortened

S = RunStatus
_UNDER_WAY = {
    S.PENDING: "Queued",
    S.FETCHING: "Fetching the commit",
    S.PRE_PLAN_RUNNING: "Running pre-plan tasks",
    S.PLANNING: "Planning",
    S.POST_PLAN_RUNNING: "Running post-plan tasks",
    S.PLANNED: "Waiting for confirmation",
    S.CONFIRMED: "Confirmed",
    S.PRE_APPLY_RUNNING: "Running pre-apply tasks",
    S.APPLYING: "Applying",
    S.POST_APPLY_RUNNING: "Running post-apply tasks",
}
_HEADLINES = {
    S.PENDING: "⏳ Queued",
    S.FETCHING: "⏳ Fetching the commit",
    S.PRE_PLAN_RUNNING: "⏳ Running pre-plan tasks",
    S.PLANNING: "⏳ Planning",
    S.POST_PLAN_RUNNING: "⏳ Running post-plan tasks",
    S.PLANNED: "⏸️ Planned: waiting for confirmation",
    S.CONFIRMED: "⏳ Confirmed",
    S.PRE_APPLY_RUNNING: "⏳ Running pre-apply tasks",
    S.APPLYING: "⏳ Applying",
    S.POST_APPLY_RUNNING: "⏳ Running post-apply tasks",
    S.APPLIED: "✅ Applied",
    S.PLANNED_AND_FINISHED: "✅ Plan finished",
    S.DISCARDED: "⛔ Discarded",
    S.ERRORED: "❌ Errored",
    S.CANCELED: "⛔ Canceled",
    S.FORCE_CANCELED: "⛔ Force-canceled",
}
del S
# Each table row is at most this long; the rows stop where the comment would pass the limit.
_MAX_MESSAGE_CHARS = 300
_MAX_OUTCOMES = 5  # of each result: the rest are on the run's page
# A run-task service's link, kept only when it cannot break out of the Markdown link.
_SAFE_LINK = re.compile(r"^https?://[^\s()<>\[\]`]+$")
_MAX_SHOWN_ADDRESS = 500


def context_of(workspace_name: str) -> str:
    """The commit status's context (GitLab: its name), one per workspace."""
    return f"iacp/{workspace_name}"


def marker_of(workspace_id: str) -> str:
    """Hidden in the comment: how the workspace's comment on a pull request is found again."""
    return f"<!-- iacp:workspace={workspace_id} -->"


def run_page(public_base_url: str, run_id: str) -> str:
    """The run in the web UI."""
    return f"{public_base_url.rstrip('/')}/#/runs/{run_id}"


@dataclass(frozen=True)
class ResourceChange:
    address: str
    action: str  # create, update, delete, replace, ...

    @classmethod
    def of(cls, change: dict[str, Any]) -> "ResourceChange | None":
        """From an entry of the plan's ``resource_changes``: its address and actions alone;
        None for what changes nothing (no-op, read)."""
        actions = list((change.get("change") or {}).get("actions") or [])
        if not actions or actions in (["no-op"], ["read"]):
            return None
        action = "replace" if sorted(actions) == ["create", "delete"] else "+".join(actions)
        return cls(str(change.get("address", "")), action)


def plan_summary(run: Run) -> str:
    if run.has_changes is None:
        return ""
    if not run.has_changes:
        return "No changes"
    return (
        f"Plan: {run.resource_additions or 0} to add, {run.resource_changes or 0} to change, "
        f"{run.resource_destructions or 0} to destroy"
    )


def stopping_tasks(run: Run) -> list[TaskResultSummary]:
    """The mandatory results that stopped the run at a stage, while it waits for an
    override (the run keeps its status, with ``error`` set)."""
    if run.status.terminal:
        return []
    return [
        result
        for stage in run.task_stages
        if stage.status is StageStatus.AWAITING_OVERRIDE
        for result in stage.results
        if result.enforcement_level is Enforcement.MANDATORY and result.status.unsuccessful
    ]


def commit_status(run: Run, workspace_name: str, target_url: str) -> CommitStatus:
    state, description = _state_of(run)
    return CommitStatus(
        state=state,
        context=context_of(workspace_name),
        description=shortened(description, 140),
        target_url=target_url,
    )


def _state_of(run: Run) -> tuple[CommitState, str]:
    summary = plan_summary(run)
    stopped = stopping_tasks(run)
    if stopped:
        names = ", ".join(dict.fromkeys(r.run_task_name for r in stopped))
        return CommitState.FAILURE, f"Run task{'s' if ',' in names else ''} {names} failed"
    status = run.status
    if status is RunStatus.APPLIED:
        return CommitState.SUCCESS, f"Applied: {summary}" if summary else "Applied"
    if status is RunStatus.PLANNED_AND_FINISHED:
        return CommitState.SUCCESS, summary or "Plan finished"
    if status is RunStatus.ERRORED:
        stage = run.error.stage if run.error else "an unknown stage"
        first = _first_line(run.error.message) if run.error else ""
        return CommitState.ERROR, f"Errored at {stage}: {first}" if first else f"Errored at {stage}"
    if status in (RunStatus.CANCELED, RunStatus.FORCE_CANCELED):
        return CommitState.CANCELED, "Canceled"
    if status is RunStatus.DISCARDED:
        return CommitState.CANCELED, f"Discarded: {summary}" if summary else "Discarded"
    doing = _UNDER_WAY[status]
    return CommitState.PENDING, f"{doing}: {summary}" if summary else doing


def wants_comment(run: Run) -> bool:
    """A pull request's run gets its comment once the plan has finished (its counts are on
    the run), or when it ended, or stopped, before that."""
    if run.vcs is None or run.vcs.pull_request_number is None:
        return False
    return run.has_changes is not None or run.status.terminal or bool(stopping_tasks(run))


def comment_body(
    run: Run,
    workspace_name: str,
    page_url: str,
    changes: Sequence[ResourceChange],
    outcomes: Mapping[str, Sequence[Outcome]] | None = None,
    limit: int = MAX_COMMENT_CHARS,
) -> str:
    """The pull request's comment for the workspace: the run's state and plan, the resource
    changes (address and action) in a collapsible block, and the run tasks' results; the
    changes are cut where the comment would pass ``limit``, with a link to the run."""
    sha = run.vcs.commit_sha[:12] if run.vcs else ""
    stopped = stopping_tasks(run)
    headline = (
        f"❌ Stopped: run task {_text(', '.join(r.run_task_name for r in stopped))} failed, "
        "waiting for an override"
        if stopped
        else _HEADLINES[run.status]
    )
    head = [
        marker_of(run.workspace_id),
        f"### iacp · {_text(workspace_name)} · {headline}",
        "",
        f"Run [{run.id}]({page_url}) on commit `{_code(sha)}`.",
        "",
    ]
    summary = plan_summary(run)
    if summary:
        head += [f"**{summary}**", ""]
    if run.error is not None:
        head += [
            f"> Errored at {_text(run.error.stage)}: {_text(_first_line(run.error.message))}",
            "",
        ]
    tail = _task_lines(run, outcomes or {})
    tail += ["", f"<sub>Updated by iacp for run {run.id}; see [the run]({page_url}).</sub>"]
    body_fixed = "\n".join(head + tail)
    if not changes:
        return body_fixed if len(body_fixed) <= limit else body_fixed[:limit]
    opening = [
        f"<details><summary>Resource changes ({len(changes)})</summary>",
        "",
        "| Action | Address |",
        "|---|---|",
    ]
    closing = ["", "</details>", ""]
    rows = [
        f"| {_text(c.action)} | <code>{_text(c.address[:_MAX_SHOWN_ADDRESS])}</code> |"
        for c in changes
    ]
    cut_note = "| … | {} more: see [the run]({}) |"
    # Room left for rows: the fixed parts, the block's lines, and the note if rows are cut.
    budget = limit - len(body_fixed) - len("\n".join(opening + closing)) - 4
    budget -= len(cut_note.format(len(changes), page_url)) + 1
    shown: list[str] = []
    used = 0
    for row in rows:
        if used + len(row) + 1 > budget:
            break
        shown.append(row)
        used += len(row) + 1
    if len(shown) < len(rows):
        shown.append(cut_note.format(len(rows) - len(shown), page_url))
    return "\n".join(head + opening + shown + closing + tail)


def _task_lines(run: Run, outcomes: Mapping[str, Sequence[Outcome]]) -> list[str]:
    results = [(stage.stage.value, r) for stage in run.task_stages for r in stage.results]
    if not results:
        return []
    lines = [
        "#### Run tasks",
        "",
        "| Task | Stage | Enforcement | Status | Message |",
        "|---|---|---|---|---|",
    ]
    for stage, result in results:
        message = _text(shortened(result.message, _MAX_MESSAGE_CHARS)) if result.message else ""
        lines.append(
            f"| {_text(result.run_task_name)} | {stage} | {result.enforcement_level.value} "
            f"| {result.status.value} | {message} |"
        )
    found = [(r, o) for _, r in results for o in outcomes.get(r.id, [])[:_MAX_OUTCOMES]]
    if found:
        lines += ["", "Outcomes:", ""]
    for result, outcome in found:
        tags = [
            f"{_text(tag.label)} ({tag.level})" for group in outcome.tags.values() for tag in group
        ]
        described = _text(shortened(outcome.description, _MAX_MESSAGE_CHARS))
        safe = outcome.url and _SAFE_LINK.match(outcome.url)
        link = f" ([details]({outcome.url}))" if safe else ""
        lines.append(
            f"- {_text(result.run_task_name)}: {described}"
            + (f" — {', '.join(tags)}" if tags else "")
            + link
        )
    return lines


def _first_line(message: str) -> str:
    return next((line.strip() for line in message.splitlines() if line.strip()), "")


def _text(value: str) -> str:
    """Safe inside a Markdown table cell: HTML escaped (no markup of a stranger's making,
    no early end of the marker or the details block), pipes and line breaks neutralised."""
    return html.escape(" ".join(value.split())).replace("|", "&#124;")


def _code(value: str) -> str:
    return value.replace("`", "")
