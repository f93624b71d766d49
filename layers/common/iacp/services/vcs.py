"""What repository events start (functions/vcs_webhook, functions/codecommit_events)."""

from iacp.configurations.store import DynamoConfigurationStore
from iacp.orchestration.codecommit_pushes import CodeCommitPushes
from iacp.orchestration.github_webhooks import GitHubWebhooks
from iacp.orchestration.gitlab_webhooks import GitLabWebhooks
from iacp.orchestration.vcs_triggers import VcsTriggers
from iacp.runs.store import DynamoRunStore
from iacp.services.queue import run_queue
from iacp.settings import (
    VcsEventsSettings,
)
from iacp.vcs.secrets import ConnectionSecrets
from iacp.vcs.store import DynamoVcsConnectionStore
from iacp.workspaces.store import DynamoWorkspaceStore


def _vcs_triggers(settings: VcsEventsSettings) -> VcsTriggers:
    runs = DynamoRunStore(settings.runs_table)
    workspaces = DynamoWorkspaceStore(settings.workspaces_table)
    return VcsTriggers(
        workspaces,
        DynamoConfigurationStore(settings.workspaces_table),
        runs,
        run_queue(settings, runs, workspaces),
    )


def build_github_webhooks(settings: VcsEventsSettings) -> GitHubWebhooks:
    return GitHubWebhooks(
        DynamoVcsConnectionStore(settings.workspaces_table),
        ConnectionSecrets(settings.vcs_secrets_prefix),
        _vcs_triggers(settings),
    )


def build_gitlab_webhooks(settings: VcsEventsSettings) -> GitLabWebhooks:
    return GitLabWebhooks(
        DynamoVcsConnectionStore(settings.workspaces_table),
        ConnectionSecrets(settings.vcs_secrets_prefix),
        _vcs_triggers(settings),
    )


def build_codecommit_pushes(settings: VcsEventsSettings) -> CodeCommitPushes:
    return CodeCommitPushes(
        DynamoVcsConnectionStore(settings.workspaces_table), _vcs_triggers(settings)
    )
