"""The fetch phase of a VCS-driven run (docs/run-pipeline.md, "The fetch phase"): clone one
commit of a repository and upload its tree, without ``.git``, as the run's configuration
archive; plan and apply then read it as they read an uploaded one.

git runs as Terraform does (``runner.terraform.Terraform``): its output streamed to the log,
masked, in a process group of its own, interrupted once on cancel. Its configuration is the
runner's alone: no system or global configuration, no inherited ``GIT_*`` variable, no
prompt, and a clone token only as an HTTP header in its environment (never on a command line,
in ``.git/config`` or in the log).
"""

import base64
import json
import os
import shutil
import tarfile
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from botocore.exceptions import ClientError

from runner.result import Canceled, Stage, StepFailed
from runner.steps import ARCHIVE, RunContext, Step
from runner.terraform import Outcome

GIT_COMMAND = ("git",)


def git_chdir(workdir: Path) -> list[str]:
    """git's way of running in ``workdir`` (Terraform's is ``-chdir=``)."""
    return ["-C", str(workdir)]


REPOSITORY = "repository"  # below the run's root: the clone
_TAIL_LINES = 5  # of git's output, in an error message
# git's transports the runner may use (also for redirects); codecommit is a remote helper.
_ALLOWED_PROTOCOLS = "https:http:file:codecommit"
# How git says that the server asked for a user and password (none given, or refused).
_ASKED_FOR_CREDENTIALS = "terminal prompts disabled"
# Without a ref, a commit the server will not give by its SHA is looked for on these.
_ALL_BRANCHES_AND_TAGS = ("+refs/heads/*:refs/iacp/heads/*", "+refs/tags/*:refs/iacp/tags/*")


def fetch_steps() -> list[Step]:
    return [prepare_git, fetch_commit, check_out_commit, upload_configuration]


def prepare_git(ctx: RunContext) -> None:
    """Say what will be fetched, and set git's environment up (with the clone token, if
    the connection has one)."""
    settings = ctx.settings
    url = settings.vcs_clone_url
    _mask_url_password(ctx, url)
    ctx.log.write(f"iacp: fetching {display_url(url)} at {_commit(ctx)}")
    if shutil.which("git", path=ctx.env.get("PATH")) is None:
        raise StepFailed(Stage.RUNNER, "git is not installed where the runner runs.")
    token = ""
    if settings.vcs_credentials_secret:
        token = read_clone_token(ctx, settings.vcs_credentials_secret)
        ctx.log.masker.add([token])
    header = ""
    if token and url.startswith(("https://", "http://")):
        header = authorization_header(token)
        ctx.log.masker.add([header, header.removeprefix("Authorization: Basic ")])
    ctx.git_env = git_environment(ctx.env, header)
    if url.startswith("codecommit::"):
        # git-remote-codecommit signs with the runner's credentials for this fetch, which
        # reach this one repository; git alone gets them, never Terraform (a plan that
        # fetches runs the configuration's code next).
        ctx.git_env.update(
            AWS_ACCESS_KEY_ID=settings.aws_access_key_id,
            AWS_SECRET_ACCESS_KEY=settings.aws_secret_access_key,
            AWS_SESSION_TOKEN=settings.aws_session_token,
            AWS_REGION=settings.aws_region,
        )


def fetch_commit(ctx: RunContext) -> None:
    """Fetch the commit, as shallow as the server allows: by its SHA, one commit deep; else
    the tip of the ref, then the ref's whole history; without a ref, every branch and tag."""
    url, commit, ref = ctx.settings.vcs_clone_url, _commit(ctx), ctx.settings.vcs_ref
    ctx.workdir = ctx.root / REPOSITORY
    ctx.workdir.mkdir()
    init = _git(ctx, "init", "--quiet")
    if init.exit_code != 0:
        raise StepFailed(Stage.RUNNER, f"git init failed:\n{_last_lines(init)}")
    present, outcome = _fetch(ctx, ["--depth=1"], [commit])
    if not present and ref:
        ctx.log.write(f"iacp: the commit could not be fetched by its SHA; fetching {ref}.")
        present, outcome = _fetch(ctx, ["--depth=1"], [ref])
        if not present:
            ctx.log.write(f"iacp: {ref} is not the commit; fetching its whole history.")
            shallow = (ctx.workdir / ".git" / "shallow").exists()
            present, outcome = _fetch(ctx, ["--unshallow"] if shallow else [], [ref])
    elif not present:
        ctx.log.write(
            "iacp: the commit could not be fetched by its SHA; fetching every branch and tag."
        )
        present, outcome = _fetch(ctx, [], list(_ALL_BRANCHES_AND_TAGS))
    if not present:
        where = ref or "any branch or tag"
        reason = f"it is not on {where}." if outcome.exit_code == 0 else _last_lines(outcome)
        if _ASKED_FOR_CREDENTIALS in reason:
            reason += "\nThe server wants credentials: the connection has no token, or one the "
            reason += "server refuses."
        raise StepFailed(
            Stage.CONFIGURATION,
            f"The commit {commit} could not be fetched from {display_url(url)}:\n{reason}",
        )


def check_out_commit(ctx: RunContext) -> None:
    commit = _commit(ctx)
    outcome = _git(ctx, "checkout", "--quiet", "--detach", commit)
    if outcome.exit_code != 0:
        raise StepFailed(
            Stage.CONFIGURATION,
            f"The commit {commit} could not be checked out:\n{_last_lines(outcome)}",
        )


def upload_configuration(ctx: RunContext) -> None:
    """The checked-out tree without ``.git``, paths relative to the repository's root (the
    workspace's working directory applies to it later), to the configuration's key."""
    archive = ctx.root / ARCHIVE
    files = archive_tree(ctx.workdir, archive)
    ctx.artifacts.upload(archive, ctx.settings.configuration_key)
    ctx.fetched = True
    ctx.log.write(
        f"iacp: uploaded the configuration of {_commit(ctx)} "
        f"({files} file{'' if files == 1 else 's'}, {archive.stat().st_size} bytes)."
    )


def read_clone_token(ctx: RunContext, secret_id: str) -> str:
    """The ``token`` of a VCS connection's secret (JSON ``{"webhook_secret", "token"}``), or
    '' when it has none."""
    try:
        reply = ctx.aws.secretsmanager.get_secret_value(SecretId=secret_id)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "error")
        raise StepFailed(
            Stage.CONFIGURATION, f"The VCS connection's secret {secret_id} cannot be read: {code}."
        ) from error
    try:
        value = json.loads(reply.get("SecretString") or "")
    except ValueError:
        value = None
    token = value.get("token", "") if isinstance(value, dict) else None
    if not isinstance(token, str):
        raise StepFailed(
            Stage.CONFIGURATION,
            f"The VCS connection's secret {secret_id} is not a JSON object with a string token.",
        )
    return token


def authorization_header(token: str) -> str:
    """HTTP Basic with the user ``x-access-token``: GitHub's convention for personal access
    and app installation tokens, which other hosts accept too (the password is what counts)."""
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return f"Authorization: Basic {basic}"


def git_environment(base: Mapping[str, str], header: str = "") -> dict[str, str]:
    """``base`` without its ``GIT_*`` variables, plus the runner's git settings; ``header``
    (if any) is sent with every HTTP request."""
    env = {k: v for k, v in base.items() if not k.startswith("GIT_") and k != "SSH_ASKPASS"}
    env.update(
        GIT_TERMINAL_PROMPT="0",  # a missing or refused credential fails, never waits
        GIT_ASKPASS="",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_ALLOW_PROTOCOL=_ALLOWED_PROTOCOLS,
    )
    if header:
        env.update(GIT_CONFIG_COUNT="1", GIT_CONFIG_KEY_0="http.extraHeader")
        env["GIT_CONFIG_VALUE_0"] = header
    return env


def display_url(url: str) -> str:
    """The URL without any user or password in it, to be shown."""
    if not url.startswith(("https://", "http://")):
        return url
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=host))


def archive_tree(tree: Path, archive: Path) -> int:
    """Write ``tree``, less its top-level ``.git``, as a gzip tar with paths relative to it
    and no owner; the number of files in it."""
    files = 0

    def anonymous(member: tarfile.TarInfo) -> tarfile.TarInfo:
        nonlocal files
        files += member.isfile()
        member.uid = member.gid = 0
        member.uname = member.gname = ""
        return member

    with tarfile.open(archive, "w:gz") as tar:
        for child in sorted(tree.iterdir()):
            if child.name != ".git":
                tar.add(child, arcname=child.name, filter=anonymous)
    return files


def _git(ctx: RunContext, *args: str, capture: bool = False) -> Outcome:
    assert ctx.git is not None, "runner.phase gives the fetch phase its git"
    outcome = ctx.git.run(args, ctx.workdir, ctx.git_env, capture_stdout=capture)
    if ctx.canceled.is_set():  # git was interrupted: its exit code says nothing more
        raise Canceled
    return outcome


def _fetch(ctx: RunContext, options: list[str], refspecs: list[str]) -> tuple[bool, Outcome]:
    """``git fetch`` from the clone URL; whether the commit is there after it, and how the
    fetch went."""
    url = ctx.settings.vcs_clone_url
    outcome = _git(ctx, "fetch", "--no-tags", *options, "--", url, *refspecs)
    if outcome.exit_code != 0:
        return False, outcome
    verify = ("rev-parse", "--quiet", "--verify", f"{_commit(ctx)}^{{commit}}")
    return _git(ctx, *verify, capture=True).exit_code == 0, outcome


def _commit(ctx: RunContext) -> str:
    return ctx.settings.vcs_commit.lower()


def _mask_url_password(ctx: RunContext, url: str) -> None:
    if url.startswith(("https://", "http://")):
        password = urlsplit(url).password
        if password:
            ctx.log.masker.add([password])


def _last_lines(outcome: Outcome) -> str:
    """git's last lines of output, as logged (so masked)."""
    lines = [line for line in outcome.tail if line.strip()]
    return "\n".join(lines[-_TAIL_LINES:]) or f"(exit code {outcome.exit_code}, no output)"
