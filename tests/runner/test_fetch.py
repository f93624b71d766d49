"""The fetch phase: a commit cloned by real git (over file:// and over smart HTTP from
``git http-backend`` on 127.0.0.1) into the configuration archive that plan then runs."""

import io
import json
import os
import secrets
import socket
import subprocess
import sys
import tarfile
import threading
import uuid
from pathlib import Path

import boto3
import pytest
from pydantic import ValidationError

from iacp.runs.phase import Phase, PhaseResult
from runner.logstream import LogStreamer, Masker
from runner.settings import RunnerSettings
from runner.steps import RunContext
from runner.vcs import prepare_git
from tests.git_support import GitHttpServer, basic_token_header, file_url, make_repository
from tests.processes import processes_with_argument
from tests.runner.conftest import (
    ROOT,
    RUNNER_TIMEOUT_SECONDS,
    PhaseRun,
    Platform,
    Workspace,
    cancel_when,
    new_run_id,
)

FIRST_TF = 'resource "terraform_data" "greeting" {\n  input = "from the first commit"\n}\n'
SECOND_TF = 'resource "terraform_data" "greeting" {\n  input = "from the second commit"\n}\n'
TOKEN = "ghp_" + "0123456789abcdefghijklmnopqrstuvwxyz"


def start_fetch(
    workspace: Workspace,
    url: str,
    commit: str,
    *,
    ref: str = "",
    secret: str = "",
    phase: str = "fetch",
    working_directory: str = "",
) -> tuple[str, str, "subprocess.Popen[bytes]"]:
    """The runner's fetch phase (or a plan that fetches its commit first), started as the
    workflow starts it: run id, configuration key, process."""
    run_id = new_run_id()
    key = f"configurations/{workspace.id}/cv-{run_id}.tar.gz"
    env = workspace.runner_env(run_id, phase, key, working_directory=working_directory)
    env.update(
        IACP_VCS_CLONE_URL=url,
        IACP_VCS_COMMIT=commit,
        IACP_VCS_REF=ref,
        IACP_VCS_CREDENTIALS_SECRET=secret,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "runner.main"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return run_id, key, process


def fetch(
    workspace: Workspace, url: str, commit: str, phase: str = "fetch", **options: str
) -> tuple[PhaseRun, str]:
    """Run the fetch phase (or a plan that fetches) to its end; the run and the configuration
    key it uploads to."""
    run_id, key, process = start_fetch(workspace, url, commit, phase=phase, **options)
    output, _ = process.communicate(timeout=RUNNER_TIMEOUT_SECONDS)
    ended = PhaseRun(workspace.platform, run_id, phase, process.returncode, output.decode())
    return ended, key


def archive_files(platform: Platform, key: str) -> dict[str, str]:
    """The regular files of an uploaded archive, and every member name checked for .git."""
    body = platform.get(key)
    assert body is not None, f"nothing was uploaded to {key}"
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        members = tar.getmembers()
        assert not [m.name for m in members if ".git" in Path(m.name).parts]
        return {
            m.name: tar.extractfile(m).read().decode()  # type: ignore[union-attr]
            for m in members
            if m.isfile()
        }


def vcs_secret(platform: Platform, value: dict[str, str]) -> str:
    """A VCS connection's secret in moto's Secrets Manager; its ARN."""
    client = boto3.client("secretsmanager", endpoint_url=platform.endpoint)
    reply = client.create_secret(
        Name=f"iacp-runner-test/vcs/{uuid.uuid4().hex[:8]}", SecretString=json.dumps(value)
    )
    return reply["ARN"]


def test_fetch_uploads_the_commits_tree_without_git_and_plan_runs_it(
    workspace: Workspace, platform: Platform, tmp_path: Path
) -> None:
    bare, (first, _) = make_repository(
        tmp_path,
        [
            {"infra/main.tf": FIRST_TF, "README.md": "read me\n", ".gitignore": ".terraform/\n"},
            {"infra/main.tf": SECOND_TF},
        ],
    )
    url = file_url(bare)

    run, key = fetch(workspace, url, first)

    assert run.exit_code == 0, run.output
    assert run.result["phase"] == "fetch"
    assert run.result["status"] == "succeeded"
    assert run.result["error"] is None
    assert archive_files(platform, key) == {
        "infra/main.tf": FIRST_TF,
        "README.md": "read me\n",
        ".gitignore": ".terraform/\n",
    }
    assert run.log.startswith(f"iacp: fetching {url} at {first}\n")
    assert "could not be fetched by its SHA" not in run.log  # one shallow fetch of it
    assert platform.log_complete(run.run_id, "fetch")

    plan = workspace.plan(key, working_directory="infra")

    assert plan.exit_code == 0, plan.output
    assert plan.result["resource_additions"] == 1
    assert '"from the first commit"' in plan.log


def test_a_plan_handed_a_commit_fetches_uploads_and_plans_it_in_one_phase(
    workspace: Workspace, platform: Platform, tmp_path: Path
) -> None:
    bare, (commit,) = make_repository(tmp_path, [{"infra/main.tf": FIRST_TF, "README.md": "r\n"}])
    secret = vcs_secret(platform, {"webhook_secret": "a-webhook-secret", "token": TOKEN})

    with GitHttpServer(tmp_path, token=TOKEN) as server:
        url = server.url(bare)
        plan, key = fetch(workspace, url, commit, "plan", secret=secret, working_directory="infra")

    assert plan.exit_code == 0, plan.output
    assert plan.result["phase"] == "plan" and plan.result["status"] == "succeeded"
    assert plan.result["resource_additions"] == 1
    # The archive other readers (run-task services, the apply) use is uploaded as a fetch
    # phase uploads it, and the plan's one log tells the fetch, then the plan.
    assert archive_files(platform, key) == {"infra/main.tf": FIRST_TF, "README.md": "r\n"}
    assert plan.log.startswith(f"iacp: fetching {url} at {commit}\n")
    assert plan.log.index("iacp: uploaded the configuration") < plan.log.index("Plan: 1 to add")
    assert '"from the first commit"' in plan.log
    assert platform.get(f"runs/{plan.run_id}/fetch/result.json") is None
    header = basic_token_header(TOKEN)
    for text in (plan.log, plan.output, json.dumps(plan.result)):
        assert TOKEN not in text and header.removeprefix("Basic ") not in text


def test_a_plan_whose_commit_cannot_be_fetched_fails_as_the_fetch_phase_does(
    workspace: Workspace, platform: Platform, tmp_path: Path
) -> None:
    bare, _ = make_repository(tmp_path, [{"main.tf": FIRST_TF}])
    unknown = secrets.token_hex(20)

    plan, key = fetch(workspace, file_url(bare), unknown, "plan")

    assert plan.exit_code == 1, plan.output
    assert plan.result["status"] == "failed"
    assert plan.result["error"] == {
        "stage": "configuration",
        "message": f"The commit {unknown} could not be fetched from {file_url(bare)}:\n"
        "it is not on any branch or tag.",
    }
    assert platform.log_complete(plan.run_id, "plan")
    assert platform.get(key) is None


def test_git_settings_never_reach_terraforms_environment(tmp_path: Path) -> None:
    """A plan that fetches runs the configuration's code after git: the clone's settings
    (a token header, CodeCommit's use of the runner's own credentials) are git's alone."""
    settings = RunnerSettings.model_validate(
        {
            **_FETCH,
            "IACP_PHASE": "plan",
            "IACP_VARIABLES_KEY": "a key",
            "IACP_VCS_CLONE_URL": "codecommit::us-east-1://infra",
        }
    )
    terraform_env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    ctx = RunContext(
        settings=settings,
        artifacts=None,  # type: ignore[arg-type]  # prepare_git reads nothing without a secret
        log=LogStreamer(lambda key, body: None, "logs/plan", Masker()),
        terraform=None,  # type: ignore[arg-type]
        canceled=threading.Event(),
        root=tmp_path,
        env=dict(terraform_env),
        result=PhaseResult(phase=Phase.PLAN),
        aws=None,  # type: ignore[arg-type]
    )

    prepare_git(ctx)

    assert ctx.env == terraform_env
    assert ctx.git_env["AWS_SECRET_ACCESS_KEY"] == "testing"
    assert ctx.git_env["GIT_TERMINAL_PROMPT"] == "0"


def test_a_token_from_the_connections_secret_authenticates_and_is_never_logged(
    workspace: Workspace, platform: Platform, tmp_path: Path
) -> None:
    bare, (commit,) = make_repository(tmp_path, [{"main.tf": FIRST_TF}])
    secret = vcs_secret(platform, {"webhook_secret": "a-webhook-secret", "token": TOKEN})

    with GitHttpServer(tmp_path, token=TOKEN) as server:
        run, key = fetch(workspace, server.url(bare), commit, secret=secret)

    assert run.exit_code == 0, run.output
    assert run.result["status"] == "succeeded"
    assert archive_files(platform, key) == {"main.tf": FIRST_TF}
    assert server.refused == 0
    header = basic_token_header(TOKEN)
    for text in (run.log, run.output, json.dumps(run.result)):
        assert TOKEN not in text
        assert header.removeprefix("Basic ") not in text


@pytest.mark.parametrize("token", ["not-the-token", None], ids=["wrong-token", "no-secret"])
def test_refused_credentials_fail_at_configuration_without_waiting_for_a_prompt(
    workspace: Workspace, platform: Platform, tmp_path: Path, token: str | None
) -> None:
    bare, (commit,) = make_repository(tmp_path, [{"main.tf": FIRST_TF}])
    secret = "" if token is None else vcs_secret(platform, {"webhook_secret": "w", "token": token})

    with GitHttpServer(tmp_path, token=TOKEN) as server:
        run, key = fetch(workspace, server.url(bare), commit, secret=secret)

    # No wait for a prompt: git is told there is no terminal (the message ends with its
    # "terminal prompts disabled"), and the runner's own bound would fail the test anyway.
    assert run.exit_code == 1, run.output
    assert server.refused >= 1
    assert run.result["status"] == "failed"
    error = run.result["error"]
    assert error["stage"] == "configuration"
    assert error["message"].startswith(
        f"The commit {commit} could not be fetched from {server.url(bare)}:\n"
    )
    assert error["message"].endswith(
        "terminal prompts disabled\n"
        "The server wants credentials: the connection has no token, or one the server refuses."
    )
    assert error["message"] in run.log
    assert platform.get(key) is None
    if token is not None:
        assert token not in run.log
        assert token not in error["message"]


def test_an_unknown_commit_fails_with_a_clear_configuration_error(
    workspace: Workspace, platform: Platform, tmp_path: Path
) -> None:
    bare, _ = make_repository(tmp_path, [{"main.tf": FIRST_TF}])
    unknown = secrets.token_hex(20)

    run, key = fetch(workspace, file_url(bare), unknown)

    assert run.exit_code == 1, run.output
    assert run.result["status"] == "failed"
    assert run.result["error"] == {
        "stage": "configuration",
        "message": f"The commit {unknown} could not be fetched from {file_url(bare)}:\n"
        "it is not on any branch or tag.",
    }
    assert f"Error: The commit {unknown} could not be fetched" in run.log
    assert platform.log_complete(run.run_id, "fetch")
    assert platform.get(key) is None


def test_a_server_refusing_shas_is_fetched_through_the_ref_and_then_its_history(
    workspace: Workspace, platform: Platform, tmp_path: Path
) -> None:
    bare, (first, _) = make_repository(tmp_path, [{"main.tf": FIRST_TF}, {"main.tf": SECOND_TF}])

    with GitHttpServer(tmp_path, protocol_v2=False) as server:
        run, key = fetch(workspace, server.url(bare), first, ref="refs/heads/main")

    assert run.exit_code == 0, run.output
    assert archive_files(platform, key) == {"main.tf": FIRST_TF}
    assert f"Server does not allow request for unadvertised object {first}" in run.log
    assert "could not be fetched by its SHA; fetching refs/heads/main." in run.log
    assert "refs/heads/main is not the commit; fetching its whole history." in run.log


def test_sigterm_stops_git_promptly(workspace: Workspace, platform: Platform) -> None:
    # A server that takes the connection and never answers: git would wait forever unless
    # the cancel stops it (no wall-clock bound needed).
    with socket.create_server(("127.0.0.1", 0)) as silent:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/stuck-{uuid.uuid4().hex}.git"
        run_id, key, runner = start_fetch(workspace, url, "a" * 40)
        output = cancel_when(runner, lambda: bool(processes_with_argument(url)), "git", url)

    assert runner.returncode == 130, output.decode()
    assert platform.get_json(f"runs/{run_id}/fetch/result.json")["status"] == "canceled"
    assert "iacp: the run was canceled." in platform.log(run_id, "fetch")
    assert platform.log_complete(run_id, "fetch")
    assert platform.get(key) is None
    assert processes_with_argument(url) == []


_FETCH = {
    "IACP_RUN_ID": "run-1",
    "IACP_WORKSPACE_ID": "ws-1",
    "IACP_PHASE": "fetch",
    "IACP_BUCKET": "bucket",
    "IACP_CONFIGURATION_KEY": "configurations/ws-1/cv-1.tar.gz",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
    "IACP_VCS_CLONE_URL": "https://github.com/octo-org/infra.git",
    "IACP_VCS_COMMIT": "0123456789abcdef0123456789abcdef01234567",
}


@pytest.mark.parametrize(
    "changes",
    [
        {"IACP_VCS_COMMIT": ""},
        {"IACP_VCS_COMMIT": "0123456"},
        {"IACP_VCS_COMMIT": "g" * 40},
        {"IACP_VCS_CLONE_URL": ""},
        {"IACP_VCS_CLONE_URL": "ssh://git@github.com/octo-org/infra.git"},
        {"IACP_VCS_CLONE_URL": "ext::sh -c touch% /tmp/pwned"},
        {"IACP_VCS_CLONE_URL": "--upload-pack=touch /tmp/pwned"},
        {"IACP_VCS_CLONE_URL": "https://[::1/infra.git"},
        {"IACP_VCS_CLONE_URL": "https:///infra.git"},
        {"IACP_VCS_REF": "main"},
        {"IACP_VCS_REF": "--upload-pack=x"},
        {"IACP_VCS_REF": "refs/heads/main:refs/heads/other"},
        {"IACP_VCS_REF": "refs/heads/../../x"},
    ],
)
def test_the_fetch_phase_refuses_an_environment_git_could_misread(
    changes: dict[str, str],
) -> None:
    with pytest.raises(ValidationError):
        RunnerSettings.model_validate({**_FETCH, **changes})


def test_plan_and_apply_ignore_the_vcs_variables_unless_a_plan_is_handed_a_commit() -> None:
    for phase in ("plan", "apply"):
        settings = RunnerSettings.model_validate(
            {
                **_FETCH,
                "IACP_PHASE": phase,
                "IACP_VCS_COMMIT": "",
                "IACP_VCS_CLONE_URL": "",
                "IACP_VARIABLES_KEY": "a key",
            }
        )
        assert settings.phase == phase and not settings.fetches_commit
    with pytest.raises(ValidationError, match="IACP_VCS_COMMIT"):
        RunnerSettings.model_validate(
            {**_FETCH, "IACP_PHASE": "plan", "IACP_VCS_COMMIT": "abc", "IACP_VARIABLES_KEY": "k"}
        )
    planned = RunnerSettings.model_validate(
        {**_FETCH, "IACP_PHASE": "plan", "IACP_VARIABLES_KEY": "k"}
    )
    assert planned.fetches_commit
    fetch = RunnerSettings.model_validate({**_FETCH, "IACP_VCS_REF": "refs/pull/7/head"})
    assert fetch.vcs_ref == "refs/pull/7/head"
