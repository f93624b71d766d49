"""Whether a run's runner may still be running, as its execution and ECS say.

A run's phases run one after another, each workflow step waiting until its task has stopped,
so the only runner of a run that can be left is the task its execution started last: the
``TaskSubmitted`` event of its last ECS step holds the task's ARN. No such event, and no task
was started (a run stopped before its first runner, or while RunTask was being called: Step
Functions then stops the task itself).

Step Functions sets a ``.sync`` task's ``StartedBy`` itself, so ECS cannot list a run's tasks.

A phase in the runner's Lambda function (execution lambda) cannot be looked up like a task:
while the execution's last state entered is one of those phases, its runner is taken to be
running. It stops by itself within a few seconds of the execution's end (it polls it,
runner/lambda_handler.py) and reports, and the reconcile's wait is bounded anyway.
"""

import json
from typing import Protocol

from iacp.aws import ecs_client, stepfunctions_client

STOPPED = "STOPPED"
# The workflow's states that run a phase in the runner's Lambda function.
LAMBDA_RUNNER_STATES = frozenset({"PlanRunInLambda", "ApplyRunInLambda"})


class RunnerTasks(Protocol):
    def any_running(self, execution_arn: str) -> bool:
        """Whether the runner task the execution started last is starting, running or
        stopping."""
        ...


class EcsRunnerTasks:
    def any_running(self, execution_arn: str) -> bool:
        started, in_lambda = self.last_started(execution_arn)
        if in_lambda:
            return True
        if started is None:
            return False
        cluster, task = started
        tasks = ecs_client().describe_tasks(cluster=cluster, tasks=[task])["tasks"]
        return any(found.get("lastStatus") != STOPPED for found in tasks)

    @staticmethod
    def last_started(execution_arn: str) -> tuple[tuple[str, str] | None, bool]:
        """(cluster ARN, task ARN) of the last ECS task the execution started, if any; and
        whether the last state it entered runs a phase in the runner's Lambda function. The
        whole history is read, oldest first: moto ignores ``reverseOrder``."""
        started = None
        in_lambda = False
        pages = stepfunctions_client().get_paginator("get_execution_history")
        for page in pages.paginate(executionArn=execution_arn):
            for event in page["events"]:
                entered = event.get("stateEnteredEventDetails")
                if entered is not None:
                    in_lambda = entered["name"] in LAMBDA_RUNNER_STATES
                details = event.get("taskSubmittedEventDetails")
                if details is None or details["resourceType"] != "ecs":
                    continue
                # The RunTask (or, in moto, DescribeTasks) reply, keys capitalised.
                tasks = json.loads(details.get("output") or "{}").get("Tasks") or []
                if tasks:
                    started = (tasks[0]["ClusterArn"], tasks[0]["TaskArn"])
        return started, in_lambda
