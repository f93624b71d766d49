"""Webhook deliveries as the hosts send them: GitHub's (docs.github.com, "Webhook events and
payloads": the documented push and pull_request bodies, signed with X-Hub-Signature-256) and
GitLab's (docs.gitlab.com, "Webhook events": Push, Tag Push and Merge Request Hooks, with
the webhook's secret token in X-Gitlab-Token and GitLab's Idempotency-Key)."""

import hashlib
import hmac
import json
import uuid
from typing import Any

WEBHOOK_SECRET = "a-webhook-secret-of-some-length"
SENDER = {"login": "octocat", "id": 1, "type": "User"}


def repository(clone_url: str, full_name: str = "octo-org/infra") -> dict[str, Any]:
    """The ``repository`` object; ``clone_url`` is what a workspace names (a file:// URL in
    these tests, where GitHub would send https://github.com/<full_name>.git)."""
    html_url = f"https://github.com/{full_name}"
    return {
        "id": 35129377,
        "name": full_name.split("/")[1],
        "full_name": full_name,
        "private": False,
        "owner": {"login": full_name.split("/")[0], "id": 6752317, "type": "Organization"},
        "html_url": html_url,
        "clone_url": clone_url,
        "git_url": f"git://github.com/{full_name}.git",
        "ssh_url": f"git@github.com:{full_name}.git",
        "default_branch": "main",
    }


def push_body(
    clone_url: str,
    after: str,
    *,
    branch: str = "main",
    changed: tuple[str, ...] = ("main.tf",),
    message: str = "Change the greeting\n\nA longer explanation.",
    before: str = "0" * 40,
    ref: str | None = None,
    deleted: bool = False,
    full_name: str = "octo-org/infra",
) -> dict[str, Any]:
    repo = repository(clone_url, full_name)
    commit = {
        "id": after,
        "tree_id": "f9d2a07e9488b91af2641b26b9407fe22a451433",
        "distinct": True,
        "message": message,
        "timestamp": "2026-11-24T10:00:00+00:00",
        "url": f"{repo['html_url']}/commit/{after}",
        "author": {"name": "Octo Cat", "email": "octocat@github.com", "username": "octocat"},
        "committer": {"name": "Octo Cat", "email": "octocat@github.com", "username": "octocat"},
        "added": [],
        "removed": [],
        "modified": list(changed),
    }
    return {
        "ref": ref or f"refs/heads/{branch}",
        "before": before,
        "after": "0" * 40 if deleted else after,
        "repository": repo,
        "pusher": {"name": "octocat", "email": "octocat@github.com"},
        "sender": SENDER,
        "created": False,
        "deleted": deleted,
        "forced": False,
        "base_ref": None,
        "compare": f"{repo['html_url']}/compare/{before[:12]}...{after[:12]}",
        "commits": [] if deleted else [commit],
        "head_commit": None if deleted else commit,
    }


def pull_request_body(
    clone_url: str,
    head_sha: str,
    *,
    action: str = "opened",
    number: int = 7,
    base: str = "main",
    head: str = "feature",
    full_name: str = "octo-org/infra",
) -> dict[str, Any]:
    repo = repository(clone_url, full_name)
    return {
        "action": action,
        "number": number,
        "pull_request": {
            "url": f"https://api.github.com/repos/{full_name}/pulls/{number}",
            "id": 1000 + number,
            "html_url": f"{repo['html_url']}/pull/{number}",
            "number": number,
            "state": "open",
            "title": "Try a new greeting",
            "user": SENDER,
            "head": {"label": f"octo-org:{head}", "ref": head, "sha": head_sha, "repo": repo},
            "base": {"label": f"octo-org:{base}", "ref": base, "sha": "b" * 40, "repo": repo},
        },
        "repository": repo,
        "sender": SENDER,
    }


def signature(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    """``sha256=`` and the hex HMAC-SHA256 of the raw body, as GitHub computes it."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def delivery_headers(
    event: str, body: bytes, *, secret: str = WEBHOOK_SECRET, delivery: str | None = None
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/044aadd",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "292430182",
        "X-Hub-Signature-256": signature(body, secret),
    }


def encoded(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, indent=2).encode()  # GitHub's bodies are pretty-printed


# --- GitLab (docs.gitlab.com, "Webhook events": Push, Tag Push and Merge Request events) ----

GITLAB_USER = {
    "id": 1,
    "name": "Administrator",
    "username": "root",
    "avatar_url": "https://www.gravatar.com/avatar/x",
    "email": "admin@example.com",
}


def gitlab_project(clone_url: str, path: str = "platform/infra/live") -> dict[str, Any]:
    """The ``project`` object; ``git_http_url`` is what a workspace names (a file:// URL in
    these tests, where GitLab would send https://gitlab.com/<path>.git)."""
    web_url = f"https://gitlab.com/{path}"
    return {
        "id": 15,
        "name": path.rsplit("/", 1)[-1],
        "description": "",
        "web_url": web_url,
        "avatar_url": None,
        "git_ssh_url": f"git@gitlab.com:{path}.git",
        "git_http_url": clone_url,
        "namespace": path.rsplit("/", 1)[0],
        "visibility_level": 0,
        "path_with_namespace": path,
        "default_branch": "main",
        "ci_config_path": None,
        "homepage": web_url,
        "url": f"git@gitlab.com:{path}.git",
        "ssh_url": f"git@gitlab.com:{path}.git",
        "http_url": clone_url,
    }


def _gitlab_commit(
    project: dict[str, Any], sha: str, message: str, changed: tuple[str, ...]
) -> dict[str, Any]:
    return {
        "id": sha,
        "message": message,
        "title": message.split("\n", 1)[0],
        "timestamp": "2026-11-24T10:00:00+00:00",
        "url": f"{project['web_url']}/-/commit/{sha}",
        "author": {"name": "Administrator", "email": "admin@example.com"},
        "added": [],
        "modified": list(changed),
        "removed": [],
    }


def gitlab_push_body(
    clone_url: str,
    after: str,
    *,
    branch: str = "main",
    changed: tuple[str, ...] = ("main.tf",),
    message: str = "Change the greeting\n\nA longer explanation.",
    before: str = "2" * 40,
    deleted: bool = False,
    path: str = "platform/infra/live",
    total_commits_count: int | None = None,
) -> dict[str, Any]:
    project = gitlab_project(clone_url, path)
    commits = [] if deleted else [_gitlab_commit(project, after, message, changed)]
    return {
        "object_kind": "push",
        "event_name": "push",
        "before": before,
        "after": "0" * 40 if deleted else after,
        "ref": f"refs/heads/{branch}",
        "ref_protected": True,
        "checkout_sha": None if deleted else after,
        "message": None,
        "user_id": 1,
        "user_name": "Administrator",
        "user_username": "root",
        "user_email": "",
        "user_avatar": "https://www.gravatar.com/avatar/x",
        "project_id": 15,
        "project": project,
        "commits": commits,
        "total_commits_count": len(commits) if total_commits_count is None else total_commits_count,
        "push_options": {},
        "repository": {
            "name": project["name"],
            "url": project["url"],
            "description": "",
            "homepage": project["web_url"],
            "git_http_url": clone_url,
            "git_ssh_url": project["git_ssh_url"],
            "visibility_level": 0,
        },
    }


def gitlab_tag_push_body(
    clone_url: str,
    commit: str,
    *,
    tag: str = "v1.0.0",
    tag_object: str = "a" * 40,
    message: str | None = "Release 1.0.0",
    deleted: bool = False,
    path: str = "platform/infra/live",
) -> dict[str, Any]:
    """An annotated tag's push: ``after`` is the tag object, ``checkout_sha`` the commit."""
    body = gitlab_push_body(clone_url, commit, path=path, before="0" * 40)
    return body | {
        "object_kind": "tag_push",
        "event_name": "tag_push",
        "ref": f"refs/tags/{tag}",
        "before": "0" * 40,
        "after": "0" * 40 if deleted else tag_object,
        "checkout_sha": None if deleted else commit,
        "message": message,
        "commits": [],
        "total_commits_count": 0,
    }


def gitlab_merge_request_body(
    clone_url: str,
    head_sha: str,
    *,
    action: str = "open",
    iid: int = 7,
    target: str = "main",
    source: str = "feature",
    oldrev: str | None = None,
    path: str = "platform/infra/live",
) -> dict[str, Any]:
    project = gitlab_project(clone_url, path)
    attributes: dict[str, Any] = {
        "id": 99,
        "iid": iid,
        "target_branch": target,
        "source_branch": source,
        "source_project_id": 15,
        "author_id": 1,
        "title": "Try a new greeting",
        "description": "",
        "state": "opened",
        "merge_status": "unchecked",
        "detailed_merge_status": "checking",
        "target_project_id": 15,
        "url": f"{project['web_url']}/-/merge_requests/{iid}",
        "source": project,
        "target": project,
        "last_commit": {
            "id": head_sha,
            "message": "Try a new greeting\n",
            "title": "Try a new greeting",
            "timestamp": "2026-11-24T10:00:00+00:00",
            "url": f"{project['web_url']}/-/commit/{head_sha}",
            "author": {"name": "Administrator", "email": "admin@example.com"},
        },
        "work_in_progress": False,
        "draft": False,
        "action": action,
    }
    if oldrev is not None:
        attributes["oldrev"] = oldrev
    return {
        "object_kind": "merge_request",
        "event_type": "merge_request",
        "user": GITLAB_USER,
        "project": project,
        "object_attributes": attributes,
        "labels": [],
        "changes": {},
        "repository": {
            "name": project["name"],
            "url": project["url"],
            "description": "",
            "homepage": project["web_url"],
        },
    }


def gitlab_headers(
    event: str,
    *,
    token: str = WEBHOOK_SECRET,
    idempotency_key: str | None = None,
    event_uuid: str | None = None,
) -> dict[str, str]:
    """As GitLab sends them (X-Gitlab-Token is the webhook's secret token as it is)."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitLab/17.6.0",
        "X-Gitlab-Event": event,
        "X-Gitlab-Token": token,
        "X-Gitlab-Instance": "https://gitlab.com",
        "X-Gitlab-Webhook-UUID": str(uuid.uuid4()),
        "X-Gitlab-Event-UUID": event_uuid or str(uuid.uuid4()),
        "Idempotency-Key": idempotency_key or str(uuid.uuid4()),
    }
    return headers
