"""Loading the functions of template.yaml as local Python handlers."""

import importlib.util
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local.template import ACCOUNT, REGION, TEMPLATE_PATH, Provisioned, Template

Handler = Callable[[dict[str, Any], Any], Any]
ROOT = TEMPLATE_PATH.parent


@dataclass
class LambdaContext:
    """What a handler's ``context`` offers in Lambda, enough for Powertools."""

    function_name: str
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = ""

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


def load_handlers(provisioned: Provisioned) -> dict[str, Handler]:
    """Import every function's handler with its template environment in ``os.environ``.

    All functions share this process, so their variables are merged; the template gives one
    variable the same value wherever it appears (e.g. TOKENS_TABLE).
    """
    template = provisioned.template
    functions = template.resources("AWS::Serverless::Function")
    for logical_id in functions:
        os.environ.update(provisioned.environment(logical_id))
    return {logical_id: _import_handler(logical_id, template) for logical_id in functions}


def _import_handler(logical_id: str, template: Template) -> Handler:
    props = template.properties(logical_id)
    module_name, _, attribute = str(props["Handler"]).rpartition(".")
    path = ROOT / str(props["CodeUri"]) / f"{module_name}.py"
    spec = importlib.util.spec_from_file_location(f"iacp_function_{logical_id}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler: Handler = getattr(module, attribute)
    return handler
