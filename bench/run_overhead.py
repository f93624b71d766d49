"""What the platform adds to a Terraform run.

The same configuration of N ``terraform_data`` resources is planned and applied twice per
round, alternating:

- raw: ``terraform init``, ``plan -out``, ``show -json``, ``apply`` in a fresh directory, with
  the very executable the runner uses;
- platform: a full run in local execution (moto's interpreter running the real workflow, the
  runner as a real process): upload, plan, confirm, apply, until the run is ``applied``.

For each size it prints the median of both, the overhead (their difference, in seconds) and
the ratio, on lines ``overhead_s=... ratio=... size=...``. Run: ``make bench``.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent.parent)]
os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

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


def raw_terraform(size: int, rc_file: Path) -> float:
    terraform = find_terraform(os.environ.get("TERRAFORM_BINARY", ""))
    env = os.environ | {"TF_CLI_CONFIG_FILE": str(rc_file), "TF_IN_AUTOMATION": "1"}
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


def platform_run(client: ApiClient, size: int, round_number: int) -> float:
    started = time.perf_counter()
    workspace = client.post("/workspaces", {"name": f"bench-{size}-{round_number}"}).json()["id"]
    upload_configuration(client, None, workspace, configuration(size))  # type: ignore[arg-type]
    run_id = client.post(f"/workspaces/{workspace}/runs", {}).json()["id"]
    wait(client, run_id, "planned")
    client.post(f"/runs/{run_id}/actions/apply")
    wait(client, run_id, "applied")
    return time.perf_counter() - started


def wait(client: ApiClient, run_id: str, status: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get(f"/runs/{run_id}").json()
        if run["status"] == status:
            return
        if run["status"] in ("errored", "canceled", "discarded", "planned_and_finished"):
            raise RuntimeError(f"run {run_id} ended {run['status']}: {run['error']}")
        time.sleep(0.05)
    raise TimeoutError(f"run {run_id} did not reach {status}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 500])
    args = parser.parse_args()
    with LocalPlatform(prefix="iacp-bench") as platform:
        store = DynamoTokenStore(platform.provisioned.refs["TokensTable"])
        token = mint_token(store, role=Role.ADMIN, description="bench", created_by="bench").token
        client = ApiClient(platform.gateway, token)
        rc_file = platform.work_dir / "terraform.rc"
        for size in args.sizes:
            raw, full = [], []
            platform_run(client, size, -1)  # warm-up: first imports, first init
            for round_number in range(args.rounds):
                raw.append(raw_terraform(size, rc_file))
                full.append(platform_run(client, size, round_number))
            raw_median, full_median = statistics.median(raw), statistics.median(full)
            print(
                f"overhead_s={full_median - raw_median:.2f} ratio={full_median / raw_median:.2f} "
                f"size={size} raw_median_s={raw_median:.2f} platform_median_s={full_median:.2f} "
                f"rounds={args.rounds}",
                flush=True,
            )


if __name__ == "__main__":
    main()
