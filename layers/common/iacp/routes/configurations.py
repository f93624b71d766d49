"""Routes: /api/v1/workspaces/{ws}/configuration-versions."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from iacp.configurations.models import ConfigurationCreate, ConfigurationVersion
from iacp.configurations.service import ConfigurationService
from iacp.http import Caller, ResourceId, provided, responses

router = APIGatewayRouter()
Configurations = Annotated[ConfigurationService, provided("configurations")]
TAGS = ["configuration versions"]
VERSIONS = "/api/v1/workspaces/<workspace_id>/configuration-versions"


@router.post(
    VERSIONS,
    status_code=201,
    tags=TAGS,
    summary="Create a configuration version; PUT the .tar.gz to its upload_url",
    responses=responses(201, "The new version, with its one-hour upload URL", 404),
)
def create_configuration_version(
    workspace_id: ResourceId,
    caller: Caller,
    service: Configurations,
    body: Annotated[ConfigurationCreate | None, Body()] = None,
) -> ConfigurationVersion:
    return service.create(caller, workspace_id)


@router.get(
    VERSIONS + "/<version_id>",
    tags=TAGS,
    summary="Show a configuration version (pending until its upload arrives)",
    responses=responses(200, "The version", 404),
)
def get_configuration_version(
    workspace_id: ResourceId, version_id: ResourceId, caller: Caller, service: Configurations
) -> ConfigurationVersion:
    return service.get(caller, workspace_id, version_id)
