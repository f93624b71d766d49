"""One moto server for the tests of local mode, with local Lambda handlers and ECS processes.

The server, the installed backends and ``local.moto_fidelity``'s patches are process-wide, so
the package shares one server; each test uses its own names (functions, task families,
clusters, state machines) and registers what it needs.
"""

import functools
import json
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from local import ecs, executions, lambdas, moto_server
from local.functions import Handler

REGION = "us-east-1"
ROLE_ARN = "arn:aws:iam::123456789012:role/iacp-test-workflow"
DEADLINE = 10.0  # seconds: every wait is bounded by it


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def wait_until(condition: Callable[[], Any], timeout: float = DEADLINE) -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s: {condition}")
        time.sleep(0.02)


@dataclass
class Local:
    """The running server and helpers to set up and run small workflows on it."""

    moto: moto_server.MotoServer
    ecs_backend: ecs.LocalEcsBackend
    lambda_backend: lambdas.LocalLambdaBackend
    commands: dict[str, list[str]]
    ended: list[tuple[str, str]] = field(default_factory=list)

    def client(self, service: Any, config: Config | None = None) -> Any:
        """A boto3 client of the server (``config``: e.g. no retries, so a 500 shows)."""
        return boto3.client(
            service,
            endpoint_url=self.moto.endpoint_url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=config,
        )

    @functools.cached_property
    def sfn(self) -> Any:
        return self.client("stepfunctions")

    @functools.cached_property
    def ecs(self) -> Any:
        return self.client("ecs")

    @functools.cached_property
    def lam(self) -> Any:
        return self.client("lambda")

    def function(self, handler: Handler) -> str:
        """A new Lambda function served by ``handler``; returns its name."""
        name = unique("fn")
        self.lambda_backend.handlers[name] = handler
        lambdas.register_function(name, endpoint_url=self.moto.endpoint_url)
        return name

    def task_definition(
        self,
        script: str = "",
        stop_timeout: int | None = None,
        command: list[str] | None = None,
    ) -> str:
        """A task definition whose container runs ``python -c script`` (or ``command``).

        Its container is ``main``, with FROM_DEFINITION=definition; returns the family.
        """
        family = unique("td")
        self.commands[family] = command or [sys.executable, "-c", script]
        container: dict[str, Any] = {
            "name": "main",
            "image": "iacp-runner",
            "memory": 512,
            "environment": [{"name": "FROM_DEFINITION", "value": "definition"}],
        }
        if stop_timeout is not None:
            container["stopTimeout"] = stop_timeout
        self.ecs.register_task_definition(
            family=family,
            containerDefinitions=[container],
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu="256",
            memory="512",
        )
        return family

    def cluster(self) -> str:
        name = unique("cluster")
        self.ecs.create_cluster(clusterName=name)
        return name

    def network(self) -> dict[str, Any]:
        """A Fargate task's NetworkConfiguration (ASL casing), in moto's default VPC."""
        ec2 = self.client("ec2")
        subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
        group = ec2.describe_security_groups()["SecurityGroups"][0]["GroupId"]
        return {"AwsvpcConfiguration": {"Subnets": [subnet], "SecurityGroups": [group]}}

    def start(self, definition: dict[str, Any], execution_input: Any = None) -> str:
        """Create a state machine for ``definition`` and start it; returns the execution ARN."""
        name = unique("sm")
        machine = self.sfn.create_state_machine(
            name=name, definition=json.dumps(definition), roleArn=ROLE_ARN
        )
        started = self.sfn.start_execution(
            stateMachineArn=machine["stateMachineArn"],
            name=name,
            input=json.dumps(execution_input or {}),
        )
        return str(started["executionArn"])

    def describe(self, execution_arn: str) -> dict[str, Any]:
        result: dict[str, Any] = self.sfn.describe_execution(executionArn=execution_arn)
        return result

    def wait_for_end(self, execution_arn: str, timeout: float = DEADLINE) -> dict[str, Any]:
        """The execution's description once it is no longer RUNNING."""
        result: dict[str, Any] = wait_until(
            lambda: (d := self.describe(execution_arn))["status"] != "RUNNING" and d, timeout
        )
        return result

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = self.sfn.get_execution_history(executionArn=execution_arn)[
            "events"
        ]
        return events


@pytest.fixture(scope="package")
def local_aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Local]:
    commands: dict[str, list[str]] = {}

    def command_for(family: str, container: str) -> list[str]:
        return commands[family]

    with moto_server.start() as server:
        log_dir: Path = tmp_path_factory.mktemp("ecs-logs")
        local = Local(
            moto=server,
            ecs_backend=ecs.install(command_for, server.environment(), log_dir=log_dir),
            lambda_backend=lambdas.install({}),
            commands=commands,
        )
        remove = executions.on_execution_end(lambda arn, status: local.ended.append((arn, status)))
        try:
            yield local
        finally:
            remove()
            local.ecs_backend.reset()  # ends any process a failed test left running
