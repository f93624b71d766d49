"""A function's HTTP resolver: Powertools' REST resolver with request validation and the API's
error replies (``iacp.http``), over the routers the function serves. Each function builds its
own from its own routers and imports no other (a Lambda cold start imports what its handler
imports: the webhooks' function need not load the user API's routers)."""

from collections.abc import Sequence

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from iacp.http import register_error_handlers


def build_resolver(routers: Sequence[APIGatewayRouter]) -> APIGatewayRestResolver:
    app = APIGatewayRestResolver(enable_validation=True)
    register_error_handlers(app)
    for router in routers:
        app.include_router(router)
    return app
