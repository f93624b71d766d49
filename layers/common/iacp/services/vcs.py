"""What repository events start: the triggers that the webhooks (iacp.services.webhooks) and
CodeCommit's pushes (iacp.services.codecommit) share. One module per source, so that neither
function imports the other's code."""

from iacp.configurations.store import DynamoConfigurationStore
from iacp.orchestration.vcs_triggers import VcsTriggers
from iacp.runs.store import DynamoRunStore
from iacp.services.queue import run_queue
from iacp.settings import VcsEventsSettings
from iacp.workspaces.store import DynamoWorkspaceStore


def vcs_triggers(settings: VcsEventsSettings) -> VcsTriggers:
    runs = DynamoRunStore(settings.runs_table)
    workspaces = DynamoWorkspaceStore(settings.workspaces_table)
    return VcsTriggers(
        workspaces,
        DynamoConfigurationStore(settings.workspaces_table),
        runs,
        run_queue(settings, runs, workspaces),
    )
