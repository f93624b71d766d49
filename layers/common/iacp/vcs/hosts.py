"""Reporting to a repository host's API (docs/vcs.md, "Reporting back"): a commit status on
a commit, and one comment of the platform's on a pull (merge) request, found again by a
hidden marker and edited in place, never posted twice.

GitHub: ``POST /repos/{owner}/{repo}/statuses/{sha}``, ``GET/POST
/repos/{owner}/{repo}/issues/{n}/comments``, ``PATCH /repos/{owner}/{repo}/issues/comments/{id}``
with ``Authorization: Bearer``. GitLab (``/api/v4``): ``POST
/projects/{id}/statuses/{sha}``, ``GET/POST /projects/{id}/merge_requests/{iid}/notes``,
``PUT .../notes/{note_id}`` with ``PRIVATE-TOKEN``; ``{id}`` is the project's URL-encoded
path with its namespace.

Every call goes through ``iacp.outbound`` (the private-address guard, no redirects, one
attempt); a refusal raises ``HostRefused`` saying what the host answered, never the token.
"""

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal, Protocol
from urllib.parse import quote

from iacp.outbound import JsonReply, Outbound, call_json
from iacp.vcs.models import VcsProvider

TIMEOUT_SECONDS = 5.0  # per call: the function's own timeout is small
PAGE_SIZE = 100
MAX_PAGES = 20  # 2,000 comments: a pull request with more is not looked through further
GITHUB_MAX_DESCRIPTION = 140
MAX_COMMENT_CHARS = 65_536  # GitHub's limit on a comment's body (GitLab's is larger)


class CommitState(StrEnum):
    """What a run's commit status says, in the platform's words; each host has its own."""

    PENDING = "pending"
    SUCCESS = "success"
    FAILURE = "failure"
    ERROR = "error"
    CANCELED = "canceled"


_GITHUB_STATES = {
    CommitState.PENDING: "pending",
    CommitState.SUCCESS: "success",
    CommitState.FAILURE: "failure",
    CommitState.ERROR: "error",
    CommitState.CANCELED: "error",
}
# A run under way is "running" on GitLab: its "pending" means waiting for a runner.
_GITLAB_STATES = {
    CommitState.PENDING: "running",
    CommitState.SUCCESS: "success",
    CommitState.FAILURE: "failed",
    CommitState.ERROR: "failed",
    CommitState.CANCELED: "canceled",
}


@dataclass(frozen=True)
class CommitStatus:
    state: CommitState
    context: str  # one per workspace, so that branch protection can require it
    description: str
    target_url: str


@dataclass(frozen=True)
class CommentPosted:
    comment_id: str
    action: Literal["created", "updated", "unchanged"]


class HostRefused(Exception):
    """The host did not take the report; the message says what it answered."""


class RepositoryHost(Protocol):
    name: str

    def set_status(self, repository: str, sha: str, status: CommitStatus) -> str:
        """Post the commit status; the state as the host names it."""
        ...

    def upsert_comment(
        self, repository: str, number: int, marker: str, body: str
    ) -> CommentPosted: ...


def repository_host(
    provider: VcsProvider, api_url: str, token: str, outbound: Outbound
) -> RepositoryHost | None:
    """The host's API for a connection, or None for a provider without one (CodeCommit)."""
    if provider is VcsProvider.GITHUB:
        return GitHub(api_url, token, outbound)
    if provider is VcsProvider.GITLAB:
        return GitLab(api_url, token, outbound)
    return None


class _Host:
    name = "the host"

    def __init__(self, api_url: str, token: str, outbound: Outbound):
        self._api = api_url.rstrip("/")
        self._token = token
        self._outbound = outbound

    def _headers(self) -> dict[str, str]:
        raise NotImplementedError

    def _call(self, method: str, path: str, body: Any = None) -> JsonReply:
        return call_json(
            self._outbound,
            method,
            self._api + path,
            self._headers(),
            body=body,
            timeout=TIMEOUT_SECONDS,
            receiver=self.name,
        )

    def _refused(self, what: str, reply: JsonReply) -> HostRefused:
        said = reply.body.get("message") if isinstance(reply.body, dict) else None
        detail = f": {str(said)[:200]}" if said else ""
        return HostRefused(f"{what}: {reply.problem}{detail}")

    def _upsert(
        self,
        comments: str,
        edit: Callable[[str], tuple[str, str]],
        marker: str,
        body: str,
        what: str,
    ) -> CommentPosted:
        """The comment under ``comments`` holding ``marker`` given ``body`` (``edit``: the
        method and path that change a comment, by its id), or a new one posted there."""
        found = self._find(comments, marker)
        if found is not None and found.get("body") == body:
            return CommentPosted(str(found["id"]), "unchanged")
        if found is not None:
            method, path = edit(str(found["id"]))
            reply = self._call(method, path, {"body": body})
            action: Literal["created", "updated"] = "updated"
        else:
            reply = self._call("POST", comments, {"body": body})
            action = "created"
        if not reply.ok or not isinstance(reply.body, dict):
            raise self._refused(f"posting {what}", reply)
        return CommentPosted(str(reply.body.get("id")), action)

    def _find(self, path: str, marker: str) -> dict[str, Any] | None:
        """The first comment under ``path`` whose body holds ``marker``, page by page."""
        for page in range(1, MAX_PAGES + 1):
            reply = self._call("GET", f"{path}?per_page={PAGE_SIZE}&page={page}")
            if not reply.ok or not isinstance(reply.body, list):
                raise self._refused("listing the comments", reply)
            for comment in reply.body:
                if isinstance(comment, dict) and marker in str(comment.get("body", "")):
                    return comment
            if len(reply.body) < PAGE_SIZE:
                return None
        return None


class GitHub(_Host):
    name = "GitHub"

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }

    def set_status(self, repository: str, sha: str, status: CommitStatus) -> str:
        state = _GITHUB_STATES[status.state]
        reply = self._call(
            "POST",
            f"/repos/{quote(repository, safe='/')}/statuses/{quote(sha, safe='')}",
            {
                "state": state,
                "context": status.context,
                "description": shortened(status.description, GITHUB_MAX_DESCRIPTION),
                "target_url": status.target_url,
            },
        )
        if not reply.ok:
            raise self._refused("posting the commit status", reply)
        return state

    def upsert_comment(self, repository: str, number: int, marker: str, body: str) -> CommentPosted:
        repo = f"/repos/{quote(repository, safe='/')}"
        return self._upsert(
            f"{repo}/issues/{number}/comments",
            lambda comment_id: ("PATCH", f"{repo}/issues/comments/{comment_id}"),
            marker,
            body,
            "the pull request comment",
        )


class GitLab(_Host):
    name = "GitLab"

    def _headers(self) -> dict[str, str]:
        return {"PRIVATE-TOKEN": self._token}

    def set_status(self, repository: str, sha: str, status: CommitStatus) -> str:
        state = _GITLAB_STATES[status.state]
        reply = self._call(
            "POST",
            f"/api/v4/projects/{quote(repository, safe='')}/statuses/{quote(sha, safe='')}",
            {
                "state": state,
                "name": status.context,
                "description": shortened(status.description, GITHUB_MAX_DESCRIPTION),
                "target_url": status.target_url,
            },
        )
        if not reply.ok and not _already(reply):
            raise self._refused("posting the commit status", reply)
        return state

    def upsert_comment(self, repository: str, number: int, marker: str, body: str) -> CommentPosted:
        notes = f"/api/v4/projects/{quote(repository, safe='')}/merge_requests/{number}/notes"
        return self._upsert(
            notes,
            lambda note_id: ("PUT", f"{notes}/{note_id}"),
            marker,
            body,
            "the merge request note",
        )


def _already(reply: JsonReply) -> bool:
    """GitLab refuses a status that its job already has ("Cannot transition status via
    :run from :running"): the report is there, as a retry wanted."""
    said = reply.body.get("message") if isinstance(reply.body, dict) else None
    return reply.status_code == 400 and "Cannot transition status" in str(said)


def shortened(text: str, limit: int) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
