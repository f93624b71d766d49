"""The services of the user API, wired to their stores once per process."""

from dataclasses import dataclass

from iacp.secrets import sealer_for
from iacp.settings import ApiSettings
from iacp.tokens.service import TokenService
from iacp.tokens.store import DynamoTokenStore
from iacp.variables.service import SEALING_PURPOSE, VariableService
from iacp.variables.store import DynamoVariableStore
from iacp.workspaces.service import WorkspaceService
from iacp.workspaces.store import DynamoWorkspaceStore


@dataclass(frozen=True)
class Services:
    workspaces: WorkspaceService
    variables: VariableService
    tokens: TokenService


def build_services(settings: ApiSettings) -> Services:
    workspace_store = DynamoWorkspaceStore(settings.workspaces_table)
    workspaces = WorkspaceService(workspace_store)
    return Services(
        workspaces=workspaces,
        variables=VariableService(
            DynamoVariableStore(settings.workspaces_table),
            workspace_store,
            sealer=lambda: sealer_for(settings.platform_secret_arn, SEALING_PURPOSE),
        ),
        tokens=TokenService(
            DynamoTokenStore(settings.tokens_table), missing_workspaces=workspaces.missing
        ),
    )
