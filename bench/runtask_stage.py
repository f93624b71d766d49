"""What run tasks cost: the time one stage adds to a run, and what the timeout sweep reads.

Both against one local platform (moto server, the real workflow run by moto's interpreter,
the runner as a real process with real Terraform):

- stage: rounds alternate two plan-only runs of the same two-resource configuration, one on
  a workspace without run tasks and one on a workspace with one mandatory ``post_plan`` task
  served by the reference service (``examples.runtask_service``), which answers at once,
  reads the plan and calls back ``passed`` over HTTP. Each is timed from ``POST /runs`` to
  ``planned_and_finished``, after a warm-up of each. It prints the medians, their difference
  (what the stage adds), their ratio and the runs' spread on a line ``stage_added_s=...``.
  The runner's own time varies more than the stage costs, so it also reads each run's
  workflow history and prints the medians of the ``post_plan`` stage alone
  (``PreparePostPlanTasks`` entered to ``RecordPlan`` entered), with and without the task,
  and with it, of each of its three states: ``post_plan_stage_added_s=...``.
- sweep: the task-results table is filled with ``--results`` open results, ``--due`` of them
  past their deadline. It prints how many items the sweep's query of the ``due`` index reads
  (``sweep_read_items=...``) beside what a scan filtered on the deadline would read
  (``scan_read_items=...``), and how long each takes, then times the whole sweep.

Run: ``make bench``.
"""

import argparse
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

sys.path[:0] = [str(Path(__file__).resolve().parent.parent)]
from local.offline import isolate_from_aws  # noqa: E402

isolate_from_aws()  # before the platform's modules are imported: local mode's credentials only
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

from examples.runtask_service import RunTaskService  # noqa: E402
from iacp.aws import stepfunctions_client  # noqa: E402
from iacp.orchestration.task_sweep import sweep_timed_out_results  # noqa: E402
from iacp.principal import Role  # noqa: E402
from iacp.runtasks.models import Enforcement, ResultStatus, Stage, TaskResult  # noqa: E402
from iacp.runtasks.results import DynamoTaskResultStore, ResultRecord, _item  # noqa: E402
from iacp.tables import dynamodb_table  # noqa: E402
from iacp.tokens.service import mint_token  # noqa: E402
from iacp.tokens.store import DynamoTokenStore  # noqa: E402
from local.platform import LocalPlatform  # noqa: E402
from tests.conftest import ApiClient  # noqa: E402
from tests.runs_support import upload_configuration  # noqa: E402

HMAC_KEY = "bench-hmac-key"
# Two resources to create: the reference service passes a plan that destroys nothing.
CONFIGURATION = {
    "main.tf": """
resource "terraform_data" "first" {
  input = "first"
}

resource "terraform_data" "second" {
  input = "second"
}
"""
}
# The workflow states that bound the post_plan stage's three, and a name for each.
STAGE_STATES = ("PreparePostPlanTasks", "RunPostPlanTasks", "ConcludePostPlanTasks", "RecordPlan")
STAGE_PARTS = ("prepare", "map", "conclude")
ENDED = {"applied", "planned_and_finished", "discarded", "errored", "canceled", "force_canceled"}


# --- the stage's cost --------------------------------------------------------------------------


def new_workspace(client: ApiClient, name: str) -> str:
    workspace_id = str(client.post("/workspaces", {"name": name}).json()["id"])
    upload_configuration(client, None, workspace_id, CONFIGURATION)  # type: ignore[arg-type]
    return workspace_id


def attach_task(client: ApiClient, workspace_id: str, url: str) -> None:
    """A new run task at ``url`` (its creation sends the verification request), attached
    to the workspace at ``post_plan`` as mandatory."""
    body = {"name": f"bench-{uuid.uuid4().hex[:8]}", "url": url, "hmac_key": HMAC_KEY}
    created = client.post("/run-tasks", body)
    if created.status != 201:
        raise RuntimeError(f"creating the run task: {created.status} {created.body}")
    attachment = {
        "run_task_id": created.json()["id"],
        "stages": ["post_plan"],
        "enforcement_level": "mandatory",
    }
    attached = client.post(f"/workspaces/{workspace_id}/run-tasks", attachment)
    if attached.status != 201:
        raise RuntimeError(f"attaching the run task: {attached.status} {attached.body}")


class Timing(NamedTuple):
    run_s: float  # POST /runs to planned_and_finished, as a client sees it
    stage: dict[str, float]  # the post_plan stage's states, from the workflow's history


def timed_plan(client: ApiClient, workspace_id: str) -> Timing:
    """Times a plan-only run; returns once the workspace is free for the next run."""
    started = time.perf_counter()
    reply = client.post(f"/workspaces/{workspace_id}/runs", {"operation": "plan_only"})
    if reply.status != 201:
        raise RuntimeError(f"starting a run: {reply.status} {reply.body}")
    run_id = str(reply.json()["id"])
    run = wait(lambda: ended(client, run_id), f"run {run_id} to end")
    elapsed = time.perf_counter() - started
    if run["status"] != "planned_and_finished":
        raise RuntimeError(f"run {run_id} ended {run['status']}: {run['error']}")
    wait(lambda: released(client, workspace_id), f"workspace {workspace_id} to be free")
    return Timing(elapsed, post_plan_stage(str(run["execution_arn"])))


def post_plan_stage(execution_arn: str) -> dict[str, float]:
    """Seconds the workflow spent in each state of the post_plan stage, and in all three."""
    history = stepfunctions_client().get_execution_history(
        executionArn=execution_arn, maxResults=1000
    )
    entered = {}
    for event in history["events"]:
        if event["type"].endswith("StateEntered"):
            entered[event["stateEnteredEventDetails"]["name"]] = event["timestamp"]
    # A stage without tasks enters no Map and no Conclude step (its Choice skips them).
    marks = [entered.get(name) for name in STAGE_STATES]
    spans = {
        name: (end - start).total_seconds()
        for name, start, end in zip(STAGE_PARTS, marks, marks[1:], strict=False)
        if start is not None and end is not None
    }
    first, last = entered[STAGE_STATES[0]], entered[STAGE_STATES[-1]]
    return spans | {"stage": (last - first).total_seconds()}


def ended(client: ApiClient, run_id: str) -> dict[str, Any] | None:
    run: dict[str, Any] = client.get(f"/runs/{run_id}").json()
    return run if run["status"] in ENDED else None


def released(client: ApiClient, workspace_id: str) -> bool:
    return client.get(f"/workspaces/{workspace_id}").json()["current_run_id"] is None


def wait(check: Callable[[], Any], what: str, timeout: float = 120, every: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError(f"timed out waiting for {what}")


def stage_cost(client: ApiClient, service: RunTaskService, rounds: int) -> None:
    plain = new_workspace(client, "bench-no-tasks")
    tasked = new_workspace(client, "bench-one-task")
    attach_task(client, tasked, service.url)
    timed_plan(client, plain)  # warm-up: first imports, first init, first webhook
    timed_plan(client, tasked)
    without: list[Timing] = []
    with_task: list[Timing] = []
    for _ in range(rounds):
        without.append(timed_plan(client, plain))
        with_task.append(timed_plan(client, tasked))
    if service.callbacks.count(("passed", 200)) != rounds + 1:
        raise RuntimeError(f"expected {rounds + 1} passed callbacks, got {service.callbacks}")

    run_without = statistics.median(t.run_s for t in without)
    run_with = statistics.median(t.run_s for t in with_task)
    print(
        f"stage_added_s={run_with - run_without:.2f} ratio={run_with / run_without:.2f} "
        f"without_median_s={run_without:.2f} with_median_s={run_with:.2f} rounds={rounds} "
        f"without_stdev_s={statistics.stdev(t.run_s for t in without):.2f} "
        f"with_stdev_s={statistics.stdev(t.run_s for t in with_task):.2f}",
        flush=True,
    )
    stage_without = statistics.median(t.stage["stage"] for t in without)
    stage_with = statistics.median(t.stage["stage"] for t in with_task)
    parts = " ".join(
        f"{part}_s={statistics.median(t.stage[part] for t in with_task):.3f}"
        for part in STAGE_PARTS
    )
    print(
        f"post_plan_stage_added_s={stage_with - stage_without:.3f} "
        f"without_stage_median_s={stage_without:.3f} with_stage_median_s={stage_with:.3f} "
        f"with: {parts}",
        flush=True,
    )


# --- what the sweep reads ----------------------------------------------------------------------


def open_record(index: int, due_at: int, now: datetime) -> ResultRecord:
    """An open (pending) result, as a dispatch leaves it, due at ``due_at``."""
    result = TaskResult(
        id=f"taskrs-bench{index:011d}",
        created_at=now,
        updated_at=now,
        run_id=f"run-bench{index:012d}",
        workspace_id="ws-benchsweep0000000",
        run_task_id="task-benchsweep00000",
        run_task_name="bench",
        stage=Stage.POST_PLAN,
        enforcement_level=Enforcement.ADVISORY,
        status=ResultStatus.PENDING,
    )
    return ResultRecord(
        result=result,
        timeout_seconds=600,
        max_run_seconds=3600,
        run_deadline=due_at + 3000,
        due_at=due_at,
    )


def fill(table_name: str, results: int, due: int, now: int) -> None:
    """``results`` open results, the first ``due`` of them past their deadline and the rest
    due later; written in batches, each item exactly as ``DynamoTaskResultStore`` writes it."""
    moment = datetime.fromtimestamp(now, UTC)
    with dynamodb_table(table_name).batch_writer() as batch:
        for index in range(results):
            due_at = now - 1 - index if index < due else now + 60 + index
            batch.put_item(Item=_item(open_record(index, due_at, moment)))


def scan_read(table_name: str, now: int) -> tuple[int, int]:
    """What a scan for the due results would read: (items read, items matched)."""
    request: dict[str, Any] = {
        "FilterExpression": "due_at <= :now",
        "ExpressionAttributeValues": {":now": now},
    }
    table = dynamodb_table(table_name)
    read = matched = 0
    while True:
        reply = table.scan(**request)
        read += int(reply["ScannedCount"])
        matched += int(reply["Count"])
        if "LastEvaluatedKey" not in reply:
            return read, matched
        request["ExclusiveStartKey"] = reply["LastEvaluatedKey"]


def sweep_reads(table_name: str, results: int, due: int) -> None:
    now = int(time.time())
    fill(table_name, results, due, now)
    store = DynamoTaskResultStore(table_name)

    started = time.perf_counter()
    due_ids, read = store.due(now)
    query_s = time.perf_counter() - started
    started = time.perf_counter()
    scanned, matched = scan_read(table_name, now)
    scan_s = time.perf_counter() - started
    print(
        f"sweep_read_items={read} due={len(due_ids)} results={results} "
        f"scan_read_items={scanned} scan_matched={matched} "
        f"query_s={query_s:.3f} scan_s={scan_s:.3f}",
        flush=True,
    )

    started = time.perf_counter()
    report = sweep_timed_out_results(
        store, lambda token, output: False, lambda: datetime.fromtimestamp(now, UTC)
    )
    sweep_s = time.perf_counter() - started
    _, read_after = store.due(now)
    print(
        f"sweep_s={sweep_s:.2f} read={report.read} timed_out={report.timed_out} "
        f"read_after_sweep={read_after}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--results", type=int, default=10_000)
    parser.add_argument("--due", type=int, default=50)
    args = parser.parse_args()
    if args.rounds < 2:
        parser.error("--rounds must be at least 2")
    if not 0 <= args.due <= args.results:
        parser.error("--due must be between 0 and --results")
    with (
        LocalPlatform(prefix="iacp-bench-tasks") as platform,
        RunTaskService(hmac_key=HMAC_KEY, heartbeat=False) as service,
    ):
        tokens = DynamoTokenStore(platform.provisioned.refs["TokensTable"])
        token = mint_token(tokens, role=Role.ADMIN, description="bench", created_by="bench").token
        stage_cost(ApiClient(platform.gateway, token), service, args.rounds)
        # The platform's own sweep would time out the results below while they are measured.
        platform.schedules.stop()
        sweep_reads(platform.provisioned.refs["TaskResultsTable"], args.results, args.due)


if __name__ == "__main__":
    main()
