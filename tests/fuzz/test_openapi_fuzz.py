"""Schema fuzzing: every operation of docs/openapi.json (the user API, the run-task services'
endpoints and the GitHub webhook), driven by schemathesis through the local gateway (the real
authorizer and routing), with valid and invalid credentials, and data that fits the
documented schema and data that does not.

Each reply must be one the document describes (status, content type, schema), never a 5xx,
an error in the API's error shape, and without a stack trace. Bounded: a fixed number of
examples per operation and a fixed seed (``IACP_FUZZ_SCALE`` multiplies the examples:
``make fuzz``).
"""

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.parameters import ParameterLocation
from schemathesis.core.result import Ok

from tests.fuzz.support import (
    BASE_URL,
    EXAMPLES_PER_OPERATION,
    SEED,
    World,
    assert_json_error,
    assert_no_stack_trace,
    gateway_session,
    has_route,
    signature,
    world,
)
from tests.runtasks_support import (
    JSON_API,
    CapturingService,
    callback_body,
    capturing_service,
    outcome,
)
from tests.vcs_support import pull_request_body, push_body

SCHEMA = schemathesis.openapi.from_path(Path(__file__).parents[2] / "docs" / "openapi.json")
OPERATIONS = [
    result.ok() if isinstance(result, Ok) else pytest.fail(f"docs/openapi.json: {result.err()}")
    for result in SCHEMA.get_all_operations()
]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
# A hostile request is no longer the generated case: whether schemathesis meant it to be valid
# or not, the screening refuses it (asserted on its own).
HOSTILE_CHECKS = [check for check in CHECKS if check is not negative_data_rejection]
WEBHOOK = "POST /api/v1/webhooks/github/{connection_id}"
CALLBACKS = {
    "PATCH /api/v1/run-task-results/{result_id}/callback",
    "POST /api/v1/run-task-results/{result_id}/callback",
}

# Bodies the document does not describe (Powertools documents a route's Body() parameter
# only; these routes read their body themselves): the JSON they take, and any JSON.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
callback_bodies = st.one_of(
    st.builds(
        callback_body,
        status=st.sampled_from(["running", "passed", "failed", "pending", "errored", ""]),
        message=st.none() | st.text(max_size=40),
        url=st.none() | st.sampled_from(["https://checker.example.com/r/1", "not a url"]),
        outcomes=st.none() | st.lists(st.builds(outcome, st.integers(0, 9)), max_size=3),
    ),
    json_values,
)
REPOSITORY = "https://github.com/octo-org/infra.git"  # no workspace tracks it
webhook_deliveries = st.one_of(
    st.tuples(st.just("ping"), st.just({"zen": "Keep it simple.", "hook_id": 1})),
    st.tuples(st.just("push"), st.builds(push_body, st.just(REPOSITORY), st.just("a" * 40))),
    st.tuples(
        st.just("pull_request"),
        st.builds(pull_request_body, st.just(REPOSITORY), st.just("b" * 40)),
    ),
    st.tuples(st.sampled_from(["push", "pull_request", "issues", ""]), json_values),
)


# What a hostile client sends, to any operation: over the limits of docs/api.md. None (most
# examples) sends the generated request as it is.
HOSTILE = st.sampled_from([None] * 6 + ["deep", "huge number", "huge body", "not json", "long id"])
DEEP = "[" * 5000 + "]" * 5000


def hostile_request(kwargs: dict[str, Any], hostile: str, operation: Any) -> dict[str, Any]:
    """The request with a body nested 5,000 deep, an integer of 5,000 digits, a body of 6
    MB, a body that is not JSON, or an id of 3,000 characters."""
    if hostile == "long id":
        return kwargs | {"url": BASE_URL + re.sub(r"\{\w+\}", "Q" * 3000, operation.path)}
    headers = dict(kwargs["headers"])
    bodies = {
        "deep": DEEP,
        "huge number": '{"limit": ' + "9" * 5000 + "}",
        "huge body": json.dumps({"name": "x" * (6 * 1024 * 1024)}),
        "not json": "name=fuzz",
    }
    kwargs = {key: value for key, value in kwargs.items() if key != "json"}
    headers["Content-Type"] = (
        "application/x-www-form-urlencoded" if hostile == "not json" else "application/json"
    )
    return kwargs | {"headers": headers, "data": bodies[hostile].encode()}


def security_scheme(operation: Any) -> str | None:
    requirements = operation.definition.raw.get("security", SCHEMA.raw_schema["security"])
    return next((name for requirement in requirements for name in requirement), None)


@pytest.fixture(scope="module")
def service() -> Iterator[CapturingService]:
    """Where the world's run task and notification configuration send (127.0.0.1)."""
    with capturing_service() as running:
        yield running


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: operation.label)
def test_every_reply_is_one_the_document_describes(operation, aws, gateway, service):
    session = gateway_session(gateway)
    scheme = security_scheme(operation)
    objects = world(aws, gateway, service)
    strategy = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @seed(SEED)
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy, data=st.data())
    def fuzz(case: Any, data: st.DataObject) -> None:
        credential = send_as(case, scheme, objects, data)
        kwargs = case.as_transport_kwargs(base_url=BASE_URL)
        if operation.label == WEBHOOK:
            kwargs = webhook_request(kwargs, data)
        elif operation.label in CALLBACKS:
            kwargs = callback_request(kwargs, data)
        hostile = data.draw(HOSTILE, label="hostile")
        if hostile == "long id" and "{" not in operation.path:
            hostile = None
        if hostile is not None:
            kwargs = hostile_request(kwargs, hostile, operation)
        if credential is not None:
            kwargs["headers"]["Authorization"] = credential
        else:
            kwargs["headers"].pop("Authorization", None)
        response = session.request(**kwargs, allow_redirects=False, timeout=30)

        assert response.status_code < 500, response.text
        if hostile is not None:
            assert 400 <= response.status_code < 500, (hostile, response.text)
        assert_no_stack_trace(response.text)
        if response.status_code >= 400:
            assert_json_error(response.status_code, response.headers, response.text)
        if scheme is not None and credential not in valid(objects, scheme):
            if scheme == "runTaskToken":  # the function checks it, after the screening
                assert response.status_code >= 400, response.text
            elif has_route(gateway, kwargs["method"], response.request.path_url):
                assert response.status_code == 401, response.text  # the authorizer's
        case.validate_response(response, checks=CHECKS if hostile is None else HOSTILE_CHECKS)

    fuzz()


def valid(objects: World, scheme: str) -> set[str | None]:
    names = {"apiToken": ("admin", "write", "read", "scoped"), "runTaskToken": ("valid",)}
    return {objects.credentials[scheme][name] for name in names[scheme]}


def send_as(case: Any, scheme: str | None, objects: World, data: st.DataObject) -> str | None:
    """The Authorization header to send (None: none), drawn from the scheme's valid and
    invalid credentials; in data that fits the schema, each id may be a real one."""
    if case.meta.generation.mode.is_positive:
        for name in case.path_parameters or {}:
            if name in objects.ids and data.draw(st.booleans(), label=f"real {name}"):
                case.path_parameters[name] = objects.ids[name]
    if scheme is None:
        return None
    if case.meta.components[ParameterLocation.HEADER].mode.is_negative:
        return str(case.headers["Authorization"]) if "Authorization" in case.headers else None
    credentials = objects.credentials[scheme]
    return credentials[data.draw(st.sampled_from(sorted(credentials)), label="credential")]


def callback_request(kwargs: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    body = data.draw(callback_bodies, label="callback body")
    kwargs.pop("json", None)
    kwargs["data"] = json.dumps(body).encode()
    kwargs["headers"]["Content-Type"] = data.draw(st.sampled_from([JSON_API, "application/json"]))
    return kwargs


def webhook_request(kwargs: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    """A delivery: a GitHub event and its payload, signed right, wrong or not at all."""
    event, payload = data.draw(webhook_deliveries, label="delivery")
    body = json.dumps(payload, indent=2).encode()
    signed = data.draw(st.sampled_from(["right", "wrong", "none"]), label="signature")
    headers = dict(kwargs["headers"]) | {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": "fuzz-" + hashlib.sha256(body).hexdigest()[:12],
    }
    if signed == "right":
        headers["X-Hub-Signature-256"] = signature(body)
    elif signed == "wrong":
        headers["X-Hub-Signature-256"] = signature(body, "another secret")
    kwargs.pop("json", None)
    return kwargs | {"headers": headers, "data": body}
