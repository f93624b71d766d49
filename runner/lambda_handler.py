"""The runner as a Lambda function: the ``lambda`` executor of plan and apply
(docs/run-pipeline.md, "Executors").

The event is what the workflow hands a Fargate task as its environment, by field name (the
``runner`` of ``{"runner": <RunnerInput>, "execution_arn": ...}``). The phase runs as it does
in a container: a child process ``python -m runner.main`` with that environment, so its clean
restart and non-dumpable protections hold (runner/process.py), and its outcome is its
``result.json`` and exit code. This module only starts, watches and stops that process:

- **its deadline**: the phase's limit (the input's ``timeout_seconds``), and never later than
  the invocation's remaining time less ``STOP_GRACE_SECONDS``. At the deadline the runner gets
  SIGTERM, as a canceled Fargate task does: Terraform is interrupted once, an apply's partial
  state is uploaded, ``result.json`` says ``canceled``. The function then fails with
  ``RunnerPhaseTimedOut``, which the workflow turns into the run's error;
- **a cancel**: a Lambda invocation cannot be stopped from outside, so every
  ``CANCEL_POLL_SECONDS`` it asks Step Functions whether the run's execution still runs; once
  it has ended (a cancel stops it), the runner gets SIGTERM the same way, and the reconcile of
  the stopped execution waits for its ``result.json`` as it waits for a Fargate task's;
- **its outcome**: exit code 0 returns ``{"status": "succeeded", ...}``; any other fails the
  function with ``RunnerPhaseFailed``, so the workflow's Catch takes it as it takes a failed
  ECS task, and reads the runner's ``result.json`` for the error.

The function's own credentials (its role may only read the run workflow's executions) never
reach the runner: the runner gets the phase's narrowed credentials from the event, and this
process marks itself non-dumpable in Lambda, so Terraform's code cannot read them from /proc
(local mode runs this handler inside the platform's own process, and leaves that alone).
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from runner.main import CANCEL_SIGNALS
from runner.process import clean_environment, forbid_inspection
from runner.settings import RunnerSettings

# Lambda ends an invocation at its timeout (900 s at most): the runner keeps this much of it
# to interrupt Terraform, upload what it wrote and report (Fargate's stop timeout is 120 s;
# a phase that fits in Lambda is small).
STOP_GRACE_SECONDS = 60
CANCEL_POLL_SECONDS = 3.0
_WAIT_SECONDS = 0.5
# Of the function's environment, what the runner gets besides runner.process's KEPT and
# TF_*/POWERTOOLS_* (its region, and in local mode moto's endpoint).
_PASSED = ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "TMPDIR")
# The runner input's fields, as the runner's environment names them (runner/settings.py): a
# plan's VCS settings too (a plan may fetch its commit first; fetch tasks run on Fargate).
_VARIABLES = {
    name: field.alias
    for name, field in RunnerSettings.model_fields.items()
    if isinstance(field.alias, str)
}
_RUNNER_ROOT = Path(__file__).resolve().parents[1]  # where ``python -m runner.main`` is found


class RunnerPhaseFailed(Exception):
    """The runner ended the phase with a failure (its result.json says why)."""


class RunnerPhaseTimedOut(Exception):
    """The phase reached its deadline and was stopped as a cancel stops it."""


class BadRunnerInput(Exception):
    """The event is not a runner input: nothing was started."""


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if "AWS_LAMBDA_RUNTIME_API" in os.environ:  # in Lambda, not local mode's emulation
        forbid_inspection()  # the function's own credentials are in this process's environment
    runner = event.get("runner")
    if not isinstance(runner, dict) or not isinstance(runner.get("timeout_seconds"), int):
        raise BadRunnerInput("The event must be {'runner': <runner input>, 'execution_arn'}.")
    limit = int(runner["timeout_seconds"])
    remaining = context.get_remaining_time_in_millis() / 1000 - STOP_GRACE_SECONDS
    execution_arn = str(event.get("execution_arn") or "")
    still_wanted = _execution_running(execution_arn) if execution_arn else lambda: True
    return run_phase(
        runner_environment(runner, os.environ),
        seconds=min(limit, remaining),
        limit=limit,
        still_wanted=still_wanted,
    )


def runner_environment(runner: Mapping[str, Any], own: Mapping[str, str]) -> dict[str, str]:
    """The environment a Fargate task would get for this runner input: its fields by their
    variables' names, the bucket from this function's, and of this function's own environment
    only what is harmless (never its credentials)."""
    environment = clean_environment(own) | {k: own[k] for k in _PASSED if k in own}
    environment["IACP_BUCKET"] = own.get("IACP_BUCKET", "")
    if cache := own.get("IACP_PROVIDER_CACHE"):
        environment["TF_PLUGIN_CACHE_DIR"] = _writable_plugin_cache(Path(cache), own)
    for field, variable in _VARIABLES.items():
        if field in runner and runner[field] is not None:
            environment[variable] = str(runner[field])
    return environment


def run_phase(
    environment: Mapping[str, str],
    *,
    seconds: float,
    limit: int,
    still_wanted: Callable[[], bool],
    poll_seconds: float = CANCEL_POLL_SECONDS,
) -> dict[str, Any]:
    """Run the phase in a child process for at most ``seconds``; stop it (SIGTERM) at that
    deadline, or as soon as ``still_wanted`` says the run no longer wants it."""
    phase = environment.get("IACP_PHASE", "?")
    # The runner itself, as its container runs it. It starts with a cancel blocked (a signal
    # mask survives fork and exec): one sent before its interpreter has come as far as to
    # block it itself (runner/main.py) would otherwise end it with no result.
    unblocked = signal.pthread_sigmask(signal.SIG_BLOCK, CANCEL_SIGNALS)
    try:
        child = subprocess.Popen(
            [sys.executable, "-m", "runner.main"], cwd=_RUNNER_ROOT, env=dict(environment)
        )
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, unblocked)
    deadline = time.monotonic() + max(0.0, seconds)
    next_poll = time.monotonic() + poll_seconds
    stopped_because = ""
    while (code := _wait(child, _WAIT_SECONDS)) is None:
        now = time.monotonic()
        if not stopped_because and now >= deadline:
            stopped_because = "deadline"
        elif not stopped_because and now >= next_poll:
            next_poll = now + poll_seconds
            if not _asked(still_wanted):
                stopped_because = "canceled"
        if stopped_because:
            child.send_signal(signal.SIGTERM)  # a cancel: Terraform is interrupted once
            code = _end(child, STOP_GRACE_SECONDS - 5)
            break
    if stopped_because == "deadline":
        raise RunnerPhaseTimedOut(
            f"The {phase} phase ran longer than its limit of {limit:g} s in Lambda and was "
            f"stopped (exit code {code}); what Terraform wrote was kept."
        )
    if stopped_because == "canceled":
        return {"phase": phase, "status": "canceled", "exit_code": code}
    if code != 0:
        raise RunnerPhaseFailed(f"The runner ended the {phase} phase with exit code {code}.")
    return {"phase": phase, "status": "succeeded", "exit_code": code}


def _wait(child: "subprocess.Popen[bytes]", seconds: float) -> int | None:
    try:
        return child.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        return None


def _end(child: "subprocess.Popen[bytes]", seconds: float) -> int:
    """The runner's exit code once it has stopped, killed if it takes longer than
    ``seconds`` (the invocation would end it anyway)."""
    code = _wait(child, seconds)
    if code is None:
        child.kill()
        code = child.wait()
    return code


def _asked(still_wanted: Callable[[], bool]) -> bool:
    """A look that fails (throttled, a network blip) does not stop the phase."""
    try:
        return still_wanted()
    except Exception:  # the next look asks again
        return True


def _execution_running(execution_arn: str) -> Callable[[], bool]:
    import boto3  # here: the runner's own modules need it only in the restarted child

    client = boto3.client("stepfunctions")

    def running() -> bool:
        status = client.describe_execution(executionArn=execution_arn)["status"]
        return bool(status == "RUNNING")

    return running


def _writable_plugin_cache(image_cache: Path, own: Mapping[str, str]) -> str:
    """Terraform's provider cache: a directory in /tmp (the image is read-only in Lambda, and
    Terraform writes the providers it downloads into its cache), with the image's cached
    provider versions linked in. It outlives the invocation: warm invocations of the same
    execution environment find what earlier ones downloaded."""
    cache = Path(own.get("TMPDIR", "/tmp")) / "iacp-plugin-cache"  # noqa: S108 -- Lambda's
    if not cache.exists() and image_cache.is_dir():
        for version in image_cache.glob("*/*/*/*"):  # host/namespace/type/version
            linked = cache / version.relative_to(image_cache)
            linked.parent.mkdir(parents=True, exist_ok=True)
            linked.symlink_to(version, target_is_directory=True)
    cache.mkdir(parents=True, exist_ok=True)
    return str(cache)
