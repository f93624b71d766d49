"""GitHub's and GitLab's webhook deliveries (functions/vcs_webhook)."""

from iacp.orchestration.github_webhooks import GitHubWebhooks
from iacp.orchestration.gitlab_webhooks import GitLabWebhooks
from iacp.services.vcs import vcs_triggers
from iacp.settings import VcsEventsSettings
from iacp.vcs.secrets import ConnectionSecrets
from iacp.vcs.store import DynamoVcsConnectionStore


def build_github_webhooks(settings: VcsEventsSettings) -> GitHubWebhooks:
    return GitHubWebhooks(
        DynamoVcsConnectionStore(settings.workspaces_table),
        ConnectionSecrets(settings.vcs_secrets_prefix),
        vcs_triggers(settings),
    )


def build_gitlab_webhooks(settings: VcsEventsSettings) -> GitLabWebhooks:
    return GitLabWebhooks(
        DynamoVcsConnectionStore(settings.workspaces_table),
        ConnectionSecrets(settings.vcs_secrets_prefix),
        vcs_triggers(settings),
    )
