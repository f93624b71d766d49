"""``make demo``: the platform on this machine, a real run through run tasks, and the result.

It starts the local platform (moto standing in for AWS, the real workflow, the runner with
real Terraform) and the reference run-task service (examples/runtask_service), then, over
HTTP like any client:

1. registers the service as a run task and attaches it to a new workspace at all four
   stages, as a mandatory check;
2. uploads examples/simple and runs it: plan, the checks, confirm, apply, the outputs;
3. changes a variable so that the next plan destroys a resource, and shows the check
   stopping that run before it can be confirmed; then cancels it.
"""

import io
import logging
import os
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from local.offline import isolate_from_aws

isolate_from_aws()  # before the platform's modules are imported (hence the E402 below)
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

import requests  # noqa: E402

from examples.runtask_service import RunTaskService  # noqa: E402
from iacp.observability import logger as platform_logger  # noqa: E402
from iacp.tokens.models import Role  # noqa: E402
from iacp.tokens.service import mint_token  # noqa: E402
from iacp.tokens.store import DynamoTokenStore  # noqa: E402
from local.platform import LocalPlatform  # noqa: E402

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "simple"
ENDED = {"applied", "planned_and_finished", "discarded", "errored", "canceled", "force_canceled"}
HMAC_KEY = "demo-hmac-key"  # a demonstration value, not a secret


class Client:
    """The API over HTTP, with an API token."""

    def __init__(self, base_url: str, token: str):
        self.base = f"{base_url}/api/v1"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.log_offsets: dict[tuple[str, str], int] = {}

    def call(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        reply = self.session.request(method, self.base + path, json=body, timeout=60)
        if reply.status_code != expect:
            raise SystemExit(f"{method} {path}: HTTP {reply.status_code} {reply.text}")
        return reply.json() if reply.content else None

    def wait(
        self, run_id: str, done: Callable[[dict[str, Any]], bool], timeout: float = 120
    ) -> dict[str, Any]:
        """Follow the run until ``done(run)``: each status it passes through, and its log as
        Terraform writes it."""
        deadline, seen = time.monotonic() + timeout, ""
        while time.monotonic() < deadline:
            run: dict[str, Any] = self.call("GET", f"/runs/{run_id}")
            if run["status"] != seen:
                seen = run["status"]
                say(f"   … {seen}")
            self.follow_log(run_id, "plan")
            if "applying" in run["status_timestamps"]:
                self.follow_log(run_id, "apply")
            if done(run):
                return run
            time.sleep(0.1)
        raise SystemExit(f"run {run_id} did not get there in {timeout:.0f} s")

    def follow_log(self, run_id: str, phase: str) -> None:
        offset = self.log_offsets.get((run_id, phase), 0)
        query = f"/runs/{run_id}/logs?phase={phase}&offset={offset}"
        page = self.call("GET", query)
        for line in page["data"].splitlines():
            if line.strip():
                say(f"   | {line}")
        self.log_offsets[(run_id, phase)] = page["next_offset"]


def reached(*statuses: str) -> Callable[[dict[str, Any]], bool]:
    return lambda run: run["status"] in statuses or run["status"] in ENDED


def stopped_at_a_stage(run: dict[str, Any]) -> bool:
    return run["status"] in ENDED or (run["error"] is not None and run["status"] != "planned")


def say(text: str) -> None:
    print(text, flush=True)


def archive(directory: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(directory.glob("*.tf")):
            tar.add(path, arcname=path.name)
    return buffer.getvalue()


def show_stages(run: dict[str, Any]) -> None:
    for stage in run["task_stages"]:
        results = ", ".join(f"{r['run_task_name']}: {r['status']}" for r in stage["results"])
        say(f"   {stage['stage']:<11} {stage['status']:<18} {results}")
        for warning in stage["warnings"]:
            say(f"               warning: {warning}")


def demo(api: Client, service: RunTaskService) -> None:
    say("\n1. A run task: the reference service, verified by a signed test request")
    task = api.call(
        "POST",
        "/run-tasks",
        {"name": "no-destroy", "url": service.url, "hmac_key": HMAC_KEY},
        expect=201,
    )
    say(f"   {task['id']} -> {task['url']} (hmac_key_set: {task['hmac_key_set']})")
    workspace = api.call("POST", "/workspaces", {"name": "demo"}, expect=201)
    ws = workspace["id"]
    api.call(
        "POST",
        f"/workspaces/{ws}/run-tasks",
        {
            "run_task_id": task["id"],
            "stages": ["pre_plan", "post_plan", "pre_apply", "post_apply"],
            "enforcement_level": "mandatory",
        },
        expect=201,
    )
    say(f"   attached to workspace {ws} at all four stages, mandatory")

    say("\n2. Upload examples/simple and run it")
    version = api.call("POST", f"/workspaces/{ws}/configuration-versions", {}, expect=201)
    requests.put(version["upload_url"], data=archive(EXAMPLE), timeout=60).raise_for_status()
    run = api.call("POST", f"/workspaces/{ws}/runs", {"message": "first apply"}, expect=201)
    planned = api.wait(run["id"], reached("planned"))
    say(f"   plan: {planned['resource_additions']} to add")
    show_stages(planned)
    api.call("POST", f"/runs/{run['id']}/actions/apply", {"comment": "looks good"}, expect=202)
    applied = api.wait(run["id"], reached())
    show_stages(applied)
    state = api.call("GET", f"/workspaces/{ws}/current-state-version")
    say(f"   {applied['status']}: state serial {state['serial']}, outputs:")
    for name, output in state["outputs"].items():
        say(f"   {name} = {output['value']}")

    say("\n3. A change that destroys a resource: the mandatory check stops the run")
    api.call(
        "POST",
        f"/workspaces/{ws}/vars",
        {"key": "services", "value": '["api"]', "category": "terraform", "hcl": True},
        expect=201,
    )
    run = api.call("POST", f"/workspaces/{ws}/runs", {"message": "drop worker"}, expect=201)
    stopped = api.wait(run["id"], stopped_at_a_stage)
    show_stages(stopped)
    say(f"   error at {stopped['error']['stage']}: {stopped['error']['message']}")
    for result in api.call("GET", f"/runs/{run['id']}/task-results")["items"]:
        for outcome in result["outcomes"]:
            say(f"   outcome: {outcome['description']}")
    api.call("POST", f"/runs/{run['id']}/actions/cancel", {"comment": "keep worker"}, expect=202)
    say(f"   {api.wait(run['id'], reached())['status']}")


def main() -> None:
    started = time.monotonic()
    # The demo's own lines only: the functions' logs and moto's request log stay quiet.
    platform_logger.setLevel(logging.ERROR)
    for name in ("werkzeug", "moto", "examples"):
        logging.getLogger(name).setLevel(logging.ERROR)
    say("Starting the local platform (moto for AWS, the real workflow, real Terraform) …")
    with (
        tempfile.TemporaryDirectory(prefix="iacp-demo-") as work,
        LocalPlatform(prefix="iacp-demo", work_dir=Path(work)) as platform,
        RunTaskService(hmac_key=HMAC_KEY) as service,
    ):
        say(f"   the API: {platform.base_url}/api/v1")
        say(f"   the run-task service: {service.url}")
        store = DynamoTokenStore(platform.provisioned.refs["TokensTable"])
        token = mint_token(store, role=Role.ADMIN, description="demo", created_by="demo")
        demo(Client(platform.base_url, token.token), service)
    say(f"\nDone in {time.monotonic() - started:.0f} s.")


if __name__ == "__main__":
    main()
