"""CodeCommit's pushes, from EventBridge (functions/codecommit_events)."""

from iacp.orchestration.codecommit_pushes import CodeCommitPushes
from iacp.services.vcs import vcs_triggers
from iacp.settings import VcsEventsSettings
from iacp.vcs.store import DynamoVcsConnectionStore


def build_codecommit_pushes(settings: VcsEventsSettings) -> CodeCommitPushes:
    return CodeCommitPushes(
        DynamoVcsConnectionStore(settings.workspaces_table), vcs_triggers(settings)
    )
