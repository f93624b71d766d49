"""A repository event, whichever host it came from: what the triggers decide on."""

from collections.abc import Callable
from enum import StrEnum
from typing import Any

from pydantic import ConfigDict, Field

from iacp.model import Model
from iacp.vcs.models import VcsProvider


class EventKind(StrEnum):
    PUSH = "push"  # plan and apply
    PULL_REQUEST = "pull_request"  # a speculative plan (a GitLab merge request too)
    TAG = "tag"  # plan and apply, on the workspaces whose tags pattern matches


class RepositoryEvent(Model):
    kind: EventKind
    provider: VcsProvider
    connection_id: str
    delivery: str = Field(
        description="What makes the event unique (GitHub: the body's digest; GitLab: its "
        "Idempotency-Key; EventBridge: the event id): a repeated delivery derives the same "
        "ids and so starts nothing new."
    )
    repository_names: list[str] = Field(description="Every name a workspace may know it by")
    repository_path: str | None = Field(
        None,
        description="The repository as the host's API names it (GitHub owner/name, GitLab "
        "path_with_namespace)",
    )
    clone_url: str
    repository_url: str | None
    branch: str = Field(
        description="The pushed branch; for a pull request, its base branch; for a tag, the tag"
    )
    head_branch: str = Field(
        description="The commit's branch; for a pull request, its head; for a tag, the tag"
    )
    ref: str = Field(description="A ref that holds the commit, for hosts that refuse a SHA")
    commit_sha: str
    commit_url: str | None
    pull_request_number: int | None = None
    pull_request_url: str | None = None
    message: str
    sender: str | None
    changed_files: set[str] | None = Field(
        description="Paths the push changed; None when the event does not say"
    )


class Ignored(Exception):
    """A well-formed event that starts nothing (a tag push, a closed pull request); the
    message says why."""


def first_line(message: str) -> str:
    """A commit's (or a title's) first line, as a run's message."""
    return message.strip().split("\n", 1)[0][:1000]


# A host's event parser: (connection id, delivery, the JSON body) -> the event, or Ignored.
Parser = Callable[[str, str, dict[str, Any]], RepositoryEvent]


class Lenient(Model):
    """A host's payload, read as its documentation has it: unknown fields are ignored, and
    only what the triggers use is required."""

    model_config = ConfigDict(extra="ignore")


class PushedCommit(Lenient):
    """A commit of a push as GitHub and GitLab both list it, with the paths it touched."""

    id: str | None = None
    message: str = ""
    url: str | None = None
    added: list[str] = Field(default_factory=list)
    modified: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)


def changed_paths(commits: list[PushedCommit]) -> set[str]:
    """Every path the commits added, changed or removed."""
    return {path for c in commits for path in (*c.added, *c.modified, *c.removed)}
