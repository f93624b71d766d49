"""The base of the TFE API: discovery, ping, the caller's account, and the stack's one
organization with its entitlements. ``terraform init`` asks for these before anything else
(docs/terraform-cli.md)."""

import json

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import Field

from iacp.http import Caller, PublicBaseUrl
from iacp.principal import Principal, Role
from iacp.tfe.jsonapi import Attributes, Document, Resource, reply
from iacp.tfe.protocol import DISCOVERY_PATH, PREFIX, Organization, discovery

router = APIGatewayRouter()


@router.get(DISCOVERY_PATH, include_in_schema=False)
def get_discovery(base_url: PublicBaseUrl) -> Response[str]:
    return Response(200, content_types.APPLICATION_JSON, json.dumps(discovery(base_url)))


@router.get(f"{PREFIX}/ping", include_in_schema=False)
def ping() -> Response[str]:
    """Clients read only the headers (``tfe_compatible`` adds them)."""
    return Response(204, content_types.APPLICATION_JSON, "")


class UserAttributes(Attributes):
    username: str
    is_service_account: bool = True  # an API token, not a person
    two_factor: dict[str, bool] = Field(
        default_factory=lambda: {"enabled": False, "verified": False}
    )


@router.get(f"{PREFIX}/account/details", include_in_schema=False)
def get_account_details(caller: Caller) -> Response[str]:
    """The token's account: ``terraform login`` checks a pasted token with it."""
    user = Resource[UserAttributes](
        id=caller.token_id,
        type="users",
        attributes=UserAttributes(username=caller.token_id),
    )
    return reply(Document(data=user))


class OrganizationPermissions(Attributes):
    can_update: bool
    can_destroy: bool = False
    can_create_workspace: bool
    can_manage_run_tasks: bool


class OrganizationAttributes(Attributes):
    name: str
    external_id: str
    permissions: OrganizationPermissions


class EntitlementAttributes(Attributes):
    """What the stack does: remote operations and state storage; none of TFE's paid
    features. ``operations: false`` would make the CLI run everything locally."""

    operations: bool = True
    state_storage: bool = True
    private_module_registry: bool = False
    sentinel: bool = False
    teams: bool = False
    vcs_integrations: bool = True
    run_tasks: bool = True
    agents: bool = False
    audit_logging: bool = False
    cost_estimation: bool = False
    sso: bool = False


def _organization(name: str, caller: Principal) -> Resource[OrganizationAttributes]:
    admin = caller.role is Role.ADMIN
    return Resource(
        id=name,
        type="organizations",
        attributes=OrganizationAttributes(
            name=name,
            external_id=name,
            permissions=OrganizationPermissions(
                can_update=admin,
                can_create_workspace=caller.role.rank >= Role.WRITE.rank
                and caller.workspaces is None,
                can_manage_run_tasks=admin,
            ),
        ),
    )


@router.get(f"{PREFIX}/organizations/<organization>", include_in_schema=False)
def get_organization(organization: str, name: Organization, caller: Caller) -> Response[str]:
    return reply(Document(data=_organization(name, caller)))


@router.get(f"{PREFIX}/organizations/<organization>/entitlement-set", include_in_schema=False)
def get_entitlement_set(organization: str, name: Organization, caller: Caller) -> Response[str]:
    entitlements = Resource[EntitlementAttributes](
        id=name, type="entitlement-sets", attributes=EntitlementAttributes()
    )
    return reply(Document(data=entitlements))
