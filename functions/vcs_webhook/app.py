"""GitHub and GitLab webhook deliveries (/api/v1/webhooks/github/{vcs},
/api/v1/webhooks/gitlab/{vcs}): authenticated by their signature or secret token, not by the
user API's authorizer."""

from typing import Any

from iacp.cold_start import collector_paused

# Everything the function loads at a cold start (iacp.cold_start says why).
with collector_paused():
    from aws_lambda_powertools.logging import correlation_paths
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from iacp.http import SERVICE_LIMITS, context_of, screened
    from iacp.observability import logger, tracer
    from iacp.resolver import build_resolver
    from iacp.routes.vcs_webhooks import router
    from iacp.services.webhooks import build_webhooks
    from iacp.settings import VcsEventsSettings

    app = build_resolver([router])
    webhooks_by_name = context_of(build_webhooks(VcsEventsSettings.from_env()))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@screened(SERVICE_LIMITS)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    app.append_context(**webhooks_by_name)
    return app.resolve(event, context)
