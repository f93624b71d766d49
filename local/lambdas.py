"""Lambda Invoke served by local Python handlers, in this process.

moto runs a function's code in Docker, or (``use_docker: false``) answers every invoke with a
canned reply. Local mode wants the platform's real handlers instead: a backend derived from
moto's Docker-less one whose ``invoke`` calls the handler for the function's name with the
JSON payload and a ``LambdaContext``, and returns its JSON result.

A handler's exception comes back as Lambda reports an unhandled error: status 200, header
``X-Amz-Function-Error: Unhandled`` and ``{"errorType": <class name>, "errorMessage": ...}``.
Step Functions takes ``errorType`` as the error name, so a workflow's Retry and Catch match a
handler's exception by its class name, as in AWS.

Functions must still exist in moto (``register_function``): ARNs, GetFunction and the
workflow's ``FunctionName`` resolve through moto. Invoke (RequestResponse, Event, DryRun)
goes to the handlers, and so does moto's SQS event-source mapping (``send_sqs_batch`` calls
this ``invoke``, synchronously inside SendMessage, without AWS's retries: see the notes).
moto's SNS, DynamoDB-stream and Logs paths call the function model instead: not served here.
"""

import io
import json
import logging
import threading
import traceback
import zipfile
from collections.abc import Mapping
from typing import Any

import boto3
from moto.awslambda_simple.models import LambdaSimpleBackend, lambda_simple_backends
from moto.core.models import DEFAULT_ACCOUNT_ID

from local.functions import Handler, LambdaContext

REGION = "us-east-1"
ROLE_NAME = "iacp-local-lambda"
_TRUST_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)

LOG = logging.getLogger(__name__)


class LocalLambdaBackend(LambdaSimpleBackend):
    """moto's Docker-less Lambda backend, invoking local handlers by function name."""

    # moto derives a backend's URL module from its class's module: ``moto.awslambda.urls``.
    __module__ = "moto.awslambda.models"

    def __init__(
        self, region_name: str, account_id: str, handlers: Mapping[str, Handler] | None = None
    ):
        super().__init__(region_name, account_id)
        self.handlers = dict(handlers or {})

    def reset(self) -> None:
        """moto's reset re-runs ``__init__`` with region and account only: keep the handlers."""
        handlers = self.handlers
        super().reset()
        self.handlers = handlers

    def invoke(
        self,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: Any,
    ) -> bytes:
        function = self.get_function(function_name, qualifier)  # unknown function: 404 as AWS
        name = str(function.function_name)
        handler = self.handlers.get(name, _handler_not_found)
        event = json.loads(body) if body else {}
        invocation_type = (headers or {}).get("X-Amz-Invocation-Type", "RequestResponse")
        response_headers["x-amz-executed-version"] = "$LATEST"
        if invocation_type == "DryRun":
            return b""
        if invocation_type == "Event":  # asynchronous: AWS answers 202 and runs it later
            threading.Thread(target=_call, args=(handler, name, event, {}), daemon=True).start()
            return b""
        payload = _call(handler, name, event, response_headers)
        response_headers["Content-Length"] = str(len(payload))
        return payload


class HandlerNotFound(Exception):
    """Lambda's error type when the configured handler does not exist."""


def _handler_not_found(event: Any, context: LambdaContext) -> Any:
    raise HandlerNotFound(f"no local handler for function {context.function_name!r}")


def _call(handler: Handler, name: str, event: Any, response_headers: dict[str, str]) -> bytes:
    try:
        timeout = float(getattr(handler, "timeout_seconds", 29.0))  # a local Function's
        result = handler(event, LambdaContext(name, timeout_seconds=timeout))
    except Exception as error:
        LOG.info("Lambda function %s raised %s", name, type(error).__name__, exc_info=True)
        error_type = type(error).__name__
        if isinstance(error, HandlerNotFound):
            error_type = "Runtime.HandlerNotFound"
        return _function_error(response_headers, error_type, error)
    try:
        return json.dumps(result).encode()
    except (TypeError, ValueError) as error:  # Lambda's runtime cannot serialise it either
        return _function_error(response_headers, "Runtime.MarshalError", error)


def _function_error(response_headers: dict[str, str], error_type: str, error: Exception) -> bytes:
    response_headers["x-amz-function-error"] = "Unhandled"
    return json.dumps(
        {
            "errorType": error_type,
            "errorMessage": str(error),
            "stackTrace": traceback.format_tb(error.__traceback__),
        }
    ).encode()


def install(
    handlers: Mapping[str, Handler],
    *,
    account_id: str = DEFAULT_ACCOUNT_ID,
    region: str = REGION,
) -> LocalLambdaBackend:
    """Put a ``LocalLambdaBackend`` in moto's Lambda backends for this account and region.

    ``handlers`` maps function names to handlers: the platform gives its
    ``local.functions.Function``s, so an invoke (an ``Event`` one too, on a thread of its
    own) runs in one of the function's execution environments, like every other call of the
    function, or waits for one to be free. Call it before the first Lambda request
    (with moto's ``lambda.use_docker`` false, as ``local.moto_server`` sets): it replaces the
    backend there, and its functions. A moto reset removes it.
    """
    backend = LocalLambdaBackend(region, account_id, handlers)
    lambda_simple_backends[account_id][region] = backend
    return backend


def register_function(name: str, *, endpoint_url: str | None = None) -> str:
    """Create function ``name`` in moto (placeholder code); returns its ARN.

    moto checks that a function's role exists in IAM: the role is created too, once.
    ``endpoint_url`` defaults to the environment's (``AWS_ENDPOINT_URL``, i.e. moto's).
    """
    iam = boto3.client("iam", region_name=REGION, endpoint_url=endpoint_url)
    try:
        role = iam.get_role(RoleName=ROLE_NAME)["Role"]
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=_TRUST_POLICY)["Role"]
    client = boto3.client("lambda", region_name=REGION, endpoint_url=endpoint_url)
    created = client.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role["Arn"],
        Handler="index.handler",
        Code={"ZipFile": _placeholder_zip()},
    )
    return created["FunctionArn"]


def _placeholder_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "index.py", "def handler(event, context):\n    raise NotImplementedError\n"
        )
    return buffer.getvalue()
