"""CodeCommit pushes, from the EventBridge rule on "CodeCommit Repository State Change":
the same triggers as GitHub's webhooks, without a webhook."""

from typing import Any

from iacp.cold_start import collector_paused

# Everything the function loads at a cold start (iacp.cold_start says why).
with collector_paused():
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from iacp.observability import logger, tracer
    from iacp.orchestration.codecommit_pushes import RepositoryStateChange
    from iacp.services.codecommit import build_codecommit_pushes
    from iacp.settings import VcsEventsSettings

    pushes = build_codecommit_pushes(VcsEventsSettings.from_env())


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    reports = pushes.handle(RepositoryStateChange.model_validate(event))
    return {"reports": [report.model_dump(mode="json") for report in reports]}
