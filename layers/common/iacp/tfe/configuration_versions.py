"""Configuration versions (TFE's ``configuration-versions``) over iacp's.

``upload-url`` is iacp's presigned S3 PUT: the archive goes straight to S3, never through a
function (Lambda's 6 MB limit). Its signature is in the query string, which go-tfe keeps:
its ``UploadTarGzip`` PUTs to ``url.Parse(uploadURL).String()`` with no ``Authorization``
(``doForeignPUTRequest``), and S3 checks only the signed host (docs/terraform-cli.md). The
status turns ``uploaded`` the first time the version is read after the archive arrived.
"""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import Field, StrictBool

from iacp.configurations.models import ConfigurationStatus, ConfigurationVersion
from iacp.configurations.service import ConfigurationService
from iacp.errors import Forbidden, NotFound
from iacp.http import Caller, ResourceId, provided
from iacp.tfe.jsonapi import Attributes, Document, Request, Resource, reply
from iacp.tfe.protocol import PREFIX, visible_workspace
from iacp.timestamps import UtcDatetime

router = APIGatewayRouter()
Configurations = Annotated[ConfigurationService, provided("configurations")]


class ConfigurationVersionCreate(Attributes):
    auto_queue_runs: StrictBool = True
    speculative: StrictBool = False
    provisional: StrictBool = False


class ConfigurationVersionAttributes(Attributes):
    # The CLI sends false; with true, TFE queues a run once the archive is uploaded. Here
    # the upload goes to S3 unseen: no run is queued (docs/terraform-cli.md), as this says.
    auto_queue_runs: bool = False
    error: str | None = None
    error_message: str | None = None
    source: str = "tfe-api"
    speculative: bool
    provisional: bool
    status: ConfigurationStatus
    status_timestamps: dict[str, UtcDatetime]
    upload_url: str | None = None
    changed_files: list[str] = Field(default_factory=list)


def version_resource(version: ConfigurationVersion) -> Resource[ConfigurationVersionAttributes]:
    errored = version.status is ConfigurationStatus.ERRORED
    return Resource(
        id=version.id,
        type="configuration-versions",
        attributes=ConfigurationVersionAttributes(
            error="invalid_archive" if errored else None,
            error_message="The upload is not a gzip archive." if errored else None,
            speculative=version.speculative,
            provisional=version.provisional,
            status=version.status,
            status_timestamps={"queued-at": version.created_at},
            upload_url=version.upload_url,
        ),
        links={"self": f"{PREFIX}/configuration-versions/{version.id}"},
    )


@router.post(f"{PREFIX}/workspaces/<workspace_id>/configuration-versions", include_in_schema=False)
def create_configuration_version(
    workspace_id: ResourceId,
    caller: Caller,
    service: Configurations,
    body: Annotated[Request[ConfigurationVersionCreate] | None, Body()] = None,
) -> Response[str]:
    visible_workspace(caller, workspace_id)
    attributes = body.data.attributes if body else ConfigurationVersionCreate()
    version = service.create(
        caller,
        workspace_id,
        speculative=attributes.speculative,
        provisional=attributes.provisional,
    )
    return reply(Document(data=version_resource(version)), 201)


@router.get(f"{PREFIX}/configuration-versions/<version_id>", include_in_schema=False)
def get_configuration_version(
    version_id: ResourceId, caller: Caller, service: Configurations
) -> Response[str]:
    try:
        version = service.get_by_id(caller, version_id)
    except Forbidden:
        raise NotFound(f"No configuration version {version_id}.") from None
    return reply(Document(data=version_resource(version)))
