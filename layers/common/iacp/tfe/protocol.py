"""What makes a reply one the Terraform CLI accepts from a TFE server, whatever the route:
the media type, the version headers on every reply (go-tfe refuses a server without
``TFP-API-Version`` >= 2.5), the organization in the path, and the discovery document.

``tfe_compatible`` wraps the API function's handler: JSON:API bodies (``application/
vnd.api+json``) are JSON to the resolver's validation, and every reply under ``/api/v2``
(and the discovery document) carries the headers, errors included.
"""

import functools
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.request import Request

from iacp.errors import NotFound, capped
from iacp.http import ProxyHandler
from iacp.principal import Principal
from iacp.tfe.jsonapi import MEDIA_TYPE

PREFIX = "/api/v2"
DISCOVERY_PATH = "/.well-known/terraform.json"
# The API version this server implements, as TFE names it; 2.5 is the least go-tfe accepts.
API_VERSION = "2.6"
APP_NAME = "Terraform Enterprise"
HEADERS = {"TFP-API-Version": API_VERSION, "TFP-AppName": APP_NAME}
# The services the discovery document names: the cloud block, the remote backend, the tfe
# provider, and state storage. All are the same /api/v2.
SERVICES = ("tfe.v2", "tfe.v2.1", "tfe.v2.2", "state.v2")


def tfe_compatible(handler: ProxyHandler) -> ProxyHandler:
    @functools.wraps(handler)
    def compatible(event: dict[str, Any], context: Any) -> dict[str, Any]:
        path = str(event.get("path") or "")
        if not (path.startswith(PREFIX + "/") or path == DISCOVERY_PATH):
            return handler(event, context)
        reply = handler(_as_json(event), context)
        reply["headers"] = {**(reply.get("headers") or {}), **HEADERS}
        return reply

    return compatible


def _as_json(event: dict[str, Any]) -> dict[str, Any]:
    """The event with a JSON:API content type read as JSON (it is JSON), which the resolver's
    body validation otherwise refuses."""
    headers = dict(event.get("headers") or {})
    for name, value in headers.items():
        if name.lower() == "content-type" and str(value).startswith(MEDIA_TYPE):
            headers[name] = "application/json"
    multi = {
        name: ["application/json" if name.lower() == "content-type" else v for v in values]
        for name, values in (event.get("multiValueHeaders") or {}).items()
    }
    return {**event, "headers": headers, "multiValueHeaders": multi or None}


def organization_name(request: Request) -> str:
    """The stack's one organization (OrganizationName), which every /api/v2 path names."""
    name: str = request.context["organization_name"]
    given = request.path_parameters.get("organization")
    if given is not None and given != name:
        raise NotFound(f"No organization {capped(given)}.")
    return name


Organization = Annotated[str, Depends(organization_name)]
"""A route parameter: the organization, after checking the path's ``organization``."""


def runner_terraform_version(request: Request) -> str:
    version: str = request.context["runner_terraform_version"]
    return version


RunnerTerraform = Annotated[str, Depends(runner_terraform_version)]
"""A route parameter: the Terraform release the runners have (RunnerTerraformVersion)."""


def discovery(base_url: str) -> dict[str, str]:
    """``/.well-known/terraform.json``: every service at this stack's ``/api/v2/``."""
    api = f"{base_url.rstrip('/')}{PREFIX}/"
    return dict.fromkeys(SERVICES, api)


def visible_workspace(caller: Principal, workspace_id: str) -> None:
    """Throughout /api/v2, a workspace the token may not see is, to it, one that does not
    exist: a 404, never a 403 that would tell it the workspace is there."""
    if not caller.can_see(workspace_id):
        raise NotFound(f"No workspace {capped(workspace_id)}.")
