"""GitHub's and GitLab's webhook deliveries (functions/vcs_webhook)."""

from dataclasses import dataclass

from iacp.orchestration.github_webhooks import GitHubWebhooks
from iacp.orchestration.gitlab_webhooks import GitLabWebhooks
from iacp.services.vcs import vcs_triggers
from iacp.settings import VcsEventsSettings
from iacp.vcs.secrets import ConnectionSecrets
from iacp.vcs.store import DynamoVcsConnectionStore


@dataclass(frozen=True)
class Webhooks:
    """Each host's deliveries, under the names their routes take them by
    (``iacp.http.provided``)."""

    webhooks: GitHubWebhooks
    gitlab_webhooks: GitLabWebhooks


def build_webhooks(settings: VcsEventsSettings) -> Webhooks:
    """Both hosts' deliveries over one set of connections, secrets and triggers."""
    connections = DynamoVcsConnectionStore(settings.workspaces_table)
    secrets = ConnectionSecrets(settings.vcs_secrets_prefix)
    triggers = vcs_triggers(settings)
    return Webhooks(
        webhooks=GitHubWebhooks(connections, secrets, triggers),
        gitlab_webhooks=GitLabWebhooks(connections, secrets, triggers),
    )
