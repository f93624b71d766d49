"""How a phase ends when its steps fail: runner.phase.run_phase with stand-in steps."""

import dataclasses
import threading
from pathlib import Path
from typing import Any

import boto3
import pytest

from iacp.runs.phase import Phase, PhaseResult, PhaseStatus
from runner import aws
from runner.artifacts import Artifacts
from runner.aws import PlatformClients
from runner.logstream import LogStreamer, Masker
from runner.phase import applies_here, run_phase
from runner.result import Stage, StepFailed
from runner.settings import RunnerSettings
from runner.statefile import STATE_FILE
from runner.steps import RunContext
from runner.terraform import Terraform
from tests.runner.conftest import runner_settings


class Unreachable(Artifacts):
    """S3 that takes log lines but no file."""

    def __init__(self) -> None:
        super().__init__(boto3.client("s3", region_name="us-east-1"), "bucket")
        self.log: list[bytes] = []

    def put(self, key: str, body: bytes) -> None:
        self.log.append(body)

    def upload(self, path: Path, key: str) -> None:
        raise ConnectionError("S3 is away")


@pytest.fixture
def ctx(tmp_path: Path) -> RunContext:
    settings = runner_settings("apply")
    artifacts = Unreachable()
    masker = Masker()
    masker.add(["hunter2"])
    log = LogStreamer(artifacts.put, "runs/run-1/logs/apply/", masker)
    context = RunContext(
        settings=settings,
        artifacts=artifacts,
        log=log,
        terraform=Terraform(("terraform",), log),
        canceled=threading.Event(),
        root=tmp_path,
        env={},
        result=PhaseResult(phase=Phase.APPLY),
        aws=PlatformClients(settings),
    )
    context.workdir = tmp_path
    return context


def failed_apply(ctx: RunContext) -> None:
    ctx.apply_started = True
    (ctx.workdir / STATE_FILE).write_text('{"serial": 2, "lineage": "l"}')
    raise StepFailed(Stage.APPLY, "terraform apply failed")


def test_a_state_that_cannot_be_uploaded_fails_the_phase_and_stays_on_disk(
    ctx: RunContext,
) -> None:
    run_phase(ctx, [failed_apply])

    assert ctx.result.status is PhaseStatus.FAILED
    assert ctx.result.state_uploaded is False
    assert ctx.result.error is not None
    assert ctx.result.error.stage == Stage.STATE
    assert str(ctx.workdir / STATE_FILE) in ctx.result.error.message
    assert ctx.keep_root


def test_an_unexpected_error_is_reported_without_secrets(ctx: RunContext) -> None:
    def broken(ctx: RunContext) -> None:
        raise KeyError("hunter2")

    run_phase(ctx, [broken])

    assert ctx.result.error is not None
    assert ctx.result.error.stage == Stage.RUNNER
    assert ctx.result.error.message == "The runner failed unexpectedly: KeyError: '***'"


def test_no_step_starts_after_a_cancel(ctx: RunContext) -> None:
    ran: list[str] = []
    ctx.canceled.set()

    run_phase(ctx, [lambda ctx: ran.append("step")])

    assert ran == []
    assert ctx.result.status is PhaseStatus.CANCELED


def settings_with(key_id: str, endpoint: str) -> RunnerSettings:
    return runner_settings(
        "plan",
        AWS_ACCESS_KEY_ID=key_id,
        AWS_SECRET_ACCESS_KEY=f"secret of {key_id}",
        AWS_SESSION_TOKEN=f"token of {key_id}",
        AWS_REGION="eu-west-1",
        AWS_ENDPOINT_URL=endpoint,
    )


def test_phases_share_the_loaded_models_but_each_client_has_its_phases_credentials() -> None:
    aws.load_service_models()  # what the warm runner does before it forks
    first = PlatformClients(settings_with("AKIAFIRST", "http://127.0.0.1:4001"))
    second = PlatformClients(settings_with("AKIASECOND", "http://127.0.0.1:4002"))

    for clients, key_id, port in ((first, "AKIAFIRST", 4001), (second, "AKIASECOND", 4002)):
        made: list[Any] = [clients.s3, clients.secretsmanager, clients.sts]
        for client in made:
            credentials = client._request_signer._credentials.get_frozen_credentials()
            assert credentials.access_key == key_id
            assert credentials.secret_key == f"secret of {key_id}"
            assert credentials.token == f"token of {key_id}"
            assert client.meta.region_name == "eu-west-1"
            assert client.meta.endpoint_url == f"http://127.0.0.1:{port}"
    assert first.s3 is first.s3  # made once, on first use
    # The model's JSON was loaded once, by load_service_models: one session, one loader.
    models = [c.s3.meta.service_model._service_description for c in (first, second)]  # type: ignore[attr-defined]
    assert models[0] is models[1]


def test_a_plan_applies_in_its_task_only_with_changes_and_time_left(ctx: RunContext) -> None:
    plan = dataclasses.replace(
        ctx,
        settings=ctx.settings.model_copy(
            update={"phase": Phase.PLAN, "apply_within_seconds": 1800}
        ),
        result=PhaseResult(phase=Phase.PLAN, has_changes=True),
    )
    plan.workdir = ctx.workdir

    assert applies_here(plan, elapsed_seconds=1799)
    assert not applies_here(plan, elapsed_seconds=1801)
    plan.log.complete()
    assert isinstance(plan.artifacts, Unreachable)
    said = b"".join(plan.artifacts.log).decode()
    assert "the plan took 1801 s, more than half the phase's time limit" in said
    plan.result.has_changes = False
    assert not applies_here(plan, elapsed_seconds=1)
    plan.result.has_changes = True
    plan.result.status = PhaseStatus.FAILED
    assert not applies_here(plan, elapsed_seconds=1)
    plan.result.status = PhaseStatus.SUCCEEDED
    plan.canceled.set()
    assert not applies_here(plan, elapsed_seconds=1)
    plan.canceled.clear()
    # The workflow decided on two tasks: a plan with changes says why in its log.
    told = dataclasses.replace(
        plan,
        settings=plan.settings.model_copy(
            update={"apply_within_seconds": 0, "apply_elsewhere": "it has tasks"}
        ),
    )
    assert not applies_here(told, elapsed_seconds=1)
    told.log.complete()
    said = b"".join(plan.artifacts.log).decode()
    assert "iacp: the apply runs in a task of its own: it has tasks." in said
