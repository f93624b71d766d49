"""GitHub webhook deliveries as GitHub sends them (docs.github.com, "Webhook events and
payloads"): the documented push and pull_request bodies, signed with X-Hub-Signature-256."""

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
