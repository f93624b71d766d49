"""State versions and their outputs as Terraform Enterprise serves them: what ``terraform init``
(the current state, 404 without one), ``state pull`` (its download), ``output`` (the current
outputs with ``detailed-type``), ``state push``, ``import`` and local-execution applies (a new
state version, inline for Terraform 1.5, announced then uploaded for 1.6+) ask.

The state file is never served by a function: ``hosted-state-download-url`` is a route of this
API that answers 307 to a short-lived presigned S3 GET (go-tfe sends its token along; Go drops
it on a redirect to another host), and a pending version's upload URLs are presigned S3 PUTs,
which go-tfe calls without a token and with their query string intact.
"""

import base64
import binascii
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import Field

from iacp.errors import InvalidInput, NotFound, capped
from iacp.http import Caller, PublicBaseUrl, ResourceId, provided
from iacp.pagination import MAX_LIMIT, every_item
from iacp.principal import Principal, Role
from iacp.states.models import (
    NamedStateOutput,
    StatePush,
    StateUpload,
    StateVersion,
    StateVersionSummary,
)
from iacp.states.service import StateService
from iacp.tfe.jsonapi import Attributes, Document, Relationship, Request, Resource, page_meta, reply
from iacp.tfe.protocol import PREFIX, Organization, visible_workspace
from iacp.timestamps import UtcDatetime
from iacp.workspaces.service import WorkspaceService

router = APIGatewayRouter()
States = Annotated[StateService, provided("states")]
Workspaces = Annotated[WorkspaceService, provided("workspaces")]
WorkspaceFilter = Annotated[str, Query(alias="filter[workspace][name]", max_length=90)]
OrganizationFilter = Annotated[str, Query(alias="filter[organization][name]", max_length=90)]
PageNumber = Annotated[int, Query(alias="page[number]", ge=1)]
PageSize = Annotated[int, Query(alias="page[size]", ge=1, le=MAX_LIMIT)]
DEFAULT_PAGE_SIZE = 20

STATE_VERSION = f"{PREFIX}/state-versions/<state_version_id>"
WORKSPACE = f"{PREFIX}/workspaces/<workspace_id>"
OUTPUT_PREFIX = "wsout-"


class StateVersionAttributes(Attributes):
    created_at: UtcDatetime
    serial: int
    lineage: str | None
    status: str
    size: int | None = None
    md5: str | None = None
    terraform_version: str | None = None
    resources_processed: bool = True
    hosted_state_download_url: str | None = None
    hosted_json_state_download_url: str | None = None
    hosted_state_upload_url: str | None = None
    hosted_json_state_upload_url: str | None = None


class StateVersionOutputAttributes(Attributes):
    name: str
    sensitive: bool
    type: str
    detailed_type: Any = None
    value: Any = None


class StateVersionCreateAttributes(Attributes):
    """``POST /workspaces/{id}/state-versions``, as go-tfe's ``StateVersionCreateOptions``."""

    serial: int = Field(ge=0)
    md5: str = Field(pattern=r"^[0-9a-fA-F]{32}$")
    lineage: str | None = Field(None, max_length=200)
    force: bool = False
    state: str | None = None
    json_state: str | None = None  # accepted, not kept
    json_state_outputs: str | None = None  # accepted, not kept: the state has the types


def _version(
    version: StateVersion | StateVersionSummary,
    caller: Principal,
    base_url: str,
    upload: StateUpload | None = None,
) -> Resource[StateVersionAttributes]:
    finalized = version.status == "finalized"
    download = (
        f"{base_url.rstrip('/')}{PREFIX}/state-versions/{version.id}/download"
        if finalized and caller.role.rank >= Role.WRITE.rank
        else None
    )
    return Resource(
        id=version.id,
        type="state-versions",
        attributes=StateVersionAttributes(
            created_at=version.created_at,
            serial=version.serial,
            lineage=version.lineage or None,
            status=version.status.value,
            size=version.size,
            md5=version.md5,
            terraform_version=version.terraform_version,
            hosted_state_download_url=download,
            hosted_state_upload_url=None if upload is None else upload.upload_url,
            hosted_json_state_upload_url=None if upload is None else upload.json_upload_url,
        ),
        relationships={
            "run": Relationship.to("runs", version.run_id),
            "outputs": Relationship(
                data=[
                    Relationship.to("state-version-outputs", output_id(version.id, name)).data
                    for name in version.output_names
                ]
                if finalized
                else []
            ),
        },
        links={"self": f"{PREFIX}/state-versions/{version.id}"},
    )


def output_id(state_version_id: str, name: str) -> str:
    """An output's id names its version and itself (``wsout-<version suffix>-<name>``):
    outputs are read from the state file, not stored one by one."""
    return f"{OUTPUT_PREFIX}{state_version_id.removeprefix('sv-')}-{name}"


def _parse_output_id(output: str) -> tuple[str, str]:
    suffix, _, name = output.removeprefix(OUTPUT_PREFIX).partition("-")
    if not output.startswith(OUTPUT_PREFIX) or not suffix or not name:
        raise NotFound(f"No state version output {capped(output)}.")
    return f"sv-{suffix}", name


def simple_type(detailed: Any) -> str:
    """TFE's ``type`` of an output from Terraform's type (``detailed-type``)."""
    if detailed == "bool":
        return "boolean"
    if detailed in ("string", "number"):
        return str(detailed)
    if isinstance(detailed, list) and detailed:
        return "array" if detailed[0] in ("list", "set", "tuple") else "object"
    return "string"


def _output(state_version_id: str, output: NamedStateOutput) -> Resource[Any]:
    return Resource(
        id=output_id(state_version_id, output.name),
        type="state-version-outputs",
        attributes=StateVersionOutputAttributes(
            name=output.name,
            sensitive=output.sensitive,
            type=simple_type(output.type),
            detailed_type=output.type,
            value=output.value,
        ),
        links={
            "self": f"{PREFIX}/state-version-outputs/{output_id(state_version_id, output.name)}"
        },
    )


def _outputs(service: StateService, caller: Principal, state_version_id: str) -> Response[str]:
    outputs = service.outputs(caller, state_version_id).items
    data = [_output(state_version_id, output) for output in outputs]
    return reply(Document(data=data, meta=page_meta(1, max(1, len(data)), len(data))))


@router.get(f"{WORKSPACE}/current-state-version", include_in_schema=False)
def get_current_state_version(
    workspace_id: ResourceId, caller: Caller, service: States, base_url: PublicBaseUrl
) -> Response[str]:
    visible_workspace(caller, workspace_id)
    return reply(Document(data=_version(service.current(caller, workspace_id), caller, base_url)))


@router.get(f"{WORKSPACE}/state-versions", include_in_schema=False)
def list_state_versions(
    workspace_id: ResourceId,
    caller: Caller,
    service: States,
    base_url: PublicBaseUrl,
    page_number: PageNumber = 1,
    page_size: PageSize = DEFAULT_PAGE_SIZE,
) -> Response[str]:
    """Newest first; TFE's numbered pages over the history's cursor pages (it reads the
    history up to the page asked for, and on to count it)."""
    visible_workspace(caller, workspace_id)
    return _history(service, caller, workspace_id, base_url, page_number, page_size)


@router.get(f"{PREFIX}/state-versions", include_in_schema=False)
def list_state_versions_by_filter(
    caller: Caller,
    organization: Organization,
    workspaces: Workspaces,
    service: States,
    base_url: PublicBaseUrl,
    workspace_name: WorkspaceFilter,
    organization_name: OrganizationFilter,
    page_number: PageNumber = 1,
    page_size: PageSize = DEFAULT_PAGE_SIZE,
) -> Response[str]:
    """The older form, ``?filter[workspace][name]=&filter[organization][name]=`` (go-tfe's and
    pytfe's ``StateVersions.List``): the same list, by the workspace's name."""
    if organization_name != organization:
        raise NotFound(f"No organization {capped(organization_name)}.")
    workspace = workspaces.get_by_name(caller, workspace_name)
    return _history(service, caller, workspace.id, base_url, page_number, page_size)


def _history(
    service: StateService,
    caller: Principal,
    workspace_id: str,
    base_url: str,
    page_number: int,
    page_size: int,
) -> Response[str]:
    versions = every_item(lambda cursor: service.page(caller, workspace_id, MAX_LIMIT, cursor))
    shown = versions[(page_number - 1) * page_size : page_number * page_size]
    return reply(
        Document(
            data=[_version(version, caller, base_url) for version in shown],
            meta=page_meta(page_number, page_size, len(versions)),
        )
    )


@router.post(f"{WORKSPACE}/state-versions", include_in_schema=False)
def create_state_version(
    workspace_id: ResourceId,
    body: Request[StateVersionCreateAttributes],
    caller: Caller,
    service: States,
    base_url: PublicBaseUrl,
) -> Response[str]:
    visible_workspace(caller, workspace_id)
    attributes = body.data.attributes
    push = StatePush(
        serial=attributes.serial,
        md5=attributes.md5,
        lineage=attributes.lineage,
        force=attributes.force,
        state=None if attributes.state is None else _base64(attributes.state),
    )
    written = service.push(caller, workspace_id, push)
    if isinstance(written, StateUpload):
        return reply(Document(data=_version(written.version, caller, base_url, written)), 201)
    return reply(Document(data=_version(written, caller, base_url)), 201)


def _base64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("The state is not base64.", pointer="/data/attributes/state") from None


@router.get(STATE_VERSION, include_in_schema=False)
def get_state_version(
    state_version_id: ResourceId, caller: Caller, service: States, base_url: PublicBaseUrl
) -> Response[str]:
    return reply(Document(data=_version(service.get(caller, state_version_id), caller, base_url)))


@router.get(f"{STATE_VERSION}/download", include_in_schema=False)
def download_state_version(
    state_version_id: ResourceId, caller: Caller, service: States
) -> Response[str]:
    """307 to a presigned GET of the file: write tokens only (it holds sensitive values)."""
    url = service.download_url(caller, state_version_id)
    return Response(307, "application/json", "", headers={"Location": url})


@router.get(f"{STATE_VERSION}/outputs", include_in_schema=False)
def list_state_version_outputs(
    state_version_id: ResourceId, caller: Caller, service: States
) -> Response[str]:
    return _outputs(service, caller, state_version_id)


@router.get(f"{WORKSPACE}/current-state-version-outputs", include_in_schema=False)
def list_current_state_version_outputs(
    workspace_id: ResourceId, caller: Caller, service: States
) -> Response[str]:
    visible_workspace(caller, workspace_id)
    return _outputs(service, caller, service.current(caller, workspace_id).id)


@router.get(f"{PREFIX}/state-version-outputs/<output_id>", include_in_schema=False)
def get_state_version_output(
    output_id: ResourceId, caller: Caller, service: States
) -> Response[str]:
    state_version_id, name = _parse_output_id(output_id)
    for output in service.outputs(caller, state_version_id).items:
        if output.name == name:
            return reply(Document(data=_output(state_version_id, output)))
    raise NotFound(f"No state version output {capped(output_id)}.")
