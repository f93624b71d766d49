"""What a run costs on AWS, computed from a real local run (issue 21, docs/performance.md).

The local platform runs each kind of run once (after a warm-up run), while this counts what
AWS would bill for: Step Functions state transitions (the execution's history), Lambda
invocations and their durations (each call of a local function, at the template's memory
size), API Gateway requests, DynamoDB, S3, SQS, EventBridge and Secrets Manager requests
(each request to the moto server, by the service its signature names), and the runner's task
seconds (each ``ecs:runTask.sync`` in the history, from scheduled to done). It prices them
with ``bench/prices.json`` (dated list prices, us-east-1) for both executors: each kind of run
once in a workspace with ``execution: fargate`` and once with ``execution: lambda``, whose
phases are invocations of the runner's function (its memory, arm64 GB-s and ephemeral storage
above 512 MB, from template.yaml). Scheduled sweeps are left out here (they cost the same
whatever the runs); so is what is billed by the month (secrets, logs' storage).

Approximations, said in the output too: a DynamoDB request counts one request unit (items
here are under 1 KB to write and 4 KB to read, transactions count per item); a local Lambda
call's duration stands for its billed duration (the runner's function too: a cold start's
init, billed since 2025, is left out); a runner task is billed its local duration plus
``IMAGE_PULL_SECONDS``, at least Fargate's one minute.

Run: ``make bench`` (or ``python bench/cost.py``).
"""

import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parent.parent)]
from local.offline import isolate_from_aws  # noqa: E402

isolate_from_aws()  # before the platform's modules are imported: local mode's credentials only
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

from examples.runtask_service import RunTaskService  # noqa: E402
from iacp.orchestration.workflow_client import WorkflowClient  # noqa: E402
from iacp.principal import Role  # noqa: E402
from iacp.tokens.service import mint_token  # noqa: E402
from iacp.tokens.store import DynamoTokenStore  # noqa: E402
from local import functions  # noqa: E402
from local.platform import LocalPlatform  # noqa: E402
from tests.conftest import ApiClient  # noqa: E402
from tests.runs_support import upload_configuration  # noqa: E402

PRICES: dict[str, Any] = json.loads((Path(__file__).with_name("prices.json")).read_text())
EXAMPLE = {"main.tf": (Path(__file__).parent.parent / "examples/simple/main.tf").read_text()}
IMAGE_PULL_SECONDS = 20  # billed before the runner starts: the image's download
SETTLE_SECONDS = 3  # after the run ends: its events, follow-ups and inventory sync
_CREDENTIAL = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([a-z0-9-]+)/aws4_request")
_READS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}
# The benchmark's own reads of a run's status: not counted (a client's polling is the
# client's; through the API each poll would cost an API request and its function's reads).
POLLER = "iacp-bench-poll"


@dataclass
class Meter:
    requests: Counter[tuple[str, str]] = field(default_factory=Counter)
    lambda_seconds: dict[str, list[float]] = field(default_factory=dict)
    api_requests: int = 0

    def reset(self) -> None:
        self.requests.clear()
        self.lambda_seconds.clear()
        self.api_requests = 0


def classify(environ: dict[str, Any]) -> tuple[str, str] | None:
    """(service, operation) of a request to the moto server; None for the benchmark's own."""
    if POLLER in environ.get("HTTP_USER_AGENT", ""):
        return None
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    authorization = environ.get("HTTP_AUTHORIZATION", "") + environ.get("QUERY_STRING", "")
    found = _CREDENTIAL.search(authorization.replace("%2F", "/"))
    service = found.group(1) if found else "unsigned"
    if target:
        return service, target.rsplit(".", 1)[-1]
    return service, str(environ.get("REQUEST_METHOD", ""))


def metered(platform: LocalPlatform, meter: Meter) -> None:
    """Count every AWS request, Lambda call and API request of ``platform`` into ``meter``."""
    server = platform.moto._server  # a benchmark's probe into the running server
    app = server.app

    def counting(environ: dict[str, Any], start_response: Any) -> Any:
        kind = classify(environ)
        if kind is not None:
            meter.requests[kind] += 1
        return app(environ, start_response)

    server.app = counting  # requests from the runner's processes, over HTTP
    platform.moto._direct._app = counting  # this process's own, handed to the app directly
    call = functions.Function.__call__

    def timed(self: functions.Function, event: dict[str, Any], context: Any) -> Any:
        started = time.perf_counter()
        try:
            return call(self, event, context)
        finally:
            meter.lambda_seconds.setdefault(self.name, []).append(time.perf_counter() - started)

    functions.Function.__call__ = timed  # type: ignore[method-assign]
    request = platform.gateway.request

    def counted(*args: Any, **kwargs: Any) -> Any:
        meter.api_requests += 1
        return request(*args, **kwargs)

    platform.gateway.request = counted  # type: ignore[method-assign]


def history(platform: LocalPlatform, run_id: str) -> list[dict[str, Any]]:
    sfn = boto3.client("stepfunctions")
    machine = platform.provisioned.refs["RunStateMachine"]
    arn = WorkflowClient(machine, confirmation_timeout_seconds=60).execution_arn(run_id)
    deadline = time.monotonic() + 60
    while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
        if time.monotonic() > deadline:
            raise TimeoutError(f"the execution of {run_id} did not end")
        time.sleep(0.2)
    events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return [dict(event) for event in events]


def task_seconds(events: list[dict[str, Any]]) -> list[float]:
    """Each runner task's duration: from its scheduling to its success or failure."""
    durations, started = [], None
    for event in events:
        if (event.get("taskScheduledEventDetails") or {}).get("resourceType") == "ecs":
            started = event["timestamp"]
        elif started is not None and event["type"] in ("TaskSucceeded", "TaskFailed"):
            durations.append((event["timestamp"] - started).total_seconds())
            started = None
    return durations


def status_reader(platform: LocalPlatform) -> Callable[[str], str]:
    """A run's status, read from its table by a client the meter does not count."""
    client = boto3.client("dynamodb", config=Config(user_agent_extra=POLLER))
    table = platform.provisioned.refs["RunsTable"]

    def status(run_id: str) -> str:
        item = client.get_item(TableName=table, Key={"id": {"S": run_id}}, ConsistentRead=True)
        return str(item["Item"]["status"]["S"])

    return status


def wait(status_of: Callable[[str], str], run_id: str, statuses: set[str]) -> str:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        status = status_of(run_id)
        if status in statuses:
            return status
        time.sleep(0.05)
    raise TimeoutError(f"run {run_id} did not reach {statuses}")


EXECUTORS = ("fargate", "lambda")  # the workspace's execution setting


def a_run(
    client: ApiClient,
    status_of: Callable[[str], str],
    name: str,
    execution: str,
    *,
    plan_only: bool = False,
    auto_apply: bool = False,
) -> str:
    workspace = client.post("/workspaces", {"name": name, "execution": execution}).json()["id"]
    upload_configuration(client, None, workspace, EXAMPLE)  # type: ignore[arg-type]
    body = {"operation": "plan_only"} if plan_only else {"auto_apply": auto_apply}
    run_id = str(client.post(f"/workspaces/{workspace}/runs", body).json()["id"])
    if not plan_only and not auto_apply:
        wait(status_of, run_id, {"planned"})
        client.post(f"/runs/{run_id}/actions/apply")
    if wait(status_of, run_id, {"applied", "planned_and_finished", "errored"}) == "errored":
        raise RuntimeError(f"run {run_id} errored")
    return run_id


def with_a_task(
    client: ApiClient, status_of: Callable[[str], str], service_url: str
) -> Callable[[str, str], str]:
    task = client.post("/run-tasks", {"name": "bench-check", "url": service_url}).json()["id"]

    def run(name: str, execution: str) -> str:
        workspace = client.post("/workspaces", {"name": name, "execution": execution}).json()["id"]
        client.post(
            f"/workspaces/{workspace}/run-tasks",
            {"run_task_id": task, "stages": ["post_plan"], "enforcement_level": "mandatory"},
        )
        upload_configuration(client, None, workspace, EXAMPLE)  # type: ignore[arg-type]
        run_id = str(client.post(f"/workspaces/{workspace}/runs", {}).json()["id"])
        wait(status_of, run_id, {"planned"})
        client.post(f"/runs/{run_id}/actions/apply")
        wait(status_of, run_id, {"applied"})
        return run_id

    return run


@dataclass
class Bill:
    counts: dict[str, float]
    dollars: dict[str, float]

    @property
    def total(self) -> float:
        return sum(self.dollars.values())


RUNNER_FUNCTION = "RunnerFunction"


def bill(platform: LocalPlatform, meter: Meter, events: list[dict[str, Any]]) -> Bill:
    template = platform.template
    memory_mb = {
        name: int(props.get("MemorySize", template.body["Globals"]["Function"]["MemorySize"]))
        for name, function in template.functions().items()
        if (props := function["Properties"])
    }
    runner_function = template.properties(RUNNER_FUNCTION)
    extra_storage_gb = (runner_function["EphemeralStorage"]["Size"] - 512) / 1024
    task = template.properties("RunnerTaskDefinition")  # the default size: RunnerCpu/Memory
    cpu, memory = (int(platform.provisioned.resolve(task[key])) for key in ("Cpu", "Memory"))
    vcpu, memory_gb = cpu / 1024, memory / 1024
    requests = meter.requests
    dynamo_reads = sum(n for (s, op), n in requests.items() if s == "dynamodb" and op in _READS)
    dynamo_writes = sum(
        n for (s, op), n in requests.items() if s == "dynamodb" and op not in _READS
    )
    s3_gets = sum(n for (s, op), n in requests.items() if s == "s3" and op in ("GET", "HEAD"))
    s3_puts = sum(n for (s, op), n in requests.items() if s == "s3" and op not in ("GET", "HEAD"))
    invocations = sum(len(calls) for calls in meter.lambda_seconds.values())
    gb_seconds = sum(
        sum(calls) * memory_mb[name] / 1024
        for name, calls in meter.lambda_seconds.items()
        if name != RUNNER_FUNCTION
    )
    runner_calls = meter.lambda_seconds.get(RUNNER_FUNCTION, [])
    runner_gb_seconds = sum(runner_calls) * memory_mb[RUNNER_FUNCTION] / 1024
    tasks = task_seconds(events)
    billed_task_seconds = [
        max(PRICES["fargate_minimum_billed_seconds"], s + IMAGE_PULL_SECONDS) for s in tasks
    ]
    counts = {
        "state transitions": sum(e["type"].endswith("StateEntered") for e in events),
        "lambda invocations": invocations,
        "lambda GB-s": gb_seconds,
        "API requests": meter.api_requests,
        "DynamoDB reads": dynamo_reads,
        "DynamoDB writes": dynamo_writes,
        "S3 GET": s3_gets,
        "S3 PUT/LIST": s3_puts,
        "SQS requests": sum(n for (s, _), n in requests.items() if s == "sqs"),
        "EventBridge events": requests[("events", "PutEvents")],
        "Secrets Manager calls": sum(n for (s, _), n in requests.items() if s == "secretsmanager"),
        "runner tasks": len(tasks),
        "runner task s (local)": sum(tasks),
        "runner invocations": len(runner_calls),
        "runner function GB-s": runner_gb_seconds,
    }
    fargate_hours = sum(billed_task_seconds) / 3600
    dollars = {
        "Step Functions": counts["state transitions"]
        * PRICES["step_functions_standard_per_transition"],
        "Lambda": gb_seconds * PRICES["lambda_arm64_per_gb_second"]
        + invocations * PRICES["lambda_per_request"],
        "API Gateway": meter.api_requests * PRICES["api_gateway_rest_per_request"],
        "DynamoDB": dynamo_writes * PRICES["dynamodb_on_demand_per_write_request_unit"]
        + dynamo_reads * PRICES["dynamodb_on_demand_per_read_request_unit"],
        "S3": s3_puts * PRICES["s3_standard_per_put_post_list_request"]
        + s3_gets * PRICES["s3_standard_per_get_head_request"],
        "SQS, EventBridge, Secrets": counts["SQS requests"] * PRICES["sqs_standard_per_request"]
        + counts["EventBridge events"] * PRICES["eventbridge_custom_event_per_event"]
        + counts["Secrets Manager calls"] * PRICES["secrets_manager_per_api_call"],
        "Fargate": fargate_hours
        * (
            vcpu * PRICES["fargate_arm64_per_vcpu_hour"]
            + memory_gb * PRICES["fargate_arm64_per_gb_hour"]
        ),
        "runner's function": runner_gb_seconds * PRICES["lambda_arm64_per_gb_second"]
        + sum(runner_calls) * extra_storage_gb * PRICES["lambda_ephemeral_storage_per_gb_second"]
        + len(runner_calls) * PRICES["lambda_per_request"],
    }
    return Bill(counts, dollars)


def main() -> None:
    meter = Meter()
    # Sweeps every hour: their cost is per day, not per run.
    with (
        LocalPlatform(prefix="iacp-cost", schedule_period=3600) as platform,
        RunTaskService() as service,
    ):
        store = DynamoTokenStore(platform.provisioned.refs["TokensTable"])
        token = mint_token(store, role=Role.ADMIN, description="bench", created_by="bench").token
        client = ApiClient(platform.gateway, token)
        metered(platform, meter)
        status_of = status_reader(platform)
        for execution in EXECUTORS:  # the cold starts, the first terraform init
            a_run(client, status_of, f"warm-up-{execution}", execution)
        kinds: dict[str, Callable[[str, str], str]] = {
            "plan, confirm, apply": lambda name, ex: a_run(client, status_of, name, ex),
            "plan only": lambda name, ex: a_run(client, status_of, name, ex, plan_only=True),
            # One runner start: the plan's task (or invocation) applies too.
            "auto-apply": lambda name, ex: a_run(client, status_of, name, ex, auto_apply=True),
            "plan, a post_plan run task, apply": with_a_task(client, status_of, service.url),
        }
        bills: dict[str, dict[str, Bill]] = {execution: {} for execution in EXECUTORS}
        for number, (kind, run) in enumerate(kinds.items()):
            for execution in EXECUTORS:
                time.sleep(SETTLE_SECONDS)
                meter.reset()
                run_id = run(f"cost-{number}-{execution}", execution)
                time.sleep(SETTLE_SECONDS)
                bills[execution][kind] = bill(platform, meter, history(platform, run_id))
    print(f"prices: bench/prices.json ({PRICES['region']}, {PRICES['as_of']} list prices)")
    for execution, by_kind in bills.items():
        print(f"\nexecution: {execution}")
        names = list(next(iter(by_kind.values())).counts)
        print(f"{'':28}" + "".join(f"{kind[:24]:>26}" for kind in by_kind))
        for name in names:
            print(f"{name:28}" + "".join(f"{b.counts[name]:26.1f}" for b in by_kind.values()))
        for part in next(iter(by_kind.values())).dollars:
            print(
                f"{'$ ' + part:28}" + "".join(f"{b.dollars[part]:26.6f}" for b in by_kind.values())
            )
        print(
            f"{'$ per run (' + execution + ')':28}"
            + "".join(f"{b.total:26.6f}" for b in by_kind.values())
        )
    print()
    for execution, by_kind in bills.items():
        for kind, b in by_kind.items():
            month = b.total * 1000 * 30
            print(
                f"cost_per_run_usd={b.total:.6f} usd_a_month_at_1000_a_day={month:.2f} "
                f"execution={execution} kind={kind!r}"
            )
    for kind in bills["fargate"]:
        ratio = bills["lambda"][kind].total / bills["fargate"][kind].total
        print(f"lambda_to_fargate_cost_ratio={ratio:.2f} kind={kind!r}")
    print(
        f"assumed: a DynamoDB request is one request unit; local Lambda durations are billed "
        f"durations (the runner's function's too, without a cold start's init); a runner task "
        f"is billed its local time + {IMAGE_PULL_SECONDS} s, at least "
        f"{PRICES['fargate_minimum_billed_seconds']} s"
    )


if __name__ == "__main__":
    main()
