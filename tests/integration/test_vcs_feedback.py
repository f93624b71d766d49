"""Reporting runs back to their repository host on the durable path: the runs table's stream →
the run events bus → VcsFeedbackRule → VcsFeedbackQueue → VcsFeedbackFunction, driven as
Lambda's event-source mappings would drive them, to fake GitHub and GitLab APIs on
127.0.0.1 (tests/vcs_hosts.py).

The runs are written to the runs table directly, as the workflow would move them, with the
commit a webhook would give them: GitLab's inbound webhooks are not needed to test what is
reported to GitLab. Failed reports come back after 2 s, 4 s, ... (local mode's
VcsFeedbackRetrySeconds)."""

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from iacp.configurations.models import CommitSource
from iacp.outbound import Outbound, call_json
from iacp.runs.models import Operation, Run
from iacp.runs.status import RunStatus
from iacp.runs.store import DynamoRunStore
from iacp.timestamps import utcnow
from iacp.vcs.models import VcsProvider
from local.queues import QueuePoller
from local.streams import StreamPoller
from tests.runs_support import s3_put
from tests.vcs_hosts import TOKEN, FakeGitHub, FakeGitLab

SECRET = "a-webhook-secret-of-some-length"
SHA = "0123456789abcdef0123456789abcdef01234567"
SHA2 = "89abcdef0123456789abcdef0123456789abcdef"
PROJECT = "platform/infra/network"  # GitLab: a project in a subgroup


@pytest.fixture
def pollers(stream_poller, queue_poller) -> tuple[StreamPoller, QueuePoller]:
    return stream_poller, queue_poller("VcsFeedbackFunction")


@pytest.fixture
def gitlab() -> Iterator[FakeGitLab]:
    with FakeGitLab() as host:
        yield host


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as host:
        yield host


def connection(admin, provider: str, api_url: str, token: str | None = TOKEN) -> str:
    body = {"provider": provider, "webhook_secret": SECRET, "api_url": api_url}
    reply = admin.post("/vcs-connections", body | ({"token": token} if token else {}))
    assert reply.status == 201, reply.body
    return str(reply.json()["id"])


def workspace(admin, name: str, connection_id: str) -> str:
    vcs = {"connection_id": connection_id, "repository": "octo-org/infra", "branch": "main"}
    reply = admin.post("/workspaces", {"name": name, "vcs": vcs})
    assert reply.status == 201, reply.body
    return str(reply.json()["id"])


class Runs:
    """Runs moved along as the workflow moves them."""

    def __init__(self, aws: Any) -> None:
        self.aws = aws
        self.store = DynamoRunStore(aws.refs["RunsTable"])

    def start(
        self,
        run_id: str,
        workspace_id: str,
        connection_id: str,
        provider: VcsProvider,
        repository_path: str,
        sha: str = SHA,
        pull_request: int | None = None,
    ) -> str:
        vcs = CommitSource(
            provider=provider,
            connection_id=connection_id,
            repository=repository_path,
            repository_path=repository_path,
            clone_url=f"https://host.example/{repository_path}.git",
            branch="feature" if pull_request else "main",
            commit_sha=sha,
            pull_request_number=pull_request,
        )
        run = Run.pending(
            run_id=run_id,
            workspace_id=workspace_id,
            configuration_version_id="cv-1",
            operation=Operation.PLAN_ONLY if pull_request else Operation.PLAN_AND_APPLY,
            auto_apply=False,
            message="from a commit",
            created_by=connection_id,
            at=utcnow(),
            vcs=vcs,
        )
        assert self.store.add(run)
        return run_id

    def to(self, run_id: str, *statuses: RunStatus, **fields: Any) -> None:
        for status in statuses:
            self.store.transition(
                run_id, status, utcnow(), fields if status is statuses[-1] else {}
            )

    def planned(self, run_id: str, changes: list[dict[str, Any]]) -> None:
        s3_put(
            self.aws,
            f"runs/{run_id}/plan/resource-changes.json",
            json.dumps({"resource_changes": changes}),
        )
        self.to(
            run_id,
            RunStatus.FETCHING,
            RunStatus.PLANNING,
            RunStatus.PLANNED_AND_FINISHED,
            has_changes=bool(changes),
            resource_additions=len(changes),
            resource_changes=0,
            resource_destructions=0,
        )

    def feedback(self, run_id: str) -> dict[str, Any] | None:
        run = self.store.get(run_id)
        assert run is not None
        return None if run.vcs_feedback is None else run.vcs_feedback.model_dump(mode="json")


@pytest.fixture
def runs(aws) -> Runs:
    return Runs(aws)


def report_until(
    pollers: tuple[StreamPoller, QueuePoller], done: Callable[[], bool], seconds: float = 30
) -> None:
    streams, queues = pollers
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        streams.poll()
        queues.poll()
        if done():
            return
        time.sleep(0.2)
    raise AssertionError("not reported in time")


CHANGE = {
    "address": "aws_db_instance.main",
    "change": {
        "actions": ["create"],
        "before": None,
        "after": {"password": "(sensitive value)", "name": "orders-db-secret-name"},
    },
}


def test_gitlab_gets_a_status_and_one_merge_request_note_updated_on_each_push(
    aws, admin, gitlab, runs, pollers
):
    vcs = connection(admin, "gitlab", gitlab.url)
    ws = workspace(admin, "gl-network", vcs)

    first = runs.start("run-gl1", ws, vcs, VcsProvider.GITLAB, PROJECT, SHA, pull_request=5)
    report_until(pollers, lambda: any(s["state"] == "running" for s in gitlab.statuses))
    runs.planned(first, [CHANGE])
    report_until(pollers, lambda: any(s["state"] == "success" for s in gitlab.statuses))
    report_until(pollers, lambda: bool(gitlab.comments.get((PROJECT, 5))))

    statuses = gitlab.statuses_of(SHA)
    assert {s["repository"] for s in statuses} == {PROJECT}  # the URL-encoded path, decoded
    assert {s["name"] for s in statuses} == {"iacp/gl-network"}
    assert statuses[0]["state"] == "running" and statuses[-1]["state"] == "success"
    assert statuses[-1]["description"] == "Plan: 1 to add, 0 to change, 0 to destroy"
    assert statuses[-1]["target_url"].endswith(f"/#/runs/{first}")
    [note] = gitlab.comments[(PROJECT, 5)]
    assert f"<!-- iacp:workspace={ws} -->" in note["body"]
    assert "aws_db_instance.main" in note["body"]
    assert "orders-db-secret-name" not in note["body"]
    assert all(r.headers.get("PRIVATE-TOKEN") == TOKEN for r in gitlab.requests)
    assert runs.feedback(first)["status"] == "posted"

    # A new push to the merge request: its run's report edits the same note.
    second = runs.start("run-gl2", ws, vcs, VcsProvider.GITLAB, PROJECT, SHA2, pull_request=5)
    runs.planned(second, [])
    report_until(pollers, lambda: any(s["state"] == "success" for s in gitlab.statuses_of(SHA2)))
    report_until(pollers, lambda: second in gitlab.comments[(PROJECT, 5)][0]["body"])

    [note] = gitlab.comments[(PROJECT, 5)]
    assert "No changes" in note["body"] and "aws_db_instance.main" not in note["body"]
    assert [r.method for r in gitlab.writes() if "/notes" in r.path] == ["POST", "PUT"]
    feedback = runs.feedback(second)
    assert feedback["status"] == "posted"
    note_id = note["id"]
    assert f"; comment {note_id} " in feedback["reason"]  # updated, then unchanged by repeats


def test_a_failing_host_is_retried_and_the_failure_shows_on_the_run(
    aws, admin, github, runs, pollers
):
    vcs = connection(admin, "github", github.url)
    ws = workspace(admin, "gh-app", vcs)
    github.fail_next = 2

    run = runs.start("run-gh1", ws, vcs, VcsProvider.GITHUB, "octo-org/infra")
    report_until(pollers, lambda: (runs.feedback(run) or {}).get("status") == "failed")

    failed = runs.feedback(run)
    assert failed["attempts"] >= 1
    assert "GitHub answered HTTP 502" in failed["reason"] and TOKEN not in failed["reason"]

    report_until(pollers, lambda: (runs.feedback(run) or {}).get("status") == "posted")
    [status] = github.statuses_of(SHA)
    assert (status["state"], status["context"], status["description"]) == (
        "pending",
        "iacp/gh-app",
        "Queued",
    )
    assert runs.feedback(run)["attempts"] >= 2  # SQS brought the message back


def test_a_wrong_token_fails_the_report_and_says_what_the_host_answered(
    aws, admin, github, runs, pollers
):
    vcs = connection(admin, "github", github.url, token="not-the-token")
    ws = workspace(admin, "gh-denied", vcs)

    run = runs.start("run-gh2", ws, vcs, VcsProvider.GITHUB, "octo-org/infra")
    report_until(pollers, lambda: (runs.feedback(run) or {}).get("status") == "failed")

    reason = runs.feedback(run)["reason"]
    assert "HTTP 401: Bad credentials" in reason and "not-the-token" not in reason
    assert github.statuses == []


def test_a_connection_without_a_token_is_skipped_and_says_why(aws, admin, github, runs, pollers):
    vcs = connection(admin, "github", github.url, token=None)
    ws = workspace(admin, "gh-public", vcs)

    run = runs.start("run-gh3", ws, vcs, VcsProvider.GITHUB, "octo-org/infra")
    report_until(pollers, lambda: runs.feedback(run) is not None)

    assert runs.feedback(run)["status"] == "skipped"
    assert "no token" in runs.feedback(run)["reason"]
    assert github.requests == []


def test_a_run_without_a_commit_is_not_reported(aws, admin, runs, pollers, github):
    """The rule takes only events whose ``detail.vcs.commit_sha`` exists."""
    vcs = connection(admin, "github", github.url)
    ws = workspace(admin, "gh-plain", vcs)
    run = Run.pending(
        run_id="run-plain",
        workspace_id=ws,
        configuration_version_id="cv-1",
        operation=Operation.PLAN_AND_APPLY,
        auto_apply=False,
        message="uploaded",
        created_by="at-1",
        at=utcnow(),
    )
    runs.store.add(run)
    streams, queues = pollers
    for _ in range(5):
        streams.poll()
        assert queues.poll() == 0
        time.sleep(0.1)
    assert github.requests == []


def test_a_json_call_to_a_private_address_is_refused_unless_allowed(github):
    refused = call_json(
        Outbound(private_addresses=False),
        "GET",
        github.url + "/x",
        {},
        timeout=2,
        receiver="GitHub",
    )
    allowed = call_json(
        Outbound(private_addresses=True), "GET", github.url + "/x", {}, timeout=2, receiver="GitHub"
    )

    assert not refused.ok and "private address 127.0.0.1" in refused.problem
    assert refused.status_code is None and github.requests[:1] == [github.requests[0]]
    assert len(github.requests) == 1  # only the allowed call reached it
    assert allowed.status_code == 401 and allowed.body == {"message": "Bad credentials"}
