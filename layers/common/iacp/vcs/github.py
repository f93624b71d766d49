"""GitHub webhooks: the signature, and the push and pull_request payloads as GitHub documents
them (docs.github.com, "Webhook events and payloads"), read leniently: unknown fields are
ignored, and only what the triggers use is required."""

import hashlib
import hmac
import re
from typing import Any

from pydantic import Field

from iacp.errors import capped
from iacp.vcs.events import (
    EventKind,
    Ignored,
    Lenient,
    PushedCommit,
    RepositoryEvent,
    changed_paths,
    first_line,
)
from iacp.vcs.models import VcsProvider

SIGNATURE_HEADER = "X-Hub-Signature-256"
NO_COMMIT = "0" * 40
# GitHub lists at most this many commits in a push; a longer push's files are not all known.
MAX_LISTED_COMMITS = 2048
PULL_REQUEST_ACTIONS = frozenset({"opened", "reopened", "synchronize"})
_SHA = re.compile(r"^[0-9a-f]{40}$")


def signature_matches(secret: str, body: bytes, header: str | None) -> bool:
    """``sha256=<hex HMAC-SHA256 of the raw body>``, compared in constant time."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256=").strip().lower())


class _Repository(Lenient):
    full_name: str
    clone_url: str
    html_url: str | None = None
    ssh_url: str | None = None

    def names(self) -> list[str]:
        return [n for n in (self.full_name, self.clone_url, self.html_url, self.ssh_url) if n]


class _User(Lenient):
    login: str | None = None
    name: str | None = None


class Push(Lenient):
    ref: str
    after: str = Field(pattern=r"^[0-9a-f]{40}$")
    deleted: bool = False
    repository: _Repository
    commits: list[PushedCommit] = Field(default_factory=list)
    head_commit: PushedCommit | None = None
    sender: _User | None = None
    pusher: _User | None = None


class _Branch(Lenient):
    ref: str
    sha: str = Field(pattern=r"^[0-9a-f]{40}$")


class _PullRequest(Lenient):
    number: int
    html_url: str | None = None
    title: str = ""
    head: _Branch
    base: _Branch


class PullRequest(Lenient):
    action: str
    number: int
    pull_request: _PullRequest
    repository: _Repository
    sender: _User | None = None


def push_event(connection_id: str, delivery: str, body: dict[str, Any]) -> RepositoryEvent:
    """The push of a branch or a tag, or ``Ignored`` for what starts nothing: other refs,
    deleted branches and tags."""
    push = Push.model_validate(body)
    if push.ref.startswith("refs/tags/"):
        return _tag_event(connection_id, delivery, push)
    if not push.ref.startswith("refs/heads/"):
        raise Ignored(f"{capped(push.ref)} is neither a branch nor a tag: it starts nothing.")
    branch = push.ref.removeprefix("refs/heads/")
    if push.deleted or push.after == NO_COMMIT:
        raise Ignored(f"Branch {capped(branch)} was deleted: nothing to run.")
    changed: set[str] | None = changed_paths(push.commits)
    if len(push.commits) >= MAX_LISTED_COMMITS:
        changed = None
    head = push.head_commit
    return _pushed(
        connection_id,
        delivery,
        push,
        kind=EventKind.PUSH,
        name=branch,
        commit=push.after,
        commit_url=head.url if head and head.url else None,
        message=first_line(head.message if head else ""),
        changed_files=changed,
    )


def _tag_event(connection_id: str, delivery: str, push: Push) -> RepositoryEvent:
    tag = push.ref.removeprefix("refs/tags/")
    if push.deleted or push.after == NO_COMMIT:
        raise Ignored(f"Tag {capped(tag)} was deleted: nothing to run.")
    head = push.head_commit
    # An annotated tag's "after" is the tag object; head_commit is the commit it tags.
    commit = head.id if head and head.id and _SHA.match(head.id) else push.after
    message = first_line(head.message if head else "")
    return _pushed(
        connection_id,
        delivery,
        push,
        kind=EventKind.TAG,
        name=tag,
        commit=commit,
        commit_url=None,
        message=first_line(f"Tag {tag}: {message}" if message else f"Tag {tag}"),
        changed_files=None,  # a tag runs whatever it changed
    )


def _pushed(
    connection_id: str,
    delivery: str,
    push: Push,
    *,
    kind: EventKind,
    name: str,
    commit: str,
    commit_url: str | None,
    message: str,
    changed_files: set[str] | None,
) -> RepositoryEvent:
    """A push of branch or tag ``name``, to ``commit``."""
    repository_url = push.repository.html_url
    return RepositoryEvent(
        kind=kind,
        provider=VcsProvider.GITHUB,
        connection_id=connection_id,
        delivery=delivery,
        repository_names=push.repository.names(),
        repository_path=push.repository.full_name,
        clone_url=push.repository.clone_url,
        repository_url=repository_url,
        branch=name,
        head_branch=name,
        ref=push.ref,
        commit_sha=commit,
        commit_url=commit_url or _commit_url(repository_url, commit),
        message=message,
        sender=_sender(push),
        changed_files=changed_files,
    )


def _sender(push: Push) -> str | None:
    sender = push.sender or push.pusher
    return sender.login or sender.name if sender else None


def pull_request_event(connection_id: str, delivery: str, body: dict[str, Any]) -> RepositoryEvent:
    """A pull request opened, reopened or pushed to; ``Ignored`` for other actions."""
    event = PullRequest.model_validate(body)
    if event.action not in PULL_REQUEST_ACTIONS:
        raise Ignored(f"Pull request action '{capped(event.action)}' starts nothing.")
    pull = event.pull_request
    repository_url = event.repository.html_url
    return RepositoryEvent(
        kind=EventKind.PULL_REQUEST,
        provider=VcsProvider.GITHUB,
        connection_id=connection_id,
        delivery=delivery,
        repository_names=event.repository.names(),
        repository_path=event.repository.full_name,
        clone_url=event.repository.clone_url,
        repository_url=repository_url,
        branch=pull.base.ref,
        head_branch=pull.head.ref,
        # The base repository holds every pull request's head, forks' too.
        ref=f"refs/pull/{pull.number}/head",
        commit_sha=pull.head.sha,
        commit_url=_commit_url(repository_url, pull.head.sha),
        pull_request_number=pull.number,
        pull_request_url=pull.html_url,
        message=first_line(f"Pull request #{pull.number}: {pull.title}"),
        sender=event.sender.login if event.sender else None,
        # Not in the payload: every pull request into the branch gets its plan.
        changed_files=None,
    )


def _commit_url(repository_url: str | None, sha: str) -> str | None:
    return f"{repository_url}/commit/{sha}" if repository_url else None
