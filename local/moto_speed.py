"""What moto does again for every request or execution that AWS does once, done once here.

Local mode and the end-to-end tests spend most of their CPU time inside moto's server (see
docs/local-mode.md, "What `local/moto_speed.py` does once that moto repeats"). What moto
repeats is kept, or done once, instead; none changes what any request answers:

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
- every DynamoDB ``UpdateItem`` parses its update expression twice (the handler, then the
  backend), and its validator counts the clauses (``ActionCountValidator``) and compares the
  paths (``OverlappingPathsValidator``) again at every node of the syntax tree, each time over
  the node's clauses: about a third of an update's CPU. The tree is kept per expression
  (nobody changes it: the validator works on a deep copy), and both checks run once, at the
  root: a node's check fails only if the root's does, and when the root's fails, moto's own
  walk runs, so the error is moto's.
- every DynamoDB ``TransactWriteItems`` deep-copies each table it writes to, whole (once per
  write), to put it back if the transaction fails: its cost grows with what the table holds
  (0.24 s at 3,000 items). moto's own method still runs; what it keeps is a backup of the
  items the transaction writes (and their partitions' order, and the stream's records), put
  back exactly when moto rolls back.

``PATCHES`` has the same form as ``local.moto_fidelity.PATCHES``, and its originals are kept
by ``local.moto_fidelity.original``, so the same guard tests cover both.
"""

import copy
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
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.parsing.ast_nodes import (  # type: ignore[attr-defined]
    DepthFirstTraverser,
    UpdateExpression,
    UpdateExpressionAddClause,
    UpdateExpressionRemoveClause,
    UpdateExpressionSetClause,
)
from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]
from moto.dynamodb.parsing.validators import ActionCountValidator, OverlappingPathsValidator
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


@functools.lru_cache(maxsize=_KEPT_PATHS)
def _kept_extended_path(path: str, debug: bool | None = None) -> Any:
    """jsonpath_ng.ext's ``parse`` as ``json_path.extract_json`` calls it (every ``.$`` field,
    ``InputPath``, ``OutputPath``, a Choice's ``Variable``): parsed once per path."""
    return original(json_path, "parse")(path, debug=debug)


@functools.lru_cache(maxsize=_KEPT_PATHS)
def _kept_result_path(string: str) -> Any:
    """jsonpath_ng's ``parse`` as ``ResultPath`` calls it: parsed once per path."""
    return original(result_path, "parse")(string)


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


# --- DynamoDB ----------------------------------------------------------------------------------

# The platform's update expressions: a few per store, their placeholders numbered in order.
_KEPT_UPDATE_EXPRESSIONS = 1024


@functools.lru_cache(maxsize=_KEPT_UPDATE_EXPRESSIONS)
def _kept_update_expression(expression_str: str) -> Any:
    """``UpdateExpressionParser.make``: the syntax tree of ``expression_str``, parsed once, its
    syntax errors raised (and never kept). Nobody changes the tree moto's parse returns:
    ``UpdateItem`` and ``TransactWriteItems`` read it (``find_clauses``), and its validator
    works on a deep copy of it (``Validator.__init__``)."""
    return original(UpdateExpressionParser, "make")(expression_str)


def _at_the_root(
    owner: type[DepthFirstTraverser], passes: Callable[[DepthFirstTraverser, Any], bool]
) -> Callable[[DepthFirstTraverser, Any], Any]:
    """``traverse`` of a validator whose check moto repeats at every node of the syntax tree
    (every clause, action, path and value is an ``UpdateExpression``), each time over the
    node's clauses: checked once, at the root. What a node's check reads (its clauses, its
    paths) is part of what the root's reads, and its check fails only if the root's does: when
    the root passes, no node fails. When it does not, moto's own traversal runs, so the error
    is the one moto raises (that of the first node to fail, which may be deeper)."""
    moto_traverse = original(owner, "traverse")

    def traverse(self: DepthFirstTraverser, node: Any) -> Any:
        try:
            if type(node) is UpdateExpression and node.parent is None and passes(self, node):
                return node  # the validator changes no node
        except Exception:  # noqa: S110 -- moto's own traversal raises its error
            pass
        return moto_traverse(self, node)

    return traverse


def _clause_counts_pass(self: DepthFirstTraverser, root: Any) -> bool:
    """``ActionCountValidator``'s check at the root: one ADD, REMOVE and SET clause at most."""
    return all(
        len(root.find_clauses([clause])) <= 1
        for clause in (
            UpdateExpressionAddClause,
            UpdateExpressionRemoveClause,
            UpdateExpressionSetClause,
        )
    )


def _paths_pass(self: DepthFirstTraverser, root: Any) -> bool:
    """``OverlappingPathsValidator``'s check at the root: no path twice, none inside another."""
    assert isinstance(self, OverlappingPathsValidator)
    self.check_for_overlapping_paths(root)  # raises DuplicateUpdateExpression
    return True


# A key as moto's tables hold it: the hash key's value, and the range key's (None without one).
_Key = tuple[DynamoType, DynamoType | None]


class _Backup:
    """What a failed transaction's rollback puts back in a table: the items at the keys the
    transaction writes (deep copies: an update changes its item in place), the partitions
    (range-key tables) they are in, in their order, the table's index of partitions or
    items, in its order, and its stream's records. moto put back a deep copy of the table."""

    def __init__(self, table: Table, keys: list[_Key]):
        self.table = table
        items: dict[Any, Any] = table.items  # hash key -> partition (range key -> item), or item
        self.index = dict(items)
        self.partitions: dict[DynamoType, dict[DynamoType, Item]] = {}
        self.items: dict[_Key, Item] = {}
        for hash_key, range_key in keys:
            found = items.get(hash_key)  # .get: the defaultdict adds no partition
            if range_key is not None and found is not None:
                if hash_key not in self.partitions:
                    self.partitions[hash_key] = dict(found)
                found = found.get(range_key)
            if found is not None:
                self.items[hash_key, range_key] = copy.deepcopy(found)
        shard = table.stream_shard
        self.records = None if shard is None else list(shard.items)

    def restore(self) -> None:
        items: dict[Any, Any] = self.table.items
        for hash_key, partition in self.partitions.items():
            self.index[hash_key].clear()
            self.index[hash_key].update(partition)
        items.clear()
        items.update(self.index)
        for (hash_key, range_key), item in self.items.items():
            if range_key is None:
                items[hash_key] = item
            else:
                items[hash_key][range_key] = item
        if self.table.stream_shard is not None and self.records is not None:
            self.table.stream_shard.items = self.records


def _written_keys(
    backend: DynamoDBBackend, transact_items: list[dict[str, Any]]
) -> dict[int, list[_Key]]:
    """The key each of a transaction's operations writes (or checks), by table (its ``id``),
    found as moto finds it (``get_keys_value``; a Put's key from its item). Where moto finds
    no table or no key, it writes nothing."""
    keys: dict[int, list[_Key]] = {}
    for transact_item in transact_items:
        for op_type, op in transact_item.items():
            try:
                table = backend.get_table(op["TableName"])
                if op_type == "Put":
                    key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
                    if table.range_key_attr is not None:
                        key[table.range_key_attr] = op["Item"][table.range_key_attr]
                else:
                    key = op["Key"]
                keys.setdefault(id(table), []).append(backend.get_keys_value(table, key))
            except Exception:  # noqa: S112 -- moto's transaction writes nothing there
                continue
    return keys


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """``DynamoDBBackend.transact_write_items``: moto's own, but what it keeps of each table
    to put back if the transaction fails is a ``_Backup`` of the items it writes, not a deep
    copy of the table: while the transaction runs, each table answers ``copy.deepcopy`` with
    its backup. moto puts that "copy" in the table's place exactly when it rolls the
    transaction back; the table then takes its place again, with its items put back."""
    keys = _written_keys(self, transact_items)
    tables: dict[str, Any] = self.tables  # where moto puts its "copy" back
    backups: dict[str, _Backup] = {}
    for transact_item in transact_items:
        _, op = next(iter(transact_item.items()))  # the tables moto backs up
        name = op.get("TableName")
        if name and name in tables and name not in backups:
            table = tables[name]
            backups[name] = _Backup(table, keys.get(id(table), []))
            table.__deepcopy__ = lambda memo, backup=backups[name]: backup
    try:
        original(DynamoDBBackend, "transact_write_items")(self, transact_items)
    finally:
        for name, backup in backups.items():
            del backup.table.__deepcopy__  # type: ignore[attr-defined]
            if tables.get(name) is backup:  # rolled back
                backup.restore()
                tables[name] = backup.table


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
    (UpdateExpressionParser, "make", staticmethod(_kept_update_expression)),
    (ActionCountValidator, "traverse", _at_the_root(ActionCountValidator, _clause_counts_pass)),
    (OverlappingPathsValidator, "traverse", _at_the_root(OverlappingPathsValidator, _paths_pass)),
    (DynamoDBBackend, "transact_write_items", _transact_write_items),
)


def apply() -> None:
    """Idempotent: safe to call from every test session and every local server start."""
    for owner, name, replacement in PATCHES:
        original(owner, name)  # recorded before it is replaced
        setattr(owner, name, replacement)
