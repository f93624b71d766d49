"""Tenant isolation, played as the attack of issue 14 (docs/security.md): workspace A's own
Terraform code (tests/isolation_attack.py, run by ``local-exec``) prints its environment,
reads ``/proc/<pid>/environ`` and ``cmdline`` of its ancestors (Terraform, the runner, the
platform) and calls the platform's S3, DynamoDB and Secrets Manager with whatever it found.
Workspace B's sensitive value and the platform secret appear nowhere A can see.

moto enforces no IAM: the AWS boundary itself is proven in tests/unit/test_run_isolation.py.
"""

import json
import sys
import urllib.request
from pathlib import Path

import boto3

from local.platform import LocalPlatform
from tests.conftest import ApiClient
from tests.e2e.test_run_pipeline import ENDED, full_log, new_workspace, run_status, start_run

ROOT = Path(__file__).resolve().parents[2]
B_SECRET = "b-secret-value-7f3c9e1d"
CONFIGURATION = """
variable "python" { type = string }
variable "findings" { type = string }

variable "own_secret" {
  type      = string
  sensitive = true
}

resource "terraform_data" "attack" {
  input = var.own_secret

  provisioner "local-exec" {
    command = "${var.python} ${path.module}/attack.py ${var.findings}"
  }
}

output "own_secret" {
  value     = var.own_secret
  sensitive = true
}
"""


def test_a_workspaces_terraform_reaches_nothing_of_another_workspace_or_the_platform(
    platform: LocalPlatform, admin: ApiClient, tmp_path: Path
) -> None:
    b = new_workspace(admin, "tenant-b", {"main.tf": 'variable "secret" {}\n'})
    admin.post(
        f"/workspaces/{b}/vars",
        {"key": "secret", "value": B_SECRET, "category": "terraform", "sensitive": True},
    )
    findings = tmp_path / "findings.json"
    attack = (ROOT / "tests" / "isolation_attack.py").read_text()
    a = new_workspace(admin, "tenant-a", {"main.tf": CONFIGURATION, "attack.py": attack})
    for key, value, sensitive in [
        ("python", sys.executable, False),
        ("findings", str(findings), False),
        ("own_secret", "a-own-secret-5b2e8d", True),
    ]:
        variable = {"key": key, "value": value, "category": "terraform", "sensitive": sensitive}
        assert admin.post(f"/workspaces/{a}/vars", variable).status == 201

    run_id = start_run(admin, a, auto_apply=True)
    run = run_status(admin, run_id, ENDED)
    assert run["status"] == "applied", run["error"]

    platform_secret = _platform_secret(platform)
    found = json.loads(findings.read_text())
    seen_by_a = {
        "plan log": full_log(admin, run_id, "plan"),
        "apply log": full_log(admin, run_id, "apply"),
        "plan JSON": admin.get(f"/runs/{run_id}/plan-json").body,
        "state": _current_state(admin, a),
        "outputs": json.dumps(admin.get(f"/workspaces/{a}/current-state-version").json()),
        "what the attack found": json.dumps(found),
    }
    for what in ("apply log", "plan JSON"):  # masked and redacted, its own value as well
        assert "a-own-secret-5b2e8d" not in seen_by_a[what], what
    for what, text in seen_by_a.items():
        assert B_SECRET not in text, what
        assert platform_secret not in text, what

    environment = found["environment"]
    assert not [name for name in environment if name.startswith(("AWS_", "IACP_"))]
    refs = platform.provisioned.refs
    platform_resources = [
        platform.moto.endpoint_url,
        refs["ArtifactsBucket"],
        refs["WorkspacesTable"],
        refs["PlatformSecret"],
        refs["RunsTable"],
        refs["RunStateMachine"],
    ]
    for name in platform_resources:
        assert name not in json.dumps(environment), name
        assert name not in json.dumps(found["ancestors"]), name
    assert found["calls"] == ["no endpoint on 127.0.0.1 found: no call made"]


def _platform_secret(platform: LocalPlatform) -> str:
    secrets = boto3.client("secretsmanager", endpoint_url=platform.moto.endpoint_url)
    secret_id = platform.provisioned.refs["PlatformSecret"]
    value: str = secrets.get_secret_value(SecretId=secret_id)["SecretString"]
    return value


def _current_state(admin: ApiClient, workspace_id: str) -> str:
    """The state file itself, through the URL the API hands out (to the local front)."""
    version = admin.get(f"/workspaces/{workspace_id}/current-state-version").json()
    url = version["download_url"]
    assert url.startswith("http://127.0.0.1:"), url
    with urllib.request.urlopen(url, timeout=10) as reply:  # noqa: S310 -- the local front
        state: bytes = reply.read()
    assert b'"terraform_data"' in state
    return state.decode()
