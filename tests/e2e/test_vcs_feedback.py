"""Runs reporting back to GitHub end to end: signed webhooks over real HTTP to the local
platform, real git repositories, real Terraform, and the platform's reports (commit statuses,
the pull request's comment) going through the run events bus, the VcsFeedbackQueue and its
function to a fake GitHub API on 127.0.0.1 (tests/vcs_hosts.py) that the connection's
``api_url`` names. Local mode retries a failed report after 2 s, then 4 s, ..."""

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from examples.runtask_service import RunTaskService
from local.platform import LocalPlatform
from tests.conftest import ApiClient
from tests.e2e.test_run_pipeline import ENDED, full_log, run_status, task_starts, wait_for
from tests.e2e.test_vcs_runs import deliver, deliver_gitlab, greeting, workspace
from tests.git_support import file_url, git, make_repository
from tests.vcs_hosts import TOKEN, FakeGitHub, FakeGitLab, FakeHost
from tests.vcs_support import (
    WEBHOOK_SECRET,
    gitlab_merge_request_body,
    pull_request_body,
    push_body,
)


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as host:
        yield host


@pytest.fixture
def connection(admin: ApiClient, github: FakeGitHub) -> str:
    body = {
        "provider": "github",
        "webhook_secret": WEBHOOK_SECRET,
        "token": TOKEN,
        "api_url": github.url,
    }
    reply = admin.post("/vcs-connections", body)
    assert reply.status == 201, reply.body
    return str(reply.json()["id"])


@pytest.fixture
def repository(tmp_path: Path) -> tuple[str, list[str]]:
    """``infra/``: a first commit, then one that renames the resource (which destroys it)."""
    renamed = greeting("from the second commit").replace('"greeting" {', '"renamed" {')
    renamed = renamed.replace("terraform_data.greeting.", "terraform_data.renamed.")
    bare, shas = make_repository(
        tmp_path,
        [{"infra/main.tf": greeting("from the first commit")}, {"infra/main.tf": renamed}],
    )
    return file_url(bare), shas


def feedback(admin: ApiClient, run_id: str) -> dict[str, Any]:
    return admin.get(f"/runs/{run_id}").json().get("vcs_feedback") or {}


def final_status(host: FakeHost, sha: str, state: str) -> dict[str, Any] | None:
    """The commit's latest status, once it is ``state``."""
    statuses = host.statuses_of(sha)
    return statuses[-1] if statuses and statuses[-1]["state"] == state else None


def test_a_push_gets_pending_then_success_on_its_commit(
    platform: LocalPlatform, admin, connection, repository, github
):
    url, (first, _second) = repository
    # Confirmed by hand, so that the run is still under way when its first report is made: a
    # report is of the run's state when it is read, and an auto-applied run may be applied
    # by then.
    workspace(admin, "fb-push", connection, url)

    [started] = deliver(platform, connection, "push", push_body(url, first))["runs"]
    run_status(admin, started["run_id"], {"planned"})
    wait_for(lambda: final_status(github, first, "pending"), "the pending status")
    assert admin.post(f"/runs/{started['run_id']}/actions/apply").status == 202
    run = run_status(admin, started["run_id"], ENDED)
    assert run["status"] == "applied", run["error"]
    last = wait_for(lambda: final_status(github, first, "success"), "the success status")

    statuses = github.statuses_of(first)
    assert statuses[0]["state"] == "pending"
    assert {s["context"] for s in statuses} == {"iacp/fb-push"}
    assert {s["repository"] for s in statuses} == {"octo-org/infra"}
    assert last["description"] == "Applied: Plan: 1 to add, 0 to change, 0 to destroy"
    assert last["target_url"] == f"{platform.base_url}/#/runs/{run['id']}"
    assert github.comments == {}  # a push has no pull request
    posted = wait_for(lambda: feedback(admin, run["id"]).get("status") == "posted", "posted")
    assert posted


def test_a_pull_request_gets_one_comment_that_each_push_updates(
    platform: LocalPlatform, admin, connection, repository, github
):
    url, (first, second) = repository
    ws = workspace(admin, "fb-pull", connection, url, auto_apply=True)
    service = RunTaskService()
    with service:
        task = admin.post("/run-tasks", {"name": "no-destroy", "url": service.url})
        assert task.status == 201, task.body
        admin.post(
            f"/workspaces/{ws}/run-tasks",
            {
                "run_task_id": task.json()["id"],
                "stages": ["post_plan"],
                "enforcement_level": "mandatory",
            },
        )
        # The first commit applied: the pull request's plans compare against its state.
        [applied] = deliver(platform, connection, "push", push_body(url, first))["runs"]
        assert run_status(admin, applied["run_id"], ENDED)["status"] == "applied"
        # Auto-apply with a post_plan task: it must see the plan before anything is applied,
        # so the apply has a task of its own (the commit is fetched in the plan's).
        assert task_starts(platform, applied["run_id"]) == ["plan", "apply"]
        assert (
            "iacp: the apply runs in a task of its own: its post_plan or pre_apply run tasks "
            "must see the plan, or pass, first." in full_log(admin, applied["run_id"], "plan")
        )

        # The pull request opened on the first commit: nothing to change.
        opened = pull_request_body(url, first, action="opened")
        [run1] = deliver(platform, connection, "pull_request", opened)["runs"]
        assert run_status(admin, run1["run_id"], ENDED)["status"] == "planned_and_finished"
        wait_for(lambda: final_status(github, first, "success"), "the pull request's status")
        wait_for(lambda: github.comments.get(("octo-org/infra", 7)), "the comment")
        [comment] = github.comments[("octo-org/infra", 7)]
        assert f"<!-- iacp:workspace={ws} -->" in comment["body"]
        assert "No changes" in comment["body"]

        # A push to the pull request: its plan destroys the resource, which the mandatory
        # task refuses; the same comment says so, and the status fails.
        pushed = pull_request_body(url, second, action="synchronize")
        [run2] = deliver(platform, connection, "pull_request", pushed)["runs"]
        wait_for(lambda: final_status(github, second, "failure"), "the failed status")
        wait_for(
            lambda: (
                "❌ Stopped: run task no-destroy failed"
                in github.comments[("octo-org/infra", 7)][0]["body"]
            ),
            "the comment updated",
        )

    [comment] = github.comments[("octo-org/infra", 7)]
    body = comment["body"]
    assert run2["run_id"] in body
    assert "Plan: 1 to add, 0 to change, 1 to destroy" in body
    assert "| delete | <code>terraform_data.greeting</code> |" in body
    assert "| create | <code>terraform_data.renamed</code> |" in body
    assert "| no-destroy | post_plan | mandatory | failed |" in body
    assert "from the second commit" not in body  # values never appear
    assert github.statuses_of(second)[-1]["description"] == "Run task no-destroy failed"
    comment_writes = [r.method for r in github.writes() if "/comments" in r.path]
    assert comment_writes[0] == "POST" and set(comment_writes[1:]) == {"PATCH"}
    admin.post(f"/runs/{run2['run_id']}/actions/cancel", {})  # leave nothing waiting


def test_a_failing_host_is_retried_and_the_run_says_so_until_it_recovers(
    platform: LocalPlatform, admin, connection, repository, github
):
    url, (first, _second) = repository
    workspace(admin, "fb-outage", connection, url)
    github.fail_next = 1_000_000  # GitHub is down

    [started] = deliver(platform, connection, "push", push_body(url, first))["runs"]
    failed = wait_for(
        lambda: (f := feedback(admin, started["run_id"])).get("status") == "failed" and f,
        "the failure on the run",
    )
    assert "GitHub answered HTTP 502" in failed["reason"]
    assert TOKEN not in failed["reason"]
    run = run_status(admin, started["run_id"], {"planned", "errored"})
    assert run["status"] == "planned"  # the outage never holds the run up
    # The run waits now: no new status change, so what writes the run's feedback from here on
    # are SQS's redeliveries of the messages that failed.
    wait_for(lambda: feedback(admin, started["run_id"]).get("attempts", 0) >= 2, "a retried report")

    github.fail_next = 0  # GitHub is back: the retries get through
    wait_for(
        lambda: feedback(admin, started["run_id"]).get("status") == "posted", "the report posted"
    )
    last = wait_for(lambda: final_status(github, first, "pending"), "the status")
    assert (
        last["description"] == "Waiting for confirmation: Plan: 1 to add, 0 to change, 0 to destroy"
    )
    admin.post(f"/runs/{started['run_id']}/actions/discard", {})


def note_names(gitlab: FakeGitLab, project: tuple[str, int], run_id: str) -> bool:
    """Whether the merge request's (first) note is about ``run_id``."""
    notes = gitlab.comments.get(project) or []
    return bool(notes) and run_id in notes[0]["body"]


def test_a_gitlab_merge_request_gets_statuses_and_one_note_each_push_edits(
    platform: LocalPlatform, admin, tmp_path
):
    bare, _ = make_repository(tmp_path, [{"infra/main.tf": greeting("on main")}], name="gl-fb")
    work = tmp_path / "gl-fb-work"
    git("checkout", "--quiet", "-b", "feature", cwd=work)
    heads = []
    for text in ("from the merge request", "from its second push"):
        (work / "infra" / "main.tf").write_text(greeting(text))
        git("commit", "--quiet", "--all", "-m", text, cwd=work)
        heads.append(git("rev-parse", "HEAD", cwd=work))
        # GitLab keeps every merge request's head under refs/merge-requests/<iid>/head.
        git("push", "--quiet", "--force", "origin", "HEAD:refs/merge-requests/7/head", cwd=work)
    url = file_url(bare)
    with FakeGitLab() as gitlab:
        created = admin.post(
            "/vcs-connections",
            {
                "provider": "gitlab",
                "webhook_secret": WEBHOOK_SECRET,
                "token": TOKEN,
                "api_url": gitlab.url,
            },
        )
        assert created.status == 201, created.body
        connection = created.json()["id"]
        ws = workspace(admin, "gl-feedback", connection, url)
        project = ("platform/infra/live", 7)

        for head, oldrev in ((heads[0], None), (heads[1], heads[0])):
            action = "open" if oldrev is None else "update"
            body = gitlab_merge_request_body(url, head, iid=7, action=action, oldrev=oldrev)
            [started] = deliver_gitlab(platform, connection, "Merge Request Hook", body)["runs"]
            run = run_status(admin, started["run_id"], ENDED)
            assert run["status"] == "planned_and_finished", run["error"]
            wait_for(partial(final_status, gitlab, head, "success"), "the success status")
            wait_for(partial(note_names, gitlab, project, run["id"]), "the note for this run")

        [note] = gitlab.comments[project]
        assert f"<!-- iacp:workspace={ws} -->" in note["body"]
        assert "from its second push" not in note["body"]  # values never appear
        for head in heads:
            states = [s["state"] for s in gitlab.statuses_of(head)]
            # Each report posts the run's state then: "running" (GitLab's word for a run under
            # way) until it ends, unless it ended before its first report, as a fast plan can.
            assert states[-1] == "success" and set(states[:-1]) <= {"running"}, states
            assert {s["name"] for s in gitlab.statuses_of(head)} == {"iacp/gl-feedback"}
        note_writes = [r.method for r in gitlab.writes() if "/notes" in r.path]
        assert note_writes[0] == "POST" and set(note_writes[1:]) == {"PUT"}
