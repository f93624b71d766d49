"""What each function imports at its cold start (issue 21; docs/performance.md, "Cold
imports"): counts and names, never times. Each ``functions/*/app.py`` is imported as Lambda
imports it, with the template's environment and the runtime's variables (tracing on), in a
child forked from one process that has already imported what every function needs (boto3 and
a DynamoDB client, Powertools' logger and metrics): one interpreter start and a fraction of a
second of CPU per function. Not pydantic: whether it is imported yet changes what some
libraries import (Powertools' batch types import its parser's models when it is)."""

import json
import subprocess
import sys
from functools import cache
from typing import Any

import pytest

from bench.cold_starts import ROOT, function_environment
from local.template import Provisioned, Template

PROBE = """
import gc, importlib.util, json, os, sys

import boto3
from aws_lambda_powertools import Logger, Metrics

jobs = json.load(sys.stdin)
os.environ.update(next(iter(jobs.values()))["env"])
boto3.client("dynamodb")


def built_models():
    from iacp.model import defined_models

    return sorted(
        f"{model.__module__}.{model.__qualname__}"
        for model in defined_models()
        if model.__pydantic_complete__
    )


def resources_made():
    from boto3.resources.base import ServiceResource

    return sorted(kind.__name__ for kind in ServiceResource.__subclasses__())


def client_frozen():
    # Whether the DynamoDB client the function made at load is in the collector's permanent
    # generation (which gc.get_objects leaves out); None if it made none.
    from iacp import aws

    if not aws.dynamodb_client.cache_info().currsize:
        return None
    client = aws.dynamodb_client()
    return not any(tracked is client for tracked in gc.get_objects())


def pages_made():
    from iacp.pagination import Page

    return sorted(page.__name__ for page in Page.__subclasses__() if "[" in page.__name__)


results = {}
for name, job in jobs.items():
    reading, writing = os.pipe()
    if os.fork() == 0:
        try:
            os.close(reading)
            os.environ.clear()
            os.environ.update(job["env"])
            spec = importlib.util.spec_from_file_location("app", job["app"])
            spec.loader.exec_module(importlib.util.module_from_spec(spec))
            with os.fdopen(writing, "w") as out:
                found = {"modules": sorted(sys.modules), "built": built_models()}
                found["resources"] = resources_made()
                found["pages"] = pages_made()
                loader = sys.modules.get("pydantic.plugin._loader")
                found["plugins_looked_for"] = getattr(loader, "_plugins", None) is not None
                found["collector"] = {
                    "running": gc.isenabled(),
                    "frozen": gc.get_freeze_count(),
                    "client_frozen": client_frozen(),
                }
                json.dump(found, out)
        finally:
            os._exit(0)
    os.close(writing)
    with os.fdopen(reading) as answer:
        results[name] = json.loads(answer.read() or "null")
    os.wait()
print(json.dumps(results))
"""

TEMPLATE = Template.load()
# The web UI's function imports neither boto3 nor iacp (tests/unit/test_web_ui_function.py).
FUNCTIONS = sorted(set(TEMPLATE.resources("AWS::Serverless::Function")) - {"WebUiFunction"})
HTTP_FUNCTIONS = {"ApiFunction", "RunTaskCallbackFunction", "VcsWebhookFunction"}
# The most iacp modules each function may import (iacp has about 140): what it imports today,
# and a little room. A change that drags whole domains or the services into a function fails.
IACP_MODULES_AT_MOST = {
    "ApiFunction": 115,
    "AuthorizerFunction": 16,
    "CodeCommitEventsFunction": 47,
    "ExecutionSweepFunction": 66,
    "FollowUpFunction": 42,
    "InventorySweepFunction": 41,
    "InventorySyncFunction": 42,
    "NotificationFunction": 46,
    "QueueSweepFunction": 38,
    "ReconcileFunction": 67,
    "RunEventsFunction": 22,
    "RunTaskCallbackFunction": 47,
    "RunTaskSweepFunction": 23,
    "VcsFeedbackFunction": 51,
    "VcsWebhookFunction": 58,
    "WorkflowFunction": 72,
}
# Never imported at a cold start: Powertools' parser (it builds a model for every AWS event
# source) and OpenAPI models (only the OpenAPI document needs them), PyJWT and cryptography
# (imported where a run-task token is signed or checked, a key derived or a value sealed),
# and pydantic-settings (iacp.settings validates os.environ with pydantic alone; the test
# environment has it, for the OpenAPI validators).
NOWHERE = (
    "aws_lambda_powertools.utilities.parser",
    "aws_lambda_powertools.event_handler.openapi.models",
    "jwt",
    "cryptography",
    "pydantic_settings",
)
# Models that the workflow's step models (built with their module) have as fields.
WORKFLOW_STEP_FIELDS = {"iacp.workspaces.models.RunnerSize"}
# Only the functions that serve HTTP import the event handler and the routers.
HTTP_ONLY = ("aws_lambda_powertools.event_handler", "iacp.http", "iacp.routes", "iacp.tfe")


@cache
def cold_imports() -> dict[str, Any]:
    provisioned = Provisioned(TEMPLATE, prefix="test")
    jobs = {}
    for name in FUNCTIONS:
        app = ROOT / str(TEMPLATE.properties(name)["CodeUri"]) / "app.py"
        jobs[name] = {"app": str(app), "env": function_environment(provisioned, name, app.parent)}
    ran = subprocess.run(  # noqa: S603 -- this interpreter, this repository's functions
        [sys.executable, "-c", PROBE],
        input=json.dumps(jobs),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    results: dict[str, Any] = json.loads(ran.stdout)
    return results


def imported(name: str) -> list[str]:
    found = cold_imports()[name]
    assert found is not None, f"{name}: its app.py failed to import"
    modules: list[str] = found["modules"]
    return modules


def loaded(modules: list[str], package: str) -> bool:
    return any(m == package or m.startswith(package + ".") for m in modules)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_a_function_imports_its_own_domains_only(name):
    modules = imported(name)
    iacp_modules = [m for m in modules if m.startswith("iacp.")]

    assert len(iacp_modules) <= IACP_MODULES_AT_MOST[name]
    assert [p for p in NOWHERE if loaded(modules, p)] == []
    if name not in HTTP_FUNCTIONS:
        assert [p for p in HTTP_ONLY if loaded(modules, p)] == []


@pytest.mark.parametrize("name", FUNCTIONS)
def test_a_function_builds_at_import_only_the_models_it_uses_there(name):
    """iacp's models are built at their first use (iacp.model): importing a function builds
    its settings and what its wiring makes at import, not the models of its domains. The
    workflow's step models are built with their module (iacp.orchestration.workflow): only
    the workflow function imports it, and it uses them at every invocation), with the models
    of their fields."""
    built = [
        model
        for model in cold_imports()[name]["built"]
        if not model.startswith("iacp.orchestration.workflow.")
        and not (name == "WorkflowFunction" and model in WORKFLOW_STEP_FIELDS)
    ]

    assert len(built) <= 6
    assert not any(".models." in model for model in built)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_a_function_makes_no_page_class_at_import(name):
    """A service's or a route's ``Page[X]`` is not evaluated when it loads
    (iacp.pagination.Page): a route's is, at its first request. The one exception is the
    inventory's resource page (``ResourcePage(Page[Resource])``), a class of its service,
    which only the API function imports."""
    expected = ["Page[Resource]"] if name == "ApiFunction" else []

    assert cold_imports()[name]["pages"] == expected


def test_the_vcs_feedback_function_retries_without_the_notifications_domain():
    """Its receives' backoff is iacp.receives, which the notifications share, not theirs."""
    assert not loaded(imported("VcsFeedbackFunction"), "iacp.notifications")


def test_the_authorizer_imports_the_tokens_and_the_kernel_and_no_more():
    modules = imported("AuthorizerFunction")

    assert {m.split(".")[1] for m in modules if m.startswith("iacp.")} <= {
        "aws",
        "cold_start",
        "dynamo",
        "errors",
        "ids",
        "model",
        "observability",
        "pagination",
        "principal",
        "settings",
        "tables",
        "timestamps",
        "tokens",
    }


@pytest.mark.parametrize("name", FUNCTIONS)
def test_a_function_loads_with_the_collector_paused_and_freezes_what_it_loaded(name):
    """iacp.cold_start: what the handler module loaded, and what it built at load (its
    DynamoDB client, made in the probe's child), is in the collector's permanent generation
    (the probe's parent froze nothing), and the collector runs again."""
    collector = cold_imports()[name]["collector"]

    assert collector["running"] is True
    assert collector["frozen"] > 10_000
    assert collector["client_frozen"] is not False
    if name != "RunEventsFunction":  # it reads no table
        assert collector["client_frozen"] is True


@pytest.mark.parametrize("name", FUNCTIONS)
def test_a_function_makes_no_boto3_resource(name):
    """boto3's resource layer (the resource model and the classes it builds from it, ~35 ms
    of a cold start) is not used: the stores' tables are iacp.tables over the DynamoDB
    client. ``import boto3`` imports the layer's modules (``boto3.resources``) itself, so
    what is checked is that no resource class was built and that the DynamoDB resource's
    transformations (``boto3.dynamodb.transform``) were never imported."""
    assert cold_imports()[name]["resources"] == []
    assert not loaded(imported(name), "boto3.dynamodb.transform")


@pytest.mark.parametrize("name", FUNCTIONS)
def test_a_function_does_not_look_for_pydantic_plugins(name):
    """The template tells pydantic that no plugin is used (``PYDANTIC_DISABLE_PLUGINS``):
    otherwise the first model a function builds reads every installed package's metadata
    for one (~11 ms here, in a development environment of 117 packages)."""
    assert cold_imports()[name]["plugins_looked_for"] is False
