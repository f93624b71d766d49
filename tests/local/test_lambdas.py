"""Lambda Invoke served by local handlers (``local.lambdas``), directly and from a workflow."""

import json
import threading
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local import lambdas
from tests.local.conftest import Local, wait_until

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"


def test_invoke_returns_the_handlers_result(local_aws: Local) -> None:
    name = local_aws.function(lambda event, context: {"got": event, "by": context.function_name})

    reply = local_aws.lam.invoke(FunctionName=name, Payload=json.dumps({"a": 1}))

    assert reply["StatusCode"] == 200
    assert "FunctionError" not in reply
    assert json.loads(reply["Payload"].read()) == {"got": {"a": 1}, "by": name}


def test_invoke_by_arn(local_aws: Local) -> None:
    name = local_aws.function(lambda event, context: "ok")
    arn = local_aws.lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]

    reply = local_aws.lam.invoke(FunctionName=arn, Payload=b"{}")

    assert json.loads(reply["Payload"].read()) == "ok"


def test_an_exception_is_an_unhandled_function_error(local_aws: Local) -> None:
    def handler(event: Any, context: Any) -> Any:
        raise ValueError("bad input")

    name = local_aws.function(handler)

    reply = local_aws.lam.invoke(FunctionName=name, Payload=b"{}")

    assert reply["FunctionError"] == "Unhandled"
    error = json.loads(reply["Payload"].read())
    assert (error["errorType"], error["errorMessage"]) == ("ValueError", "bad input")


def test_a_result_that_is_not_json_is_a_marshal_error(local_aws: Local) -> None:
    name = local_aws.function(lambda event, context: {"not": {1, 2}})

    reply = local_aws.lam.invoke(FunctionName=name, Payload=b"{}")

    assert reply["FunctionError"] == "Unhandled"
    assert json.loads(reply["Payload"].read())["errorType"] == "Runtime.MarshalError"


def test_an_event_invocation_runs_the_handler_later(local_aws: Local) -> None:
    called = threading.Event()
    name = local_aws.function(lambda event, context: called.set())

    reply = local_aws.lam.invoke(FunctionName=name, InvocationType="Event", Payload=b"{}")

    assert reply["StatusCode"] == 202
    wait_until(called.is_set)


def test_a_function_without_a_handler(local_aws: Local) -> None:
    name = "fn-without-handler"
    lambdas.register_function(name, endpoint_url=local_aws.moto.endpoint_url)

    reply = local_aws.lam.invoke(FunctionName=name, Payload=b"{}")

    assert json.loads(reply["Payload"].read())["errorType"] == "Runtime.HandlerNotFound"


def test_an_unknown_function_is_not_found(local_aws: Local) -> None:
    with pytest.raises(ClientError) as raised:
        local_aws.lam.invoke(FunctionName="fn-that-does-not-exist", Payload=b"{}")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_workflow_task_gets_the_handlers_result(local_aws: Local) -> None:
    name = local_aws.function(lambda event, context: {"doubled": event["n"] * 2})
    definition = {
        "StartAt": "Double",
        "States": {
            "Double": {
                "Type": "Task",
                "Resource": LAMBDA_INVOKE,
                "Parameters": {"FunctionName": name, "Payload.$": "$"},
                "ResultSelector": {"doubled.$": "$.Payload.doubled"},
                "End": True,
            }
        },
    }

    ended = local_aws.wait_for_end(local_aws.start(definition, {"n": 21}))

    assert ended["status"] == "SUCCEEDED"
    assert json.loads(ended["output"]) == {"doubled": 42}


def test_workflow_catches_a_handler_exception_by_its_class_name(local_aws: Local) -> None:
    def handler(event: Any, context: Any) -> Any:
        raise ValueError("not a number")

    name = local_aws.function(handler)
    definition = {
        "StartAt": "Parse",
        "States": {
            "Parse": {
                "Type": "Task",
                "Resource": LAMBDA_INVOKE,
                "Parameters": {"FunctionName": name, "Payload.$": "$"},
                "Catch": [
                    {"ErrorEquals": ["KeyError"], "Next": "Wrong"},
                    {"ErrorEquals": ["ValueError"], "ResultPath": "$.error", "Next": "Caught"},
                ],
                "End": True,
            },
            "Wrong": {"Type": "Fail", "Error": "WrongCatcher"},
            "Caught": {"Type": "Pass", "End": True},
        },
    }

    ended = local_aws.wait_for_end(local_aws.start(definition, {"n": "x"}))

    assert ended["status"] == "SUCCEEDED"
    error = json.loads(ended["output"])["error"]
    assert error["Error"] == "ValueError"
    assert json.loads(error["Cause"])["errorMessage"] == "not a number"
