"""TFE's workspace variables (``vars``) over iacp's ``VariableService``, so go-tfe and the
``tfe`` provider manage the same variables as ``/api/v1``. A sensitive value is write-only
here too: every reply has ``"value": null`` for it (docs/terraform-cli.md)."""

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import ConfigDict, Field

from iacp.errors import Conflict, InvalidInput
from iacp.http import Caller, ResourceId, provided
from iacp.model import Model
from iacp.pagination import MAX_LIMIT, every_item
from iacp.principal import Principal
from iacp.tfe.jsonapi import Attributes, Document, Relationship, Resource, reply
from iacp.tfe.protocol import PREFIX, Organization, visible_workspace
from iacp.tfe.workspaces import (
    NullableAttributes,
    Workspaces,
    iacp_model,
    tfe_pointers,
)
from iacp.timestamps import UtcDatetime
from iacp.variables.models import Variable, VariableCategory, VariableCreate, VariableUpdate
from iacp.variables.service import VariableService

router = APIGatewayRouter()
Variables = Annotated[VariableService, provided("variables")]
VARS = f"{PREFIX}/workspaces/<workspace_id>/vars"


class VariableAttributes(NullableAttributes):
    NULLABLE = ("value",)

    key: str
    value: str | None = Field(description="null when the variable is sensitive")
    category: VariableCategory
    hcl: bool
    sensitive: bool
    description: str
    created_at: UtcDatetime


def variable_resource(variable: Variable) -> Resource[VariableAttributes]:
    return Resource(
        id=variable.id,
        type="vars",
        attributes=VariableAttributes(
            key=variable.key,
            value=variable.value,
            category=variable.category,
            hcl=variable.hcl,
            sensitive=variable.sensitive,
            description=variable.description,
            created_at=variable.created_at,
        ),
        relationships={"configurable": Relationship.to("workspaces", variable.workspace_id)},
    )


class VariableSettings(Attributes):
    """A variable's attributes as a create or an update sends them; iacp's models check
    them (key, category, lengths). Unknown attributes are ignored."""

    key: Any = None
    value: Any = None
    category: Any = None
    hcl: Any = None
    sensitive: Any = None
    description: Any = None


class VariableData(Model):
    model_config = ConfigDict(extra="ignore")

    type: Literal["vars"]
    id: str | None = None
    attributes: VariableSettings = Field(default_factory=VariableSettings)
    relationships: dict[str, Any] = Field(default_factory=dict)


class VariableBody(Model):
    model_config = ConfigDict(extra="ignore")

    data: VariableData


def _fields(settings: VariableSettings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in settings.model_fields_set}


def _all(service: VariableService, caller: Principal, workspace_id: str) -> list[Variable]:
    """Every variable of the workspace: TFE lists them whole, without pages."""
    return every_item(lambda cursor: service.page(caller, workspace_id, MAX_LIMIT, cursor))


def _listed(variables: list[Variable]) -> Response[str]:
    return reply(Document(data=[variable_resource(v) for v in variables]))


@router.get(VARS, include_in_schema=False)
def list_variables(workspace_id: ResourceId, caller: Caller, service: Variables) -> Response[str]:
    visible_workspace(caller, workspace_id)
    return _listed(_all(service, caller, workspace_id))


@router.post(VARS, include_in_schema=False)
def create_variable(
    workspace_id: ResourceId, body: VariableBody, caller: Caller, service: Variables
) -> Response[str]:
    visible_workspace(caller, workspace_id)
    return _created(service, caller, workspace_id, body)


def _created(
    service: VariableService, caller: Principal, workspace_id: str, body: VariableBody
) -> Response[str]:
    request = iacp_model(VariableCreate, _fields(body.data.attributes))
    try:
        with tfe_pointers():
            created = service.create(caller, workspace_id, request)
    except Conflict as taken:
        # TFE's word for a key the workspace has: a 422 on the key.
        raise InvalidInput(taken.detail, pointer="/data/attributes/key") from None
    return reply(Document(data=variable_resource(created)), 201)


@router.get(f"{VARS}/<variable_id>", include_in_schema=False)
def get_variable(
    workspace_id: ResourceId, variable_id: ResourceId, caller: Caller, service: Variables
) -> Response[str]:
    visible_workspace(caller, workspace_id)
    return reply(Document(data=variable_resource(service.get(caller, workspace_id, variable_id))))


@router.patch(f"{VARS}/<variable_id>", include_in_schema=False)
def update_variable(
    workspace_id: ResourceId,
    variable_id: ResourceId,
    body: VariableBody,
    caller: Caller,
    service: Variables,
) -> Response[str]:
    visible_workspace(caller, workspace_id)
    request = iacp_model(VariableUpdate, _fields(body.data.attributes))
    try:
        with tfe_pointers():
            updated = service.update(caller, workspace_id, variable_id, request)
    except Conflict as taken:
        raise InvalidInput(taken.detail, pointer="/data/attributes/key") from None
    return reply(Document(data=variable_resource(updated)))


@router.delete(f"{VARS}/<variable_id>", include_in_schema=False)
def delete_variable(
    workspace_id: ResourceId, variable_id: ResourceId, caller: Caller, service: Variables
) -> Response[str]:
    visible_workspace(caller, workspace_id)
    service.delete(caller, workspace_id, variable_id)
    return Response(204, None, "")


# --- the older, organization-wide form: /vars?filter[workspace][name]=... -------------------


WorkspaceFilter = Annotated[str, Query(alias="filter[workspace][name]", max_length=90)]
OrganizationFilter = Annotated[str | None, Query(alias="filter[organization][name]", max_length=90)]


@router.get(f"{PREFIX}/vars", include_in_schema=False)
def list_variables_by_filter(
    caller: Caller,
    organization: Organization,
    workspaces: Workspaces,
    service: Variables,
    workspace_name: WorkspaceFilter,
    organization_name: OrganizationFilter = None,
) -> Response[str]:
    if organization_name is not None and organization_name != organization:
        return _listed([])  # another organization's workspace: there is none
    workspace = workspaces.get_by_name(caller, workspace_name)
    return _listed(_all(service, caller, workspace.id))
