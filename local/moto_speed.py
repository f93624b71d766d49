"""What moto does again for every request or execution that AWS does once, done once here.

Local mode and the end-to-end tests spend most of their CPU time inside moto's server (see
docs/local-mode.md, "What `local/moto_speed.py` does once that moto repeats"). Three things
moto repeats are kept instead; none changes what any request answers:

- every execution parses its state machine's definition again (ANTLR), about a seventh of
  the local platform's CPU time per run; AWS checks a definition once, when it is created.
  The syntax tree is kept per definition; each execution still builds its own evaluation
  components from it (``Preprocessor``), so no execution shares state with another.
- every request to the server lists moto's package directory to learn whether the host names
  a service (``list_of_moto_modules``); the directory does not change while moto runs.
- every Task state of an execution makes a new boto3 client for its service
  (``boto_client_for``), loading the service's model again; a client is kept per service,
  region and endpoint instead (boto3 clients are safe to share between threads). moto makes
  every one with the same placeholder credentials, whatever credentials the state has.
- every JSONPath an execution evaluates (``"run_id.$": "$.run_id"``, a ResultSelector's,
  a ResultPath, a Choice's variable) is parsed again, with a parser jsonpath_ng builds anew
  for each path; about 1 ms a path, a hundred paths a run. The parsed path is kept per
  path: jsonpath_ng's path objects hold no state of an evaluation (``find`` and
  ``update_or_create`` change the data, never the path).
- every value its response serializer picks out of a result (each member of each structure:
  ten per DynamoDB attribute value, nine of them absent) asks every alias provider for the
  names it might be found under; about two fifths of a workflow step's CPU. For a result
  that is a plain ``dict`` (DynamoDB's, once ``dynamo_to_dict`` has run) those names depend
  only on the member and its shape, so they are kept per member and shape; each value is
  still looked up under them in order, as moto does. Any other object is moto's business.

``PATCHES`` has the same form as ``local.moto_fidelity.PATCHES``, and its originals are kept
by ``local.moto_fidelity.original``, so the same guard tests cover both.
"""

import functools
import os
import threading
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

from botocore.client import BaseClient
from moto import backends
from moto.core.models import botocore_stubber
from moto.core.serialize import AttributePicker, AttributePickerContext
from moto.stepfunctions.parser.asl.component.common.path import result_path
from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_ecs,
)
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
from moto.stepfunctions.parser.asl.utils import boto_client, json_path

from local.moto_fidelity import original

# Enough for every state machine of a local platform (one) and of the workflow tests.
_KEPT_DEFINITIONS = 64
# The run workflow has about two hundred distinct paths; the workflow tests' machines, a few more.
_KEPT_PATHS = 1024


@functools.lru_cache(maxsize=_KEPT_DEFINITIONS)
def _syntax_tree(definition: str) -> Any:
    """moto's parse of ``definition``, its syntax errors raised (and never kept)."""
    _, tree = original(AmazonStateLanguageParser, "parse")(definition)
    return tree


def _parse(definition: str) -> tuple[EvalComponent, Any]:
    """``AmazonStateLanguageParser.parse``: the program to evaluate, built afresh from a syntax
    tree parsed once per definition."""
    tree = _syntax_tree(definition)  # antlr4's ParserRuleContext (the package has no types)
    return Preprocessor().visit(tree), tree


@functools.cache
def _list_of_moto_modules() -> Iterable[str]:
    """``backends.list_of_moto_modules``: moto's service packages, listed once."""
    return tuple(original(backends, "list_of_moto_modules")())


_clients: dict[tuple[object, ...], BaseClient] = {}
_clients_lock = threading.Lock()


def _kept_client_for(region: str, service: str, state_credentials: Any = None) -> BaseClient:
    """``boto_client_for``: moto's client for a Task state's service, made once per region,
    service and endpoint (the server's port, or moto's in-process stub). Every Task state
    passes credentials (the execution's role, when it names none of its own), and moto's
    function ignores them (every client signs as moto's placeholder keys), so they are not
    part of what tells one client from another."""
    make: Callable[..., BaseClient] = original(boto_client, "boto_client_for")
    key = (region, service, os.environ.get("MOTO_PORT"), botocore_stubber.enabled)
    with _clients_lock:
        if key not in _clients:
            _clients[key] = make(region, service)
        return _clients[key]


_paths: dict[tuple[str, str, bool | None], Any] = {}
_paths_lock = threading.Lock()


def _kept_path(grammar: str, path: str, debug: bool | None = None) -> Any:
    """The parsed ``path`` of ``grammar`` (``extended``: jsonpath_ng.ext's, ``plain``:
    jsonpath_ng's), parsed once (under the lock: two executions that meet a new path at
    once parse it once)."""
    key = (grammar, path, debug)
    with _paths_lock:
        if key not in _paths:
            if len(_paths) >= _KEPT_PATHS:
                _paths.clear()
            if grammar == "extended":
                _paths[key] = original(json_path, "parse")(path, debug=debug)
            else:
                _paths[key] = original(result_path, "parse")(path)
        return _paths[key]


def _kept_extended_path(path: str, debug: bool | None = None) -> Any:
    """jsonpath_ng.ext's ``parse`` as ``json_path.extract_json`` calls it (every ``.$`` field,
    ``InputPath``, ``OutputPath``, a Choice's ``Variable``): parsed once per path."""
    return _kept_path("extended", path, debug)


def _kept_result_path(string: str) -> Any:
    """jsonpath_ng's ``parse`` as ``ResultPath`` calls it: parsed once per path."""
    return _kept_path("plain", string)


_picker_call = original(AttributePicker, "__call__")
_names: dict[tuple[Any, ...], tuple[str, ...]] = {}
_KEPT_NAMES = 16384


def _shape_facts(shape: Any) -> tuple[Any, ...] | None:
    """What moto's alias providers read of a shape (and of its parent, which moto's serializer
    sets on member shapes)."""
    if shape is None:
        return None
    parent = getattr(shape, "parent", None)
    return (
        shape.name,
        shape.type_name,
        shape.serialization.get("name"),
        None if parent is None else (parent.name, parent.type_name, tuple(parent.members)),
    )


def _pick(self: AttributePicker, context: AttributePickerContext) -> Any:
    """``AttributePicker.__call__``, with the names a member may be found under in a plain
    dict kept per member and shape: a dict has no ``Meta`` (ExplicitAlias) and its class
    name is always ``dict`` (ClassPrefixAlias); the other providers read the key and the
    shape alone."""
    obj = context.obj
    if type(obj) is not dict:
        return _picker_call(self, context)
    key = (type(self), tuple(self.alias_providers), context.key, _shape_facts(context.shape))
    names = _names.get(key)
    if names is None:
        names = tuple(self.get_possible_keys(context))
        if len(_names) >= _KEPT_NAMES:
            _names.clear()
        _names[key] = names
    value = None
    for name in names:
        if "." in name:  # a path: moto's get_value walks it
            return _picker_call(self, context)
        if name in obj:
            value = obj[name]
            break
    key_path = f"{context.key_path}.{context.key}"
    for transform_path, transform in self.response_transformers.items():
        if key_path.endswith(transform_path):
            return transform(value)
    return value


# (owner, name, replacement), as ``local.moto_fidelity.PATCHES``.
PATCHES: tuple[tuple[type | ModuleType, str, Callable[..., Any]], ...] = (
    (AmazonStateLanguageParser, "parse", staticmethod(_parse)),
    (backends, "list_of_moto_modules", _list_of_moto_modules),
    # The Task states the run workflow uses: Lambda invoke, ECS RunTask (.sync).
    (lambda_eval_utils, "boto_client_for", _kept_client_for),
    (state_task_service_ecs, "boto_client_for", _kept_client_for),
    # The run workflow's ECS RunTask (.sync), as ``local.moto_fidelity`` makes it.
    (boto_client, "boto_client_for", _kept_client_for),
    # JSONPaths: extract_json (all but ResultPath), ResultPath.
    (json_path, "parse", _kept_extended_path),
    (result_path, "parse", _kept_result_path),
    (AttributePicker, "__call__", _pick),
)


def apply() -> None:
    """Idempotent: safe to call from every test session and every local server start."""
    for owner, name, replacement in PATCHES:
        original(owner, name)  # recorded before it is replaced
        setattr(owner, name, replacement)
