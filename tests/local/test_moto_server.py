"""The threaded moto server of local mode (``local.moto_server``)."""

import os
import subprocess
import sys
import threading

import boto3
import pytest
import urllib3
from botocore.awsrequest import AWSPreparedRequest
from botocore.compat import HTTPHeaders
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.core.config import default_user_config
from moto.moto_api import state_manager
from moto.s3.responses import S3Response

from local import moto_server
from local.pollers import Arrivals, Poller
from tests.local.conftest import Local


def test_environment_for_child_processes(local_aws: Local) -> None:
    environment = local_aws.moto.environment()

    assert environment["AWS_ENDPOINT_URL"] == local_aws.moto.endpoint_url
    assert local_aws.moto.endpoint_url.startswith("http://127.0.0.1:")
    assert environment["AWS_DEFAULT_REGION"] == "us-east-1"
    assert environment["AWS_ACCESS_KEY_ID"] and environment["AWS_SECRET_ACCESS_KEY"]


def test_a_child_process_reaches_the_server(local_aws: Local) -> None:
    cluster = local_aws.cluster()
    script = "import boto3; print(boto3.client('ecs').list_clusters()['clusterArns'])"

    listed = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script],
        env={"PATH": os.environ["PATH"], **local_aws.moto.environment()},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )

    assert cluster in listed.stdout


def test_settings_for_the_interpreter(local_aws: Local) -> None:
    assert os.environ["MOTO_PORT"] == str(local_aws.moto.port)
    assert default_user_config["stepfunctions"]["execute_state_machine"] is True
    assert default_user_config["lambda"]["use_docker"] is False
    assert state_manager.get_transition("ecs::task")["progression"] == "manual"


def test_stop_puts_the_settings_back() -> None:
    before = (
        os.environ.get("MOTO_PORT"),
        dict(default_user_config["stepfunctions"]),
        dict(default_user_config["lambda"]),
        state_manager.get_transition("ecs::task"),
    )

    with moto_server.start() as server:
        assert os.environ["MOTO_PORT"] == str(server.port)

    after = (
        os.environ.get("MOTO_PORT"),
        dict(default_user_config["stepfunctions"]),
        dict(default_user_config["lambda"]),
        state_manager.get_transition("ecs::task"),
    )
    assert after == before


def test_requests_that_may_feed_a_poller_count_as_its_arrivals() -> None:
    """A write to a table is the stream poller's arrival; a message sent, or an event put on
    the bus, the queue poller's; reads (the pollers' own requests) are neither."""
    table_writes, messages = Arrivals(), Arrivals()
    served = moto_server.counting_arrivals(lambda environ, start: [b"{}"], table_writes, messages)

    for target in (
        "DynamoDB_20120810.PutItem",
        "DynamoDB_20120810.TransactWriteItems",
        "AmazonSQS.SendMessage",
        "AWSEvents.PutEvents",
        "DynamoDB_20120810.GetItem",
        "DynamoDBStreams_20120810.GetRecords",
        "AmazonSQS.ReceiveMessage",
        "AmazonSQS.DeleteMessage",
        "",
    ):
        assert served({"HTTP_X_AMZ_TARGET": target}, None) == [b"{}"]

    assert (table_writes.count, messages.count) == (2, 2)


def test_a_poller_polls_soon_after_an_arrival_not_only_every_period() -> None:
    polled = threading.Event()

    class Recording(Poller[str]):
        arrivals = Arrivals()

        def poll(self) -> int:
            polled.set()
            return 0

    poller = Recording({}, ["source"], period=60.0, least=0.05).start()
    try:
        Recording.arrivals.arrived()
        assert polled.wait(10), "no poll within 10 s of an arrival (the period is 60 s)"
    finally:
        poller.stop()


def test_this_processs_requests_reach_moto_without_a_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A client of this process is answered by the server's app directly (local.moto_direct):
    with botocore unable to connect anywhere, an S3 object with an awkward key still
    round-trips, and moto's errors are still its replies."""

    def no_connection(*args: object, **kwargs: object) -> None:
        raise AssertionError("botocore opened a connection")

    with moto_server.start() as server:
        s3 = boto3.client(
            "s3",
            endpoint_url=server.endpoint_url,
            region_name="us-east-1",
            config=Config(retries={"max_attempts": 1}),
        )
        monkeypatch.setattr(urllib3.util.connection, "create_connection", no_connection)
        s3.create_bucket(Bucket="direct")
        key = "a dir/with space+plus%percent/é"

        s3.put_object(Bucket="direct", Key=key, Body=b"payload")

        assert s3.get_object(Bucket="direct", Key=key)["Body"].read() == b"payload"
        assert [o["Key"] for o in s3.list_objects_v2(Bucket="direct")["Contents"]] == [key]
        with pytest.raises(ClientError) as missing:
            s3.get_object(Bucket="direct", Key="absent")
        assert missing.value.response["Error"]["Code"] == "NoSuchKey"


def test_an_error_moto_does_not_answer_is_a_500(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: object) -> None:
        raise RuntimeError("a bug in moto")

    with moto_server.start() as server:
        monkeypatch.setattr(S3Response, "list_objects", broken, raising=False)
        monkeypatch.setattr(S3Response, "_bucket_response_get", broken)
        s3 = boto3.client(
            "s3",
            endpoint_url=server.endpoint_url,
            region_name="us-east-1",
            config=Config(retries={"max_attempts": 1}),
        )
        with pytest.raises(ClientError) as failed:
            s3.list_objects_v2(Bucket="any")

        assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


def test_other_endpoints_and_a_stopped_server_are_left_to_http() -> None:
    with moto_server.start() as server:
        direct = server._direct
        elsewhere = AWSPreparedRequest("GET", "http://127.0.0.1:1/", HTTPHeaders(), None, False)
        assert direct(elsewhere) is None
    ours = AWSPreparedRequest("GET", f"{server.endpoint_url}/", HTTPHeaders(), None, False)
    assert direct(ours) is None
