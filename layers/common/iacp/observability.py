"""Powertools set up once for every function. Nothing here logs request bodies: they can
carry sensitive variable values and tokens."""

import os
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics

from iacp import PRODUCT

# Powertools reads these when the objects are made; in Lambda the function's environment is
# there from the start, but a local process may import this module before it sets them.
SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", PRODUCT)
logger = Logger(service=SERVICE)
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", PRODUCT))


if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

    tracer: Tracer


# What the functions call out with: AWS (botocore) and the outbound webhooks (urllib3, over
# http.client). Named, not the default of every library the X-Ray SDK knows: that imports each
# one installed (httpx and its CLI's rich, in a development environment) to patch it.
TRACED_MODULES = ("botocore", "httplib")


@cache
def _tracer() -> "Tracer":
    # Imported on first use: the X-Ray SDK costs ~0.1 s to import, and the runner (which
    # imports this module for the logger) never traces.
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE, patch_modules=TRACED_MODULES)


def __getattr__(name: str) -> Any:
    if name == "tracer":
        return _tracer()
    raise AttributeError(name)
