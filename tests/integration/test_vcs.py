"""VCS-driven runs through the API gateway (in-process moto, workflow started but not
executed): connections and their secrets, workspace VCS settings, GitHub webhook deliveries
in GitHub's documented format and signature, and CodeCommit push events. The runs' fetch,
plan and apply with real git and Terraform are in tests/e2e/test_vcs_runs.py."""

import json
from typing import Any

import boto3
import pytest

from iacp.orchestration.workflow import FailureInput, RunRef, StartInput
from iacp.principal import Role
from local.functions import LambdaContext
from local.gateway import GatewayReply
from tests.conftest import ApiClient, assert_error, mint
from tests.runs_support import machinery_for, s3_put, upload_configuration
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

REPO = "file:///srv/git/infra.git"
SHA = "1" * 40


@pytest.fixture
def github(admin) -> dict[str, Any]:
    reply = admin.post(
        "/vcs-connections",
        {"provider": "github", "webhook_secret": WEBHOOK_SECRET, "token": "ghp_secret_token"},
    )
    assert reply.status == 201, reply.body
    return dict(reply.json())


def workspace(admin: ApiClient, name: str, connection: str, **vcs: Any) -> str:
    settings = {"connection_id": connection, "repository": REPO, "branch": "main"} | vcs
    auto_apply = bool(settings.pop("auto_apply", False))
    reply = admin.post("/workspaces", {"name": name, "vcs": settings, "auto_apply": auto_apply})
    assert reply.status == 201, reply.body
    return str(reply.json()["id"])


def deliver(
    gateway, connection: str, event: str, payload: dict[str, Any], **headers: Any
) -> GatewayReply:
    body = encoded(payload)
    return gateway.request(
        "POST",
        f"/api/v1/webhooks/github/{connection}",
        headers=delivery_headers(event, body, **headers),
        body=body.decode(),
    )


def runs_of(admin: ApiClient, workspace_id: str) -> list[dict[str, Any]]:
    return admin.list_all(f"/workspaces/{workspace_id}/runs")


def secrets() -> list[str]:
    """The VCS connections' secrets (not the platform secret), not scheduled for deletion."""
    listed = boto3.client("secretsmanager").list_secrets(IncludePlannedDeletion=False)
    return sorted(s["Name"] for s in listed["SecretList"] if "/vcs/" in s["Name"])


# --- connections ---------------------------------------------------------------------------


def test_a_github_connection_keeps_its_secrets_in_secrets_manager(aws, admin, reader, github):
    assert github["provider"] == "github"
    assert github["api_url"] == "https://api.github.com"
    assert github["webhook_url"].endswith(f"/api/v1/webhooks/github/{github['id']}")
    assert github["webhook_url"].startswith("https://")
    assert github["webhook_secret_set"] and github["token_set"]
    stored = boto3.client("secretsmanager").get_secret_value(
        SecretId=f"{aws.prefix}/vcs/{github['id']}"
    )
    assert json.loads(stored["SecretString"]) == {
        "webhook_secret": WEBHOOK_SECRET,
        "token": "ghp_secret_token",
    }
    for reply in (
        reader.get("/vcs-connections"),
        reader.get(f"/vcs-connections/{github['id']}"),
    ):
        assert reply.status == 200, reply.body
        assert WEBHOOK_SECRET not in reply.body and "ghp_secret_token" not in reply.body
    assert reader.get("/vcs-connections").json()["items"] == [github]


def test_a_gitlab_connection_has_its_webhook_and_its_instance(admin):
    body = {
        "provider": "gitlab",
        "webhook_secret": WEBHOOK_SECRET,
        "token": "glpat-secret",
        "api_url": "https://gitlab.example.com/",
    }

    created = admin.post("/vcs-connections", body).json()

    assert created["webhook_url"].endswith(f"/api/v1/webhooks/gitlab/{created['id']}")
    assert created["api_url"] == "https://gitlab.example.com"
    assert created["token_set"] and created["webhook_secret_set"]
    default = admin.post(
        "/vcs-connections", {"provider": "gitlab", "webhook_secret": WEBHOOK_SECRET}
    )
    assert default.json()["api_url"] == "https://gitlab.com"
    assert admin.get(f"/vcs-connections/{created['id']}").json() == created


def test_a_codecommit_connection_has_no_secret_and_no_webhook(admin):
    reply = admin.post("/vcs-connections", {"provider": "codecommit"})

    assert reply.status == 201, reply.body
    assert reply.json()["webhook_url"] is None
    assert secrets() == []


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"provider": "github"}, "/webhook_secret"),
        ({"provider": "github", "webhook_secret": "short"}, "/webhook_secret"),
        ({"provider": "codecommit", "token": "x"}, "/token"),
        ({"provider": "bitbucket", "webhook_secret": WEBHOOK_SECRET}, "/provider"),
        ({"provider": "gitlab"}, "/webhook_secret"),
        ({"provider": "codecommit", "api_url": "https://x.example"}, "/api_url"),
        (
            {"provider": "github", "webhook_secret": WEBHOOK_SECRET, "api_url": "ftp://x"},
            "/api_url",
        ),
        ({"provider": "github", "webhook_secret": WEBHOOK_SECRET, "extra": 1}, "/extra"),
    ],
)
def test_bad_connections_are_422_and_store_nothing(admin, body, pointer):
    error = assert_error(admin.post("/vcs-connections", body), 422, pointer)

    assert WEBHOOK_SECRET not in json.dumps(error)
    assert admin.get("/vcs-connections").json()["items"] == []
    assert secrets() == []


def test_only_admins_manage_connections(aws, gateway, github):
    writer = ApiClient(gateway, mint(aws, Role.WRITE))
    body = {"provider": "github", "webhook_secret": WEBHOOK_SECRET}
    assert_error(writer.post("/vcs-connections", body), 403)
    assert_error(writer.delete(f"/vcs-connections/{github['id']}"), 403)


def test_a_connection_in_use_is_kept_until_its_workspaces_let_go(aws, admin, github):
    ws = workspace(admin, "app", github["id"])

    assert_error(admin.delete(f"/vcs-connections/{github['id']}"), 409)
    assert admin.patch(f"/workspaces/{ws}", {"vcs": None}).json()["vcs"] is None
    assert admin.delete(f"/vcs-connections/{github['id']}").status == 204

    assert_error(admin.get(f"/vcs-connections/{github['id']}"), 404)
    assert secrets() == []  # scheduled for deletion, restorable for a week


# --- workspace settings --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vcs", "pointer"),
    [
        ({"connection_id": "vcs-AAAAAAAAAAAAAAAA"}, "/vcs/connection_id"),
        ({"repository": "infra"}, "/vcs/repository"),  # GitHub wants owner/name
        ({"repository": "https://user:pw@github.com/o/r.git"}, "/vcs/repository"),
        ({"branch": "a..b"}, "/vcs/branch"),
        ({"trigger_prefixes": ["../elsewhere"]}, "/vcs/trigger_prefixes/0"),
        ({"branch": None}, "/vcs/branch"),
    ],
)
def test_bad_vcs_settings_are_422_and_change_nothing(admin, github, vcs, pointer):
    settings = {"connection_id": github["id"], "repository": "o/r", "branch": "main"} | vcs
    assert_error(admin.post("/workspaces", {"name": "app", "vcs": settings}), 422, pointer)
    assert admin.list_all("/workspaces") == []


def test_vcs_settings_are_shown_and_can_be_changed(admin, github):
    ws = workspace(admin, "app", github["id"], trigger_prefixes=["/modules/", "app"])

    shown = admin.get(f"/workspaces/{ws}").json()["vcs"]
    assert shown == {
        "connection_id": github["id"],
        "repository": REPO,
        "branch": "main",
        "trigger_prefixes": ["modules", "app"],
        "tags": None,
    }
    changed = admin.patch(f"/workspaces/{ws}", {"vcs": shown | {"branch": "release"}})
    assert changed.json()["vcs"]["branch"] == "release"


# --- GitHub webhooks -----------------------------------------------------------------------


def test_a_delivery_without_the_right_signature_is_401_and_starts_nothing(
    aws, gateway, admin, github
):
    ws = workspace(admin, "app", github["id"])
    body = encoded(push_body(REPO, SHA))
    path = f"/api/v1/webhooks/github/{github['id']}"
    unsigned = delivery_headers("push", body)
    del unsigned["X-Hub-Signature-256"]
    tampered = body.replace(SHA.encode(), ("2" * 40).encode())

    for headers, sent in (
        (unsigned, body),
        (delivery_headers("push", body, secret="not-the-webhook-secret"), body),
        (delivery_headers("push", body), tampered),
        (delivery_headers("push", body) | {"X-Hub-Signature-256": "sha1=abc"}, body),
    ):
        reply = gateway.request("POST", path, headers=headers, body=sent.decode())
        assert_error(reply, 401)
    assert runs_of(admin, ws) == []


def test_ping_is_200_and_other_events_are_202(gateway, github):
    assert deliver(gateway, github["id"], "ping", {"zen": "Keep it simple."}).status == 200
    reply = deliver(gateway, github["id"], "issues", {"action": "opened"})
    assert reply.status == 202
    assert "issues" in reply.json()["message"]


def test_unreadable_deliveries_are_clear_4xx(gateway, github):
    path = f"/api/v1/webhooks/github/{github['id']}"

    def send(body: bytes, **extra: str) -> GatewayReply:
        headers = delivery_headers("push", body) | extra
        return gateway.request("POST", path, headers=headers, body=body.decode())

    assert "JSON" in assert_error(send(b"{not json"), 400)["detail"]
    form = b"payload=%7B%7D"
    reply = send(form, **{"Content-Type": "application/x-www-form-urlencoded"})
    assert "application/json" in assert_error(reply, 415)["detail"]
    assert_error(send(b'"' + b"x" * (5 * 1024 * 1024) + b'"'), 413)
    no_commit = push_body(REPO, SHA)
    del no_commit["after"]
    assert_error(send(encoded(no_commit)), 422, "/after")
    missing = gateway.request(
        "POST", "/api/v1/webhooks/github/vcs-AAAAAAAAAAAAAAAA", headers={}, body="{}"
    )
    assert_error(missing, 404)


def test_a_push_starts_one_run_per_matching_workspace(aws, gateway, admin, github):
    everything = workspace(admin, "everything", github["id"], auto_apply=True)
    app = workspace(admin, "app", github["id"], trigger_prefixes=["app"])
    modules = workspace(admin, "modules", github["id"], trigger_prefixes=["modules"])
    release = workspace(admin, "release", github["id"], branch="release")
    elsewhere = workspace(admin, "elsewhere", github["id"], repository="octo-org/other")

    reply = deliver(gateway, github["id"], "push", push_body(REPO, SHA, changed=("app/main.tf",)))

    assert reply.status == 200, reply.body
    report = reply.json()
    started = {r["workspace_id"]: r["run_id"] for r in report["runs"]}
    assert set(started) == {everything, app}
    assert {s["workspace_id"] for s in report["skipped"]} == {modules, release}
    assert runs_of(admin, modules) == runs_of(admin, release) == runs_of(admin, elsewhere) == []
    run = admin.get(f"/runs/{started[everything]}").json()
    assert run["operation"] == "plan_and_apply" and not run["is_speculative"]
    assert run["auto_apply"] is True
    assert admin.get(f"/runs/{started[app]}").json()["auto_apply"] is False
    assert run["message"] == "Change the greeting"
    assert run["created_by"] == github["id"]
    assert run["vcs"] == {
        "provider": "github",
        "connection_id": github["id"],
        "repository": REPO,
        "repository_path": "octo-org/infra",
        "clone_url": REPO,
        "repository_url": "https://github.com/octo-org/infra",
        "branch": "main",
        "ref": "refs/heads/main",
        "commit_sha": SHA,
        "commit_url": f"https://github.com/octo-org/infra/commit/{SHA}",
        "pull_request_number": None,
        "pull_request_url": None,
        "sender": "octocat",
    }
    version = admin.get(
        f"/workspaces/{everything}/configuration-versions/{run['configuration_version_id']}"
    ).json()
    assert version["status"] == "pending" and version["vcs"] == run["vcs"]
    assert version["upload_url"] is None


def test_the_run_fetches_its_commit_with_the_connections_token(aws, gateway, admin, github):
    ws = workspace(admin, "app", github["id"])
    [started] = deliver(gateway, github["id"], "push", push_body(REPO, SHA)).json()["runs"]
    machinery = machinery_for(aws)
    arn = machinery.workflow.execution_arn(started["run_id"])
    workflow = machinery.run_workflow()

    output = workflow.start(StartInput(run_id=started["run_id"], execution_arn=arn))
    # No pre_plan tasks: no fetch task, the plan task fetches the commit.
    assert not output.needs_fetch and output.fetch is None
    plan = workflow.start_plan(RunRef(run_id=started["run_id"]))

    assert plan.vcs_clone_url == REPO and plan.vcs_commit == SHA
    assert plan.vcs_ref == "refs/heads/main"
    assert plan.configuration_key.startswith(f"configurations/{ws}/cv-")
    assert plan.vcs_credentials_secret.split(":")[-1].startswith(f"{aws.prefix}/vcs/")


def test_a_fetch_that_fails_errors_the_run_with_gits_message(aws, gateway, admin, github):
    ws = workspace(admin, "app", github["id"])
    [started] = deliver(gateway, github["id"], "push", push_body(REPO, SHA)).json()["runs"]
    run_id = started["run_id"]
    workflow = machinery_for(aws).run_workflow()
    workflow.start(StartInput(run_id=run_id, execution_arn="arn:x"))
    message = f"The commit {SHA} could not be fetched from {REPO}:\nfatal: not found"
    result = {
        "phase": "fetch",
        "status": "failed",
        "error": {"stage": "configuration", "message": message},
    }
    s3_put(aws, f"runs/{run_id}/fetch/result.json", json.dumps(result))

    workflow.handle_failure(
        FailureInput(run_id=run_id, error={"Error": "States.TaskFailed", "Cause": "{}"})
    )

    run = admin.get(f"/runs/{run_id}").json()
    assert run["status"] == "errored"
    assert run["error"] == {"stage": "configuration", "message": message}
    assert admin.get(f"/workspaces/{ws}").json()["current_run_id"] is None
    cv = run["configuration_version_id"]
    version = admin.get(f"/workspaces/{ws}/configuration-versions/{cv}").json()
    assert version["status"] == "errored"  # not pending forever


def test_an_uploaded_configuration_needs_no_fetch(aws, admin):
    ws = admin.post("/workspaces", {"name": "plain"}).json()["id"]
    upload_configuration(admin, aws, ws)
    run_id = admin.post(f"/workspaces/{ws}/runs", {}).json()["id"]
    machinery = machinery_for(aws)
    arn = machinery.workflow.execution_arn(run_id)

    output = machinery.run_workflow().start(StartInput(run_id=run_id, execution_arn=arn))

    assert not output.needs_fetch and output.fetch is None


def test_a_repeated_delivery_starts_nothing_new(gateway, admin, github):
    ws = workspace(admin, "app", github["id"])
    payload = push_body(REPO, SHA)
    first = deliver(gateway, github["id"], "push", payload, delivery="d-1").json()

    again = deliver(gateway, github["id"], "push", payload, delivery="d-1").json()
    # The same body under another delivery id is the same push replayed.
    replayed = deliver(gateway, github["id"], "push", payload, delivery="d-2").json()

    [run] = runs_of(admin, ws)
    assert first["runs"][0]["status"] == "started"
    for reply in (again, replayed):
        assert reply["runs"] == [
            {"workspace_id": ws, "run_id": run["id"], "status": "already_started"}
        ]
        assert "nothing new" in reply["message"]


def test_a_push_to_a_repository_no_workspace_tracks_is_200_and_starts_nothing(
    gateway, admin, github
):
    ws = workspace(admin, "app", github["id"])
    payload = push_body("file:///srv/git/other.git", SHA, full_name="octo-org/other")

    reply = deliver(gateway, github["id"], "push", payload)

    assert reply.status == 200
    assert reply.json() == {
        "message": "No workspace tracks this repository.",
        "runs": [],
        "skipped": [],
    }
    assert runs_of(admin, ws) == []


def test_a_pull_request_starts_a_speculative_plan(gateway, admin, github):
    ws = workspace(admin, "app", github["id"], trigger_prefixes=["elsewhere"])
    latest_before = admin.get(f"/workspaces/{ws}").json()

    reply = deliver(gateway, github["id"], "pull_request", pull_request_body(REPO, SHA))
    closed = deliver(
        gateway, github["id"], "pull_request", pull_request_body(REPO, SHA, action="closed")
    )

    [started] = reply.json()["runs"]
    run = admin.get(f"/runs/{started['run_id']}").json()
    assert run["operation"] == "plan_only" and run["is_speculative"] is True
    assert run["status"] == "pending"  # its execution is started; moto does not run it here
    assert run["vcs"]["pull_request_url"] == "https://github.com/octo-org/infra/pull/7"
    assert run["vcs"]["branch"] == "feature" and run["vcs"]["ref"] == "refs/pull/7/head"
    assert run["message"] == "Pull request #7: Try a new greeting"
    assert closed.status == 200 and closed.json()["runs"] == []
    # A pull request's configuration never becomes the workspace's latest (its run is the
    # workspace's latest run, though).
    after = admin.get(f"/workspaces/{ws}").json()
    assert after.pop("latest_run")["id"] == started["run_id"]
    assert after == {k: v for k, v in latest_before.items() if k != "latest_run"}
    assert_error(admin.post(f"/workspaces/{ws}/runs", {}), 422, "/configuration_version_id")


# --- CodeCommit ----------------------------------------------------------------------------


def codecommit_event(event_id: str, reference_type: str = "branch") -> dict[str, Any]:
    """An EventBridge "CodeCommit Repository State Change" event, as AWS documents it."""
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "CodeCommit Repository State Change",
        "source": "aws.codecommit",
        "account": "123456789012",
        "time": "2026-11-24T10:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:codecommit:us-east-1:123456789012:infra"],
        "detail": {
            "callerUserArn": "arn:aws:iam::123456789012:user/Mary_Major",
            "commitId": SHA,
            "event": "referenceUpdated",
            "oldCommitId": "2" * 40,
            "referenceFullName": f"refs/{'heads' if reference_type == 'branch' else 'tags'}/main",
            "referenceName": "main",
            "referenceType": reference_type,
            "repositoryId": "12345678-1234-5678-abcd-12345678abcd",
            "repositoryName": "infra",
        },
    }


def test_codecommit_pushes_start_runs_without_a_webhook(aws, admin, handlers):
    connection = admin.post("/vcs-connections", {"provider": "codecommit"}).json()["id"]
    ws = workspace(admin, "app", connection, repository="infra")
    handler = handlers["CodeCommitEventsFunction"]
    context = LambdaContext("CodeCommitEventsFunction")

    [report] = handler(codecommit_event("e-1"), context)["reports"]
    handler(codecommit_event("e-1"), context)  # EventBridge delivers at least once
    tag = handler(codecommit_event("e-2", reference_type="tag"), context)

    [run] = runs_of(admin, ws)
    assert report["runs"] == [{"workspace_id": ws, "run_id": run["id"], "status": "started"}]
    assert run["operation"] == "plan_and_apply"
    assert run["vcs"]["clone_url"] == "codecommit::us-east-1://infra"
    assert run["vcs"]["commit_sha"] == SHA
    assert run["vcs"]["sender"] == "arn:aws:iam::123456789012:user/Mary_Major"
    assert tag == {"reports": []}


# --- GitLab webhooks -----------------------------------------------------------------------

GITLAB_PATH = "platform/infra/live"


@pytest.fixture
def gitlab(admin) -> dict[str, Any]:
    reply = admin.post(
        "/vcs-connections",
        {"provider": "gitlab", "webhook_secret": WEBHOOK_SECRET, "token": "glpat-secret"},
    )
    assert reply.status == 201, reply.body
    return dict(reply.json())


def deliver_gitlab(
    gateway, connection: str, event: str, payload: Any, **headers: Any
) -> GatewayReply:
    body = payload if isinstance(payload, bytes) else encoded(payload)
    sent = gitlab_headers(event, **headers)
    return gateway.request(
        "POST", f"/api/v1/webhooks/gitlab/{connection}", headers=sent, body=body.decode()
    )


def test_a_gitlab_delivery_without_the_secret_token_is_401_and_starts_nothing(
    gateway, admin, gitlab, github
):
    ws = workspace(admin, "app", gitlab["id"], repository=GITLAB_PATH)
    body = encoded(gitlab_push_body(REPO, SHA))
    path = f"/api/v1/webhooks/gitlab/{gitlab['id']}"
    missing = gitlab_headers("Push Hook")
    del missing["X-Gitlab-Token"]

    for headers in (
        missing,
        gitlab_headers("Push Hook", token="not-the-webhook-secret"),
        gitlab_headers("Push Hook", token=WEBHOOK_SECRET + "x"),
        gitlab_headers("Push Hook", token=""),
    ):
        reply = gateway.request("POST", path, headers=headers, body=body.decode())
        error = assert_error(reply, 401)
        assert "X-Gitlab-Token" in error["detail"] and WEBHOOK_SECRET not in reply.body
    assert runs_of(admin, ws) == []
    # The right token: it runs.
    assert deliver_gitlab(gateway, gitlab["id"], "Push Hook", body).status == 200
    assert len(runs_of(admin, ws)) == 1
    # Not a GitLab connection, or none: 404 (the GitHub route does not take GitLab's either).
    for connection in (github["id"], "vcs-AAAAAAAAAAAAAAAA"):
        assert_error(deliver_gitlab(gateway, connection, "Push Hook", body), 404)
    assert_error(deliver(gateway, gitlab["id"], "push", push_body(REPO, SHA)), 404)


def test_a_gitlab_push_plans_and_applies_on_every_matching_workspace(gateway, admin, gitlab):
    by_path = workspace(admin, "by-path", gitlab["id"], repository=GITLAB_PATH, auto_apply=True)
    by_url = workspace(
        admin, "by-url", gitlab["id"], repository=f"https://gitlab.com/{GITLAB_PATH}.git"
    )
    by_clone_url = workspace(admin, "by-clone-url", gitlab["id"], trigger_prefixes=["app"])
    elsewhere = workspace(admin, "elsewhere", gitlab["id"], repository="platform/infra/other")

    payload = gitlab_push_body(REPO, SHA, changed=("app/main.tf",))
    reply = deliver_gitlab(gateway, gitlab["id"], "Push Hook", payload)

    assert reply.status == 200, reply.body
    started = {r["workspace_id"]: r["run_id"] for r in reply.json()["runs"]}
    assert set(started) == {by_path, by_url, by_clone_url}
    assert runs_of(admin, elsewhere) == []
    run = admin.get(f"/runs/{started[by_path]}").json()
    assert run["operation"] == "plan_and_apply" and not run["is_speculative"]
    assert run["auto_apply"] is True
    assert run["message"] == "Change the greeting"
    assert run["created_by"] == gitlab["id"]
    assert run["vcs"] == {
        "provider": "gitlab",
        "connection_id": gitlab["id"],
        "repository": GITLAB_PATH,
        "repository_path": GITLAB_PATH,
        "clone_url": REPO,  # the project's git_http_url
        "repository_url": f"https://gitlab.com/{GITLAB_PATH}",
        "branch": "main",
        "ref": "refs/heads/main",
        "commit_sha": SHA,
        "commit_url": f"https://gitlab.com/{GITLAB_PATH}/-/commit/{SHA}",
        "pull_request_number": None,
        "pull_request_url": None,
        "sender": "root",
    }
    # Trigger prefixes: a push of files elsewhere skips it; a push GitLab lists only part of
    # (over 20 commits) runs it, its files not all being known.
    elsewhere_push = gitlab_push_body(REPO, "3" * 40, changed=("docs/x.md",))
    skipped = deliver_gitlab(gateway, gitlab["id"], "Push Hook", elsewhere_push).json()
    assert by_clone_url in {s["workspace_id"] for s in skipped["skipped"]}
    long_push = gitlab_push_body(REPO, "4" * 40, changed=("docs/x.md",), total_commits_count=40)
    ran = deliver_gitlab(gateway, gitlab["id"], "Push Hook", long_push).json()
    assert by_clone_url in {r["workspace_id"] for r in ran["runs"]}


def test_a_gitlab_merge_request_gets_a_speculative_plan_when_it_has_new_commits(
    gateway, admin, gitlab
):
    ws = workspace(admin, "app", gitlab["id"], repository=GITLAB_PATH, trigger_prefixes=["x"])
    hook = "Merge Request Hook"

    opened = deliver_gitlab(gateway, gitlab["id"], hook, gitlab_merge_request_body(REPO, SHA))
    retitled = deliver_gitlab(
        gateway, gitlab["id"], hook, gitlab_merge_request_body(REPO, SHA, action="update")
    )
    pushed = deliver_gitlab(
        gateway,
        gitlab["id"],
        hook,
        gitlab_merge_request_body(REPO, "5" * 40, action="update", oldrev=SHA),
    )
    others = [
        deliver_gitlab(gateway, gitlab["id"], hook, gitlab_merge_request_body(REPO, SHA, action=a))
        for a in ("close", "merge", "approved")
    ]
    elsewhere = deliver_gitlab(
        gateway, gitlab["id"], hook, gitlab_merge_request_body(REPO, SHA, target="develop")
    )

    [started] = opened.json()["runs"]
    run = admin.get(f"/runs/{started['run_id']}").json()
    assert run["operation"] == "plan_only" and run["is_speculative"] is True
    assert run["message"] == "Merge request !7: Try a new greeting"
    assert run["vcs"]["branch"] == "feature"
    assert run["vcs"]["ref"] == "refs/merge-requests/7/head"
    assert run["vcs"]["pull_request_number"] == 7
    assert run["vcs"]["pull_request_url"] == f"https://gitlab.com/{GITLAB_PATH}/-/merge_requests/7"
    assert run["vcs"]["sender"] == "root"
    assert retitled.status == 200 and retitled.json()["runs"] == []
    assert "no new commits" in retitled.json()["message"]
    [updated] = pushed.json()["runs"]
    assert admin.get(f"/runs/{updated['run_id']}").json()["vcs"]["commit_sha"] == "5" * 40
    for reply in others:
        assert reply.status == 200 and reply.json()["runs"] == []
    assert elsewhere.json()["runs"] == [] and elsewhere.json()["skipped"]
    assert len(runs_of(admin, ws)) == 2
    # A merge request's configuration never becomes the workspace's latest.
    assert_error(admin.post(f"/workspaces/{ws}/runs", {}), 422, "/configuration_version_id")


def test_a_gitlab_tag_push_plans_and_applies_where_the_tags_pattern_matches(gateway, admin, gitlab):
    releases = workspace(admin, "releases", gitlab["id"], repository=GITLAB_PATH, tags="v*")
    exact = workspace(
        admin, "exact", gitlab["id"], repository=GITLAB_PATH, tags="v1.0.0", trigger_prefixes=["x"]
    )
    no_tags = workspace(admin, "no-tags", gitlab["id"], repository=GITLAB_PATH)
    hook = "Tag Push Hook"

    reply = deliver_gitlab(gateway, gitlab["id"], hook, gitlab_tag_push_body(REPO, SHA))
    other = deliver_gitlab(
        gateway, gitlab["id"], hook, gitlab_tag_push_body(REPO, SHA, tag="nightly-1")
    )
    deleted = deliver_gitlab(
        gateway, gitlab["id"], hook, gitlab_tag_push_body(REPO, SHA, deleted=True)
    )

    report = reply.json()
    # Trigger prefixes do not apply to tags.
    assert {r["workspace_id"] for r in report["runs"]} == {releases, exact}
    assert report["skipped"] == [
        {"workspace_id": no_tags, "reason": "it runs on no tags (vcs.tags is null)"}
    ]
    run = admin.get(f"/runs/{report['runs'][0]['run_id']}").json()
    assert run["operation"] == "plan_and_apply" and not run["is_speculative"]
    # The commit the tag points at, not the annotated tag's object.
    assert run["vcs"]["commit_sha"] == SHA and run["vcs"]["ref"] == "refs/tags/v1.0.0"
    assert run["vcs"]["branch"] == "v1.0.0"
    assert run["message"] == "Tag v1.0.0: Release 1.0.0"
    assert "tag push" in report["message"]
    # A tag no workspace's pattern matches starts nothing.
    assert other.status == 200 and other.json()["runs"] == []
    assert {s["workspace_id"] for s in other.json()["skipped"]} == {releases, exact, no_tags}
    assert deleted.json() == {
        "message": "Tag v1.0.0 was deleted: nothing to run.",
        "runs": [],
        "skipped": [],
    }
    assert runs_of(admin, no_tags) == []


def test_other_gitlab_events_and_deleted_branches_start_nothing(gateway, admin, gitlab):
    ws = workspace(admin, "app", gitlab["id"], repository=GITLAB_PATH)

    issue = deliver_gitlab(gateway, gitlab["id"], "Issue Hook", {"object_kind": "issue"})
    deleted = deliver_gitlab(
        gateway, gitlab["id"], "Push Hook", gitlab_push_body(REPO, SHA, deleted=True)
    )

    assert issue.status == 202 and "Issue Hook" in issue.json()["message"]
    assert deleted.status == 200 and "deleted" in deleted.json()["message"]
    assert runs_of(admin, ws) == []


@pytest.mark.parametrize(
    ("event", "change", "pointer"),
    [
        (
            "Push Hook",
            lambda b: b["project"].pop("path_with_namespace"),
            "/project/path_with_namespace",
        ),
        ("Push Hook", lambda b: b.pop("project"), "/project"),
        ("Push Hook", lambda b: b.update(checkout_sha="not-a-sha"), "/checkout_sha"),
        ("Push Hook", lambda b: b.update(commits="x"), "/commits"),
        ("Tag Push Hook", lambda b: b.pop("after"), "/after"),
        (
            "Merge Request Hook",
            lambda b: b["object_attributes"].pop("iid"),
            "/object_attributes/iid",
        ),
        (
            "Merge Request Hook",
            lambda b: b["object_attributes"]["last_commit"].update(id="abc"),
            "/object_attributes/last_commit/id",
        ),
        (
            "Merge Request Hook",
            lambda b: b["object_attributes"].pop("action"),
            "/object_attributes/action",
        ),
    ],
)
def test_a_gitlab_payload_without_what_the_platform_needs_is_422_naming_it(
    gateway, admin, gitlab, event, change, pointer
):
    ws = workspace(admin, "app", gitlab["id"], repository=GITLAB_PATH)
    builders = {
        "Push Hook": lambda: gitlab_push_body(REPO, SHA),
        "Tag Push Hook": lambda: gitlab_tag_push_body(REPO, SHA),
        "Merge Request Hook": lambda: gitlab_merge_request_body(REPO, SHA),
    }
    payload = builders[event]()
    change(payload)

    error = assert_error(deliver_gitlab(gateway, gitlab["id"], event, payload), 422, pointer)

    assert "GitLab" in error["detail"]
    assert runs_of(admin, ws) == []


def test_unreadable_gitlab_deliveries_are_clear_4xx(gateway, gitlab):
    path = f"/api/v1/webhooks/gitlab/{gitlab['id']}"

    def send(body: bytes, headers: dict[str, str] | None = None) -> GatewayReply:
        sent = headers or gitlab_headers("Push Hook")
        return gateway.request("POST", path, headers=sent, body=body.decode())

    assert "JSON" in assert_error(send(b"{not json"), 400)["detail"]
    assert "object" in assert_error(send(b"[1, 2]"), 400)["detail"]
    no_event = gitlab_headers("Push Hook")
    del no_event["X-Gitlab-Event"]
    assert "X-Gitlab-Event" in assert_error(send(b"{}", no_event), 400)["detail"]
    form = gitlab_headers("Push Hook") | {"Content-Type": "text/plain"}
    assert_error(send(b"{}", form), 415)
    assert_error(send(b'"' + b"x" * (5 * 1024 * 1024) + b'"'), 413)
    # The token is checked before the body is read: a stranger learns nothing of it.
    stranger = gitlab_headers("Push Hook", token="guess-guess-guess")
    assert_error(send(b"{not json", stranger), 401)
    del stranger["X-Gitlab-Event"]
    assert_error(send(b"[]", stranger), 401)


def test_a_gitlab_redelivery_starts_nothing_new(gateway, admin, gitlab):
    ws = workspace(admin, "app", gitlab["id"], repository=GITLAB_PATH)
    payload = gitlab_push_body(REPO, SHA)
    hook = "Push Hook"

    first = deliver_gitlab(gateway, gitlab["id"], hook, payload, idempotency_key="k-1").json()
    # GitLab's retry: the same Idempotency-Key, under a new event UUID.
    again = deliver_gitlab(gateway, gitlab["id"], hook, payload, idempotency_key="k-1").json()

    [run] = runs_of(admin, ws)
    assert first["runs"][0]["status"] == "started"
    assert again["runs"] == [{"workspace_id": ws, "run_id": run["id"], "status": "already_started"}]
    assert "nothing new" in again["message"]
    # Older GitLab versions send no Idempotency-Key: the event's UUID identifies it.
    older = gitlab_headers(hook, event_uuid="e-1")
    del older["Idempotency-Key"]
    path = f"/api/v1/webhooks/gitlab/{gitlab['id']}"
    body = encoded(gitlab_push_body(REPO, "6" * 40)).decode()
    replies = [gateway.request("POST", path, headers=older, body=body).json() for _ in range(2)]
    assert [r["runs"][0]["status"] for r in replies] == ["started", "already_started"]
    # Another delivery (another key) of a push is another run: GitLab says it is new.
    other = deliver_gitlab(gateway, gitlab["id"], hook, payload, idempotency_key="k-2").json()
    assert other["runs"][0]["status"] == "started"
    assert len(runs_of(admin, ws)) == 3


# --- branch and tag patterns ---------------------------------------------------------------


def test_branch_patterns_match_pushes_and_pull_requests(gateway, admin, github):
    releases = workspace(admin, "releases", github["id"], branch="release/*")
    hotfix = workspace(admin, "hotfix", github["id"], branch="hotfix-[0-9]")

    pushes = {
        branch: deliver(gateway, github["id"], "push", push_body(REPO, SHA, branch=branch)).json()
        for branch in ("release/1.2", "release/eu/1.3", "hotfix-7", "main", "Release/1.4")
    }
    pull = deliver(
        gateway, github["id"], "pull_request", pull_request_body(REPO, SHA, base="release/2.0")
    ).json()

    def started(report: dict[str, Any]) -> set[str]:
        return {r["workspace_id"] for r in report["runs"]}

    assert started(pushes["release/1.2"]) == {releases}
    assert started(pushes["release/eu/1.3"]) == {releases}  # * matches / too
    assert started(pushes["hotfix-7"]) == {hotfix}
    assert started(pushes["main"]) == started(pushes["Release/1.4"]) == set()  # case counts
    assert started(pull) == {releases}
    skipped = {s["workspace_id"]: s["reason"] for s in pushes["main"]["skipped"]}
    assert skipped[releases] == "it tracks branch release/*, not main"


def test_a_github_tag_push_plans_and_applies_where_the_tags_pattern_matches(gateway, admin, github):
    tagged = workspace(admin, "tagged", github["id"], tags="v[0-9]*")
    untagged = workspace(admin, "untagged", github["id"])
    tag = push_body(REPO, SHA, ref="refs/tags/v1.0.0")

    reply = deliver(gateway, github["id"], "push", tag).json()
    unmatched = deliver(
        gateway, github["id"], "push", push_body(REPO, SHA, ref="refs/tags/x")
    ).json()
    deletion = deliver(gateway, github["id"], "push", push_body(REPO, SHA, deleted=True))

    [started] = reply["runs"]
    assert started["workspace_id"] == tagged
    assert reply["skipped"] == [
        {"workspace_id": untagged, "reason": "it runs on no tags (vcs.tags is null)"}
    ]
    run = admin.get(f"/runs/{started['run_id']}").json()
    assert run["operation"] == "plan_and_apply"
    assert run["vcs"]["ref"] == "refs/tags/v1.0.0" and run["vcs"]["commit_sha"] == SHA
    assert run["message"] == "Tag v1.0.0: Change the greeting"
    assert unmatched["runs"] == []
    assert {s["reason"] for s in unmatched["skipped"]} == {
        "its tags pattern v[0-9]* does not match tag x",
        "it runs on no tags (vcs.tags is null)",
    }
    assert deletion.status == 200 and "deleted" in deletion.json()["message"]
    assert runs_of(admin, untagged) == []


@pytest.mark.parametrize(
    ("provider", "vcs", "pointer"),
    [
        ("github", {"branch": "release/["}, "/vcs/branch"),
        ("github", {"branch": "release/[]"}, "/vcs/branch"),
        ("github", {"branch": "a..*"}, "/vcs/branch"),
        ("github", {"branch": "*.lock"}, "/vcs/branch"),
        ("github", {"branch": "rel!ease"}, "/vcs/branch"),
        ("github", {"tags": "v 1"}, "/vcs/tags"),
        ("github", {"tags": "v*/"}, "/vcs/tags"),
        ("github", {"tags": ""}, "/vcs/tags"),
        ("github", {"repository": "a/b/c"}, "/vcs/repository"),  # GitHub is owner/name
        ("gitlab", {"repository": "infra"}, "/vcs/repository"),  # GitLab wants group/project
        ("gitlab", {"repository": "group/../project"}, "/vcs/repository"),
        ("codecommit", {"repository": "infra", "tags": "v*"}, "/vcs/tags"),
    ],
)
def test_bad_patterns_and_paths_are_422_naming_the_field(admin, provider, vcs, pointer):
    body = {"provider": provider} | (
        {} if provider == "codecommit" else {"webhook_secret": WEBHOOK_SECRET}
    )
    connection = admin.post("/vcs-connections", body).json()["id"]
    settings = {"connection_id": connection, "repository": "o/r", "branch": "main"} | vcs

    assert_error(admin.post("/workspaces", {"name": "app", "vcs": settings}), 422, pointer)
    assert admin.list_all("/workspaces") == []


def test_gitlab_paths_and_patterns_are_taken(admin, gitlab):
    settings = {
        "connection_id": gitlab["id"],
        "repository": "group/subgroup/project",
        "branch": "release/*",
        "tags": "v[0-9]*",
    }

    reply = admin.post("/workspaces", {"name": "app", "vcs": settings})

    assert reply.status == 201, reply.body
    assert reply.json()["vcs"] == settings | {"trigger_prefixes": []}
