"""local.http_front: the API Gateway emulator over real HTTP on 127.0.0.1, with a gateway
whose one route echoes the event it gets. The template's API over HTTP is tested in
tests/unit/test_http_front_api.py: it needs moto in this process (``mock_aws``), which must not
run beside this package's moto server (``mock_aws`` resets the backends the server shares)."""

import http.client
import json
import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from local.gateway import ApiGateway
from local.http_front import HttpFront
from local.template import Template

TIMEOUT = 10.0


def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if event["path"] == "/fail":
        raise RuntimeError("the function failed")
    return {
        "statusCode": 207 if event["httpMethod"] == "PUT" else 200,
        "headers": {"Content-Type": "application/json", "X-Echo": "yes", "Content-Length": "1"},
        "body": json.dumps(event),
    }


ECHO_TEMPLATE = Template(
    {
        "Resources": {
            "Api": {"Type": "AWS::Serverless::Api", "Properties": {"StageName": "v"}},
            "Echo": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "Events": {
                        "Any": {
                            "Type": "Api",
                            "Properties": {
                                "RestApiId": {"Ref": "Api"},
                                "Path": "/{proxy+}",
                                "Method": "ANY",
                            },
                        }
                    }
                },
            },
        }
    }
)


@pytest.fixture
def echo_front() -> Iterator[HttpFront]:
    with HttpFront(ApiGateway(ECHO_TEMPLATE, {"Echo": echo})) as server:
        yield server


def raw_request(
    front: HttpFront, method: str, target: str, body: bytes | None = None, **headers: str
) -> tuple[int, dict[str, str], bytes]:
    host, port = front.base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT)
    try:
        connection.request(method, target, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_each_method_reaches_the_gateway(echo_front: HttpFront, method: str):
    reply = requests.request(method, f"{echo_front.base_url}/things/1", timeout=TIMEOUT)

    assert reply.json()["httpMethod"] == method
    assert reply.json()["path"] == "/things/1"
    assert reply.status_code == (207 if method == "PUT" else 200)


def test_query_headers_and_body_are_passed_as_received(echo_front: HttpFront):
    reply = requests.post(
        f"{echo_front.base_url}/v/things?a=1&b=&a=2",
        data="é body".encode(),
        headers={"X-Custom-Header": "Value", "content-type": "text/plain"},
        timeout=TIMEOUT,
    )
    event = reply.json()

    assert event["path"] == "/things"  # the stage is not part of the route's path
    assert event["queryStringParameters"] == {"a": "2", "b": ""}
    assert event["headers"]["X-Custom-Header"] == "Value"
    assert event["headers"]["content-type"] == "text/plain"
    assert event["body"] == "é body"


def test_no_body_and_no_query_are_null(echo_front: HttpFront):
    event = requests.get(f"{echo_front.base_url}/things", timeout=TIMEOUT).json()

    assert event["body"] is None
    assert event["queryStringParameters"] is None


def test_a_chunked_body_is_read(echo_front: HttpFront):
    chunks = iter([b"first ", b"second"])
    reply = requests.post(f"{echo_front.base_url}/things", data=chunks, timeout=TIMEOUT)

    assert reply.json()["body"] == "first second"


def test_the_reply_keeps_the_gateway_headers_with_a_true_content_length(
    echo_front: HttpFront,
):
    status, headers, body = raw_request(echo_front, "GET", "/things")

    assert status == 200
    assert headers["X-Echo"] == "yes"
    assert headers["Content-Length"] == str(len(body))  # not the function's "1"


def test_a_body_that_is_not_utf8_is_a_400(echo_front: HttpFront):
    status, headers, body = raw_request(echo_front, "POST", "/things", b"\xff\xfe")

    assert status == 400
    assert headers["Content-Type"] == "application/json"
    error = json.loads(body)["errors"][0]
    assert error["status"] == "400" and error["title"] == "Bad Request" and error["detail"]


def test_a_function_error_is_the_gateways_502(echo_front: HttpFront):
    reply = requests.get(f"{echo_front.base_url}/fail", timeout=TIMEOUT)

    assert reply.status_code == 502


def test_before_the_gateway_is_set_the_answer_is_503():
    with HttpFront() as server:
        reply = requests.get(f"{server.base_url}/api/v1/workspaces", timeout=TIMEOUT)
        assert reply.status_code == 503
        assert reply.json()["errors"][0]["status"] == "503"

        server.gateway = ApiGateway(ECHO_TEMPLATE, {"Echo": echo})
        assert requests.get(f"{server.base_url}/x", timeout=TIMEOUT).status_code == 200


def test_requests_are_logged_at_debug(echo_front: HttpFront, caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.DEBUG, logger="local.http_front"):
        requests.get(f"{echo_front.base_url}/logged", timeout=TIMEOUT)

    assert any("/logged" in r.getMessage() and r.levelno == logging.DEBUG for r in caplog.records)


def test_stop_closes_the_port():
    server = HttpFront(ApiGateway(ECHO_TEMPLATE, {"Echo": echo})).start()
    url = server.base_url
    assert requests.get(f"{url}/x", timeout=TIMEOUT).status_code == 200

    server.stop()
    server.stop()  # again: nothing to do

    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/x", timeout=TIMEOUT)


def test_clients_connecting_at_once_are_all_answered() -> None:
    """socketserver's listen backlog of 5 had the kernel reset connections of clients that
    connected at once (16 concurrent clients of the platform saw it)."""

    def slow_echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
        time.sleep(0.1)  # the requests pile up, as behind a busy function
        return echo(event, context)

    def post(number: int) -> int | str:
        try:
            url = f"{front.base_url}/clients/{number}"
            return requests.post(url, json={"n": number}, timeout=TIMEOUT * 3).status_code
        except requests.ConnectionError as error:
            return repr(error)

    front = HttpFront(ApiGateway(ECHO_TEMPLATE, {"Echo": slow_echo}))
    with front, ThreadPoolExecutor(96) as pool:  # fewer clients than the backlog now
        answers = list(pool.map(post, range(480)))

    assert [a for a in answers if a != 200] == []
