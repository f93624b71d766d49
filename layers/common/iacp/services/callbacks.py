"""The run-task services' endpoints (functions/run_task_callback)."""

from functools import partial

from iacp.artifacts import S3ArtifactStore
from iacp.configurations.models import archive_key
from iacp.orchestration.task_callbacks import CallbackService
from iacp.orchestration.workflow_client import resume
from iacp.runs.artifacts import RunArtifacts
from iacp.runs.store import DynamoRunStore
from iacp.runtasks.access_tokens import AccessTokens
from iacp.runtasks.results import DynamoTaskResultStore
from iacp.secrets import platform_secret
from iacp.settings import (
    RunTaskCallbackSettings,
)


def build_callback_service(settings: RunTaskCallbackSettings) -> CallbackService:
    runs = DynamoRunStore(settings.runs_table)

    def configuration_key(run_id: str) -> str | None:
        run = runs.get(run_id)
        return None if run is None else archive_key(run.workspace_id, run.configuration_version_id)

    return CallbackService(
        DynamoTaskResultStore(settings.task_results_table),
        AccessTokens(partial(platform_secret, settings.platform_secret_arn)),
        resume,
        RunArtifacts(S3ArtifactStore(settings.artifacts_bucket)),
        configuration_key,
    )
