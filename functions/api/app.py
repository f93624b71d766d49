"""The user API function: every /api/v1 route behind the token authorizer, and the
TFE-compatible /api/v2 (iacp.tfe) that the terraform CLI speaks."""

from typing import Any

from iacp.cold_start import collector_paused

# Everything the function loads at a cold start (iacp.cold_start says why).
with collector_paused():
    from aws_lambda_powertools.logging import correlation_paths
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from iacp.api import build_user_api
    from iacp.http import context_of, screened
    from iacp.observability import logger, tracer
    from iacp.services.api import build_services
    from iacp.settings import ApiSettings
    from iacp.tfe.protocol import tfe_compatible

    app = build_user_api()
    # Each route finds its service in the request's context by name (iacp.http.provided).
    services_by_name = context_of(build_services(ApiSettings.from_env()))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@screened()
@tfe_compatible
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    app.append_context(**services_by_name)
    return app.resolve(event, context)
