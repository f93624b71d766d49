"""The API's TOKEN authorizer: authenticates the bearer token; routes check the role.

The decision is cached by API Gateway (ReauthorizeEvery in template.yaml) and applies to every
route of the stage, so the policy allows the whole stage and carries the principal in its
context. A revoked token therefore stops working within that cache time. A REST API caches
every decision for the same time (no reply can ask for less), so the context carries the
token's ``expires_at`` and the API function refuses an expired token on every request
(``iacp.http.current_principal``), cached decision or not.
"""

from typing import Any

from iacp.cold_start import collector_paused

# Everything the function loads at a cold start (iacp.cold_start says why).
with collector_paused():
    from aws_lambda_powertools.metrics import MetricUnit
    from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
        APIGatewayAuthorizerResponse,
        APIGatewayAuthorizerTokenEvent,
    )
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from iacp.errors import Unauthorized
    from iacp.observability import logger, metrics
    from iacp.settings import AuthorizerSettings
    from iacp.tokens.service import authenticate
    from iacp.tokens.store import DynamoTokenStore

    store = DynamoTokenStore(AuthorizerSettings.from_env().tokens_table)

BEARER = "Bearer "


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(raw_event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    event = APIGatewayAuthorizerTokenEvent(raw_event)
    header = event.authorization_token or ""
    try:
        if not header.startswith(BEARER):
            raise Unauthorized("not a bearer token")
        principal = authenticate(store, header.removeprefix(BEARER))
    except Unauthorized:
        metrics.add_metric(name="TokenRejected", unit=MetricUnit.Count, value=1)
        # API Gateway answers 401 (the UNAUTHORIZED gateway response) for exactly this error.
        raise Exception("Unauthorized") from None
    metrics.add_metric(name="TokenAccepted", unit=MetricUnit.Count, value=1)
    arn = event.parsed_arn
    response = APIGatewayAuthorizerResponse(
        principal_id=principal.token_id,
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
        context=principal.to_authorizer_context(),
    )
    response.allow_all_routes()
    return response.asdict()
