"""The user API: one resolver, a router per domain, and its OpenAPI document.

``python -m iacp.api`` prints the OpenAPI document (``make openapi`` writes it to
``docs/openapi.json``; a test fails when the two differ).
"""

import json

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

from iacp import PRODUCT, __version__
from iacp.configurations.api import router as configurations_router
from iacp.http import register_error_handlers
from iacp.runs.api import router as runs_router
from iacp.states.api import router as states_router
from iacp.tokens.api import router as tokens_router
from iacp.variables.api import router as variables_router
from iacp.workspaces.api import router as workspaces_router

ROUTERS = (
    workspaces_router,
    variables_router,
    configurations_router,
    runs_router,
    states_router,
    tokens_router,
)

OPENAPI_PATH = "/api/v1/openapi.json"


def build_resolver() -> APIGatewayRestResolver:
    app = APIGatewayRestResolver(enable_validation=True)
    register_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)

    @app.get(OPENAPI_PATH, include_in_schema=False)
    def openapi_document() -> Response[str]:
        return Response(200, content_types.APPLICATION_JSON, openapi_json(app))

    return app


def openapi_json(app: APIGatewayRestResolver) -> str:
    schema = app.get_openapi_json_schema(
        title=f"{PRODUCT} API",
        version=__version__,
        summary="A self-hosted, AWS-native Terraform run platform",
        security_schemes={"apiToken": HTTPBearer(description="An API token: at-...")},
        security=[{"apiToken": []}],
    )
    return json.dumps(json.loads(schema), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(openapi_json(build_resolver()), end="")
