"""Runs (TFE's ``runs``) over iacp's RunService: create, read, list, the actions, the run
events, and the organization's queue and capacity the CLI asks about while a run waits.

Statuses are iacp's own, which TFE shares, but for a saved plan waiting for its apply
(``planned_and_saved``); the table is in docs/terraform-cli.md. A run's options map one to one
onto iacp's (``RunCreate``); TFE's run variables are HCL values (``hcl: true``). A run from a
speculative configuration version only plans.
"""

from collections.abc import Callable
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import ConfigDict, Field, StrictBool, StrictStr, ValidationError

from iacp.errors import InvalidInput
from iacp.http import Caller, PublicBaseUrl, ResourceId, provided
from iacp.model import Model
from iacp.orchestration.run_service import RunService
from iacp.principal import Principal, Role
from iacp.runs.models import Operation, Run, RunAction, RunCreate
from iacp.runs.status import RunStatus
from iacp.tfe.jsonapi import (
    MEDIA_TYPE,
    Attributes,
    Document,
    Ref,
    Relationship,
    Request,
    Resource,
    kebab,
    page_meta,
    reply,
)
from iacp.tfe.plans import apply_resource, plan_resource, visible_run
from iacp.tfe.protocol import PREFIX, Organization, visible_workspace
from iacp.tfe.run_phases import apply_id, plan_id
from iacp.tfe.signed_urls import UrlSigner
from iacp.tfe.task_stages import run_stages, stage_resource
from iacp.timestamps import UtcDatetime

router = APIGatewayRouter()
Runs = Annotated[RunService, provided("runs")]
SignedUrls = Annotated[UrlSigner, provided("signed_urls")]
RUN = f"{PREFIX}/runs/<run_id>"
DEFAULT_MESSAGE = "Queued manually using Terraform"
PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


# --- the run as TFE shows it -------------------------------------------------------------------


class RunActions(Attributes):
    is_cancelable: bool
    is_confirmable: bool
    is_discardable: bool
    is_force_cancelable: bool


class RunPermissions(Attributes):
    can_apply: bool
    can_cancel: bool
    can_discard: bool
    can_force_cancel: bool
    can_force_execute: bool = False
    can_override_policy_check: bool = False


class RunVariable(Model):
    """A run variable as TFE takes it; iacp never returns its value."""

    model_config = ConfigDict(extra="ignore")

    key: StrictStr
    value: StrictStr | None = None


class RunAttributes(Attributes):
    actions: RunActions
    permissions: RunPermissions
    allow_empty_apply: bool
    auto_apply: bool
    created_at: UtcDatetime
    canceled_at: UtcDatetime | None
    has_changes: bool
    is_destroy: bool
    message: str
    plan_only: bool
    position_in_queue: int = 0
    refresh: bool
    refresh_only: bool
    replace_addrs: list[str]
    save_plan: bool
    source: str = "tfe-api"
    status: str
    status_timestamps: dict[str, UtcDatetime]
    target_addrs: list[str]
    trigger_reason: str = "manual"
    variables: list[RunVariable]


def tfe_status(run: Run) -> str:
    """iacp's status as TFE names it: the same, but for a saved plan waiting to be applied."""
    if run.status is RunStatus.PLANNED and run.save_plan:
        return "planned_and_saved"
    return run.status.value


def _timestamp_name(run: Run, status: str) -> str:
    if status == RunStatus.PENDING:
        return "plan-queueable-at"
    if status == RunStatus.PLANNED and run.save_plan:
        return "planned-and-saved-at"
    return f"{kebab(status)}-at"


def run_resource(
    run: Run, caller: Principal, service: RunService, stages: list[Resource[Any]]
) -> Resource[RunAttributes]:
    writes = caller.role.rank >= Role.WRITE.rank and caller.can_see(run.workspace_id)
    actions = service.actions(caller, run)
    canceled_at = run.status_timestamps.get(RunStatus.CANCELED) or run.status_timestamps.get(
        RunStatus.FORCE_CANCELED
    )
    return Resource(
        id=run.id,
        type="runs",
        attributes=RunAttributes(
            actions=RunActions(**actions.model_dump(exclude={"is_overridable"})),
            permissions=RunPermissions(
                can_apply=writes, can_cancel=writes, can_discard=writes, can_force_cancel=writes
            ),
            allow_empty_apply=run.allow_empty_apply,
            auto_apply=run.auto_apply,
            created_at=run.created_at,
            canceled_at=canceled_at,
            has_changes=bool(run.has_changes),
            is_destroy=run.is_destroy,
            message=run.message,
            plan_only=run.operation is Operation.PLAN_ONLY,
            refresh=run.refresh,
            refresh_only=run.refresh_only,
            replace_addrs=run.replace_addrs,
            save_plan=run.save_plan,
            status=tfe_status(run),
            status_timestamps={
                _timestamp_name(run, status): at for status, at in run.status_timestamps.items()
            },
            target_addrs=run.target_addrs,
            variables=[RunVariable(key=key) for key in run.variable_keys],
        ),
        relationships={
            "workspace": Relationship.to("workspaces", run.workspace_id),
            "configuration-version": Relationship.to(
                "configuration-versions", run.configuration_version_id
            ),
            "plan": Relationship.to("plans", plan_id(run.id)),
            "apply": Relationship.to("applies", apply_id(run.id)),
            "task-stages": Relationship(data=[Ref(id=s.id, type=s.type) for s in stages]),
            "created-by": Relationship.to("users", run.created_by),
        },
        links={"self": f"{PREFIX}/runs/{run.id}"},
    )


IncludeQuery = Annotated[str, Query(description="plan, apply, task_stages")]


def run_document(
    run: Run,
    caller: Principal,
    service: RunService,
    signer: UrlSigner,
    base_url: str,
    include: str = "",
) -> Document:
    """The run and what ``include`` asks for (``plan``, ``apply``, ``task_stages``; others,
    such as ``workspace``, are left to their relationship)."""
    wanted = {name.strip() for name in include.split(",") if name.strip()}
    stages = [stage_resource(run, stage) for stage in run_stages(service, run)]
    included: list[Resource[Any]] = []
    if "plan" in wanted:
        included.append(plan_resource(run, base_url, signer))
    if "apply" in wanted:
        included.append(apply_resource(run, base_url, signer))
    if "task_stages" in wanted:
        included.extend(stages)
    return Document(data=run_resource(run, caller, service, stages), included=included or None)


# --- creating a run ------------------------------------------------------------------------------


class RunCreateAttributes(Attributes):
    """TFE's run options; each maps onto iacp's of the same name (``RunCreate``)."""

    is_destroy: StrictBool | None = None
    refresh: StrictBool | None = None
    refresh_only: StrictBool | None = None
    message: StrictStr | None = None
    target_addrs: list[StrictStr] | None = None
    replace_addrs: list[StrictStr] | None = None
    variables: list[RunVariable] | None = None
    auto_apply: StrictBool | None = None
    save_plan: StrictBool | None = None
    allow_empty_apply: StrictBool | None = None
    plan_only: StrictBool | None = None


_OPTIONS = (
    "is_destroy",
    "refresh",
    "refresh_only",
    "target_addrs",
    "replace_addrs",
    "auto_apply",
    "save_plan",
    "allow_empty_apply",
)


def _related(body: Request[RunCreateAttributes], name: str, type_: str) -> str | None:
    relationship = body.data.relationships.get(name)
    data = relationship.data if relationship else None
    if data is None:
        return None
    if not isinstance(data, Ref) or data.type != type_:
        raise InvalidInput(
            f"relationships.{name} must name one {type_}.", pointer=f"/data/relationships/{name}"
        )
    return data.id


def _pointer(field: str) -> str:
    if field == "configuration_version_id":
        return "/data/relationships/configuration-version"
    return f"/data/attributes/{kebab(field)}" if field else "/data/attributes"


def run_create(body: Request[RunCreateAttributes]) -> RunCreate:
    """iacp's request from TFE's, or a 422 naming TFE's attribute."""
    attributes = body.data.attributes
    request: dict[str, Any] = {
        name: getattr(attributes, name)
        for name in _OPTIONS
        if getattr(attributes, name) is not None
    }
    request["message"] = attributes.message or DEFAULT_MESSAGE
    if attributes.plan_only:
        request["operation"] = Operation.PLAN_ONLY
    if attributes.variables:
        # HCP's run variables are HCL values ("\"text\"", "[1, 2]").
        request["variables"] = [
            {"key": v.key, "value": v.value or "", "hcl": True} for v in attributes.variables
        ]
    version = _related(body, "configuration-version", "configuration-versions")
    if version is not None:
        request["configuration_version_id"] = version
    try:
        return RunCreate.model_validate(request)
    except ValidationError as invalid:
        error = invalid.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else ""
        name = kebab(field) or "attributes"
        raise InvalidInput(f"{name}: {error['msg']}", pointer=_pointer(field)) from None


@router.post(f"{PREFIX}/runs", include_in_schema=False)
def create_run(
    body: Request[RunCreateAttributes],
    caller: Caller,
    service: Runs,
    signer: SignedUrls,
    base_url: PublicBaseUrl,
) -> Response[str]:
    workspace_id = _related(body, "workspace", "workspaces")
    if workspace_id is None:
        raise InvalidInput(
            "relationships.workspace is required: the run's workspace.",
            pointer="/data/relationships/workspace",
        )
    visible_workspace(caller, workspace_id)
    request = run_create(body)
    try:
        run = service.create(caller, workspace_id, request)
    except InvalidInput as invalid:
        pointer = (invalid.source or {}).get("pointer", "").lstrip("/")
        raise InvalidInput(invalid.detail, pointer=_pointer(pointer)) from None
    return reply(run_document(run, caller, service, signer, base_url), 201)


# --- reading runs ---------------------------------------------------------------------------------


@router.get(RUN, include_in_schema=False)
def get_run(
    run_id: ResourceId,
    caller: Caller,
    service: Runs,
    signer: SignedUrls,
    base_url: PublicBaseUrl,
    include: IncludeQuery = "",
) -> Response[str]:
    run = visible_run(service, caller, run_id)
    return reply(run_document(run, caller, service, signer, base_url, include))


PageNumber = Annotated[int, Query(alias="page[number]"), Field(ge=1, le=1000)]
PageSize = Annotated[int, Query(alias="page[size]"), Field(ge=1, le=MAX_PAGE_SIZE)]


@router.get(f"{PREFIX}/workspaces/<workspace_id>/runs", include_in_schema=False)
def list_runs(
    workspace_id: ResourceId,
    caller: Caller,
    service: Runs,
    page_number: PageNumber = 1,
    page_size: PageSize = PAGE_SIZE,
) -> Response[str]:
    """Newest first, in TFE's numbered pages over iacp's cursor."""
    visible_workspace(caller, workspace_id)
    cursor: str | None = None
    runs: list[Run] = []
    for _ in range(page_number):
        page = service.page(caller, workspace_id, page_size, cursor)
        runs, cursor = page.items, page.next_cursor
        if cursor is None:
            break
    last = page_number if cursor is None else page_number + 1
    resources = [run_resource(run, caller, service, []) for run in runs]
    meta = page_meta(page_number, page_size, (last - 1) * page_size + len(runs))
    return reply(Document(data=resources, meta=meta))


class RunEventAttributes(Attributes):
    action: str
    created_at: UtcDatetime
    description: str


@router.get(f"{RUN}/run-events", include_in_schema=False)
def list_run_events(run_id: ResourceId, caller: Caller, service: Runs) -> Response[str]:
    """The run's status changes, oldest first (the CLI 1.5+ fails without this list)."""
    run = visible_run(service, caller, run_id)
    events = [
        Resource[RunEventAttributes](
            id=f"re-{run.id.removeprefix('run-')}-{status}",
            type="run-events",
            attributes=RunEventAttributes(
                action=status, created_at=at, description=f"The run is {status}."
            ),
        )
        for status, at in sorted(run.status_timestamps.items(), key=lambda item: item[1])
    ]
    return reply(Document(data=events, meta=page_meta(1, max(1, len(events)), len(events))))


@router.get(f"{PREFIX}/organizations/<organization>/runs/queue", include_in_schema=False)
def get_run_queue(organization: str, name: Organization, caller: Caller) -> Response[str]:
    """Runs wait per workspace, never for an organization-wide capacity: nothing is queued
    here (the CLI then says it waits for the run to start)."""
    return reply(Document(data=[], meta=page_meta(1, PAGE_SIZE, 0)))


class CapacityAttributes(Attributes):
    pending: int = 0
    running: int = 0


@router.get(f"{PREFIX}/organizations/<organization>/capacity", include_in_schema=False)
def get_capacity(organization: str, name: Organization, caller: Caller) -> Response[str]:
    capacity = Resource[CapacityAttributes](
        id=name, type="organization-capacity", attributes=CapacityAttributes()
    )
    return reply(Document(data=capacity))


# --- the actions ----------------------------------------------------------------------------------


class ActionComment(Model):
    """TFE's action bodies are plain JSON: ``{"comment": "..."}``."""

    model_config = ConfigDict(extra="ignore")

    comment: Annotated[StrictStr, Field(max_length=1000)] = ""


ActionBody = Annotated[ActionComment | None, Body()]


Action = Callable[[Principal, str, RunAction], Run]


def _act(
    service: RunService, act: Action, caller: Principal, run_id: str, body: ActionComment | None
) -> Response[str]:
    """The action over iacp's (the same role checks and 409s); TFE answers 202, no body."""
    run = visible_run(service, caller, run_id)
    act(caller, run.id, RunAction(comment=body.comment if body else ""))
    return Response(202, MEDIA_TYPE, "")


@router.post(f"{RUN}/actions/apply", include_in_schema=False)
def apply_run(
    run_id: ResourceId, caller: Caller, service: Runs, body: ActionBody = None
) -> Response[str]:
    return _act(service, service.apply, caller, run_id, body)


@router.post(f"{RUN}/actions/discard", include_in_schema=False)
def discard_run(
    run_id: ResourceId, caller: Caller, service: Runs, body: ActionBody = None
) -> Response[str]:
    return _act(service, service.discard, caller, run_id, body)


@router.post(f"{RUN}/actions/cancel", include_in_schema=False)
def cancel_run(
    run_id: ResourceId, caller: Caller, service: Runs, body: ActionBody = None
) -> Response[str]:
    return _act(service, service.cancel, caller, run_id, body)


@router.post(f"{RUN}/actions/force-cancel", include_in_schema=False)
def force_cancel_run(
    run_id: ResourceId, caller: Caller, service: Runs, body: ActionBody = None
) -> Response[str]:
    return _act(service, service.force_cancel, caller, run_id, body)
