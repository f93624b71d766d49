"""A repository event, whichever host it came from: what the triggers decide on."""

from enum import StrEnum

from pydantic import BaseModel, Field

from iacp.vcs.models import VcsProvider


class EventKind(StrEnum):
    PUSH = "push"  # plan and apply
    PULL_REQUEST = "pull_request"  # a speculative plan


class RepositoryEvent(BaseModel):
    kind: EventKind
    provider: VcsProvider
    connection_id: str
    delivery: str = Field(
        description="What makes the event unique (GitHub: the body's digest; EventBridge: the "
        "event id): a repeated delivery derives the same ids and so starts nothing new."
    )
    repository_names: list[str] = Field(description="Every name a workspace may know it by")
    repository_path: str | None = Field(
        None, description="The repository as the host's API names it (GitHub owner/name)"
    )
    clone_url: str
    repository_url: str | None
    branch: str = Field(description="The pushed branch; for a pull request, its base branch")
    head_branch: str = Field(description="The commit's branch; for a pull request, its head")
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
