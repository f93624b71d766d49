"""GitLab webhooks: the secret token, and the Push Hook, Tag Push Hook and Merge Request Hook
payloads as GitLab documents them (docs.gitlab.com, "Webhook events"), read leniently:
unknown fields are ignored, and only what the triggers use is required.

GitLab signs nothing: it sends the webhook's secret token as it is, in ``X-Gitlab-Token``.
"""

import hmac
from typing import Any

from pydantic import Field

from iacp.errors import capped
from iacp.vcs.events import (
    EventKind,
    Ignored,
    Lenient,
    Parser,
    PushedCommit,
    RepositoryEvent,
    changed_paths,
    first_line,
)
from iacp.vcs.models import VcsProvider

TOKEN_HEADER = "X-Gitlab-Token"  # noqa: S105 -- a header's name
EVENT_HEADER = "X-Gitlab-Event"
# The same on every retry of a delivery, manual ones too (GitLab 17.4 and later).
IDEMPOTENCY_HEADER = "Idempotency-Key"
# One event's id (older GitLab versions, which send no Idempotency-Key).
EVENT_UUID_HEADER = "X-Gitlab-Event-UUID"
MERGE_REQUEST_ACTIONS = frozenset({"open", "reopen", "update"})
_SHA = r"^[0-9a-f]{40}$"


def token_matches(secret: str, header: str | None) -> bool:
    """The header is the webhook's secret token itself, compared in constant time."""
    if not secret or not header:
        return False
    return hmac.compare_digest(secret.encode(), header.encode())


class _Project(Lenient):
    path_with_namespace: str = Field(min_length=1)
    git_http_url: str = Field(min_length=1)
    web_url: str = Field(min_length=1)
    git_ssh_url: str | None = None

    def names(self) -> list[str]:
        return [n for n in (self.path_with_namespace, self.git_http_url, self.web_url) if n]

    def commit_url(self, sha: str) -> str:
        return f"{self.web_url.rstrip('/')}/-/commit/{sha}"


class Push(Lenient):
    """A Push Hook's or a Tag Push Hook's body (object_kind push, tag_push)."""

    ref: str
    before: str | None = None
    after: str = Field(pattern=_SHA)
    # The commit the ref now points at (an annotated tag's "after" is the tag object); null
    # when the ref was deleted.
    checkout_sha: str | None = Field(None, pattern=_SHA)
    user_username: str | None = None
    message: str | None = None  # an annotated tag's message
    project: _Project
    commits: list[PushedCommit] = Field(default_factory=list)
    total_commits_count: int = Field(0, ge=0)

    @property
    def deleted(self) -> bool:
        return self.checkout_sha is None or set(self.after) == {"0"}


class _User(Lenient):
    username: str | None = None


class _LastCommit(Lenient):
    id: str = Field(pattern=_SHA)


class _MergeRequest(Lenient):
    iid: int = Field(ge=1)
    url: str | None = None
    title: str = ""
    source_branch: str = Field(min_length=1)
    target_branch: str = Field(min_length=1)
    action: str
    # Present on an update only when it brought new commits.
    oldrev: str | None = None
    last_commit: _LastCommit


class MergeRequest(Lenient):
    """A Merge Request Hook's body (object_kind merge_request)."""

    object_attributes: _MergeRequest
    project: _Project
    user: _User | None = None


def push_event(connection_id: str, delivery: str, body: dict[str, Any]) -> RepositoryEvent:
    """A Push Hook: the push of a branch, or ``Ignored`` for a deleted one."""
    push = Push.model_validate(body)
    if not push.ref.startswith("refs/heads/"):
        raise Ignored(f"{capped(push.ref)} is not a branch: a Push Hook of it starts nothing.")
    branch = push.ref.removeprefix("refs/heads/")
    if push.deleted:
        raise Ignored(f"Branch {capped(branch)} was deleted: nothing to run.")
    assert push.checkout_sha is not None, "not deleted"
    sha = push.checkout_sha
    changed: set[str] | None = changed_paths(push.commits)
    # GitLab lists only the last 20 commits of a push, and a new branch's commits since
    # where? Either way its files are not all known: every tracking workspace runs.
    if push.total_commits_count > len(push.commits) or not (push.before or "").strip("0"):
        changed = None
    head = next((c for c in push.commits if c.id == sha), None)
    return _event(
        EventKind.PUSH,
        connection_id,
        delivery,
        push.project,
        branch=branch,
        ref=push.ref,
        sha=sha,
        message=first_line(head.message if head else f"Push to {branch}"),
        sender=push.user_username,
        changed_files=changed,
    )


def tag_push_event(connection_id: str, delivery: str, body: dict[str, Any]) -> RepositoryEvent:
    """A Tag Push Hook: a tag pushed, or ``Ignored`` for a deleted one."""
    push = Push.model_validate(body)
    if not push.ref.startswith("refs/tags/"):
        raise Ignored(f"{capped(push.ref)} is not a tag: a Tag Push Hook of it starts nothing.")
    tag = push.ref.removeprefix("refs/tags/")
    if push.deleted:
        raise Ignored(f"Tag {capped(tag)} was deleted: nothing to run.")
    assert push.checkout_sha is not None, "not deleted"
    annotation = first_line(push.message or "")
    return _event(
        EventKind.TAG,
        connection_id,
        delivery,
        push.project,
        branch=tag,
        ref=push.ref,
        sha=push.checkout_sha,
        message=first_line(f"Tag {tag}: {annotation}" if annotation else f"Tag {tag}"),
        sender=push.user_username,
        changed_files=None,  # a tag runs whatever it changed
    )


def merge_request_event(connection_id: str, delivery: str, body: dict[str, Any]) -> RepositoryEvent:
    """A merge request opened, reopened or given new commits; ``Ignored`` otherwise (an update
    of its title or labels, a close, a merge, an approval)."""
    event = MergeRequest.model_validate(body)
    request = event.object_attributes
    if request.action not in MERGE_REQUEST_ACTIONS:
        raise Ignored(f"Merge request action '{capped(request.action)}' starts nothing.")
    if request.action == "update" and not request.oldrev:
        raise Ignored("This merge request update brought no new commits: it starts nothing.")
    sha = request.last_commit.id
    return _event(
        EventKind.PULL_REQUEST,
        connection_id,
        delivery,
        event.project,
        branch=request.target_branch,
        head_branch=request.source_branch,
        # The target project holds every merge request's head, forks' too.
        ref=f"refs/merge-requests/{request.iid}/head",
        sha=sha,
        pull_request_number=request.iid,
        pull_request_url=request.url,
        message=first_line(f"Merge request !{request.iid}: {request.title}"),
        sender=event.user.username if event.user else None,
        # Not in the payload: every merge request into the branch gets its plan.
        changed_files=None,
    )


def _event(
    kind: EventKind,
    connection_id: str,
    delivery: str,
    project: _Project,
    *,
    branch: str,
    ref: str,
    sha: str,
    message: str,
    sender: str | None,
    changed_files: set[str] | None,
    head_branch: str | None = None,
    pull_request_number: int | None = None,
    pull_request_url: str | None = None,
) -> RepositoryEvent:
    return RepositoryEvent(
        kind=kind,
        provider=VcsProvider.GITLAB,
        connection_id=connection_id,
        delivery=delivery,
        repository_names=project.names(),
        repository_path=project.path_with_namespace,
        clone_url=project.git_http_url,
        repository_url=project.web_url,
        branch=branch,
        head_branch=head_branch or branch,
        ref=ref,
        commit_sha=sha,
        commit_url=project.commit_url(sha),
        pull_request_number=pull_request_number,
        pull_request_url=pull_request_url,
        message=message,
        sender=sender,
        changed_files=changed_files,
    )


HANDLED_EVENTS: dict[str, Parser] = {
    "Push Hook": push_event,
    "Tag Push Hook": tag_push_event,
    "Merge Request Hook": merge_request_event,
}
