"""The HTTP API: a resolver per function, a router per domain, and one OpenAPI document.

Three functions serve ``/api/v1``: the user API (API tokens, checked by the authorizer), the
run-task services' endpoints (``/run-task-results/...``: their access token, or public) and
the VCS webhooks (``/webhooks/github/...``: their signature). ``python -m iacp.api`` prints
the OpenAPI document of all three (``make openapi`` writes it to
``docs/openapi.json``; a test fails when the two differ).
"""

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types

from iacp import PRODUCT, __version__
from iacp.resolver import build_resolver
from iacp.routes.configurations import router as configurations_router
from iacp.routes.inventory import router as inventory_router
from iacp.routes.notifications import router as notifications_router
from iacp.routes.run_tasks import router as run_tasks_router
from iacp.routes.runs import router as runs_router
from iacp.routes.states import router as states_router
from iacp.routes.tokens import router as tokens_router
from iacp.routes.variables import router as variables_router
from iacp.routes.vcs import router as vcs_router
from iacp.routes.workspaces import router as workspaces_router
from iacp.tfe.configuration_versions import router as tfe_configuration_versions_router
from iacp.tfe.organizations import router as tfe_organizations_router
from iacp.tfe.plans import router as tfe_plans_router
from iacp.tfe.runs import router as tfe_runs_router
from iacp.tfe.states import router as tfe_states_router
from iacp.tfe.task_stages import router as tfe_task_stages_router
from iacp.tfe.variables import router as tfe_variables_router
from iacp.tfe.workspaces import router as tfe_workspaces_router

USER_ROUTERS = (
    workspaces_router,
    variables_router,
    configurations_router,
    runs_router,
    states_router,
    run_tasks_router,
    vcs_router,
    notifications_router,
    tokens_router,
    inventory_router,
    # The TFE-compatible API (/api/v2), left out of the OpenAPI document: it is TFE's.
    tfe_organizations_router,
    tfe_states_router,
    tfe_workspaces_router,
    tfe_variables_router,
    tfe_configuration_versions_router,
    tfe_runs_router,
    tfe_plans_router,
    tfe_task_stages_router,
)

OPENAPI_PATH = "/api/v1/openapi.json"
POWERTOOLS_SCHEMAS = ("HTTPValidationError", "ResponseValidationError", "ValidationError")


def build_user_api() -> APIGatewayRestResolver:
    """The user API's resolver (functions/api), which also serves the OpenAPI document."""
    app = build_resolver(USER_ROUTERS)

    @app.get(OPENAPI_PATH, include_in_schema=False)
    def openapi_document() -> Response[str]:
        return Response(200, content_types.APPLICATION_JSON, openapi_json(app))

    return app


def openapi_json(user_api: APIGatewayRestResolver) -> str:
    """The document of every route: the user API's, and those of the functions outside its
    authorizer (run-task services' endpoints, VCS webhooks), each from a resolver of its own:
    a router belongs to the last resolver that included it, so the user API's routers are
    never included twice.

    The other functions' routers are imported here, not with the module: the user API's
    function serves this document and would otherwise load their domains at every cold
    start (docs/performance.md, "Cold imports")."""
    from iacp.routes.run_task_services import router as run_task_services_router
    from iacp.routes.vcs_webhooks import router as vcs_webhooks_router

    document = _schema(user_api)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for router in (run_task_services_router, vcs_webhooks_router):
        public = _schema(build_resolver([router]))
        for operations in public["paths"].values():
            for operation in operations.values():
                # Powertools leaves out an empty ``security``, which would make these
                # routes inherit the document's API-token requirement.
                operation.setdefault("security", [])
        document["paths"].update(public["paths"])
        schemas.update(public.get("components", {}).get("schemas", {}))
    _drop_unreferenced(document)
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def _drop_unreferenced(document: dict[str, Any]) -> None:
    """Leaves out the schemas no documented route uses: Powertools lists the models of every
    route, those left out of the document too (the TFE API's). Its own error schemas stay."""
    schemas: dict[str, Any] = document["components"]["schemas"]
    prefix = "#/components/schemas/"
    wanted = {name for name in POWERTOOLS_SCHEMAS if name in schemas}
    pending: list[Any] = [document["paths"], *(schemas[name] for name in wanted)]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(prefix):
                name = ref.removeprefix(prefix)
                if name not in wanted and name in schemas:
                    wanted.add(name)
                    pending.append(schemas[name])
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    for name in set(schemas) - wanted:
        del schemas[name]


def _schema(app: APIGatewayRestResolver) -> dict[str, Any]:
    # Powertools' OpenAPI models cost ~90 ms to build; only the document needs them.
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    schema: dict[str, Any] = json.loads(
        app.get_openapi_json_schema(
            title=f"{PRODUCT} API",
            version=__version__,
            summary="A self-hosted, AWS-native Terraform run platform",
            security_schemes={
                "apiToken": HTTPBearer(description="An API token: at-..."),
                "runTaskToken": HTTPBearer(
                    description="A task result's access token (a JWT) from the run-task webhook",
                    bearerFormat="JWT",
                ),
            },
            security=[{"apiToken": []}],
        )
    )
    return schema


if __name__ == "__main__":
    print(openapi_json(build_user_api()), end="")
