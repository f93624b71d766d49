"""Run-task services' endpoints (/api/v1/run-task-results/...): callback, plan JSON, resource
changes, configuration download, and the public result. Authenticated by the result's access
token (or public), not by the user API's authorizer."""

from typing import Any

from iacp.cold_start import collector_paused

# Everything the function loads at a cold start (iacp.cold_start says why).
with collector_paused():
    from aws_lambda_powertools.logging import correlation_paths
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from iacp.http import SERVICE_LIMITS, screened
    from iacp.observability import logger, tracer
    from iacp.resolver import build_resolver
    from iacp.routes.run_task_services import router
    from iacp.services.callbacks import build_callback_service
    from iacp.settings import RunTaskCallbackSettings

    app = build_resolver([router])
    callbacks = build_callback_service(RunTaskCallbackSettings.from_env())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@screened(SERVICE_LIMITS)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    app.append_context(callbacks=callbacks)
    return app.resolve(event, context)
