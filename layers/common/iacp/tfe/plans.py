"""Plans and applies (TFE's ``/plans/{id}``, ``/applies/{id}``) and their logs.

A plan or an apply is its run's phase (``iacp.tfe.run_phases``). Its ``log-read-url`` is a
signed URL on a public route (``/api/v2/logs/...``, outside the authorizer; template.yaml)
that serves the phase's log as TFE's archivist does: the raw text from ``offset`` (counting
the STX), at most ``limit`` bytes, framed by STX (0x02) at the start and ETX (0x03) once the
phase is over. Before the ETX comes the run's error when it ended the phase (so ``terraform
plan`` prints why it failed); the apply log begins with three header lines, which the CLI
leaves out.
"""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import Field

from iacp.errors import Forbidden, NotFound
from iacp.http import Caller, PublicBaseUrl, ResourceId, document_reply, provided
from iacp.orchestration.run_service import RunService
from iacp.principal import Principal, Role
from iacp.runs.models import Run
from iacp.runs.phase import Phase
from iacp.runs.status import RunStatus
from iacp.tfe.jsonapi import Attributes, Document, Resource, reply
from iacp.tfe.protocol import PREFIX
from iacp.tfe.run_phases import (
    CANCELED,
    PLAN_DONE,
    PhaseStatus,
    apply_id,
    apply_status,
    plan_id,
    plan_status,
    reached,
    run_of,
)
from iacp.tfe.signed_urls import UrlSigner
from iacp.timestamps import UtcDatetime

router = APIGatewayRouter()
Runs = Annotated[RunService, provided("runs")]
SignedUrls = Annotated[UrlSigner, provided("signed_urls")]

STX = b"\x02"
ETX = b"\x03"
LOGS = f"{PREFIX}/logs"
MAX_LIMIT = 1_000_000
# The signed URL is the capability: it reads that one log, as a read token would.
LOG_READER = Principal(token_id="signed-log-url", role=Role.READ)  # noqa: S106 (a name)


class PhaseAttributes(Attributes):
    status: PhaseStatus
    status_timestamps: dict[str, UtcDatetime]
    log_read_url: str
    resource_additions: int = 0
    resource_changes: int = 0
    resource_destructions: int = 0
    resource_imports: int = 0


class PlanAttributes(PhaseAttributes):
    has_changes: bool = False
    generated_configuration: bool = False


def visible_run(service: RunService, caller: Principal, run_id: str) -> Run:
    """The run, as the caller may see it: a run of a workspace the caller's token does not
    name is a 404, as for an unknown run."""
    try:
        return service.get(caller, run_id)
    except Forbidden:
        raise NotFound(f"No run {run_id}.") from None


def log_url(base_url: str, signer: UrlSigner, phase_id: str) -> str:
    return f"{base_url.rstrip('/')}{LOGS}/{phase_id}/{signer.sign(phase_id)}"


def _timestamps(run: Run, status: PhaseStatus) -> dict[str, Any]:
    """TFE's ``<status>-at`` of the phase: when it began and how it ended, from the run's."""
    at = run.status_timestamps
    started = at.get(RunStatus.PLANNING) if status is not PhaseStatus.PENDING else None
    ended = at.get(run.status.value) if status.over else None
    stamps = {"queued-at": run.created_at, "started-at": started, f"{status.value}-at": ended}
    return {name: value for name, value in stamps.items() if value is not None}


def plan_resource(run: Run, base_url: str, signer: UrlSigner) -> Resource[PlanAttributes]:
    status = plan_status(run)
    counted = status is PhaseStatus.FINISHED
    return Resource(
        id=plan_id(run.id),
        type="plans",
        attributes=PlanAttributes(
            status=status,
            status_timestamps=_timestamps(run, status),
            log_read_url=log_url(base_url, signer, plan_id(run.id)),
            has_changes=bool(run.has_changes),
            resource_additions=(run.resource_additions or 0) if counted else 0,
            resource_changes=(run.resource_changes or 0) if counted else 0,
            resource_destructions=(run.resource_destructions or 0) if counted else 0,
        ),
        links={"self": f"{PREFIX}/plans/{plan_id(run.id)}"},
    )


def apply_resource(run: Run, base_url: str, signer: UrlSigner) -> Resource[PhaseAttributes]:
    status = apply_status(run)
    counted = status is PhaseStatus.FINISHED
    return Resource(
        id=apply_id(run.id),
        type="applies",
        attributes=PhaseAttributes(
            status=status,
            status_timestamps=_timestamps(run, status),
            log_read_url=log_url(base_url, signer, apply_id(run.id)),
            resource_additions=(run.resource_additions or 0) if counted else 0,
            resource_changes=(run.resource_changes or 0) if counted else 0,
            resource_destructions=(run.resource_destructions or 0) if counted else 0,
        ),
        links={"self": f"{PREFIX}/applies/{apply_id(run.id)}"},
    )


@router.get(f"{PREFIX}/plans/<plan>", include_in_schema=False)
def get_plan(
    plan: ResourceId, caller: Caller, service: Runs, signer: SignedUrls, base_url: PublicBaseUrl
) -> Response[str]:
    run = visible_run(service, caller, run_of(plan, "plan"))
    return reply(Document(data=plan_resource(run, base_url, signer)))


@router.get(f"{PREFIX}/applies/<apply>", include_in_schema=False)
def get_apply(
    apply: ResourceId, caller: Caller, service: Runs, signer: SignedUrls, base_url: PublicBaseUrl
) -> Response[str]:
    run = visible_run(service, caller, run_of(apply, "apply"))
    return reply(Document(data=apply_resource(run, base_url, signer)))


@router.get(f"{PREFIX}/runs/<run_id>/plan", include_in_schema=False)
def get_plan_of_run(
    run_id: ResourceId, caller: Caller, service: Runs, signer: SignedUrls, base_url: PublicBaseUrl
) -> Response[str]:
    """A run's plan by the run's id (go-tfe's and pytfe's ``ReadForRun``)."""
    run = visible_run(service, caller, run_id)
    return reply(Document(data=plan_resource(run, base_url, signer)))


@router.get(f"{PREFIX}/runs/<run_id>/apply", include_in_schema=False)
def get_apply_of_run(
    run_id: ResourceId, caller: Caller, service: Runs, signer: SignedUrls, base_url: PublicBaseUrl
) -> Response[str]:
    run = visible_run(service, caller, run_id)
    return reply(Document(data=apply_resource(run, base_url, signer)))


@router.get(f"{PREFIX}/plans/<plan>/json-output", include_in_schema=False)
def get_plan_json_output(plan: ResourceId, caller: Caller, service: Runs) -> Response[Any]:
    """The redacted JSON plan (as ``GET /api/v1/runs/{run}/plan-json``)."""
    run = visible_run(service, caller, run_of(plan, "plan"))
    return document_reply(service.plan_json(caller, run.id))


# --- the logs ---------------------------------------------------------------------------------


@router.get(f"{LOGS}/<phase_id>/<expires>/<signature>", include_in_schema=False)
def read_log(
    phase_id: ResourceId,
    expires: ResourceId,
    signature: ResourceId,
    service: Runs,
    signer: SignedUrls,
    limit: Annotated[int, Query(), Field(ge=0, le=MAX_LIMIT)] = MAX_LIMIT,
    offset: Annotated[int, Query(), Field(ge=0)] = 0,
) -> Response[str]:
    """Public: the signature in the path is the capability (docs/terraform-cli.md)."""
    signer.verify(phase_id, expires, signature)
    phase = Phase.PLAN if phase_id.startswith("plan-") else Phase.APPLY
    run_id = run_of(phase_id, phase.value)
    try:
        run = service.get(LOG_READER, run_id)
    except NotFound:
        raise NotFound("No such URL.") from None
    text = framed_log(service, run, phase, offset, limit)
    return Response(200, "text/plain", text.decode("utf-8", errors="replace"))


def framed_log(service: RunService, run: Run, phase: Phase, offset: int, limit: int) -> bytes:
    """Bytes ``offset`` to ``offset + limit`` of STX, the header, the log, the run's error and
    ETX (the last two once the phase is over). Whether it is over is read before the log, so
    an ETX never comes before the last of the log."""
    status = plan_status(run) if phase is Phase.PLAN else apply_status(run)
    head = STX + (_apply_header(run) if phase is Phase.APPLY else b"")
    out = bytearray(head[offset:])
    log_from = max(0, offset - len(head))
    page = service.logs(LOG_READER, run.id, phase, log_from)
    data = page.data.encode()
    out += data
    if status.over and len(out) < limit:
        size = service.log_size(LOG_READER, run.id, phase)
        if log_from + len(data) >= size:
            tail = _error_lines(run, phase) + ETX
            out += tail[max(0, offset - len(head) - size) :]
    return _whole_characters(bytes(out[:limit]))


def _apply_header(run: Run) -> bytes:
    """The three lines the CLI leaves out of an apply log (TFE's show Terraform's version)."""
    return (f"iacp: the apply of {run.id}\niacp: it applies the saved plan as it is\n\n").encode()


def _error_lines(run: Run, phase: Phase) -> bytes:
    """Why the run ended in this phase: its error, or its cancel; nothing if it ended after
    the phase (the plan of a run stopped by a post_plan task finished well)."""
    if not run.status.terminal or run.status not in CANCELED | {RunStatus.ERRORED}:
        return b""
    plan_done = reached(run, PLAN_DONE)
    if (phase is Phase.PLAN) == plan_done:  # the plan finished: the apply's end, if any
        return b""
    if run.status is RunStatus.ERRORED and run.error is not None:
        return f"\niacp: the run errored ({run.error.stage}): {run.error.message}\n".encode()
    return f"\niacp: the run was {run.status.value.replace('_', '-')}.\n".encode()


def _whole_characters(data: bytes) -> bytes:
    """Without a UTF-8 character cut at the end (the next read starts with it)."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:
            return data
        if byte >= 0xC0:  # a lead byte: is its character whole?
            length = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return data if back >= length else data[:-back] or data
    return data
