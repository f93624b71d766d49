"""Reports to the repository hosts (functions/vcs_feedback)."""

from iacp.artifacts import S3ArtifactStore
from iacp.orchestration.vcs_feedback import VcsFeedbackReporter
from iacp.runs.store import DynamoRunStore
from iacp.runtasks.results import DynamoTaskResultStore
from iacp.services.common import outbound
from iacp.settings import (
    VcsFeedbackSettings,
)
from iacp.vcs.secrets import ConnectionSecrets
from iacp.vcs.store import DynamoVcsConnectionStore
from iacp.workspaces.store import DynamoWorkspaceStore


def build_vcs_feedback(settings: VcsFeedbackSettings) -> VcsFeedbackReporter:
    return VcsFeedbackReporter(
        DynamoRunStore(settings.runs_table),
        DynamoWorkspaceStore(settings.workspaces_table),
        DynamoVcsConnectionStore(settings.workspaces_table),
        ConnectionSecrets(settings.vcs_secrets_prefix),
        S3ArtifactStore(settings.artifacts_bucket),
        DynamoTaskResultStore(settings.task_results_table),
        outbound(settings.outbound_private_addresses),
        settings.public_base_url,
        plain_http_allowed=settings.allow_plain_http_urls,
    )
