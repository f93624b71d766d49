"""VCS-driven runs end to end: real git repositories (bare, served as file:// URLs), GitHub
webhook deliveries signed as GitHub signs them and GitLab's with their secret token, sent
over real HTTP to the local platform, the runner cloning the exact commit, and real
Terraform planning it."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from examples.runtask_service import RunTaskService
from local.ecs import TaskFault
from local.platform import LocalPlatform
from tests.conftest import ApiClient
from tests.e2e.test_run_pipeline import ENDED, full_log, released, run_status, task_starts
from tests.git_support import file_url, git, make_repository
from tests.vcs_support import (
    WEBHOOK_SECRET,
    delivery_headers,
    encoded,
    gitlab_headers,
    gitlab_merge_request_body,
    gitlab_push_body,
    gitlab_tag_push_body,
    pull_request_body,
    push_body,
)


def greeting(text: str) -> str:
    return f"""
resource "terraform_data" "greeting" {{
  input = "{text}"
}}

output "greeting" {{
  value = terraform_data.greeting.output
}}
"""


@pytest.fixture
def repository(tmp_path: Path) -> tuple[str, list[str]]:
    """A repository whose configuration lives in ``infra/``: two commits on main."""
    bare, shas = make_repository(
        tmp_path,
        [
            {"infra/main.tf": greeting("from the first commit"), "README.md": "docs"},
            {"infra/main.tf": greeting("from the second commit")},
        ],
    )
    return file_url(bare), shas


@pytest.fixture
def connection(admin: ApiClient) -> str:
    reply = admin.post("/vcs-connections", {"provider": "github", "webhook_secret": WEBHOOK_SECRET})
    assert reply.status == 201, reply.body
    return str(reply.json()["id"])


@pytest.fixture
def service() -> Iterator[RunTaskService]:
    with RunTaskService() as running:
        yield running


def workspace(admin: ApiClient, name: str, connection: str, url: str, **settings: Any) -> str:
    vcs = {"connection_id": connection, "repository": url, "branch": "main"}
    vcs |= settings.pop("vcs", {})
    reply = admin.post(
        "/workspaces", {"name": name, "working_directory": "infra"} | settings | {"vcs": vcs}
    )
    assert reply.status == 201, reply.body
    return str(reply.json()["id"])


def deliver(platform: LocalPlatform, connection: str, event: str, payload: dict[str, Any]) -> Any:
    """POST the delivery to the platform's webhook URL over HTTP, as GitHub does."""
    body = encoded(payload)
    reply = requests.post(
        f"{platform.base_url}/api/v1/webhooks/github/{connection}",
        data=body,
        headers=delivery_headers(event, body),
        timeout=30,
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_a_push_plans_and_applies_the_pushed_commit(platform, admin, connection, repository):
    url, (first, _second) = repository
    app = workspace(
        admin, "vcs-app", connection, url, auto_apply=True, vcs={"trigger_prefixes": ["infra"]}
    )
    # Its working directory counts as a trigger prefix too; this push changes neither.
    docs_only = workspace(
        admin,
        "vcs-docs",
        connection,
        url,
        working_directory="docs",
        vcs={"trigger_prefixes": ["docs"]},
    )

    # The push of the first commit, delivered after the second was pushed: the run must plan
    # the commit the push names, not the branch's head.
    report = deliver(
        platform, connection, "push", push_body(url, first, changed=("infra/main.tf",))
    )

    [started] = report["runs"]
    assert started["workspace_id"] == app
    assert report["skipped"] == [
        {
            "workspace_id": docs_only,
            "reason": "the push changed no file under its trigger prefixes or working directory",
        }
    ]
    run = run_status(admin, started["run_id"], {"applied", "errored"})
    assert run["status"] == "applied", run["error"]
    assert f"fetching {url} at {first}" in full_log(admin, run["id"], "plan")
    state = admin.get(f"/workspaces/{app}/current-state-version").json()
    assert state["outputs"]["greeting"]["value"] == "from the first commit"
    assert admin.list_all(f"/workspaces/{docs_only}/runs") == []
    assert task_starts(platform, run["id"]) == ["plan"]  # fetched, planned and applied in one


def test_a_pull_request_gets_a_speculative_plan_its_run_tasks_know_of(
    platform, admin, connection, repository, service
):
    url, (_first, second) = repository
    ws = workspace(admin, "vcs-pull", connection, url)
    task = admin.post("/run-tasks", {"name": "vcs-checks", "url": service.url}).json()["id"]
    admin.post(
        f"/workspaces/{ws}/run-tasks",
        {"run_task_id": task, "stages": ["post_plan"], "enforcement_level": "mandatory"},
    )

    report = deliver(platform, connection, "pull_request", pull_request_body(url, second))

    [started] = report["runs"]
    run = run_status(admin, started["run_id"], {"planned_and_finished", "errored"})
    assert run["status"] == "planned_and_finished", run["error"]
    assert run["operation"] == "plan_only" and run["is_speculative"] is True
    assert "from the second commit" in full_log(admin, run["id"], "plan")
    [request] = [r for r in service.requests if r["run_id"] == run["id"]]
    assert request["is_speculative"] is True
    assert request["vcs_commit_hash"] == second
    assert request["vcs_branch"] == "feature"
    assert request["vcs_pull_request_url"] == "https://github.com/octo-org/infra/pull/7"
    assert request["vcs_repo_url"] == "https://github.com/octo-org/infra"
    assert request["vcs_commit_url"] == f"https://github.com/octo-org/infra/commit/{second}"
    # Speculative: the workspace was never locked and has no state from it.
    assert admin.get(f"/workspaces/{ws}").json()["locked"] is False
    assert admin.get(f"/workspaces/{ws}/current-state-version").status == 404
    assert task_starts(platform, run["id"]) == ["plan"]  # fetched in the plan; its task starts none


def test_a_runner_killed_while_fetching_errors_the_run_and_the_next_push_applies(
    platform, admin, connection, repository
):
    """The container of the plan that fetches the commit is killed (as the OOM killer kills
    it): the run errors with what ECS says, its configuration version does not stay pending,
    the workspace is released and the next push's run applies."""
    url, (first, second) = repository
    app = workspace(admin, "vcs-killed", connection, url, auto_apply=True)
    killed_fetch = TaskFault(
        "killed",
        lambda env: (
            (env.get("IACP_WORKSPACE_ID"), env.get("IACP_PHASE"), env.get("IACP_VCS_COMMIT"))
            == (app, "plan", first)
        ),
        "OutOfMemoryError: Container killed due to memory usage",
    )
    remove = platform.ecs.inject(killed_fetch)
    try:
        [killed] = deliver(platform, connection, "push", push_body(url, first))["runs"]
        run = run_status(admin, killed["run_id"], ENDED)
    finally:
        remove()

    assert run["status"] == "errored"
    assert run["error"]["stage"] == "plan"
    assert "exit code 137, OutOfMemoryError" in run["error"]["message"]
    version = f"/workspaces/{app}/configuration-versions/{run['configuration_version_id']}"
    assert admin.get(version).json()["status"] == "errored"
    [retried] = deliver(platform, connection, "push", push_body(url, second))["runs"]
    assert run_status(admin, retried["run_id"], ENDED)["status"] == "applied"
    released(admin, app)


# --- GitLab --------------------------------------------------------------------------------


@pytest.fixture
def gitlab_connection(admin: ApiClient) -> str:
    reply = admin.post("/vcs-connections", {"provider": "gitlab", "webhook_secret": WEBHOOK_SECRET})
    assert reply.status == 201, reply.body
    return str(reply.json()["id"])


def deliver_gitlab(
    platform: LocalPlatform, connection: str, event: str, payload: dict[str, Any]
) -> Any:
    """POST the delivery to the platform's GitLab webhook URL over HTTP, as GitLab does."""
    reply = requests.post(
        f"{platform.base_url}/api/v1/webhooks/gitlab/{connection}",
        data=encoded(payload),
        headers=gitlab_headers(event),
        timeout=30,
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_a_gitlab_push_and_then_a_tag_plan_and_apply(platform, admin, gitlab_connection, tmp_path):
    bare, (first, second) = make_repository(
        tmp_path,
        [
            {"infra/main.tf": greeting("from the first commit")},
            {"infra/main.tf": greeting("from the release")},
        ],
        name="gitlab",
    )
    work = tmp_path / "gitlab-work"
    git("tag", "--annotate", "-m", "Release 1.0.0", "v1.0.0", second, cwd=work)
    git("push", "--quiet", "origin", "refs/tags/v1.0.0", cwd=work)
    tag_object = git("rev-parse", "v1.0.0", cwd=work)
    url = file_url(bare)
    ws = workspace(admin, "gitlab-app", gitlab_connection, url, auto_apply=True, vcs={"tags": "v*"})

    # The push of the first commit, delivered after the second was pushed.
    push = gitlab_push_body(url, first, changed=("infra/main.tf",))
    [pushed] = deliver_gitlab(platform, gitlab_connection, "Push Hook", push)["runs"]
    run = run_status(admin, pushed["run_id"], {"applied", "errored"})
    assert run["status"] == "applied", run["error"]
    assert run["vcs"]["provider"] == "gitlab"
    state = admin.get(f"/workspaces/{ws}/current-state-version").json()
    assert state["outputs"]["greeting"]["value"] == "from the first commit"

    # The annotated tag's push: its checkout_sha is the commit, its after the tag object.
    tag = gitlab_tag_push_body(url, second, tag="v1.0.0", tag_object=tag_object)
    [tagged] = deliver_gitlab(platform, gitlab_connection, "Tag Push Hook", tag)["runs"]
    run = run_status(admin, tagged["run_id"], {"applied", "errored"})
    assert run["status"] == "applied", run["error"]
    assert run["vcs"]["ref"] == "refs/tags/v1.0.0" and run["vcs"]["commit_sha"] == second
    state = admin.get(f"/workspaces/{ws}/current-state-version").json()
    assert state["outputs"]["greeting"]["value"] == "from the release"


def test_a_gitlab_merge_request_gets_a_speculative_plan(
    platform, admin, gitlab_connection, tmp_path
):
    bare, _ = make_repository(tmp_path, [{"infra/main.tf": greeting("on main")}], name="gitlab-mr")
    work = tmp_path / "gitlab-mr-work"
    git("checkout", "--quiet", "-b", "feature", cwd=work)
    (work / "infra" / "main.tf").write_text(greeting("from the merge request"))
    git("commit", "--quiet", "--all", "-m", "Try a new greeting", cwd=work)
    head = git("rev-parse", "HEAD", cwd=work)
    # GitLab keeps every merge request's head under refs/merge-requests/<iid>/head.
    git(
        "push",
        "--quiet",
        "origin",
        "HEAD:refs/heads/feature",
        "HEAD:refs/merge-requests/7/head",
        cwd=work,
    )
    url = file_url(bare)
    ws = workspace(admin, "gitlab-mr", gitlab_connection, url)

    body = gitlab_merge_request_body(url, head, iid=7)
    [started] = deliver_gitlab(platform, gitlab_connection, "Merge Request Hook", body)["runs"]

    run = run_status(admin, started["run_id"], {"planned_and_finished", "errored"})
    assert run["status"] == "planned_and_finished", run["error"]
    assert run["operation"] == "plan_only" and run["is_speculative"] is True
    assert run["vcs"]["ref"] == "refs/merge-requests/7/head"
    assert "from the merge request" in full_log(admin, run["id"], "plan")
    assert admin.get(f"/workspaces/{ws}").json()["locked"] is False
    assert admin.get(f"/workspaces/{ws}/current-state-version").status == 404
